//! The header every protocol message carries, checked on receipt.
//!
//! All parties run the same operations in the same order, so each message has a place in the
//! job that both ends can name: the operation's sequence number among those the sending
//! party's engine started, and the operation's kind. A message travels as a [`HEADER_LEN`]-byte
//! header (the sequence number as a little-endian `u32`, then the kind as one byte) followed by
//! its body. The receiver compares the header with the one it expects, so parties that fall
//! out of step (one skipped an operation, or ran another) fail at once with
//! [`MessageError::OutOfStep`] naming both, instead of reading the wrong vector as a
//! well-formed one.

use crate::transport::{Transport, TransportError, decode_u64s, encode_u64s};
use thiserror::Error;

/// Bytes of the header in front of every protocol message.
pub const HEADER_LEN: usize = 5;

/// The kind of operation a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// The agreement on the job's view and common secret.
    Agree = 1,
    /// The agreement on the engine's seeds.
    Seeds = 2,
    /// A party's input, secret-shared.
    Input = 3,
    /// An opening to every party.
    Open = 4,
    /// An opening to one party.
    OpenTo = 5,
    /// An opening of a binary sharing.
    OpenBinary = 6,
    /// An element-wise product (resharing).
    Mul = 7,
    /// A bitwise AND of binary sharings (resharing).
    And = 8,
    /// Dot products (resharing).
    Dot = 9,
    /// A matrix product (resharing).
    Matmul = 10,
    /// The inputs of the pivot conversions.
    Pivot = 11,
    /// A resharing of the actively secure engine's product check.
    Check = 12,
    /// An opening in which every holder sends every component (the active engine's
    /// releases, coins and check values).
    Reveal = 13,
    /// The digests of what the parties hold and were sent, compared by the active engine.
    Digest = 14,
}

impl Op {
    const ALL: [Op; 14] = [
        Op::Agree,
        Op::Seeds,
        Op::Input,
        Op::Open,
        Op::OpenTo,
        Op::OpenBinary,
        Op::Mul,
        Op::And,
        Op::Dot,
        Op::Matmul,
        Op::Pivot,
        Op::Check,
        Op::Reveal,
        Op::Digest,
    ];

    /// The kind with this byte on the wire.
    pub fn from_byte(byte: u8) -> Option<Op> {
        Op::ALL.into_iter().find(|op| *op as u8 == byte)
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Its name in errors and logs.
    pub fn name(self) -> &'static str {
        match self {
            Op::Agree => "agree",
            Op::Seeds => "seeds",
            Op::Input => "input",
            Op::Open => "open",
            Op::OpenTo => "open to one",
            Op::OpenBinary => "open binary",
            Op::Mul => "mul",
            Op::And => "and",
            Op::Dot => "dot",
            Op::Matmul => "matmul",
            Op::Pivot => "pivot",
            Op::Check => "check",
            Op::Reveal => "reveal",
            Op::Digest => "digest",
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which message of a job: the operation's sequence number and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The operation's number among those the party's engine started (from 0).
    pub seq: u32,
    /// The operation's kind.
    pub op: Op,
}

impl Tag {
    /// The tag of operation `seq` of kind `op`.
    pub fn new(seq: u32, op: Op) -> Tag {
        Tag { seq, op }
    }

    /// A message with this tag's header and room for `body` more bytes.
    pub fn message(self, body: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + body);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.push(self.op as u8);
        out
    }

    /// A message with this tag carrying ring elements.
    pub fn u64s(self, values: &[u64]) -> Vec<u8> {
        let mut out = self.message(values.len() * 8);
        out.extend_from_slice(&encode_u64s(values));
        out
    }

    /// Reads the header of a message from `party`, and checks it is this tag. Returns the body.
    pub fn check(self, party: usize, message: &[u8]) -> Result<&[u8], MessageError> {
        let malformed = |reason: String| MessageError::Malformed { party, reason };
        if message.len() < HEADER_LEN {
            return Err(malformed(format!("{} bytes, shorter than a message header", message.len())));
        }
        let seq = u32::from_le_bytes(message[..4].try_into().expect("4 bytes"));
        let op = Op::from_byte(message[4])
            .ok_or_else(|| malformed(format!("message {seq} of unknown kind {}", message[4])))?;
        let received = Tag { seq, op };
        if received != self {
            return Err(MessageError::OutOfStep { party, expected: self, received });
        }
        Ok(&message[HEADER_LEN..])
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.seq, self.op)
    }
}

