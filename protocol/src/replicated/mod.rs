//! The honest-majority engine on replicated additive sharing: random sharings without
//! communication, openings, and multiplication, dot products and matrix products with one
//! resharing message (Araki, Furukawa, Lindell, Nof and Ohara, CCS 2016, generalised to the
//! replicated layout of any `n >= 3`; see [`plan`]).
//!
//! Every operation is vectorised: it takes whole vectors (or matrices, row-major) and moves
//! one message per peer per round, whatever the length. This module holds the share type, the
//! engine's state (seeds, plan) and its resharing and opening; `engine.rs` implements
//! [`Engine`] with them and with the circuits of the sibling modules.

mod argmin;
pub mod binary;
mod compare;
mod divide;
mod engine;
pub(crate) mod log;
mod pivot;
pub mod plan;
pub mod seeds;
mod trunc;

pub use log::{Deviation, Scope, Tamper};
pub use trunc::TruncPrep;

use crate::engine::{Engine, EngineError};
use crate::message::{self, Op, Tag};
use crate::sharing::{Component, Layout};
use crate::transport::{Transport, encode_u64s};
use plan::Plan;
use rand::{CryptoRng, Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;
use std::sync::atomic::{AtomicU32, Ordering};

/// One party's share of a vector of secrets: the components it holds, in increasing order.
#[derive(Clone, PartialEq, Eq)]
pub struct RepVec {
    /// `comps[i][k]` is component `held[i]` of secret `k`.
    pub comps: Vec<Vec<u64>>,
}

impl std::fmt::Debug for RepVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RepVec {{ {} components x {} values, redacted }}", self.comps.len(), self.len())
    }
}

impl RepVec {
    /// Number of secrets.
    pub fn len(&self) -> usize {
        self.comps.first().map_or(0, Vec::len)
    }

    /// Whether it holds no secret.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A share from the components a party holds (as stored), in increasing component order.
    pub fn from_components(components: &[Component]) -> Self {
        let mut sorted: Vec<&Component> = components.iter().collect();
        sorted.sort_by_key(|c| c.id);
        Self { comps: sorted.into_iter().map(|c| c.values.clone()).collect() }
    }

    /// Adds another sharing (local).
    pub fn add(&self, other: &RepVec) -> RepVec {
        self.zip(other, u64::wrapping_add)
    }

    /// Subtracts another sharing (local).
    pub fn sub(&self, other: &RepVec) -> RepVec {
        self.zip(other, u64::wrapping_sub)
    }

    /// Multiplies by public constants, one per secret (local).
    pub fn mul_public(&self, c: &[u64]) -> RepVec {
        RepVec {
            comps: self
                .comps
                .iter()
                .map(|v| v.iter().zip(c).map(|(a, b)| a.wrapping_mul(*b)).collect())
                .collect(),
        }
    }

    fn zip(&self, other: &RepVec, f: impl Fn(u64, u64) -> u64) -> RepVec {
        RepVec {
            comps: self
                .comps
                .iter()
                .zip(&other.comps)
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect())
                .collect(),
        }
    }
}

/// An engine on replicated shares as a node drives it: the algorithms' interface, plus its
/// setup, the openings to one owner, the shares it takes from the store and a final check
/// before results leave the node. The passive [`Replicated`] engine and the actively secure
/// [`crate::active::Active`] one implement it.
pub trait HonestMajority<'t, T: Transport>: Engine<Share = RepVec> + Sync + Sized {
    /// The security the engine gives.
    const SECURITY: crate::engine::Security;
    /// Agrees on the job's seeds with every party (one round) and builds the engine.
    fn start<R: Rng + CryptoRng + Send>(
        transport: &'t T,
        rng: &mut R,
    ) -> impl std::future::Future<Output = Result<Self, EngineError>> + Send;
    /// Opens `x` to party `receiver` only; the others get `None`.
    fn reveal_to(
        &mut self,
        receiver: usize,
        x: &RepVec,
    ) -> impl std::future::Future<Output = Result<Option<Vec<u64>>, EngineError>> + Send;
    /// Takes a share read from the store into the engine's checks.
    fn bind(&mut self, share: &RepVec);
    /// Checks everything computed so far; nothing computed may leave the node before.
    fn verify(&mut self) -> impl std::future::Future<Output = Result<(), EngineError>> + Send;
    /// Makes this party deviate from the protocol (tests of the checks only).
    #[doc(hidden)]
    fn deviate_at(&mut self, deviation: Deviation);
}

