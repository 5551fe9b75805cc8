//! `orchestrator budget`: each node's privacy-budget ledger.

use super::Output;
use crate::client::Client;
use crate::render::cluster::Budgets;
use anyhow::Result;

/// Reads every node's ledger.
pub async fn run(client: &Client) -> Result<Output> {
    Ok(Box::new(Budgets { nodes: client.nodes().to_vec(), ledgers: client.budgets().await }))
}
