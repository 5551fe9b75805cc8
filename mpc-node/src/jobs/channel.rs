//! The QUIC side of a job's [`Transport`]: one stream per job and ordered pair of nodes,
//! carrying raw frames. The receiver acknowledges the stream's header; a sender whose cached
//! connection turns out to be stale (the peer restarted) dials again once.
//!
//! A peer may start sending before this node has started the job; its stream then waits in
//! the [`Inbox`] until the job asks for it.

use crate::local::Local;
use crate::mesh::Mesh;
use protocol::{Transport, TransportError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use wire::control::JobId;
use wire::mesh::{MeshHeader, MeshRequest, MeshResponse};

/// Why opening a job channel failed.
#[derive(Debug, thiserror::Error)]
enum ChannelError {
    #[error("{0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("{0}")]
    Frame(#[from] wire::FrameError),
    #[error("refused: {0}")]
    Refused(String),
}

enum Slot {
    Waiting(oneshot::Sender<quinn::RecvStream>),
    Arrived(quinn::RecvStream),
}

/// Incoming job streams, by job and sending party.
#[derive(Default)]
pub struct Inbox {
    slots: Mutex<HashMap<(JobId, usize), Slot>>,
}

impl Inbox {
    /// Hands a stream from `from` for `job` to the job (now or when it asks).
    pub fn deliver(&self, job: JobId, from: usize, stream: quinn::RecvStream) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.remove(&(job, from)) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(stream);
            }
            _ => {
                slots.insert((job, from), Slot::Arrived(stream));
            }
        }
    }

    fn take(
        &self,
        job: JobId,
        from: usize,
    ) -> Result<quinn::RecvStream, oneshot::Receiver<quinn::RecvStream>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.remove(&(job, from)) {
            Some(Slot::Arrived(s)) => Ok(s),
            _ => {
                let (tx, rx) = oneshot::channel();
                slots.insert((job, from), Slot::Waiting(tx));
                Err(rx)
            }
        }
    }

    /// Forgets every stream of `job`.
    pub fn clear(&self, job: JobId) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).retain(|(j, _), _| *j != job);
    }
}

/// The sending side of a job stream: messages are queued and written by a task of their own,
/// so that a party that sends before it receives never waits for its peer to read (with QUIC
/// flow control, parties that all write large messages first would otherwise deadlock).
struct Outgoing {
    queue: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    writer: tokio::task::JoinHandle<Result<(), TransportError>>,
}

/// A job's [`Transport`] over the node's QUIC mesh.
pub struct QuicChannel {
    local: Arc<Local>,
    mesh: Arc<Mesh>,
    inbox: Arc<Inbox>,
    job: JobId,
    timeout: Duration,
    sends: Vec<tokio::sync::Mutex<Option<Outgoing>>>,
    recvs: Vec<tokio::sync::Mutex<Option<quinn::RecvStream>>>,
}

impl QuicChannel {
    /// The transport of `job` for this node (`local`), over `mesh`, reading from `inbox`.
    pub fn new(local: Arc<Local>, mesh: Arc<Mesh>, inbox: Arc<Inbox>, job: JobId) -> Self {
        let n = local.layout.parties();
        let timeout = local.job_timeout;
        Self {
            local,
            mesh,
            inbox,
            job,
            timeout,
            sends: (0..n).map(|_| tokio::sync::Mutex::new(None)).collect(),
            recvs: (0..n).map(|_| tokio::sync::Mutex::new(None)).collect(),
        }
    }

    fn closed(&self, party: usize, reason: impl std::fmt::Display) -> TransportError {
        TransportError::Closed { party, reason: format!("node {}: {reason}", self.local.members[party].id) }
    }

    fn timed_out(&self, party: usize) -> TransportError {
        TransportError::Timeout { party, seconds: self.timeout.as_secs() }
    }

