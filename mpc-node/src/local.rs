//! Who this node is among the members: its configuration, the members in party order, its
//! own party number, the sharing layout and the longest wait for one job message. Read-only
//! once the node has started; shared by the node, its mesh and its jobs.

use crate::config::{Config, Member};
use protocol::sharing::Layout;
use std::time::Duration;

/// This node's place in the cluster.
#[derive(Debug)]
pub struct Local {
    /// Its configuration.
    pub config: Config,
    /// All nodes, sorted by id.
    pub members: Vec<Member>,
    /// This node's party number.
    pub me: usize,
    /// The sharing layout.
    pub layout: Layout,
    /// Longest wait for one message during a job.
    pub job_timeout: Duration,
}

impl Local {
    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// The id of party `p`, or `#p` for a number that names no member.
    pub fn name_of(&self, p: usize) -> String {
        self.members.get(p).map_or_else(|| format!("#{p}"), |m| m.id.clone())
    }

    /// The other parties' numbers.
    pub fn peers(&self) -> Vec<usize> {
        (0..self.members.len()).filter(|&p| p != self.me).collect()
    }
}
