//! `orchestrator cluster ...`: the cluster as its nodes report it.

use super::Output;
use crate::client::Client;
use crate::render::cluster::ClusterStatus;
use anyhow::Result;
use clap::Subcommand;

/// Cluster-wide commands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Ask every node whether it answers.
    Status,
}

/// Runs a cluster command.
pub async fn run(command: ClusterCommand, client: &Client) -> Result<Output> {
    match command {
        ClusterCommand::Status => Ok(Box::new(ClusterStatus {
            nodes: client.nodes().to_vec(),
            statuses: client.node_statuses().await,
        })),
    }
}
