//! `orchestrator datasets`: the cluster's datasets.

use super::Output;
use crate::client::Client;
use crate::render::cluster::Datasets;
use anyhow::Result;

/// Lists the datasets every node holds.
pub async fn run(client: &Client) -> Result<Output> {
    Ok(Box::new(Datasets(client.datasets().await?)))
}
