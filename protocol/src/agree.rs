//! Agreement on what a job computes, before anything secret moves, and a secret the parties
//! share for the job.
//!
//! Every party hashes what it is about to compute on (the job specification, the member list,
//! the contributions of the dataset it holds) and all parties exchange these digests. A party
//! that holds a different view (a missing contribution, another configuration) makes the job
//! fail on every side before any share is combined.
//!
//! Beside its digest, every party sends a random nonce of its own; the hash of all parties'
//! nonces, in party order, is the job's *common secret*. It is known to the parties and to
//! nobody else (the nonces travel only over the channels between them), and no party chooses
//! it alone as long as one party draws its nonce at random. The nodes key the digests of what
//! a job opens with it, so that whoever reads their audit logs can compare them but cannot test
//! candidate values against them.

use crate::engine::Security;
use crate::message::{MessageError, Op, Tag, exchange_all};
use crate::transport::Transport;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Why the parties do not agree.
#[derive(Debug, Error)]
pub enum AgreeError {
    /// Moving the digests failed, or a party is at another step of the job.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// A party sent something that is not a digest, a nonce and a security model.
    #[error("party {party} sent {len} bytes where a digest, a nonce and a security model take 65")]
    Malformed {
        /// The party.
        party: usize,
        /// What it sent.
        len: usize,
    },
    /// A party runs the engine under another security model.
    #[error(
        "party {party} runs {theirs} security and this party {ours}: every node of a cluster must set the same `security`"
    )]
    Security {
        /// The first party that disagrees.
        party: usize,
        /// Its model.
        theirs: String,
        /// Ours.
        ours: Security,
    },
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

/// A secret the parties of a job share, and nobody else. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct CommonSecret(pub [u8; 32]);

impl std::fmt::Debug for CommonSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommonSecret(redacted)")
    }
}

/// Exchanges `digest`, `nonce` and the security model with every party, checks that all
/// digests and models are equal, and returns the common secret of the nonces.
pub async fn agree<T: Transport>(
    transport: &T,
    digest: [u8; 32],
    nonce: [u8; 32],
    security: Security,
) -> Result<CommonSecret, AgreeError> {
    let mut mine = [digest, nonce].concat();
    mine.push(security as u8);
    let all = exchange_all(transport, Tag::new(0, Op::Agree), &mine).await?;
    let mut secret = Sha256::new();
    secret.update(b"segmpc job common secret v1");
    for (party, theirs) in all.iter().enumerate() {
        if theirs.len() != 65 {
            return Err(AgreeError::Malformed { party, len: theirs.len() });
        }
        if theirs[64] != security as u8 {
            let theirs = match theirs[64] {
                0 => Security::Passive.to_string(),
                1 => Security::Active.to_string(),
                other => format!("an unknown model ({other})"),
            };
            return Err(AgreeError::Security { party, theirs, ours: security });
        }
        if theirs[..32] != digest {
            return Err(AgreeError::Mismatch { party, theirs: hex(&theirs[..32]), ours: hex(&digest) });
        }
        secret.update(&theirs[32..]);
    }
    Ok(CommonSecret(secret.finalize().into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::memory::mesh;

    async fn run(digests: Vec<[u8; 32]>) -> Vec<Result<CommonSecret, AgreeError>> {
        let ends = mesh(digests.len());
        let tasks: Vec<_> = ends
            .into_iter()
            .zip(digests)
            .enumerate()
            .map(|(i, (t, d))| {
                tokio::spawn(async move { agree(&t, d, [i as u8; 32], Security::Passive).await })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn equal_digests_agree_on_one_secret_for_several_party_counts() {
        let mut secrets = Vec::new();
        for n in 3..=5 {
            let results = run(vec![[7; 32]; n]).await;
            let first = results[0].as_ref().unwrap().clone();
            assert!(results.iter().all(|r| r.as_ref().unwrap() == &first), "{n} parties");
            secrets.push(first);
        }
        assert!(secrets[0] != secrets[1], "the secret depends on every nonce");
        assert_eq!(format!("{:?}", secrets[0]), "CommonSecret(redacted)");
    }

    #[tokio::test]
    async fn agreement_is_one_round_of_one_digest_and_nonce_per_peer() {
        let ends = mesh(3);
        let tasks: Vec<_> = ends
            .into_iter()
            .map(|t| {
                tokio::spawn(async move {
                    let t = crate::Counted::new(t);
                    agree(&t, [3; 32], [9; 32], Security::Passive).await.unwrap();
                    t.traffic()
                })
            })
            .collect();
        for task in tasks {
            let traffic = task.await.unwrap();
            let header = 2 * crate::message::HEADER_LEN as u64;
            assert_eq!(traffic, crate::Traffic { bytes_sent: 130 + header, messages_sent: 2, rounds: 1 });
        }
    }

    #[tokio::test]
    async fn one_different_digest_fails_everywhere() {
        let results = run(vec![[1; 32], [1; 32], [2; 32], [1; 32]]).await;
        assert!(results.iter().all(Result::is_err));
        assert!(matches!(results[0], Err(AgreeError::Mismatch { party: 2, .. })));
        assert!(matches!(results[2], Err(AgreeError::Mismatch { party: 0, .. })));
    }

    #[tokio::test]
    async fn a_party_under_another_security_model_fails_everywhere_naming_both_models() {
        let tasks: Vec<_> = mesh(3)
            .into_iter()
            .map(|t| {
                tokio::spawn(async move {
                    let model = if t.party() == 1 { Security::Active } else { Security::Passive };
                    agree(&t, [4; 32], [t.party() as u8; 32], model).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let err = results[0].as_ref().unwrap_err().to_string();
        assert_eq!(
            err,
            "party 1 runs active security and this party passive: every node of a cluster must set the same `security`"
        );
        assert!(matches!(results[1], Err(AgreeError::Security { party: 0, .. })));
        assert!(results[2].is_err());
    }

    #[tokio::test]
    async fn a_party_already_at_the_seeds_is_out_of_step() {
        let tasks: Vec<_> = mesh(3)
            .into_iter()
            .map(|t| {
                tokio::spawn(async move {
                    if t.party() == 1 {
                        // Skips the agreement: its first message is the engine's seeds.
                        let mut seeds = Tag::new(0, Op::Seeds).message(32);
                        seeds.extend_from_slice(&[0; 32]);
                        for q in [0, 2] {
                            t.send(q, seeds.clone()).await.unwrap();
                        }
                        for q in [0, 2] {
                            t.recv(q).await.unwrap();
                        }
                        return None;
                    }
                    Some(agree(&t, [5; 32], [t.party() as u8; 32], Security::Passive).await)
                })
            })
            .collect();
        for task in tasks {
            if let Some(result) = task.await.unwrap() {
                let err = result.unwrap_err();
                assert_eq!(
                    err.to_string(),
                    "out of step with party 1: expected message 0 (agree), received message 0 (seeds)"
                );
            }
        }
    }
}
