//! Replicated sharings of extension elements, and the lifting of recorded products into one
//! inner-product claim over the extension.

use super::ext::{Ext, Gf, Gr};
use crate::replicated::RepVec;
use crate::replicated::log::{AndClaim, RingClaim};
use rand::Rng;

/// One party's share of a vector of extension elements: per held component, its values.
#[derive(Clone)]
pub(crate) struct ExtShare<E> {
    pub comps: Vec<Vec<E>>,
}

impl<E: Ext> ExtShare<E> {
    pub fn len(&self) -> usize {
        self.comps.first().map_or(0, Vec::len)
    }

    /// From a sharing of words, `E::WORDS` words per element.
    pub fn from_words(words: &RepVec) -> Self {
        ExtShare { comps: words.comps.iter().map(|c| c.chunks(E::WORDS).map(E::take).collect()).collect() }
    }

    /// As a sharing of words.
    pub fn to_words(&self) -> RepVec {
        RepVec {
            comps: self
                .comps
                .iter()
                .map(|c| {
                    let mut out = Vec::with_capacity(c.len() * E::WORDS);
                    for e in c {
                        e.put(&mut out);
                    }
                    out
                })
                .collect(),
        }
    }

    fn zip(&self, other: &Self, f: impl Fn(E, E) -> E) -> Self {
        ExtShare {
            comps: self
                .comps
                .iter()
                .zip(&other.comps)
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect())
                .collect(),
        }
    }

    pub fn add(&self, other: &Self) -> Self {
        self.zip(other, E::add)
    }

    pub fn sub(&self, other: &Self) -> Self {
        self.zip(other, E::sub)
    }

    /// Every element times the public `c` (local).
    pub fn scale(&self, c: E) -> Self {
        ExtShare { comps: self.comps.iter().map(|v| v.iter().map(|e| e.mul(c)).collect()).collect() }
    }

    /// Replaces the halves `v0`, `v1` (at `half`, the length being twice that) by the line
    /// through them at `r`, `v0 + r (v1 - v0)`, in place.
    pub fn fold(&mut self, half: usize, r: E) {
        let by = r.times();
        for comp in &mut self.comps {
            let (low, high) = comp.split_at_mut(half);
            for (x, y) in low.iter_mut().zip(high.iter()) {
                x.fold_line(y, &by);
            }
            comp.truncate(half);
        }
    }

    /// Appends `other`'s elements.
    pub fn extend(&mut self, other: &Self) {
        for (a, b) in self.comps.iter_mut().zip(&other.comps) {
            a.extend_from_slice(b);
        }
    }

    /// Appends a zero (a sharing of zero with every component zero).
    pub fn push_zero(&mut self) {
        for c in &mut self.comps {
            c.push(E::zero());
        }
    }
}

/// The vectors of a finished check, kept for the next one: a check's vectors take tens of
/// megabytes, and memory fresh from the system costs a page fault per page on first touch
/// (a fifth of a check's time when each check allocated its own).
pub(crate) struct Buffers<E> {
    a: Vec<Vec<E>>,
    base: Vec<Vec<u64>>,
}

impl<E: Ext> Buffers<E> {
    pub fn new() -> Self {
        Buffers { a: Vec::new(), base: Vec::new() }
    }

    /// Keeps the vectors of a check that is done with them.
    pub fn keep(&mut self, a: ExtShare<E>, base: Vec<Vec<u64>>) {
        self.a = a.comps;
        self.base = base;
    }

    /// Empty vectors for `held` components, each with room for `len` elements.
    fn take(&mut self, held: usize, len: usize) -> (ExtShare<E>, Lifted<E>) {
        fn room<T>(mut spare: Vec<Vec<T>>, held: usize, len: usize) -> Vec<Vec<T>> {
            spare.resize_with(held, Vec::new);
            for v in &mut spare {
                v.clear();
                v.reserve_exact(len);
            }
            spare
        }
        let a = ExtShare { comps: room(std::mem::take(&mut self.a), held, len) };
        let base = room(std::mem::take(&mut self.base), held, len);
        (a, Lifted { base, extras: Vec::new() })
    }
}

/// Room a check needs beyond its lifted terms: the random `alpha` and `beta`, and the zeros
/// that pad the vectors for the rounds on pieces.
fn headroom<E: Ext>() -> usize {
    1 + (1 << E::PIECE_ROUNDS)
}

