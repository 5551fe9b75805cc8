//! Agreement on what a job computes, before anything secret moves.
//!
//! Every party hashes what it is about to compute on (the job specification, the member list,
//! the contributions of the dataset it holds) and all parties exchange these digests. A party
//! that holds a different view (a missing contribution, another configuration) makes the job
//! fail on every side before any share is combined.

use crate::transport::{Transport, TransportError, exchange_all};
use thiserror::Error;

/// Why the parties do not agree.
#[derive(Debug, Error)]
pub enum AgreeError {
    /// Moving the digests failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A party holds a different view of the job.
    #[error("party {party} computes on a different view of the job (digest {theirs}, ours {ours})")]
    Mismatch {
        /// The first party that disagrees.
        party: usize,
        /// Its digest, hex.
        theirs: String,
        /// Our digest, hex.
        ours: String,
    },
}

/// Exchanges `digest` with every party and checks that all are equal.
pub async fn agree<T: Transport>(transport: &T, digest: [u8; 32]) -> Result<(), AgreeError> {
    let all = exchange_all(transport, digest.to_vec()).await?;
    for (party, theirs) in all.iter().enumerate() {
        if theirs.as_slice() != digest {
            return Err(AgreeError::Mismatch { party, theirs: hex(theirs), ours: hex(&digest) });
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::memory::mesh;

    async fn run(digests: Vec<[u8; 32]>) -> Vec<Result<(), AgreeError>> {
        let ends = mesh(digests.len());
        let tasks: Vec<_> = ends
            .into_iter()
            .zip(digests)
            .map(|(t, d)| tokio::spawn(async move { agree(&t, d).await }))
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn equal_digests_agree_for_several_party_counts() {
        for n in 3..=5 {
            assert!(run(vec![[7; 32]; n]).await.iter().all(Result::is_ok));
        }
    }

    #[tokio::test]
    async fn agreement_is_one_round_of_one_digest_per_peer() {
        let ends = mesh(3);
        let tasks: Vec<_> = ends
            .into_iter()
            .map(|t| {
                tokio::spawn(async move {
                    let t = crate::Counted::new(t);
                    agree(&t, [3; 32]).await.unwrap();
                    t.traffic()
                })
            })
            .collect();
        for task in tasks {
            let traffic = task.await.unwrap();
            assert_eq!(traffic, crate::Traffic { bytes_sent: 64, messages_sent: 2, rounds: 1 });
        }
    }

    #[tokio::test]
    async fn one_different_digest_fails_everywhere() {
        let results = run(vec![[1; 32], [1; 32], [2; 32], [1; 32]]).await;
        assert!(results.iter().all(Result::is_err));
        assert!(matches!(results[0], Err(AgreeError::Mismatch { party: 2, .. })));
        assert!(matches!(results[2], Err(AgreeError::Mismatch { party: 0, .. })));
    }
}
