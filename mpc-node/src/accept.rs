//! What one certificate can make the node hold: a cap on its open connections, and requests
//! read with a deadline, a few streams at a time.
//!
//! Every stream a peer or an operator opens starts with one request frame (at most
//! [`wire::MAX_CONTROL_FRAME`] bytes). The node reads at most [`READING_AT_ONCE`] such frames
//! of one connection at a time, each within a deadline (the network idle timeout): a stream
//! that has not delivered its whole request by then is answered with an error and closed.
//! The connection's other new streams wait, unread, inside the QUIC flow-control window (see
//! [`net::limits`]), so a client that opens many streams and sends little costs the node at
//! most that window plus [`READING_AT_ONCE`] partial requests.

use net::Fingerprint;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Streams of one connection whose request is being read at once.
pub const READING_AT_ONCE: usize = 4;

/// The open connections of each certificate.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<Fingerprint, usize>>,
}

/// A connection counted against its certificate's cap until this is dropped.
#[derive(Debug)]
pub struct Admitted {
    connections: Arc<Connections>,
    fingerprint: Fingerprint,
}

impl Connections {
    /// Counts one more connection of `fingerprint`, unless it already has `limit` open.
    pub fn admit(self: &Arc<Self>, fingerprint: Fingerprint, limit: usize) -> Option<Admitted> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(fingerprint).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Admitted { connections: self.clone(), fingerprint })
    }

    /// Connections of `fingerprint` open now.
    pub fn count(&self, fingerprint: &Fingerprint) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).get(fingerprint).copied().unwrap_or(0)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.fingerprint) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.fingerprint);
            }
        }
    }
}

/// Why a stream's first frame is not a request.
#[derive(Debug, thiserror::Error)]
pub enum BadRequest {
    /// Too long or malformed.
    #[error("bad request: {0}")]
    Frame(#[from] wire::FrameError),
    /// Not complete in time.
    #[error("bad request: no complete request within {0} s")]
    Late(u64),
}

/// Accepts the streams of `conn` until it closes, and hands each stream's first frame (or why
/// there is none: too long, malformed, not complete within `deadline`) with the stream to
/// `handle`, on a task of its own.
pub async fn requests<T, H, F>(conn: &quinn::Connection, deadline: Duration, handle: H)
where
    T: DeserializeOwned + Send + 'static,
    H: Fn(Result<T, BadRequest>, quinn::SendStream, quinn::RecvStream) -> F + Clone + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let reading = Arc::new(Semaphore::new(READING_AT_ONCE));
    loop {
        let permit = reading.clone().acquire_owned().await.expect("the semaphore is never closed");
        let Ok((tx, mut rx)) = conn.accept_bi().await else { return };
        let handle = handle.clone();
        tokio::spawn(async move {
            let read = wire::read_frame::<_, T>(&mut rx, wire::MAX_CONTROL_FRAME);
            let request = match tokio::time::timeout(deadline, read).await {
                Ok(Ok(request)) => Ok(request),
                Ok(Err(e)) => Err(BadRequest::Frame(e)),
                Err(_) => Err(BadRequest::Late(deadline.as_secs())),
            };
            drop(permit);
            handle(request, tx, rx).await;
        });
    }
}

/// Writes `answer` and finishes the stream; a reader that does not take it within
/// `deadline` gets the stream reset instead.
pub async fn reply<T: Serialize>(mut tx: quinn::SendStream, answer: &T, deadline: Duration) {
    match tokio::time::timeout(deadline, wire::write_frame(&mut tx, answer)).await {
        Ok(Ok(())) => {
            let _ = tx.finish();
        }
        Ok(Err(_)) => {}
        Err(_) => {
            let _ = tx.reset(1u32.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_gets_at_most_its_limit_of_connections_and_a_closed_one_frees_its_place() {
        let connections = Arc::new(Connections::default());
        let (a, b) = (Fingerprint([1; 32]), Fingerprint([2; 32]));
        let mut held: Vec<Admitted> =
            (0..3).map(|_| connections.admit(a, 3).expect("under the cap")).collect();
        assert!(connections.admit(a, 3).is_none(), "a fourth connection was admitted");
        let other = connections.admit(b, 3).expect("another certificate has its own cap");
        assert_eq!((connections.count(&a), connections.count(&b)), (3, 1));
        held.pop();
        assert_eq!(connections.count(&a), 2);
        let _again = connections.admit(a, 3).expect("a closed connection frees its place");
        drop(other);
        assert_eq!(connections.count(&b), 0);
        assert!(
            connections.open.lock().unwrap().get(&b).is_none(),
            "a certificate with none open is forgotten"
        );
    }
}