impl<'t, T: Transport> HonestMajority<'t, T> for Replicated<'t, T> {
    const SECURITY: crate::engine::Security = crate::engine::Security::Passive;
    async fn start<R: Rng + CryptoRng + Send>(transport: &'t T, rng: &mut R) -> Result<Self, EngineError> {
        Replicated::setup(transport, rng).await
    }
    async fn reveal_to(&mut self, receiver: usize, x: &RepVec) -> Result<Option<Vec<u64>>, EngineError> {
        self.open_to(receiver, x).await
    }
    /// Nothing to check.
    fn bind(&mut self, _share: &RepVec) {}
    /// Nothing to check.
    async fn verify(&mut self) -> Result<(), EngineError> {
        Ok(())
    }
    fn deviate_at(&mut self, deviation: Deviation) {
        self.deviate(deviation);
    }
}

/// How components combine: additively in the ring (arithmetic sharings) or by XOR (binary
/// sharings of 64-bit words, where products are bitwise AND).
trait Group {
    /// Whether components combine by XOR.
    const BINARY: bool;
    /// The kind of a product's resharing message.
    const PRODUCT: Op;
    /// The kind of an opening's message.
    const OPEN: Op;
    fn add(a: u64, b: u64) -> u64;
    fn sub(a: u64, b: u64) -> u64;
    fn mul(a: u64, b: u64) -> u64;
}

/// The ring `Z_2^64`.
struct Ring;

impl Group for Ring {
    const BINARY: bool = false;
    const PRODUCT: Op = Op::Mul;
    const OPEN: Op = Op::Open;
    fn add(a: u64, b: u64) -> u64 {
        a.wrapping_add(b)
    }
    fn sub(a: u64, b: u64) -> u64 {
        a.wrapping_sub(b)
    }
    fn mul(a: u64, b: u64) -> u64 {
        a.wrapping_mul(b)
    }
}

/// 64 bits at a time in `GF(2)`.
struct Xor;

impl Group for Xor {
    const BINARY: bool = true;
    const PRODUCT: Op = Op::And;
    const OPEN: Op = Op::OpenBinary;
    fn add(a: u64, b: u64) -> u64 {
        a ^ b
    }
    fn sub(a: u64, b: u64) -> u64 {
        a ^ b
    }
    fn mul(a: u64, b: u64) -> u64 {
        a & b
    }
}

/// One party's engine for a job: its plan, and the pseudo-random streams of the components it
/// holds. Operations must be called in the same order with the same lengths on every party;
/// every message names its operation ([`crate::message`]), so parties that fall out of step
/// fail with [`crate::message::MessageError::OutOfStep`].
pub struct Replicated<'t, T: Transport> {
    transport: &'t T,
    layout: Layout,
    plan: Plan,
    /// `reshare[i][p]`: the stream of party `p`'s pseudo-random part of component `held[i]`.
    reshare: Vec<Vec<Option<ChaCha12Rng>>>,
    /// `random[i]`: the stream of component `held[i]` of random sharings.
    random: Vec<ChaCha12Rng>,
    /// `masks[i]`: the stream of component `held[i]` that masks values one party inputs.
    masks: Vec<ChaCha12Rng>,
    /// `(receiver, component)` pairs this party sends when opening, and what it receives.
    open_sends: Vec<(usize, Vec<usize>)>,
    open_receives: Vec<(usize, Vec<usize>)>,
    /// This party's own generator for the values it inputs.
    input_rng: Option<ChaCha12Rng>,
    /// The sequence number of the next operation that sends a message (the seeds took 0).
    ops: AtomicU32,
    /// What the actively secure engine checks later; `None` in the passive engine.
    pub(crate) log: Option<log::Log>,
    /// A deviation from the protocol this party makes (tests of the active engine only).
    deviator: Option<log::Deviator>,
    /// The steps ([`Scope`]s, as a mask) whose messages are being sent, for the deviation.
    scopes: u8,
}