/// One party's share of a lifted vector whose elements are base-ring values (ring values,
/// bits), except for a few extension elements (a check's random `beta`; the tests place
/// others anywhere): eight bytes per element instead of an extension element.
#[derive(Clone)]
pub(crate) struct Lifted<E> {
    /// Per held component, the base values (zero where an element is an extension one).
    pub base: Vec<Vec<u64>>,
    /// The extension elements: position and, per held component, value.
    pub extras: Vec<(usize, Vec<E>)>,
}

impl<E: Ext> Lifted<E> {
    #[cfg(test)]
    pub fn new(held: usize) -> Self {
        Lifted { base: vec![Vec::new(); held], extras: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.base.first().map_or(0, Vec::len)
    }

    /// Appends a zero.
    pub fn push_zero(&mut self) {
        for c in &mut self.base {
            c.push(0);
        }
    }

    /// Appends the extension elements of `v`.
    pub fn extend_ext(&mut self, v: &ExtShare<E>) {
        for k in 0..v.len() {
            self.extras.push((self.len(), v.comps.iter().map(|c| c[k]).collect()));
            self.push_zero();
        }
    }

    /// The vector `sum_p pieces[p] self[p m + j]` for `j < m`, as extension elements.
    pub fn combine(&self, pieces: &[E], m: usize) -> ExtShare<E> {
        let mut comps: Vec<Vec<E>> = self
            .base
            .iter()
            .map(|c| {
                (0..m)
                    .map(|j| {
                        let mut acc = E::zero();
                        for (p, e) in pieces.iter().enumerate() {
                            acc.add_scaled(e, c[p * m + j]);
                        }
                        acc
                    })
                    .collect()
            })
            .collect();
        for (at, values) in &self.extras {
            for (comp, v) in comps.iter_mut().zip(values) {
                comp[at % m] = comp[at % m].add(v.mul(pieces[at / m]));
            }
        }
        ExtShare { comps }
    }
}

/// A claim `<a, b> = c` over an extension, as one party holds it.
pub(crate) type Claim<E, B> = (ExtShare<E>, B, ExtShare<E>);

/// The ring products of a check as inner-product claims: the products and dot products, whose
/// `b` holds base values, and the matrix products, whose `b` holds extension elements
/// throughout (each `None` when the check has none).
pub(crate) struct RingLift {
    pub products: Option<Claim<Gr, Lifted<Gr>>>,
    pub dense: Option<Claim<Gr, ExtShare<Gr>>>,
}

/// The inner-product claims that the products in `claims` hold exactly when every one of
/// them is right (with probability `1 - 2^-47` over the weights otherwise): each product is
/// weighted by a public random element of the exceptional set, and a matrix product `Z = X
/// Y` becomes `u^T Z v = (u^T X)(Y v)` for random `u`, `v` (Freivalds).
pub(crate) fn lift_ring<R: Rng>(
    claims: &[RingClaim],
    held: usize,
    rng: &mut R,
    buffers: &mut Buffers<Gr>,
) -> RingLift {
    let with_base = |c: &&RingClaim| !matches!(c, RingClaim::Matmul { .. });
    let terms: usize = claims.iter().filter(with_base).map(RingClaim::terms).sum();
    let dense_terms: usize = claims.iter().filter(|c| !with_base(c)).map(RingClaim::terms).sum();
    let (mut a, mut b) = buffers.take(held, terms + headroom::<Gr>());
    let mut c = vec![Gr::zero(); held];
    let mut dense = (
        ExtShare::<Gr> { comps: vec![Vec::with_capacity(dense_terms + 1); held] },
        vec![Vec::with_capacity(dense_terms + 1); held],
    );
    let mut dense_c = vec![Gr::zero(); held];
    for claim in claims {
        match claim {
            RingClaim::Mul { x, y, z } => lift_dot(&mut a, &mut b, &mut c, x, y, z, 1, rng),
            RingClaim::Dot { x, y, z, k } => lift_dot(&mut a, &mut b, &mut c, x, y, z, *k, rng),
            RingClaim::Matmul { x, y, z, rows, inner, cols } => {
                let u: Vec<Gr> = (0..*rows).map(|_| Gr::exceptional(rng)).collect();
                let v: Vec<Gr> = (0..*cols).map(|_| Gr::exceptional(rng)).collect();
                for (i, ci) in dense_c.iter_mut().enumerate() {
                    // u^T X: inner values.
                    let mut ux = vec![Gr::zero(); *inner];
                    for (r, ur) in u.iter().enumerate() {
                        for (j, acc) in ux.iter_mut().enumerate() {
                            acc.add_scaled(ur, x.comps[i][r * inner + j]);
                        }
                    }
                    // Y v: inner values.
                    let yv = (0..*inner).map(|j| {
                        let mut acc = Gr::zero();
                        for (col, vc) in v.iter().enumerate() {
                            acc.add_scaled(vc, y.comps[i][j * cols + col]);
                        }
                        acc
                    });
                    // u^T Z v = sum_col v_col (sum_r u_r Z[r][col]).
                    let mut total = Gr::zero();
                    for (col, vc) in v.iter().enumerate() {
                        let mut uz = Gr::zero();
                        for (r, ur) in u.iter().enumerate() {
                            uz.add_scaled(ur, z.comps[i][r * cols + col]);
                        }
                        total = total.add(uz.mul(*vc));
                    }
                    dense.0.comps[i].extend(ux);
                    dense.1[i].extend(yv);
                    *ci = ci.add(total);
                }
            }
        }
    }
    let one = |c: Vec<Gr>| ExtShare { comps: c.into_iter().map(|e| vec![e]).collect() };
    RingLift {
        products: (terms > 0).then(|| (a, b, one(c))),
        dense: (dense_terms > 0).then(|| (dense.0, ExtShare { comps: dense.1 }, one(dense_c))),
    }
}

#[allow(clippy::too_many_arguments)]
fn lift_dot<R: Rng>(
    a: &mut ExtShare<Gr>,
    b: &mut Lifted<Gr>,
    c: &mut [Gr],
    x: &RepVec,
    y: &RepVec,
    z: &RepVec,
    k: usize,
    rng: &mut R,
) {
    let outputs = z.len();
    // Weights of the exceptional set, as the masks of their ones.
    let weights: Vec<u64> = (0..outputs).map(|_| Gr::exceptional_bits(rng)).collect();
    for (i, ci) in c.iter_mut().enumerate() {
        let (ai, bi) = (&mut a.comps[i], &mut b.base[i]);
        bi.extend_from_slice(&y.comps[i][..outputs * k]);
        for (o, &w) in weights.iter().enumerate() {
            ai.extend(x.comps[i][o * k..(o + 1) * k].iter().map(|&v| Gr::bits_scaled(w, v)));
            ci.add_bits_scaled(w, z.comps[i][o]);
        }
    }
}

/// The inner-product claim over `GF(2^64)` that the AND gates in `claims` hold exactly when
/// every bit of every one is right (with probability `1 - 2^-64` otherwise): each bit is
/// weighted by a public random field element.
pub(crate) fn lift_and<R: Rng>(
    claims: &[AndClaim],
    held: usize,
    rng: &mut R,
    buffers: &mut Buffers<Gf>,
) -> (ExtShare<Gf>, Lifted<Gf>, ExtShare<Gf>) {
    let bits: usize = claims.iter().map(|c| 64 * c.z.len()).sum();
    let (mut a, mut b) = buffers.take(held, bits + headroom::<Gf>());
    let mut c = vec![Gf::zero(); held];
    let mut weights = Vec::new();
    for claim in claims {
        weights.clear();
        weights.extend((0..claim.z.len() * 64).map(|_| Gf::exceptional(rng)));
        for (i, ci) in c.iter_mut().enumerate() {
            let (ai, bi) = (&mut a.comps[i], &mut b.base[i]);
            let words = claim.x.comps[i].iter().zip(&claim.y.comps[i]).zip(&claim.z.comps[i]);
            for (((xw, yw), zw), weights) in words.zip(weights.chunks_exact(64)) {
                // Without branches: the bits are random, and mispredicted branches had made
                // the lifting a tenth of a binary check.
                let mut sum = 0u64;
                for (lane, weight) in weights.iter().enumerate() {
                    let bit = |w: u64| ((w >> lane) & 1).wrapping_neg();
                    ai.push(Gf(weight.0 & bit(*xw)));
                    bi.push((yw >> lane) & 1);
                    sum ^= weight.0 & bit(*zw);
                }
                *ci = ci.add(Gf(sum));
            }
        }
    }
    (a, b, ExtShare { comps: c.into_iter().map(|e| vec![e]).collect() })
}
