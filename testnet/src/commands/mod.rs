//! The commands of the `testnet` command line, one module each. A command returns its output
//! as a value that renders itself (see [`orchestrator::render`] and [`crate::views`]).

pub mod bench;
pub mod demo;
pub mod deploy;
pub mod local;
pub mod measure;

use crate::Cluster;
use anyhow::Result;
use std::path::PathBuf;

/// What a command returns: its output, in every form.
pub type Output = Box<dyn orchestrator::render::Render>;

/// A fresh directory for a command's temporary cluster.
pub fn temp_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("segmpc-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Ingests every node's file, reporting each on stderr.
pub async fn ingest(cluster: &Cluster) -> Result<()> {
    for (files, report) in cluster.generated.nodes.iter().zip(cluster.ingest_all().await?) {
        eprintln!(
            "{}: shared {} customers with {} nodes ({} skipped without consent, {:.1} MB of shares sent)",
            files.id,
            report.rows,
            report.nodes,
            report.skipped_no_consent,
            report.bytes_sent as f64 / 1e6
        );
    }
    Ok(())
}
