//! The channel the protocols talk through, and an in-memory implementation for tests.
//!
//! A [`Transport`] connects one party to the others of a job: `send` and `recv` move whole
//! messages (a batch of ring elements, never one element at a time), in order per pair of
//! parties. The node implements it over QUIC streams; [`memory::mesh`] implements it over
//! channels so that the protocol mathematics can be tested with `n` parties in one process.
//! The payloads are opaque here: the protocols frame them with [`crate::message`]'s header.

pub mod memory;

use std::future::Future;
use thiserror::Error;

/// Why a message could not be moved.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection to the party is gone (it stopped, crashed or was cut off).
    #[error("lost the connection to party {party}: {reason}")]
    Closed {
        /// The party at the other end.
        party: usize,
        /// What the transport saw.
        reason: String,
    },
    /// The party did not answer in time.
    #[error("party {party} did not answer within {seconds} s")]
    Timeout {
        /// The silent party.
        party: usize,
        /// The time waited.
        seconds: u64,
    },
    /// The party sent something that is not a valid message.
    #[error("party {party} sent a malformed message: {reason}")]
    Malformed {
        /// The sender.
        party: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A party index outside the job.
    #[error("party {0} is not part of this job")]
    UnknownParty(usize),
}

/// Message passing between the parties of one job.
pub trait Transport: Send + Sync {
    /// This party's index, `0..parties()`.
    fn party(&self) -> usize;
    /// Number of parties in the job.
    fn parties(&self) -> usize;
    /// Sends one message to party `to`.
    fn send(&self, to: usize, payload: Vec<u8>) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Receives the next message from party `from`.
    fn recv(&self, from: usize) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send;
}

/// Traffic of one party: what it sent, and in how many rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    /// Payload bytes sent to all other parties.
    pub bytes_sent: u64,
    /// Messages sent to all other parties.
    pub messages_sent: u64,
    /// Communication rounds: the most messages sent to any one party (every round of a
    /// vectorised protocol sends at most one message to each party).
    pub rounds: u64,
}

/// A [`Transport`] that counts what passes through it.
pub struct Counted<T> {
    inner: T,
    per_party: Vec<std::sync::atomic::AtomicU64>,
    bytes: std::sync::atomic::AtomicU64,
}

impl<T: Transport> Counted<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        let n = inner.parties();
        Self { inner, per_party: (0..n).map(|_| Default::default()).collect(), bytes: Default::default() }
    }

    /// What was sent so far.
    pub fn traffic(&self) -> Traffic {
        use std::sync::atomic::Ordering::Relaxed;
        let counts: Vec<u64> = self.per_party.iter().map(|c| c.load(Relaxed)).collect();
        Traffic {
            bytes_sent: self.bytes.load(Relaxed),
            messages_sent: counts.iter().sum(),
            rounds: counts.into_iter().max().unwrap_or(0),
        }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: Transport> Transport for Counted<T> {
    fn party(&self) -> usize {
        self.inner.party()
    }

    fn parties(&self) -> usize {
        self.inner.parties()
    }

    async fn send(&self, to: usize, payload: Vec<u8>) -> Result<(), TransportError> {
        use std::sync::atomic::Ordering::Relaxed;
        let len = payload.len() as u64;
        self.inner.send(to, payload).await?;
        self.bytes.fetch_add(len, Relaxed);
        if let Some(c) = self.per_party.get(to) {
            c.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    async fn recv(&self, from: usize) -> Result<Vec<u8>, TransportError> {
        self.inner.recv(from).await
    }
}

/// Encodes ring elements as little-endian bytes (the payload of a protocol message).
pub fn encode_u64s(values: &[u64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes `expected` little-endian ring elements sent by `party`.
pub fn decode_u64s(party: usize, bytes: &[u8], expected: usize) -> Result<Vec<u64>, TransportError> {
    if bytes.len() != expected * 8 {
        return Err(TransportError::Malformed {
            party,
            reason: format!("expected {expected} ring elements, got {} bytes", bytes.len()),
        });
    }
    Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}
