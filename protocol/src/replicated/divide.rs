//! Fixed-point division `a / b` for `b > 0`, with the divisor normalised to `[1, 2)`.
//!
//! 1. Bit decomposition of `b` (a parallel-prefix adder over its components' bits), then a
//!    suffix OR from the top bit down and its differences: a one-hot vector of the position of
//!    `b`'s highest bit, made arithmetic.
//! 2. `v = 2^(K - 1 - msb(b))` from the one-hot vector (local), so `N = b v` lies in
//!    `[2^(K-1), 2^K)`: the divisor as a number `n` in `[1, 2)` with `K - 1` fractional bits;
//!    `M = a v` is the dividend scaled the same way (`a / b = M / N`).
//! 3. Newton-Raphson for `y = 1 / n` with [`RECIPROCAL_BITS`] fractional bits from the linear
//!    start `y0 = 1.4571 - n / 2` (relative error below `2^-3.5`), three iterations
//!    `y <- y (2 - n y)` (each doubles the correct bits), then `a / b = (M >> (K - 1 - f)) y`.
//!
//! Ranges: `0 < b < 2^31` and `|a| < 2^31` (the fixed-point input range), `|a / b| < 2^14`.
//! Error: below `2^-14` relative to `|a / b|` plus 2 units of `2^-16` (checked by the tests
//! against floating point for random inputs and for the ends of the ranges).

use super::binary::words_for;
use super::{EngineError, RepVec, Replicated};
use crate::fixed::FRAC_BITS;
use crate::transport::Transport;

/// Bits of the normalised divisor: `b < 2^K` for every encoded `b < 2^31`.
pub(crate) const K: u32 = 47;
/// Fractional bits of the reciprocal during Newton-Raphson.
pub const RECIPROCAL_BITS: u32 = 28;

