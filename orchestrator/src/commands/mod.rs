//! The commands of the `orchestrator` command line, one module each. A command returns its
//! output as a value that renders itself (see [`crate::render`]); it prints nothing on stdout.

pub mod audit;
pub mod budget;
pub mod cluster;
pub mod datasets;
pub mod job;
pub mod keygen;
pub mod plain;
pub mod report;

use crate::client::Client;
use crate::cluster::{CLUSTER_ENV, ClusterFile};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// What a command returns: its output, in every form.
pub type Output = Box<dyn crate::render::Render>;

/// A client for the cluster file given on the command line or in the environment.
pub fn client(cluster: Option<PathBuf>) -> Result<Client> {
    let path =
        cluster.with_context(|| format!("no cluster file: pass --cluster FILE or set {CLUSTER_ENV}"))?;
    Ok(Client::new(ClusterFile::load(&path)?)?)
}
