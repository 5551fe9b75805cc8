//! The actively secure honest-majority engine: the replicated engine's protocol, with every
//! step checked, so that any deviation of up to `t < n/2` colluding parties makes the job
//! abort before anything is released (security with abort).
//!
//! The replicated protocol is secure *up to additive attacks* once its sharings are known to
//! be consistent (Genkin, Ishai, Prabhakaran, Sahai and Tromer, STOC 2014; Goyal and Song,
//! and Boyle, Gilboa, Ishai and Nof, for the compilers this follows): whatever a deviating
//! party sends in a resharing only adds an error, independent of the secrets, to the product.
//! The engine therefore runs the passive protocol unchanged and, before any value leaves the
//! parties (an opening to all, an opening to one owner, the result of a job), checks:
//!
//! 1. **Consistency**, with digests: every holder of a component holds the same values of it
//!    (so a party that sent two holders different resharing or input messages is caught), and
//!    every party received in openings exactly what every holder of the opened components has
//!    (so a wrong component in an opening is caught). One round; SHA-256.
//! 2. **Products**, in batch: every ring product, dot product and matrix product, and every
//!    AND of binary words, recorded since the last check, become inner-product claims over
//!    an extension, the Galois ring `GR(2^64, 64)` for the ring and `GF(2^64)` for the bits
//!    (random public weights; a matrix product by Freivalds' check, in a claim of its own),
//!    and each claim is halved
//!    round by round with public coins until one product is left, which is opened with every
//!    holder's copy compared (see [`check::compress`]). A wrong product passes with
//!    probability below `2^-42` (ring) or `2^-57` (binary) per check, hence per job: the
//!    first failed check ends it.
//!
//! Releases (`open`, `open_to`) are opened with every holder's copy compared, after the
//! checks; the comparisons, conversions, truncations, the argmin and the division are all
//! made of checked products and openings, so they are checked too. The pivot conversions are
//! not used: their single sender could not be checked.

mod check;
pub mod ext;
mod share;

use crate::engine::{Engine, EngineError};
use crate::replicated::log::{AndClaim, RingClaim};
use crate::replicated::{Deviation, HonestMajority, RepVec, Replicated};
use crate::transport::Transport;
use rand::{CryptoRng, Rng};
use thiserror::Error;

/// Bytes of one lifted vector of a check (over all held components), at most: a check holds
/// a few such vectors, and the more it checks at once the fewer rounds a job takes (each
/// check takes about two rounds per halving).
const CHECK_BYTES: usize = 64 << 20;
/// Ring products' terms, or binary words, checked at once, at most, for `held` components:
/// a lifted term takes 512 bytes per component (64 ring words), and so does a word (64
/// field elements of 8 bytes). A power of two: 2^16 for 3 parties, 2^14 for 5.
fn batch(held: usize) -> usize {
    let most = (CHECK_BYTES / (512 * held.max(1))).max(1);
    1 << (usize::BITS - 1 - most.leading_zeros())
}
/// Lifted terms and binary words waiting after which the engine checks without waiting for a
/// release.
const PENDING_LIMIT: usize = 1 << 21;

/// A check of the actively secure engine failed: a party deviated from the protocol. The
/// job must abort; nothing has been released.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// Two holders of a component hold different values of it: a party sent them different
    /// resharing or input messages, or changed its own copy.
    #[error(
        "party {party} holds other values of component {component} than this party: a party sent inconsistent shares"
    )]
    Inconsistent {
        /// The peer whose digest differs.
        party: usize,
        /// The component.
        component: usize,
    },
    /// What this party received of a component in an opening is not what a holder has.
    #[error(
        "component {component} as opened to this party differs from party {party}'s copy: a party opened a wrong value"
    )]
    Opening {
        /// The holder whose digest differs.
        party: usize,
        /// The component.
        component: usize,
    },
    /// Two copies of a component in a checked opening differ.
    #[error(
        "parties {first} and {second} sent different copies of component {component} in a checked opening"
    )]
    Reveal {
        /// The component.
        component: usize,
        /// One party whose copy was seen first.
        first: usize,
        /// The party whose copy differs from it.
        second: usize,
    },
    /// Another party's check failed.
    #[error("party {party} reports: {what}")]
    Reported {
        /// The party that found the deviation.
        party: usize,
        /// What it found, in its words.
        what: String,
    },
    /// The batch check of products failed: some product carries an error a party added.
    #[error("the check of the {domain} products failed: a party changed a product")]
    Products {
        /// `ring` or `binary`.
        domain: &'static str,
    },
}

