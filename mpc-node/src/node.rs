//! The running node: it owns its identity, store, audit log, ledger, mesh and jobs, wires them
//! together at the start, and runs the accept loop that routes each incoming connection by
//! the fingerprint of its certificate. The other modules reach these parts through its
//! methods; the jobs get only what [`crate::jobs::Runtime`] is given here.

use crate::audit::AuditLog;
use crate::config::{Config, ConfigError, Member};
use crate::jobs::context::View;
use crate::jobs::{Jobs, Parties, Runtime};
use crate::ledger::Ledger;
use crate::local::Local;
use crate::mesh::Mesh;
use crate::store::{Store, StoreError};
use net::{Fingerprint, Identity, NetOptions};
use protocol::sharing::Layout;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a node cannot start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key or certificate cannot be read.
    #[error("identity: {0}")]
    Identity(#[from] net::IdentityError),
    /// The data directory cannot be used.
    #[error("share store: {0}")]
    Store(#[from] StoreError),
    /// The data directory is open to other users and cannot be restricted.
    #[error("data directory: {0}")]
    DataDir(#[from] crate::files::RestrictError),
    /// The listen address cannot be used.
    #[error("{0}")]
    Endpoint(#[from] net::endpoint::EndpointError),
    /// The listen address is not an address.
    #[error("listen address `{0}` is not ip:port")]
    Listen(String),
    /// The audit log cannot be opened.
    #[error("audit log: {0}")]
    Audit(std::io::Error),
    /// This node's certificate is also listed for a peer or operator.
    #[error("this node's own fingerprint {0} is also listed as a peer or operator")]
    OwnFingerprint(Fingerprint),
}

/// Who is at the other end of a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// This node's own identity (the owner's `mpc-node ingest` command).
    Owner,
    /// A listed operator.
    Operator(String),
    /// Another node, by party number.
    Peer(usize),
}

/// A running node.
pub struct Node {
    local: Arc<Local>,
    store: Arc<Store>,
    mesh: Arc<Mesh>,
    audit: Arc<AuditLog>,
    ledger: Arc<Ledger>,
    jobs: Arc<Runtime>,
    identity: Identity,
    endpoint: quinn::Endpoint,
}

impl Node {
    /// Loads the identity and store and binds the listen address.
    pub fn start(config: Config) -> Result<Arc<Self>, StartError> {
        let identity = Identity::load(&config.identity.cert, &config.identity.key)?;
        let own = identity.fingerprint();
        let members = config.members(own);
        if members.iter().filter(|m| m.fingerprint == own).count() > 1
            || config.operators.iter().any(|o| o.fingerprint == own)
        {
            return Err(StartError::OwnFingerprint(own));
        }
        let me = members.iter().position(|m| m.id == config.node_id).expect("self is a member");
        let layout = Layout::honest_majority(members.len()).expect("checked with the configuration");
        let widened = crate::files::restrict(&config.data_dir)?;
        if let Some((first, mode)) = widened.first() {
            tracing::warn!(
                data_dir = %config.data_dir.display(),
                paths = widened.len(),
                first = %first.display(),
                mode = %format!("{mode:04o}"),
                "took group and other access away from files in the data directory"
            );
            for (path, mode) in &widened {
                tracing::debug!(path = %path.display(), mode = %format!("{mode:04o}"), "restricted");
            }
        }
        let store = Arc::new(Store::open(&config.data_dir)?);
        let parties = Parties {
            node: config.node_id.clone(),
            me,
            members: members.iter().map(|m| m.id.clone()).collect(),
            security: config.security,
        };
        let jobs = Arc::new(Jobs::load(store.jobs_dir(), parties)?);
        let audit = Arc::new(AuditLog::open(&config.data_dir).map_err(StartError::Audit)?);
        let ledger = Arc::new(Ledger::open(&config.data_dir)?);
        let options = NetOptions {
            idle_timeout: Duration::from_secs(config.network.idle_timeout_secs),
            keep_alive: Duration::from_secs(config.network.idle_timeout_secs.div_ceil(4).max(1)),
            ..NetOptions::default()
        };
        let bind: SocketAddr =
            config.listen.parse().map_err(|_| StartError::Listen(config.listen.clone()))?;
        let mut allowed: HashSet<Fingerprint> = members.iter().map(|m| m.fingerprint).collect();
        allowed.extend(config.operators.iter().map(|o| o.fingerprint));
        let endpoint = net::server_endpoint(bind, &identity, allowed, &options)?;
        let job_timeout = Duration::from_secs(config.network.job_timeout_secs);
        let mesh =
            Arc::new(Mesh::new(endpoint.clone(), identity.clone(), members.clone(), options, job_timeout));
        tracing::info!(
            node = %config.node_id,
            party = me,
            parties = members.len(),
            listen = %endpoint.local_addr().map_or_else(|_| config.listen.clone(), |a| a.to_string()),
            fingerprint = %own,
            "node started"
        );
        let local = Arc::new(Local { config, members, me, layout, job_timeout });
        let view = View::new(local.clone(), store.clone(), jobs);
        let jobs = Arc::new(Runtime::new(view, audit.clone(), ledger.clone(), mesh.clone()));
        Ok(Arc::new(Self { local, store, mesh, audit, ledger, jobs, identity, endpoint }))
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.local.config
    }

    /// All nodes, sorted by id.
    pub fn members(&self) -> &[Member] {
        &self.local.members
    }

    /// This node's party number.
    pub fn me(&self) -> usize {
        self.local.me
    }

    /// The sharing layout.
    pub fn layout(&self) -> &Layout {
        &self.local.layout
    }

    /// Longest wait for one message during a job.
    pub fn job_timeout(&self) -> Duration {
        self.local.job_timeout
    }

    /// The share store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Outgoing connections to peers.
    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The privacy-budget ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The jobs, and the driver of their lifecycle.
    pub fn jobs(&self) -> &Arc<Runtime> {
        &self.jobs
    }

    /// Runs blocking store work (file reads, writes, syncs) off the async worker threads.
    pub async fn with_store<R, F>(&self, f: F) -> R
    where
        R: Send + 'static,
        F: FnOnce(&Store) -> R + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store)).await.expect("a store task panicked")
    }

    /// How long a connected client has to deliver a whole request on a new stream, or to
    /// take its answer: the network idle timeout.
    pub fn request_deadline(&self) -> Duration {
        Duration::from_secs(self.config().network.idle_timeout_secs)
    }

    /// The other nodes' party numbers.
    pub fn peers(&self) -> Vec<usize> {
        self.local.peers()
    }

    /// The role of a certificate fingerprint, if it is allowed at all.
    pub fn role(&self, fp: Fingerprint) -> Option<Role> {
        if fp == self.identity.fingerprint() {
            return Some(Role::Owner);
        }
        if let Some(p) = self.members().iter().position(|m| m.fingerprint == fp) {
            return Some(Role::Peer(p));
        }
        self.config().operators.iter().find(|o| o.fingerprint == fp).map(|o| Role::Operator(o.name.clone()))
    }

    /// The QUIC endpoint it listens on.
    pub(crate) fn endpoint(&self) -> &quinn::Endpoint {
        &self.endpoint
    }

    /// Stops accepting and closes every connection.
    pub fn shutdown(&self) {
        self.endpoint.close(0u32.into(), b"node shutting down");
    }
}