/// Why a message could not be received.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageError {
    /// Moving it failed.
    #[error(transparent)]
    Transport(TransportError),
    /// It belongs to another operation than the one this party is at.
    #[error("out of step with party {party}: expected message {expected}, received message {received}")]
    OutOfStep {
        /// The sender.
        party: usize,
        /// The message this party waits for.
        expected: Tag,
        /// The message it got.
        received: Tag,
    },
    /// It is not a message (no header, an unknown kind, a body of the wrong length).
    #[error("party {party} sent a malformed message: {reason}")]
    Malformed {
        /// The sender.
        party: usize,
        /// What is wrong.
        reason: String,
    },
}

impl From<TransportError> for MessageError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Malformed { party, reason } => MessageError::Malformed { party, reason },
            other => MessageError::Transport(other),
        }
    }
}

/// Receives the next message from `from` and checks that it is `expected`; returns its body.
pub async fn recv<T: Transport>(transport: &T, from: usize, expected: Tag) -> Result<Vec<u8>, MessageError> {
    let mut message = transport.recv(from).await?;
    expected.check(from, &message)?;
    message.drain(..HEADER_LEN);
    Ok(message)
}

/// Receives `count` ring elements from `from` in the message `expected`.
pub async fn recv_u64s<T: Transport>(
    transport: &T,
    from: usize,
    expected: Tag,
    count: usize,
) -> Result<Vec<u64>, MessageError> {
    let message = transport.recv(from).await?;
    let body = expected.check(from, &message)?;
    Ok(decode_u64s(from, body, count)?)
}

/// Sends `body` to every other party in message `tag`, then receives that message from each.
/// The result is indexed by party; this party's entry is its own body.
pub async fn exchange_all<T: Transport>(
    transport: &T,
    tag: Tag,
    body: &[u8],
) -> Result<Vec<Vec<u8>>, MessageError> {
    let me = transport.party();
    let mut message = tag.message(body.len());
    message.extend_from_slice(body);
    for to in (0..transport.parties()).filter(|&p| p != me) {
        transport.send(to, message.clone()).await?;
    }
    let mut out = Vec::with_capacity(transport.parties());
    for from in 0..transport.parties() {
        if from == me {
            out.push(body.to_vec());
        } else {
            out.push(recv(transport, from, tag).await?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_round_trips_and_names_both_sides_on_a_mismatch() {
        let tag = Tag::new(17, Op::Mul);
        let message = tag.u64s(&[5, u64::MAX]);
        assert_eq!(message.len(), HEADER_LEN + 16);
        assert_eq!(&message[..HEADER_LEN], &[17, 0, 0, 0, Op::Mul as u8]);
        assert_eq!(tag.check(2, &message).unwrap().len(), 16);
        let err = Tag::new(17, Op::Open).check(2, &message).unwrap_err();
        assert_eq!(
            err.to_string(),
            "out of step with party 2: expected message 17 (open), received message 17 (mul)"
        );
        let err = Tag::new(16, Op::Mul).check(1, &message).unwrap_err();
        assert!(matches!(err, MessageError::OutOfStep { party: 1, .. }), "{err}");
    }

    #[test]
    fn short_messages_and_unknown_kinds_are_malformed() {
        let tag = Tag::new(0, Op::Agree);
        assert!(matches!(tag.check(1, &[0, 0, 0]), Err(MessageError::Malformed { party: 1, .. })));
        assert!(matches!(tag.check(1, &[0, 0, 0, 0, 200]), Err(MessageError::Malformed { party: 1, .. })));
        for op in Op::ALL {
            assert_eq!(Op::from_byte(op as u8), Some(op));
        }
    }
}