    /// Opens the job's stream to `to` and waits for the acknowledgement, dialling again once
    /// if the cached connection is dead.
    async fn open(&self, to: usize) -> Result<quinn::SendStream, TransportError> {
        let header = MeshHeader {
            version: wire::PROTOCOL_VERSION,
            request: MeshRequest::JobChannel { job: self.job, from: self.local.me as u16 },
        };
        let mut last = String::new();
        for _attempt in 0..2 {
            let conn = self.mesh.connection(to).await.map_err(|e| self.closed(to, e.reason))?;
            let attempt = async {
                let (mut tx, mut rx) = conn.open_bi().await?;
                wire::write_frame(&mut tx, &header).await?;
                match wire::read_frame::<_, MeshResponse>(&mut rx, wire::MAX_CONTROL_FRAME).await? {
                    MeshResponse::Ok => Ok(tx),
                    MeshResponse::Error { message } => Err(ChannelError::Refused(message)),
                }
            };
            match attempt.await {
                Ok(tx) => return Ok(tx),
                Err(ChannelError::Refused(message)) => return Err(self.closed(to, message)),
                Err(e) => {
                    last = e.to_string();
                    tracing::debug!(job = %self.job, peer = to, error = %last, "job channel failed, dialling again");
                    self.mesh.forget(to, &conn).await;
                }
            }
        }
        Err(self.closed(to, last))
    }

    /// Starts the writer of a freshly opened stream to `to`.
    fn writer(&self, to: usize, mut stream: quinn::SendStream) -> Outgoing {
        let (queue, mut messages) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let peer = self.local.members[to].id.clone();
        let writer = tokio::spawn(async move {
            while let Some(msg) = messages.recv().await {
                wire::write_raw(&mut stream, &msg)
                    .await
                    .map_err(|e| TransportError::Closed { party: to, reason: format!("node {peer}: {e}") })?;
            }
            let _ = stream.finish();
            Ok(())
        });
        Outgoing { queue, writer }
    }

    /// Flushes and finishes the outgoing streams, and forgets incoming ones.
    pub async fn close(&self) {
        for s in &self.sends {
            if let Some(out) = s.lock().await.take() {
                drop(out.queue);
                let _ = tokio::time::timeout(self.timeout, out.writer).await;
            }
        }
        self.inbox.clear(self.job);
    }
}

impl Transport for QuicChannel {
    fn party(&self) -> usize {
        self.local.me
    }

    fn parties(&self) -> usize {
        self.sends.len()
    }

    async fn send(&self, to: usize, payload: Vec<u8>) -> Result<(), TransportError> {
        let slot =
            self.sends.get(to).filter(|_| to != self.local.me).ok_or(TransportError::UnknownParty(to))?;
        let mut guard = slot.lock().await;
        if guard.is_none() {
            let stream =
                tokio::time::timeout(self.timeout, self.open(to)).await.map_err(|_| self.timed_out(to))??;
            *guard = Some(self.writer(to, stream));
        }
        let out = guard.as_mut().expect("stream opened above");
        if out.queue.send(payload).is_ok() {
            return Ok(());
        }
        // The writer stopped: report why.
        let out = guard.take().expect("checked above");
        match out.writer.await {
            Ok(Err(e)) => Err(e),
            _ => Err(self.closed(to, "the job stream stopped")),
        }
    }

    async fn recv(&self, from: usize) -> Result<Vec<u8>, TransportError> {
        let slot = self
            .recvs
            .get(from)
            .filter(|_| from != self.local.me)
            .ok_or(TransportError::UnknownParty(from))?;
        let work = async {
            let mut guard = slot.lock().await;
            if guard.is_none() {
                let stream = match self.inbox.take(self.job, from) {
                    Ok(s) => s,
                    Err(waiting) => waiting.await.map_err(|_| self.closed(from, "job channel dropped"))?,
                };
                *guard = Some(stream);
            }
            let s = guard.as_mut().expect("stream taken above");
            wire::read_raw(s, wire::MAX_JOB_MESSAGE).await.map_err(|e| match e {
                wire::FrameError::Eof => self.closed(from, "the peer closed the job channel"),
                other => self.closed(from, other),
            })
        };
        tokio::time::timeout(self.timeout, work).await.map_err(|_| self.timed_out(from))?
    }
}