/// Consecutive groups of `claims` of at most `most` in `size` each (a claim larger than that
/// alone).
fn batches<C>(claims: &[C], most: usize, size: impl Fn(&C) -> usize) -> Vec<&[C]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < claims.len() {
        let mut end = start + 1;
        let mut total = size(&claims[start]);
        while end < claims.len() && total + size(&claims[end]) <= most {
            total += size(&claims[end]);
            end += 1;
        }
        out.push(&claims[start..end]);
        start = end;
    }
    out
}

/// One party's actively secure engine for a job (see the module notes).
pub struct Active<'t, T: Transport> {
    inner: Replicated<'t, T>,
    checks: u32,
    /// Terms or words checked at once, at most ([`batch`]).
    batch: usize,
    /// The vectors of the last check of each domain, for the next one.
    ring_buffers: share::Buffers<ext::Gr>,
    and_buffers: share::Buffers<ext::Gf>,
}

impl<'t, T: Transport> Active<'t, T> {
    /// Agrees on the job's seeds with every party (one round) and builds the engine.
    pub async fn setup<R: Rng + CryptoRng>(transport: &'t T, rng: &mut R) -> Result<Self, EngineError> {
        let mut inner = Replicated::setup(transport, rng).await?;
        inner.keep_log();
        let batch = batch(inner.plan().held.len());
        Ok(Active {
            inner,
            checks: 0,
            batch,
            ring_buffers: share::Buffers::new(),
            and_buffers: share::Buffers::new(),
        })
    }

    /// Makes this party deviate (tests of the checks only).
    #[doc(hidden)]
    pub fn deviate(&mut self, deviation: Deviation) {
        self.inner.deviate(deviation);
    }

    /// Whether the deviation has changed a message yet.
    #[doc(hidden)]
    pub fn deviated(&self) -> bool {
        self.inner.deviated()
    }

    /// How many checks of the products have run.
    pub fn checks(&self) -> u32 {
        self.checks
    }

    /// Takes a share the party holds from elsewhere (its stored share of a dataset) into the
    /// consistency check: the next check fails unless every holder of each of its components
    /// holds the same values.
    pub fn bind(&mut self, share: &RepVec) {
        if let Some(log) = self.inner.log.as_mut() {
            log.hold(share);
        }
    }

    /// Runs every check on what was computed since the last one: the digests (so that shares
    /// that differ between holders are named as such, not as the wrong products they make),
    /// then the products. Nothing may be released before it passes.
    pub async fn verify(&mut self) -> Result<(), EngineError> {
        check::compare_digests(&mut self.inner).await?;
        self.check_products().await
    }

    async fn check_products(&mut self) -> Result<(), EngineError> {
        let log = self.inner.log.as_mut().expect("the active engine keeps a log");
        let (ring, and) = log.take();
        log.suspended = true;
        let result = self.check_batches(ring, and).await;
        if let Some(log) = self.inner.log.as_mut() {
            log.suspended = false;
        }
        result
    }

