//! What the engine keeps, when asked to, for the actively secure engine to check later
//! ([`crate::active`]): every product it computed (its operands and its result, as this party's
//! share), and running digests of every component it holds and of every component it opened
//! to another party or received in an opening. The passive engine keeps nothing.
//!
//! Also, behind the `deviate` feature, a way to make this party deviate from the protocol at a
//! chosen message, for the tests that check the deviation is caught.

use super::RepVec;
use crate::message::Op;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A product in the ring, as this party holds it.
#[derive(Clone)]
pub(crate) enum RingClaim {
    /// `z = x * y` element-wise.
    Mul { x: RepVec, y: RepVec, z: RepVec },
    /// `z[o] = sum_j x[o k + j] y[o k + j]`.
    Dot { x: RepVec, y: RepVec, z: RepVec, k: usize },
    /// `z = x y` for row-major `x` (`rows x inner`) and `y` (`inner x cols`).
    Matmul { x: RepVec, y: RepVec, z: RepVec, rows: usize, inner: usize, cols: usize },
}

impl RingClaim {
    /// Elements of the claim after lifting (what the check's vectors hold).
    pub(crate) fn terms(&self) -> usize {
        match self {
            RingClaim::Mul { x, .. } | RingClaim::Dot { x, .. } => x.len(),
            RingClaim::Matmul { inner, .. } => *inner,
        }
    }

    /// The same products as claims of at most about `max` terms each (a matrix product, whose
    /// check has `inner` terms whatever its size, stays whole).
    pub(crate) fn pieces(self, max: usize) -> Vec<RingClaim> {
        match self {
            RingClaim::Mul { x, y, z } if x.len() > max => {
                let lengths = piece_lengths(x.len(), max);
                let (xs, ys, zs) = (x.split(&lengths), y.split(&lengths), z.split(&lengths));
                xs.into_iter().zip(ys).zip(zs).map(|((x, y), z)| RingClaim::Mul { x, y, z }).collect()
            }
            RingClaim::Dot { x, y, z, k } if x.len() > max && z.len() > 1 => {
                let outputs = piece_lengths(z.len(), (max / k).max(1));
                let terms: Vec<usize> = outputs.iter().map(|o| o * k).collect();
                let (xs, ys, zs) = (x.split(&terms), y.split(&terms), z.split(&outputs));
                xs.into_iter().zip(ys).zip(zs).map(|((x, y), z)| RingClaim::Dot { x, y, z, k }).collect()
            }
            whole => vec![whole],
        }
    }
}

impl AndClaim {
    /// The same ANDs as claims of at most `max` words each.
    pub(crate) fn pieces(self, max: usize) -> Vec<AndClaim> {
        if self.x.len() <= max {
            return vec![self];
        }
        let lengths = piece_lengths(self.x.len(), max);
        let (xs, ys, zs) = (self.x.split(&lengths), self.y.split(&lengths), self.z.split(&lengths));
        xs.into_iter().zip(ys).zip(zs).map(|((x, y), z)| AndClaim { x, y, z }).collect()
    }
}

/// Lengths of consecutive pieces of at most `max` (at least 1) covering `len`.
fn piece_lengths(len: usize, max: usize) -> Vec<usize> {
    let max = max.max(1);
    (0..len).step_by(max).map(|start| max.min(len - start)).collect()
}

/// A bitwise AND of words, `z = x & y`, as this party holds it.
#[derive(Clone)]
pub(crate) struct AndClaim {
    pub x: RepVec,
    pub y: RepVec,
    pub z: RepVec,
}

/// The products computed since the last check, and the running digests.
pub(crate) struct Log {
    ring: Vec<RingClaim>,
    and: Vec<AndClaim>,
    /// Lifted terms of `ring` plus words of `and`, kept as they are recorded.
    pub pending: usize,
    /// While the check itself multiplies, its products are not claims.
    pub suspended: bool,
    /// Per held index: every value this party holds of the component, as it came to hold it.
    pub held: Vec<Sha256>,
    /// Per `(party, component)` with the party missing it: every value of the component
    /// opened to that party.
    pub opened: BTreeMap<(usize, usize), Sha256>,
    /// Per component this party misses: every value of it received in an opening.
    pub received: BTreeMap<usize, Sha256>,
}

impl Log {
    pub(crate) fn new(held: usize) -> Self {
        Log {
            ring: Vec::new(),
            and: Vec::new(),
            pending: 0,
            suspended: false,
            held: vec![Sha256::new(); held],
            opened: BTreeMap::new(),
            received: BTreeMap::new(),
        }
    }

    /// Records a ring product for the next check, unless the check itself is computing.
    pub(crate) fn push_ring(&mut self, claim: impl FnOnce() -> RingClaim) {
        if !self.suspended {
            let claim = claim();
            self.pending += claim.terms();
            self.ring.push(claim);
        }
    }

