//! Local test clusters: generate keys, configurations and sample customers for `n` nodes,
//! start the node processes on 127.0.0.1, ingest every node's file, and run the demo.
//!
//! Not needed in production: a real deployment writes its own configurations (see
//! `docs/operations.md`).

pub mod byod;
pub mod cli;
pub mod commands;
pub mod docker;
pub mod dpbench;
pub mod jobbench;
pub mod launch;
pub mod layout;
pub mod plain;
pub mod sample;
pub mod views;

use anyhow::{Context, Result, bail};
use launch::NodeCommand;
use layout::{Generated, Plan};
use mpc_node::config::Config;
use orchestrator::Client;
use std::path::Path;
use std::process::Child;
use std::time::Duration;
use wire::control::{IngestReport, RequestBody, Response, RestoreReport};

/// How long `up` waits for nodes to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running local cluster. Dropping it kills the node processes it started.
pub struct Cluster {
    /// Its files.
    pub generated: Generated,
    /// A client authenticated as the operator.
    pub client: Client,
    /// How long [`Cluster::restart`] waits for the nodes to answer.
    pub ready_timeout: Duration,
    children: Vec<Option<Child>>,
    command: NodeCommand,
}

impl Cluster {
    /// Generates a cluster in `dir`, starts its nodes and waits until all answer.
    pub async fn up(dir: &Path, plan: &Plan, command: NodeCommand) -> Result<Self> {
        let generated = layout::generate(dir, plan)?;
        Self::start(generated, command).await
    }

    /// Starts the nodes of an already generated cluster.
    pub async fn start(generated: Generated, command: NodeCommand) -> Result<Self> {
        let mut children = Vec::new();
        for files in &generated.nodes {
            children.push(launch::spawn(&command, files)?);
        }
        let mut watched: Vec<_> = generated.nodes.iter().zip(children.iter_mut()).collect();
        let ready = launch::wait_ready(&generated.cluster_file, &mut watched, READY_TIMEOUT).await;
        let client = match ready {
            Ok(c) => c,
            Err(e) => {
                for c in &mut children {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Err(e);
            }
        };
        Ok(Self {
            generated,
            client,
            ready_timeout: READY_TIMEOUT,
            children: children.into_iter().map(Some).collect(),
            command,
        })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.generated.nodes.len()
    }

    /// Whether the cluster has no node (never true for a started cluster).
    pub fn is_empty(&self) -> bool {
        self.generated.nodes.is_empty()
    }

    /// Asks node `i` to ingest its configured file of `dataset`, as its owner would (refused
    /// if node `i` already contributed to it).
    pub async fn ingest(&self, i: usize, dataset: &str) -> Result<IngestReport> {
        let body = RequestBody::Ingest { dataset: dataset.into(), replace: false };
        match self.ask_as_owner(i, body).await? {
            Response::Ingested(r) => Ok(r),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    /// Asks node `i` to ingest its configured file of `dataset` again, replacing what it
    /// shared before (`mpc-node ingest --replace`).
    pub async fn replace(&self, i: usize, dataset: &str) -> Result<IngestReport> {
        let body = RequestBody::Ingest { dataset: dataset.into(), replace: true };
        match self.ask_as_owner(i, body).await? {
            Response::Ingested(r) => Ok(r),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    /// Asks node `i` to put back the contribution its last replacement replaced
    /// (`mpc-node ingest --restore`).
    pub async fn restore(&self, i: usize, dataset: &str) -> Result<RestoreReport> {
        match self.ask_as_owner(i, RequestBody::Restore { dataset: dataset.into() }).await? {
            Response::Restored(r) => Ok(r),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    async fn ask_as_owner(&self, i: usize, body: RequestBody) -> Result<Response> {
        let config = Config::load(&self.generated.nodes[i].config)?;
        match mpc_node::cli::ask_own_node(&config, body, Duration::from_secs(600)).await? {
            Response::Error { message, .. } => bail!("{message}"),
            other => Ok(other),
        }
    }

    /// Every node ingests its sample file into the `customers` dataset, one after another.
    pub async fn ingest_all(&self) -> Result<Vec<IngestReport>> {
        let mut out = Vec::new();
        for i in 0..self.len() {
            out.push(
                self.ingest(i, sample::DATASET)
                    .await
                    .with_context(|| format!("ingest on {}", self.generated.nodes[i].id))?,
            );
        }
        Ok(out)
    }

    /// Kills node `i` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(self.generated.nodes[i].dir.join("node.pid"));
        }
    }

    /// Starts node `i` again and waits until every node answers.
    pub async fn restart(&mut self, i: usize) -> Result<()> {
        self.kill(i);
        let files = &self.generated.nodes[i];
        let mut child = launch::spawn(&self.command, files)?;
        let ready =
            launch::wait_ready(&self.generated.cluster_file, &mut [(files, &mut child)], self.ready_timeout)
                .await;
        self.children[i] = Some(child);
        self.client = ready?;
        Ok(())
    }

    /// Stops every node at once (SIGKILL) and starts them all again; waits until every node
    /// answers.
    pub async fn restart_all(&mut self) -> Result<()> {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        let mut children = Vec::new();
        for files in &self.generated.nodes {
            children.push(launch::spawn(&self.command, files)?);
        }
        let mut watched: Vec<(&layout::NodeFiles, &mut Child)> =
            self.generated.nodes.iter().zip(children.iter_mut()).collect();
        let ready = launch::wait_ready(&self.generated.cluster_file, &mut watched, self.ready_timeout).await;
        self.children = children.into_iter().map(Some).collect();
        self.client = ready?;
        Ok(())
    }

    /// Leaves the nodes running after this value is dropped (for `testnet up`).
    pub fn detach(mut self) {
        self.children.clear();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (child, files) in self.children.iter_mut().zip(&self.generated.nodes) {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(files.dir.join("node.pid"));
            }
        }
    }
}