    async fn check_batches(&mut self, ring: Vec<RingClaim>, and: Vec<AndClaim>) -> Result<(), EngineError> {
        let held = self.inner.plan().held.len();
        let most = self.batch;
        // A large operation's products are checked in pieces, so that no check holds more
        // than a batch's memory or computes for long without a message.
        let ring: Vec<_> = ring.into_iter().flat_map(|c| c.pieces(most)).collect();
        let and: Vec<_> = and.into_iter().flat_map(|c| c.pieces(most)).collect();
        for group in batches(&ring, most, RingClaim::terms) {
            let mut rng = check::coin(&mut self.inner).await?;
            let lifted = share::lift_ring(group, held, &mut rng, &mut self.ring_buffers);
            if let Some((a, b, c)) = lifted.products {
                check::compress(&mut self.inner, a, b, c, "ring", &mut self.ring_buffers).await?;
            }
            if let Some((a, b, c)) = lifted.dense {
                check::compress_dense(&mut self.inner, a, b, c, "ring").await?;
            }
            self.checks += 1;
        }
        for group in batches(&and, most, |c: &AndClaim| c.x.len()) {
            let mut rng = check::coin(&mut self.inner).await?;
            let (a, b, c) = share::lift_and(group, held, &mut rng, &mut self.and_buffers);
            check::compress(&mut self.inner, a, b, c, "binary", &mut self.and_buffers).await?;
            self.checks += 1;
        }
        Ok(())
    }

    /// Returns `value` after checking the products if many are waiting (the same decision on
    /// every party, since all record the same operations).
    async fn bounded<V>(&mut self, value: V) -> Result<V, EngineError> {
        if self.inner.log.as_ref().is_some_and(|l| l.pending > PENDING_LIMIT) {
            self.check_products().await?;
        }
        Ok(value)
    }

    /// Opens `x` to party `receiver` only, after every check; the receiver gets the value
    /// only once what it received matches every holder's copy.
    pub async fn open_to(&mut self, receiver: usize, x: &RepVec) -> Result<Option<Vec<u64>>, EngineError> {
        self.verify().await?;
        let opened = self.inner.open_to(receiver, x).await?;
        check::compare_digests(&mut self.inner).await?;
        Ok(opened)
    }
}

impl<'t, T: Transport> HonestMajority<'t, T> for Active<'t, T> {
    const SECURITY: crate::engine::Security = crate::engine::Security::Active;
    async fn start<R: Rng + CryptoRng + Send>(transport: &'t T, rng: &mut R) -> Result<Self, EngineError> {
        Active::setup(transport, rng).await
    }
    async fn reveal_to(&mut self, receiver: usize, x: &RepVec) -> Result<Option<Vec<u64>>, EngineError> {
        self.open_to(receiver, x).await
    }
    fn bind(&mut self, share: &RepVec) {
        Active::bind(self, share);
    }
    async fn verify(&mut self) -> Result<(), EngineError> {
        Active::verify(self).await
    }
    fn deviate_at(&mut self, deviation: Deviation) {
        self.deviate(deviation);
    }
}

