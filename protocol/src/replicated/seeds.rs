//! Per-job seeds shared by the holders of each component, agreed in one round.
//!
//! Every party draws an ephemeral X25519 key and sends its public key to the others. A
//! component held by exactly two parties (every component when `n = 3`) gets the seed
//! `SHA-256(label, component, DH(a, b), pk_a, pk_b)`; the parties outside it cannot compute the
//! Diffie-Hellman value. A component held by more parties gets a seed drawn by its first
//! holder and sent to the other holders over the (authenticated, encrypted) channel, in the
//! same round. Seeds expand with ChaCha into all the job's correlated randomness, with no
//! further communication.

use crate::engine::EngineError;
use crate::message::{self, MessageError, Op, Tag};
use crate::sharing::Layout;
use crate::transport::Transport;
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand::{CryptoRng, Rng};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// The seeds of the components one party holds. `Debug` never shows them; they are zeroed
/// when dropped.
pub struct Seeds {
    seeds: Vec<(usize, Zeroizing<[u8; 32]>)>,
}

impl std::fmt::Debug for Seeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<usize> = self.seeds.iter().map(|(c, _)| *c).collect();
        write!(f, "Seeds {{ components: {ids:?}, seeds: <redacted> }}")
    }
}

impl Seeds {
    /// The seed of component `c`, if this party holds it.
    pub fn get(&self, c: usize) -> Option<&[u8; 32]> {
        self.seeds.iter().find(|(id, _)| *id == c).map(|(_, s)| &**s)
    }
}

fn pair_seed(component: usize, dh: &[u8; 32], pk_low: &[u8; 32], pk_high: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"segmpc component seed v1\0");
    h.update((component as u32).to_le_bytes());
    h.update(dh);
    h.update(pk_low);
    h.update(pk_high);
    h.finalize().into()
}

/// The tag of the seeds' message: the first of the engine's operations.
const SEEDS: Tag = Tag { seq: 0, op: Op::Seeds };

/// Agrees on the seeds of every component this party holds (one round).
pub async fn agree<T: Transport, R: Rng + CryptoRng>(
    transport: &T,
    layout: &Layout,
    rng: &mut R,
) -> Result<Seeds, EngineError> {
    let (me, n) = (transport.party(), transport.parties());
    let mut secret = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut *secret);
    let public = MontgomeryPoint::mul_base_clamped(*secret).to_bytes();

    // Seeds this party draws: components with more than two holders whose first holder it is.
    let mut drawn: Vec<(usize, Zeroizing<[u8; 32]>)> = Vec::new();
    for c in layout.held_by(me) {
        let holders = layout.holders(c);
        if holders.len() > 2 && holders[0] == me {
            let mut s = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut *s);
            drawn.push((c, s));
        }
    }
    for q in (0..n).filter(|&q| q != me) {
        let mut msg = Zeroizing::new(SEEDS.message(32 * (1 + drawn.len())));
        msg.extend_from_slice(&public);
        for (c, s) in &drawn {
            if layout.holds(q, *c) {
                msg.extend_from_slice(&**s);
            }
        }
        transport.send(q, msg.to_vec()).await?;
    }

    let mut seeds = drawn;
    for q in (0..n).filter(|&q| q != me) {
        let mut msg = message::recv(transport, q, SEEDS).await?;
        let expected: Vec<usize> = layout
            .held_by(me)
            .into_iter()
            .filter(|&c| {
                let h = layout.holders(c);
                h.len() > 2 && h[0] == q
            })
            .collect();
        if msg.len() != 32 * (1 + expected.len()) {
            msg.zeroize();
            return Err(MessageError::Malformed {
                party: q,
                reason: "seed message of the wrong length".into(),
            }
            .into());
        }
        let peer_public: [u8; 32] = msg[..32].try_into().expect("32 bytes");
        for (k, c) in expected.into_iter().enumerate() {
            let mut s = Zeroizing::new([0u8; 32]);
            s.copy_from_slice(&msg[32 * (k + 1)..32 * (k + 2)]);
            seeds.push((c, s));
        }
        msg.zeroize();
        for c in layout.held_by(me) {
            let holders = layout.holders(c);
            if holders.len() == 2 && holders.contains(&q) {
                let dh = Zeroizing::new(MontgomeryPoint(peer_public).mul_clamped(*secret).to_bytes());
                let (low, high) = if me < q { (&public, &peer_public) } else { (&peer_public, &public) };
                seeds.push((c, Zeroizing::new(pair_seed(c, &dh, low, high))));
            }
        }
    }
    seeds.sort_by_key(|(c, _)| *c);
    Ok(Seeds { seeds })
}