    /// Records an AND for the next check, unless the check itself is computing.
    pub(crate) fn push_and(&mut self, claim: impl FnOnce() -> AndClaim) {
        if !self.suspended {
            let claim = claim();
            self.pending += claim.x.len();
            self.and.push(claim);
        }
    }

    /// The products recorded since the last call.
    pub(crate) fn take(&mut self) -> (Vec<RingClaim>, Vec<AndClaim>) {
        self.pending = 0;
        (std::mem::take(&mut self.ring), std::mem::take(&mut self.and))
    }

    pub(crate) fn hold(&mut self, share: &RepVec) {
        for (digest, comp) in self.held.iter_mut().zip(&share.comps) {
            update(digest, comp);
        }
    }
}

/// Feeds ring elements to a digest, with their count (so that a split cannot collide).
pub(crate) fn update(digest: &mut Sha256, values: &[u64]) {
    digest.update((values.len() as u64).to_le_bytes());
    for v in values {
        digest.update(v.to_le_bytes());
    }
}

/// How a deviating party changes a message's first value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Adds a constant (an additive error).
    Add(u64),
    /// Flips one bit.
    Flip(u32),
    /// Adds 1 in the copy for one receiver only, so the receivers disagree.
    Split,
    /// Adds a constant to the value at a position other than the first.
    AddAt(u32, u64),
}

/// A step of the protocol made of several messages, in which a deviation can be placed: the
/// engine marks the messages sent while it runs one (steps nest: a truncation's preparation
/// converts bits, a comparison too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Scope {
    /// A truncation: its preparation (binary sums and their conversion) and its opening.
    Truncation = 1,
    /// A comparison's bit-level part (the binary adder on the components' bits).
    Comparison = 2,
    /// A conversion of bits to arithmetic sharings.
    Conversion = 4,
    /// An argmin's tournament (its comparisons and its selections).
    Argmin = 8,
    /// A division (its normalisation and its Newton steps).
    Division = 16,
}

impl Scope {
    /// Every step, with its name in a test node's configuration.
    pub const ALL: [(Scope, &'static str); 5] = [
        (Scope::Truncation, "truncation"),
        (Scope::Comparison, "comparison"),
        (Scope::Conversion, "conversion"),
        (Scope::Argmin, "argmin"),
        (Scope::Division, "division"),
    ];

    /// The step of that name.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
    }
}

/// Where a deviating party deviates: in the `nth` operation (from 0) of kind `op` in which it
/// sends (counting only those sent within the step `within`, if one is given), it changes the
/// first value of its message(s) as `how` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deviation {
    /// The kind of message.
    pub op: Op,
    /// Which of the operations of that kind.
    pub nth: u32,
    /// The change.
    pub how: Tamper,
    /// The step whose messages alone count.
    pub within: Option<Scope>,
}

/// The sending side of a deviation: counts this party's operations of the chosen kind.
#[derive(Debug)]
pub(crate) struct Deviator {
    pub deviation: Deviation,
    /// `(sequence number of the last operation of the kind seen, how many were seen)`.
    seen: std::sync::Mutex<(Option<u32>, u32, bool)>,
}

impl Deviator {
    pub(crate) fn new(deviation: Deviation) -> Self {
        Deviator { deviation, seen: std::sync::Mutex::new((None, 0, false)) }
    }

    /// Changes `payload` (a message with its header, sent within the steps `scopes`, a mask
    /// of [`Scope`]s) if it is the chosen one.
    pub(crate) fn apply(&self, payload: &mut [u8], scopes: u8) {
        let header = crate::message::HEADER_LEN;
        let at = match self.deviation.how {
            Tamper::AddAt(index, _) => header + 8 * index as usize,
            _ => header,
        };
        if payload.len() < at + 8 || payload[4] != self.deviation.op as u8 {
            return;
        }
        if self.deviation.within.is_some_and(|s| scopes & s as u8 == 0) {
            return;
        }
        let seq = u32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
        let mut seen = self.seen.lock().expect("deviation counter");
        let first_copy = seen.0 != Some(seq);
        if first_copy {
            seen.1 += u32::from(seen.0.is_some());
            seen.0 = Some(seq);
        }
        if seen.1 != self.deviation.nth {
            return;
        }
        let word = &mut payload[at..at + 8];
        let v = u64::from_le_bytes(word.as_ref().try_into().expect("8 bytes"));
        let changed = match self.deviation.how {
            Tamper::Add(c) | Tamper::AddAt(_, c) => v.wrapping_add(c),
            Tamper::Flip(bit) => v ^ (1u64 << (bit % 64)),
            Tamper::Split if first_copy => v.wrapping_add(1),
            Tamper::Split => v,
        };
        if changed != v {
            seen.2 = true;
        }
        word.copy_from_slice(&changed.to_le_bytes());
    }

    /// Whether it has changed a message.
    pub(crate) fn fired(&self) -> bool {
        self.seen.lock().expect("deviation counter").2
    }
}
