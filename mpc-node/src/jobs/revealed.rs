//! What a job opens, in the audit log, with digests keyed by the job's common secret.
//!
//! A plain SHA-256 of an opened value lets anyone who reads the log test candidates against
//! it: a few small-cell or small-segment flags have few candidates. The nodes of a job agree
//! on a common secret that no operator knows (`protocol::agree`), keep it in the job's record,
//! and record `HMAC-SHA256(secret, bytes)` instead: every node of the job computes the same
//! digest of the same opened values, so `orchestrator audit verify` still compares them across
//! nodes, but nobody without the secret can test a candidate. Jobs recorded before the secret
//! existed keep plain digests.

use super::registry::Jobs;
use crate::audit::AuditLog;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wire::control::JobId;

/// The key of a job's audit digests. Its `Debug` is redacted; it is stored in the job's
/// record (mode 0600) and never sent to an operator.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey(pub [u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(redacted)")
    }
}

impl Serialize for AuditKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for AuditKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        let key: [u8; 32] =
            bytes.try_into().map_err(|_| serde::de::Error::custom("an audit key is 32 bytes"))?;
        Ok(AuditKey(key))
    }
}

/// The digest of `bytes` under `key` (hex), or their plain SHA-256 without one.
pub fn digest(key: Option<&AuditKey>, bytes: &[u8]) -> String {
    match key {
        Some(AuditKey(k)) => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k);
            hex::encode(ring::hmac::sign(&key, bytes).as_ref())
        }
        None => wire::audit::digest(bytes),
    }
}

/// Records in the audit log that `what` (`bytes`) of `job` was opened to `to`.
pub fn record(jobs: &Jobs, audit: &AuditLog, job: JobId, to: String, what: String, bytes: &[u8]) {
    let key = jobs.audit_key(&job);
    audit.record(wire::audit::Event::Revealed {
        job: job.to_string(),
        to,
        what,
        digest: digest(key.as_ref(), bytes),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_digests_agree_for_one_key_and_hide_the_value_without_it() {
        let (a, b) = (AuditKey([1; 32]), AuditKey([2; 32]));
        assert_eq!(digest(Some(&a), b"flags"), digest(Some(&a.clone()), b"flags"));
        assert_ne!(digest(Some(&a), b"flags"), digest(Some(&b), b"flags"));
        assert_ne!(digest(Some(&a), b"flags"), wire::audit::digest(b"flags"));
        // RFC 4231, test case 2: HMAC pads a short key with zeros, so the key "Jefe" is the
        // 32-byte key "Jefe" and 28 zeros.
        let mut jefe = [0u8; 32];
        jefe[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            digest(Some(&AuditKey(jefe)), b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(format!("{a:?}"), "AuditKey(redacted)");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<AuditKey>(&json).unwrap(), a);
    }
}
