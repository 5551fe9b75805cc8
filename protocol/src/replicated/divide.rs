//! Fixed-point division `a / b` for `b > 0`, with the divisor normalised to `[1, 2)`.
//!
//! 1. Bit decomposition of `b` (a parallel-prefix adder over its components' bits), then a
//!    suffix OR from the top bit down and its differences: a one-hot vector of the position of
//!    `b`'s highest bit, made arithmetic.
//! 2. `v = 2^(K - 1 - msb(b))` from the one-hot vector (local), so `N = b v` lies in
//!    `[2^(K-1), 2^K)`: the divisor as a number `n` in `[1, 2)` with `K - 1` fractional bits;
//!    `M = a v` is the dividend scaled the same way (`a / b = M / N`).
//! 3. Newton-Raphson for `y = 1 / n` with `RECIPROCAL_BITS` fractional bits from the linear
//!    start `y0 = 1.4571 - n / 2` (`RECIPROCAL_START`, relative error below `2^-3.5`),
//!    `NEWTON_STEPS` iterations `y <- y (2 - n y)` (each doubles the correct bits), then
//!    `a / b = (M >> (K - 1 - f)) y`.
//!
//! `K` is `DIVISOR_BITS`; these constants live in [`crate::ring`], so that the plaintext engine
//! divides with the same ones. This module holds steps 1 and 2; [`Engine::div`] composes them
//! with the truncations of step 3.
//!
//! Ranges: `0 < b < 2^31` and `|a| < 2^31` (the fixed-point input range), `|a / b| < 2^14`.
//! Error: below `2^-14` relative to `|a / b|` plus 2 units of `2^-16` (checked by the tests
//! against floating point for random inputs and for the ends of the ranges).

use super::{EngineError, RepVec, Replicated};
use crate::engine::Engine;
use crate::ring::{DIVISOR_BITS as K, words_for};
use crate::transport::Transport;

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
    pub(super) async fn highest_bit(&mut self, x: &RepVec, planes: usize) -> Result<RepVec, EngineError> {
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

    /// `v = 2^(K - 1 - msb(b))` for each divisor (zero for a zero divisor), from the one-hot
    /// sharing of its highest bit (local after [`Replicated::highest_bit`]).
    pub(super) async fn normaliser(&mut self, b: &RepVec) -> Result<RepVec, EngineError> {
        let n = b.len();
        let onehot = self.highest_bit(b, K as usize).await?.split(&vec![n; K as usize]);
        let zero = RepVec { comps: b.comps.iter().map(|_| vec![0u64; n]).collect() };
        Ok(onehot
            .iter()
            .enumerate()
            .fold(zero, |acc, (i, h)| acc.add(&h.mul_public(&vec![1u64 << (K as usize - 1 - i); n]))))
    }
}