impl<T: Transport> Replicated<'_, T> {
    /// All `planes` low bits of each secret, as a bit-sliced binary sharing: a carry-save
    /// reduction of the components' bits and a Kogge-Stone prefix adder
    /// (`1 + 1 + ceil(log2 planes)` AND rounds for 3 or 4 parties).
    pub async fn bit_decompose(&mut self, x: &RepVec, planes: usize) -> Result<RepVec, EngineError> {
        let words = words_for(x.len());
        let ops = self.component_operands(x, planes);
        let (a, b) = self.carry_save(ops, planes, words).await?;
        let p = a.xor(&b);
        // g[i], p[i] become the generate and propagate of the span ending at i.
        let mut g: Vec<RepVec> = {
            let all = self.and(&a, &b).await?;
            (0..planes).map(|i| all.planes(i..i + 1, words)).collect()
        };
        let mut pp: Vec<RepVec> = (0..planes).map(|i| p.planes(i..i + 1, words)).collect();
        let mut d = 1;
        while d < planes {
            // G_i ^= P_i & G_{i-d}; P_i &= P_{i-d} (the P of spans reaching bit 0 is unused).
            let mut lefts = Vec::new();
            let mut rights = Vec::new();
            for i in d..planes {
                lefts.push(&pp[i]);
                rights.push(&g[i - d]);
            }
            let with_p: Vec<usize> = (2 * d..planes).collect();
            for &i in &with_p {
                lefts.push(&pp[i]);
                rights.push(&pp[i - d]);
            }
            let count = lefts.len();
            let ands =
                self.and(&RepVec::concat(&lefts), &RepVec::concat(&rights)).await?.split(&vec![words; count]);
            let (gs, ps) = ands.split_at(planes - d);
            for (k, i) in (d..planes).enumerate() {
                g[i] = g[i].xor(&gs[k]);
            }
            for (k, &i) in with_p.iter().enumerate() {
                pp[i] = ps[k].clone();
            }
            d *= 2;
        }
        // Sum bit i = p_i ^ carry into i = p_i ^ G_{i-1}.
        let bits: Vec<RepVec> = (0..planes)
            .map(|i| if i == 0 { p.planes(0..1, words) } else { p.planes(i..i + 1, words).xor(&g[i - 1]) })
            .collect();
        Ok(RepVec::concat(&bits.iter().collect::<Vec<_>>()))
    }

    /// A one-hot arithmetic sharing (`planes x n`, plane-major) of the position of the highest
    /// set bit of each secret among its low `planes` bits (all zero for a zero secret).
    async fn highest_bit(&mut self, x: &RepVec, planes: usize) -> Result<RepVec, EngineError> {
        let n = x.len();
        let words = words_for(n);
        let bits = self.bit_decompose(x, planes).await?;
        // Suffix OR: o_i = OR of bits i.. (a | b = a ^ b ^ (a & b)).
        let mut o: Vec<RepVec> = (0..planes).map(|i| bits.planes(i..i + 1, words)).collect();
        let mut d = 1;
        while d < planes {
            let idx: Vec<usize> = (0..planes - d).collect();
            let lefts: Vec<&RepVec> = idx.iter().map(|&i| &o[i]).collect();
            let rights: Vec<&RepVec> = idx.iter().map(|&i| &o[i + d]).collect();
            let ands = self
                .and(&RepVec::concat(&lefts), &RepVec::concat(&rights))
                .await?
                .split(&vec![words; idx.len()]);
            let next: Vec<RepVec> = idx.iter().map(|&i| o[i].xor(&o[i + d]).xor(&ands[i])).collect();
            for (i, v) in next.into_iter().enumerate() {
                o[i] = v;
            }
            d *= 2;
        }
        let onehot: Vec<RepVec> =
            (0..planes).map(|i| if i + 1 < planes { o[i].xor(&o[i + 1]) } else { o[i].clone() }).collect();
        self.bits_to_arith(&RepVec::concat(&onehot.iter().collect::<Vec<_>>()), n).await
    }

    /// `a / b` in fixed point (16 fractional bits) for `b > 0`; see the module notes for the
    /// ranges and the error.
    pub async fn div(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        let n = b.len();
        if a.len() != n {
            return Err(EngineError::Shape(format!("division of {} by {} values", a.len(), n)));
        }
        let f = FRAC_BITS;
        let p = RECIPROCAL_BITS;
        let onehot = self.highest_bit(b, K as usize).await?.split(&vec![n; K as usize]);
        let zero = RepVec { comps: b.comps.iter().map(|_| vec![0u64; n]).collect() };
        let v = onehot
            .iter()
            .enumerate()
            .fold(zero, |acc, (i, h)| acc.add(&h.mul_public(&vec![1u64 << (K as usize - 1 - i); n])));
        // Every truncation of the division, prepared at once: n and M, y0, then the six
        // Newton products and the final product.
        let mut shifts = vec![K - 1 - p; n];
        shifts.extend(vec![K - 1 - f; n]);
        shifts.extend(vec![1; n]);
        shifts.extend(vec![p; 7 * n]);
        let mut preps =
            self.trunc_prep_each(&shifts).await?.split(&[2 * n, n, n, n, n, n, n, n, n]).into_iter();
        let mut next = || preps.next().expect("one preparation per truncation");
        let scaled = self.mul(&RepVec::concat(&[b, a]), &RepVec::concat(&[&v, &v])).await?;
        // n with p fractional bits, in [2^p, 2^(p+1)); M with f fractional bits.
        let both = self.trunc_with(&scaled, &next()).await?.split(&[n, n]);
        let (np, m) = (&both[0], &both[1]);
        // y0 = 1.4571 - n / 2, with p fractional bits.
        let half = self.trunc_with(np, &next()).await?;
        let start = (1.4571 * (1u64 << p) as f64).round() as u64;
        let mut y = self.public(&vec![start; n]).sub(&half);
        let two = self.public(&vec![2u64 << p; n]);
        for _ in 0..3 {
            let ny = self.mul_fixed_with(np, &y, &next()).await?;
            let e = two.sub(&ny);
            y = self.mul_fixed_with(&y, &e, &next()).await?;
        }
        self.mul_fixed_with(m, &y, &next()).await
    }
}
