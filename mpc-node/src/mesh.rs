//! Connections to the other nodes, dialled by party number and pinned by fingerprint.
//!
//! Each node dials each peer at most once and reuses the connection for every stream it
//! sends (ingest data, job messages); a connection that closed is dialled again on next use.

use crate::config::Member;
use net::{Identity, NetOptions};
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Mutex;
use wire::mesh::{MeshHeader, MeshRequest, MeshResponse};

/// A peer that cannot be reached or that refused a request.
#[derive(Debug, Error)]
#[error("node {node}: {reason}")]
pub struct MeshError {
    /// The peer's node id.
    pub node: String,
    /// What happened.
    pub reason: String,
}

/// How long a link probe waits (well below an operator's wait for the node's own answer).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Outgoing connections to peers.
pub struct Mesh {
    endpoint: quinn::Endpoint,
    identity: Identity,
    members: Vec<Member>,
    options: NetOptions,
    request_timeout: Duration,
    conns: Mutex<HashMap<usize, quinn::Connection>>,
}

impl Mesh {
    /// A mesh dialling from `endpoint` as `identity`; a peer must answer a request within
    /// `request_timeout`.
    pub fn new(
        endpoint: quinn::Endpoint,
        identity: Identity,
        members: Vec<Member>,
        options: NetOptions,
        request_timeout: Duration,
    ) -> Self {
        Self { endpoint, identity, members, options, request_timeout, conns: Mutex::new(HashMap::new()) }
    }

    /// How long a peer may take to answer a request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// An error about `party`.
    pub fn error(&self, party: usize, reason: impl std::fmt::Display) -> MeshError {
        let node = self.members.get(party).map_or_else(|| format!("#{party}"), |m| m.id.clone());
        MeshError { node, reason: reason.to_string() }
    }

    /// An open connection to `party`, dialling it if needed (without blocking other peers).
    pub async fn connection(&self, party: usize) -> Result<quinn::Connection, MeshError> {
        if let Some(c) = self.conns.lock().await.get(&party)
            && c.close_reason().is_none()
        {
            return Ok(c.clone());
        }
        let member =
            self.members.get(party).ok_or_else(|| self.error(party, "not a member of the cluster"))?;
        let address =
            member.address.as_deref().ok_or_else(|| self.error(party, "this node cannot dial itself"))?;
        let lookup = tokio::time::timeout(self.options.connect_timeout, tokio::net::lookup_host(address))
            .await
            .map_err(|_| self.error(party, format!("resolving {address} timed out")))?;
        let addr = lookup
            .map_err(|e| self.error(party, format!("cannot resolve {address}: {e}")))?
            .next()
            .ok_or_else(|| self.error(party, format!("{address} resolves to no address")))?;
        let conn = net::connect(&self.endpoint, &self.identity, addr, member.fingerprint, &self.options)
            .await
            .map_err(|e| self.error(party, e))?;
        let mut conns = self.conns.lock().await;
        if let Some(other) = conns.get(&party)
            && other.close_reason().is_none()
        {
            // Another task dialled at the same time; keep one connection.
            conn.close(0u32.into(), b"duplicate");
            return Ok(other.clone());
        }
        conns.insert(party, conn.clone());
        Ok(conn)
    }

    /// Drops the cached connection to `party` if it is `stale`, so that the next use dials.
    pub async fn forget(&self, party: usize, stale: &quinn::Connection) {
        let mut conns = self.conns.lock().await;
        if conns.get(&party).is_some_and(|c| c.stable_id() == stale.stable_id()) {
            conns.remove(&party);
        }
    }

    /// Sends a one-frame request (commit, abort) to `party` and waits for the answer.
    pub async fn call(&self, party: usize, request: MeshRequest) -> Result<(), MeshError> {
        let conn = self.connection(party).await?;
        let header = MeshHeader { version: wire::PROTOCOL_VERSION, request };
        let call = net::call(&conn, &header, wire::MAX_CONTROL_FRAME);
        let answer = tokio::time::timeout(self.request_timeout, call).await.map_err(|_| {
            self.error(party, format!("no answer within {} s", self.request_timeout.as_secs()))
        })?;
        match answer.map_err(|e| self.error(party, e))? {
            MeshResponse::Ok => Ok(()),
            MeshResponse::Error { message } => Err(self.error(party, message)),
        }
    }

    /// The round trip of a request to `party` and its answer, dialling it if needed; a peer
    /// that does not answer within [`PROBE_TIMEOUT`] is reported down.
    pub async fn probe(&self, party: usize) -> Result<Duration, MeshError> {
        let started = std::time::Instant::now();
        tokio::time::timeout(PROBE_TIMEOUT, self.call(party, MeshRequest::Ping))
            .await
            .map_err(|_| self.error(party, format!("no answer within {} s", PROBE_TIMEOUT.as_secs())))??;
        Ok(started.elapsed())
    }

    /// Number of parties.
    pub fn parties(&self) -> usize {
        self.members.len()
    }
}
