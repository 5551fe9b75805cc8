//! One framed request and one framed answer on a fresh bidirectional stream.

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;
use wire::{FrameError, read_frame, write_frame};

/// Why a call failed.
#[derive(Debug, Error)]
pub enum RpcError {
    /// The connection is gone, or was refused (for example a certificate that is not pinned).
    #[error("connection lost: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// Writing the request failed.
    #[error("cannot send the request: {0}")]
    Write(#[from] quinn::WriteError),
    /// The stream was closed early.
    #[error("stream closed: {0}")]
    Closed(#[from] quinn::ClosedStream),
    /// The answer could not be read.
    #[error("bad answer: {0}")]
    Frame(#[from] FrameError),
}

/// Sends `request` on a new stream and reads one answer of at most `limit` bytes.
pub async fn call<Q, A>(conn: &quinn::Connection, request: &Q, limit: usize) -> Result<A, RpcError>
where
    Q: Serialize + ?Sized,
    A: DeserializeOwned,
{
    let (mut send, mut recv) = conn.open_bi().await?;
    write_frame(&mut send, request).await.map_err(|e| match e {
        FrameError::Io(io) => match conn.close_reason() {
            Some(reason) => RpcError::Connection(reason),
            None => RpcError::Frame(FrameError::Io(io)),
        },
        other => RpcError::Frame(other),
    })?;
    send.finish()?;
    read_frame(&mut recv, limit).await.map_err(|e| match conn.close_reason() {
        Some(reason) => RpcError::Connection(reason),
        None => RpcError::Frame(e),
    })
}