impl<'t, T: Transport> Replicated<'t, T> {
    /// Agrees on the job's seeds with every party (one round) and builds the engine.
    pub async fn setup<R: Rng + CryptoRng>(transport: &'t T, rng: &mut R) -> Result<Self, EngineError> {
        let layout = Layout::honest_majority(transport.parties())?;
        let me = transport.party();
        let seeds = seeds::agree(transport, &layout, rng).await?;
        let plan = Plan::new(&layout, me);
        let stream = |c: usize, id: u64| {
            let mut rng = ChaCha12Rng::from_seed(*seeds.get(c).expect("a seed for every held component"));
            rng.set_stream(id);
            rng
        };
        let reshare = plan
            .held
            .iter()
            .zip(&plan.prg_parties)
            .map(|(&c, parties)| {
                (0..layout.parties()).map(|p| parties.contains(&p).then(|| stream(c, p as u64))).collect()
            })
            .collect();
        let random = plan.held.iter().map(|&c| stream(c, u64::MAX)).collect();
        let masks = plan.held.iter().map(|&c| stream(c, u64::MAX - 1)).collect();
        // Opening: every party misses the components indexed by sets it belongs to; the first
        // holder after it (cyclically) sends each of them.
        let n = layout.parties();
        let sender = |c: usize, receiver: usize| {
            layout.holders(c).into_iter().min_by_key(|&h| (h + n - receiver) % n).expect("a holder")
        };
        let layout_ref = &layout;
        let missing = |q: usize| (0..layout_ref.components()).filter(move |&c| !layout_ref.holds(q, c));
        let open_sends = (0..n)
            .filter(|&q| q != me)
            .map(|q| (q, missing(q).filter(|&c| sender(c, q) == me).collect::<Vec<_>>()))
            .filter(|(_, cs)| !cs.is_empty())
            .collect();
        let mut open_receives: Vec<(usize, Vec<usize>)> = Vec::new();
        for c in missing(me) {
            let s = sender(c, me);
            match open_receives.iter_mut().find(|(p, _)| *p == s) {
                Some((_, cs)) => cs.push(c),
                None => open_receives.push((s, vec![c])),
            }
        }
        let input_rng = Some(ChaCha12Rng::from_rng(rng));
        Ok(Self {
            transport,
            layout,
            plan,
            reshare,
            random,
            masks,
            open_sends,
            open_receives,
            input_rng,
            ops: AtomicU32::new(1),
            log: None,
            deviator: None,
            scopes: 0,
        })
    }

    /// Keeps products and digests for the actively secure engine's checks (and stops using
    /// the pivot conversions, whose single sender nobody could check).
    pub(crate) fn keep_log(&mut self) {
        self.log = Some(log::Log::new(self.plan.held.len()));
    }

    /// Makes this party deviate from the protocol as `deviation` says: for the tests that
    /// check a deviation is caught. Never set outside them.
    #[doc(hidden)]
    pub fn deviate(&mut self, deviation: Deviation) {
        self.deviator = Some(log::Deviator::new(deviation));
    }

    /// Whether the deviation set with [`Replicated::deviate`] has changed a message yet.
    #[doc(hidden)]
    pub fn deviated(&self) -> bool {
        self.deviator.as_ref().is_some_and(log::Deviator::fired)
    }

    /// Sends a message to party `q` (through the deviation, if one is set).
    pub(crate) async fn send(&self, q: usize, mut payload: Vec<u8>) -> Result<(), EngineError> {
        if let Some(deviator) = &self.deviator {
            deviator.apply(&mut payload, self.scopes);
        }
        Ok(self.transport.send(q, payload).await?)
    }

