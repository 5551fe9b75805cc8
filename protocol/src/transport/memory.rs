//! An in-memory [`Transport`] for unit tests of protocol mathematics: `n` parties in one
//! process, connected by unbounded channels, one per ordered pair.

use super::{Transport, TransportError};
use tokio::sync::{Mutex, mpsc};

/// One party's end of an in-memory mesh.
pub struct MemoryTransport {
    party: usize,
    senders: Vec<Option<mpsc::UnboundedSender<Vec<u8>>>>,
    receivers: Vec<Option<Mutex<mpsc::UnboundedReceiver<Vec<u8>>>>>,
}

/// Builds a fully connected mesh of `n` parties; element `i` is party `i`'s end.
pub fn mesh(n: usize) -> Vec<MemoryTransport> {
    let mut ends: Vec<MemoryTransport> = (0..n)
        .map(|party| MemoryTransport {
            party,
            senders: (0..n).map(|_| None).collect(),
            receivers: (0..n).map(|_| None).collect(),
        })
        .collect();
    for from in 0..n {
        for to in 0..n {
            if from != to {
                let (tx, rx) = mpsc::unbounded_channel();
                ends[from].senders[to] = Some(tx);
                ends[to].receivers[from] = Some(Mutex::new(rx));
            }
        }
    }
    ends
}

impl Transport for MemoryTransport {
    fn party(&self) -> usize {
        self.party
    }

    fn parties(&self) -> usize {
        self.senders.len()
    }

    async fn send(&self, to: usize, payload: Vec<u8>) -> Result<(), TransportError> {
        let tx = self.senders.get(to).and_then(Option::as_ref).ok_or(TransportError::UnknownParty(to))?;
        tx.send(payload).map_err(|_| TransportError::Closed { party: to, reason: "receiver dropped".into() })
    }

    async fn recv(&self, from: usize) -> Result<Vec<u8>, TransportError> {
        let rx =
            self.receivers.get(from).and_then(Option::as_ref).ok_or(TransportError::UnknownParty(from))?;
        rx.lock()
            .await
            .recv()
            .await
            .ok_or(TransportError::Closed { party: from, reason: "sender dropped".into() })
    }
}