impl<T: Transport> Engine for Active<'_, T> {
    type Share = RepVec;

    fn party(&self) -> usize {
        self.inner.party()
    }
    fn len(share: &RepVec) -> usize {
        share.len()
    }
    fn public(&self, values: &[u64]) -> RepVec {
        self.inner.public(values)
    }
    fn random(&mut self, len: usize) -> RepVec {
        self.inner.random(len)
    }
    fn add(&self, a: &RepVec, b: &RepVec) -> RepVec {
        self.inner.add(a, b)
    }
    fn sub(&self, a: &RepVec, b: &RepVec) -> RepVec {
        self.inner.sub(a, b)
    }
    fn mul_public(&self, a: &RepVec, c: &[u64]) -> RepVec {
        self.inner.mul_public(a, c)
    }
    fn concat(&self, parts: &[&RepVec]) -> RepVec {
        self.inner.concat(parts)
    }
    fn split(&self, a: &RepVec, lengths: &[usize]) -> Vec<RepVec> {
        self.inner.split(a, lengths)
    }
    fn sum(&self, a: &RepVec) -> RepVec {
        self.inner.sum(a)
    }
    fn transpose(&self, a: &RepVec, rows: usize, cols: usize) -> RepVec {
        self.inner.transpose(a, rows, cols)
    }
    fn prefix_sums(&self, a: &RepVec, len: usize) -> RepVec {
        self.inner.prefix_sums(a, len)
    }
    fn matmul_public(&self, x: &RepVec, y: &[u64], rows: usize, inner: usize, cols: usize) -> RepVec {
        self.inner.matmul_public(x, y, rows, inner, cols)
    }

    /// As the replicated engine; every holder's copy is compared at the next check.
    async fn input(
        &mut self,
        owner: usize,
        values: Option<&[u64]>,
        len: usize,
    ) -> Result<RepVec, EngineError> {
        self.inner.input(owner, values, len).await
    }
    /// A release: every check first, then every holder's copy of every component compared.
    async fn open(&mut self, x: &RepVec) -> Result<Vec<u64>, EngineError> {
        self.verify().await?;
        check::reveal(&mut self.inner, x, false).await
    }
    async fn mul(&mut self, x: &RepVec, y: &RepVec) -> Result<RepVec, EngineError> {
        let z = self.inner.mul(x, y).await?;
        self.bounded(z).await
    }
    async fn dot(&mut self, x: &RepVec, y: &RepVec, k: usize) -> Result<RepVec, EngineError> {
        let z = self.inner.dot(x, y, k).await?;
        self.bounded(z).await
    }
    async fn matmul(
        &mut self,
        x: &RepVec,
        y: &RepVec,
        rows: usize,
        inner: usize,
        cols: usize,
    ) -> Result<RepVec, EngineError> {
        let z = self.inner.matmul(x, y, rows, inner, cols).await?;
        self.bounded(z).await
    }
    async fn trunc(&mut self, x: &RepVec, f: u32) -> Result<RepVec, EngineError> {
        let z = self.inner.trunc(x, f).await?;
        self.bounded(z).await
    }
    async fn mul_fixed(&mut self, x: &RepVec, y: &RepVec, f: u32) -> Result<RepVec, EngineError> {
        let z = self.inner.mul_fixed(x, y, f).await?;
        self.bounded(z).await
    }
    async fn ltz(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        let z = self.inner.ltz(x).await?;
        self.bounded(z).await
    }
    async fn less_than(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        let z = self.inner.less_than(a, b).await?;
        self.bounded(z).await
    }
    async fn bits_to_arith(&mut self, bits: &RepVec, n: usize) -> Result<RepVec, EngineError> {
        let z = self.inner.bits_to_arith(bits, n).await?;
        self.bounded(z).await
    }
    async fn eqz(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        let z = self.inner.eqz(x).await?;
        self.bounded(z).await
    }
    async fn div(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        let z = self.inner.div(a, b).await?;
        self.bounded(z).await
    }
    async fn argmin(&mut self, x: &RepVec, k: usize) -> Result<(RepVec, RepVec), EngineError> {
        let z = self.inner.argmin(x, k).await?;
        self.bounded(z).await
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod batch_tests {
    #[test]
    fn claims_are_grouped_up_to_the_batch_and_a_larger_one_alone() {
        let sizes = [3usize, 4, 2, 9, 1, 1];
        let groups: Vec<Vec<usize>> =
            super::batches(&sizes, 8, |s| *s).into_iter().map(<[usize]>::to_vec).collect();
        assert_eq!(groups, vec![vec![3, 4], vec![2], vec![9], vec![1, 1]]);
        assert!(super::batches(&[] as &[usize], 8, |s| *s).is_empty());
    }

    #[test]
    fn a_check_lifts_at_most_64_mib_per_vector() {
        assert_eq!(super::batch(2), 1 << 16);
        assert_eq!(super::batch(3), 1 << 15);
        assert_eq!(super::batch(6), 1 << 14);
        for held in 1..=10 {
            assert!(super::batch(held) * 512 * held <= super::CHECK_BYTES);
        }
    }
}