    /// Marks the messages sent from now on as sent within `scope` too; returns the steps to
    /// restore with [`Replicated::leave`] once the step is done.
    pub(crate) fn enter(&mut self, scope: Scope) -> u8 {
        let outer = self.scopes;
        self.scopes |= scope as u8;
        outer
    }

    /// Ends the step [`Replicated::enter`] began.
    pub(crate) fn leave(&mut self, outer: u8) {
        self.scopes = outer;
    }

    /// The transport.
    pub(crate) fn transport(&self) -> &T {
        self.transport
    }

    /// The multiplication plan.
    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Records a product for the check, unless the check itself is computing.
    fn claim(&mut self, claim: impl FnOnce() -> log::RingClaim) {
        if let Some(log) = self.log.as_mut() {
            log.push_ring(claim);
        }
    }

    /// The tag of the next operation, of kind `op`: every party starts the same operations in
    /// the same order, so the numbers agree while the parties are in step.
    pub(crate) fn next_tag(&self, op: Op) -> Tag {
        Tag::new(self.ops.fetch_add(1, Ordering::Relaxed), op)
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Opens `x` to party `receiver` only (one round); the others get `None`. Only the
    /// holders that `receiver` needs send, and only to it.
    pub async fn open_to(&mut self, receiver: usize, x: &RepVec) -> Result<Option<Vec<u64>>, EngineError> {
        let tag = self.next_tag(Op::OpenTo);
        self.note_opened(x, Some(receiver));
        if self.party() != receiver {
            if let Some((_, cs)) = self.open_sends.iter().find(|(q, _)| *q == receiver) {
                self.send_missing(receiver, cs, x, tag).await?;
            }
            return Ok(None);
        }
        self.receive_missing::<Ring>(x, tag).await.map(Some)
    }

    /// Adds the components this party holds of `x` and those the others send it.
    async fn receive_missing<G: Group>(&mut self, x: &RepVec, tag: Tag) -> Result<Vec<u64>, EngineError> {
        let len = x.len();
        let mut sum = x.comps.iter().fold(vec![0u64; len], |mut acc, comp| {
            for (a, v) in acc.iter_mut().zip(comp) {
                *a = G::add(*a, *v);
            }
            acc
        });
        for (p, cs) in &self.open_receives {
            let values = message::recv_u64s(self.transport, *p, tag, cs.len() * len).await?;
            for (chunk, c) in values.chunks(len.max(1)).take(cs.len()).zip(cs) {
                for (a, v) in sum.iter_mut().zip(chunk) {
                    *a = G::add(*a, *v);
                }
                if let Some(log) = self.log.as_mut() {
                    log::update(log.received.entry(*c).or_default(), chunk);
                }
            }
        }
        Ok(sum)
    }

    /// Notes, for the check, the components of `x` that this party holds and that are opened
    /// to a party missing them (to `receiver`, or to everyone).
    fn note_opened(&mut self, x: &RepVec, receiver: Option<usize>) {
        let Some(log) = self.log.as_mut() else { return };
        let me = self.transport.party();
        for (i, &c) in self.plan.held.iter().enumerate() {
            for q in (0..self.layout.parties()).filter(|&q| q != me && !self.layout.holds(q, c)) {
                if receiver.is_none_or(|r| r == q) {
                    log::update(log.opened.entry((q, c)).or_default(), &x.comps[i]);
                }
            }
        }
    }

    /// Opens a sharing whose components combine with `G` (one round).
    async fn open_with<G: Group>(&mut self, x: &RepVec) -> Result<Vec<u64>, EngineError> {
        let tag = self.next_tag(G::OPEN);
        self.note_opened(x, None);
        for (q, cs) in &self.open_sends {
            self.send_missing(*q, cs, x, tag).await?;
        }
        self.receive_missing::<G>(x, tag).await
    }

    /// Sends party `q` the components `cs` of `x` that it misses.
    async fn send_missing(&self, q: usize, cs: &[usize], x: &RepVec, tag: Tag) -> Result<(), EngineError> {
        let mut payload = tag.message(cs.len() * x.len() * 8);
        for &c in cs {
            let i = self.plan.held.iter().position(|&h| h == c).expect("a held component");
            payload.extend_from_slice(&encode_u64s(&x.comps[i]));
        }
        self.send(q, payload).await
    }

    /// Element-wise product in the ring or, for binary sharings, bitwise AND of 64-bit words.
    async fn product<G: Group>(&mut self, x: &RepVec, y: &RepVec) -> Result<RepVec, EngineError> {
        if x.len() != y.len() {
            return Err(EngineError::Shape(format!("product of {} by {} values", x.len(), y.len())));
        }
        let mut z = vec![0u64; x.len()];
        for (i, xi) in x.comps.iter().enumerate() {
            if let Some(ys) = self.partner_sum::<G>(y, i) {
                for ((zk, a), b) in z.iter_mut().zip(xi).zip(&ys) {
                    *zk = G::add(*zk, G::mul(*a, *b));
                }
            }
        }
        let z = self.reshare::<G>(z, G::PRODUCT).await?;
        if G::BINARY {
            if let Some(log) = self.log.as_mut() {
                log.push_and(|| log::AndClaim { x: x.clone(), y: y.clone(), z: z.clone() });
            }
        } else {
            self.claim(|| log::RingClaim::Mul { x: x.clone(), y: y.clone(), z: z.clone() });
        }
        Ok(z)
    }

    /// The sum (with `G`) of the components of `y` that this party multiplies by `x`'s held
    /// component `i` in its cross terms (`x_T * (sum_U y_U)`), or `None` if there are none.
    fn partner_sum<G: Group>(&self, y: &RepVec, i: usize) -> Option<Vec<u64>> {
        let (first, rest) = self.plan.terms[i].split_first()?;
        let mut sum = y.comps[*first].clone();
        for &j in rest {
            for (a, v) in sum.iter_mut().zip(&y.comps[j]) {
                *a = G::add(*a, *v);
            }
        }
        Some(sum)
    }

    /// Turns this party's additive (or XOR) term `z` of some secrets into a replicated sharing,
    /// in a message of kind `op`.
    async fn reshare<G: Group>(&mut self, mut z: Vec<u64>, op: Op) -> Result<RepVec, EngineError> {
        let tag = self.next_tag(op);
        let me = self.party();
        let len = z.len();
        let mut comps = vec![vec![0u64; len]; self.plan.held.len()];
        for (i, streams) in self.reshare.iter_mut().enumerate() {
            for (p, rng) in streams.iter_mut().enumerate() {
                let Some(rng) = rng else { continue };
                let mut r = vec![0u64; len];
                rng.fill(&mut r[..]);
                for (c, v) in comps[i].iter_mut().zip(&r) {
                    *c = G::add(*c, *v);
                }
                if p == me {
                    for (zk, v) in z.iter_mut().zip(&r) {
                        *zk = G::sub(*zk, *v);
                    }
                }
            }
        }
        let special =
            self.plan.held.iter().position(|&c| c == self.plan.special[me]).expect("special is held");
        for (c, v) in comps[special].iter_mut().zip(&z) {
            *c = G::add(*c, *v);
        }
        let payload = tag.u64s(&z);
        for &q in &self.plan.send_to {
            self.send(q, payload.clone()).await?;
        }
        for &(p, i) in &self.plan.receive {
            let values = message::recv_u64s(self.transport, p, tag, len).await?;
            for (c, v) in comps[i].iter_mut().zip(&values) {
                *c = G::add(*c, *v);
            }
        }
        let out = RepVec { comps };
        if let Some(log) = self.log.as_mut() {
            log.hold(&out);
        }
        Ok(out)
    }

    /// Reshares this party's term `z` of some secrets (words combining by XOR when
    /// `binary`), in a message of kind `op`: the resharing of the active engine's check.
    pub(crate) async fn reshare_words(
        &mut self,
        z: Vec<u64>,
        binary: bool,
        op: Op,
    ) -> Result<RepVec, EngineError> {
        if binary { self.reshare::<Xor>(z, op).await } else { self.reshare::<Ring>(z, op).await }
    }
}

#[cfg(test)]
pub(crate) mod tests;
