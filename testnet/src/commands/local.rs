//! `testnet up`, `down` and `status`: a cluster of node processes on this machine.

use super::Output;
use crate::Cluster;
use crate::launch::{self, NodeCommand};
use crate::layout::{self, Plan};
use crate::views::{Exported, NodesAnswer, Stopped};
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

/// Generates a cluster in `dir`, starts its nodes and (unless `no_ingest`) ingests the data.
pub async fn up(dir: &Path, plan: Plan, no_ingest: bool) -> Result<Output> {
    let cluster = Cluster::up(dir, &plan, NodeCommand::current_exe()?).await?;
    eprintln!("{} nodes are up in {}", plan.nodes, cluster.generated.dir.display());
    if !no_ingest {
        super::ingest(&cluster).await?;
    }
    let exported = Exported { cluster: cluster.generated.cluster_file.clone() };
    cluster.detach();
    Ok(Box::new(exported))
}

/// Stops the nodes of the cluster in `dir`.
pub fn down(dir: &Path) -> Result<Output> {
    let generated = layout::existing(dir)?;
    let mut nodes = Vec::new();
    for files in &generated.nodes {
        let was = launch::stop_pid_file(&files.dir, Duration::from_secs(5))?;
        eprintln!("{}: {}", files.id, if was { "stopped" } else { "was not running" });
        nodes.push((files.id.clone(), was));
    }
    Ok(Box::new(Stopped { nodes }))
}

/// Every node's status; fails when one does not answer.
pub async fn status(dir: &Path) -> Result<Output> {
    let generated = layout::existing(dir)?;
    let client = orchestrator::Client::new(orchestrator::ClusterFile::load(&generated.cluster_file)?)?;
    let statuses = client.node_statuses().await;
    Ok(Box::new(NodesAnswer(orchestrator::render::cluster::ClusterStatus {
        nodes: client.nodes().to_vec(),
        statuses,
    })))
}
