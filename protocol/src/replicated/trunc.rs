//! Probabilistic truncation (division by `2^f` with rounding up or down), for fixed-point
//! products.
//!
//! Preparation, for each value (no input needed, so it can run ahead of time): a random `R`
//! whose components come from the seeds, its top bit `msb(R)` and `R' = (R mod 2^63) >> f`,
//! both as arithmetic sharings. `R'` is the sum of the components shifted by `f`, corrected by
//! the carry of their low `f` bits and by the number of times their sum wraps the ring, and
//! `msb(R)` the top bit of that sum; these few bits come from binary sums of the components'
//! bits ([`Replicated::sum_planes`]) and are made arithmetic by [`Replicated::bits_to_arith`].
//!
//! Online (one round): with `y = x + 2^62`, open `c = y + R`; then
//! `y >> f = (c mod 2^63) >> f - R' + b 2^(63 - f) + e`, where `b = c_63 xor msb(R)` is the
//! carry into bit 63 and `e` in {0, 1} the carry from the dropped low bits (Dalskov, Escudero
//! and Keller, "Secure Evaluation of Quantized Neural Networks", PETS 2020, adapted to the
//! replicated layout). `c` is uniformly random, so it reveals nothing. For every
//! `|x| < 2^62` the result is `floor(x / 2^f) + e`: never off by more than one unit in the
//! last place, and unbiased (`e = 1` with probability `(x mod 2^f) / 2^f`). There is no
//! large-error failure case.

use super::{EngineError, RepVec, Replicated, Scope};
use crate::engine::Engine;
use crate::ring::words_for;
use crate::transport::Transport;

/// Prepared randomness for truncating values, each by its own number of bits.
pub struct TruncPrep {
    shifts: Vec<u32>,
    r: RepVec,
    r_shifted: RepVec,
    r_msb: RepVec,
}

impl std::fmt::Debug for TruncPrep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TruncPrep {{ len: {}, redacted }}", self.r.len())
    }
}

impl TruncPrep {
    /// Number of values it can truncate.
    pub fn len(&self) -> usize {
        self.r.len()
    }

    /// Whether it prepares nothing.
    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }

    /// Consecutive pieces of the given lengths, each for its own truncation.
    pub fn split(self, lengths: &[usize]) -> Vec<TruncPrep> {
        let rs = self.r.split(lengths);
        let shifted = self.r_shifted.split(lengths);
        let msbs = self.r_msb.split(lengths);
        let mut start = 0;
        rs.into_iter()
            .zip(shifted)
            .zip(msbs)
            .zip(lengths)
            .map(|(((r, r_shifted), r_msb), &len)| {
                let shifts = self.shifts[start..start + len].to_vec();
                start += len;
                TruncPrep { shifts, r, r_shifted, r_msb }
            })
            .collect()
    }
}

impl<T: Transport> Replicated<'_, T> {
    /// Prepares the randomness to truncate `len` values by `f` bits (`1 <= f <= 62`).
    pub async fn trunc_prep(&mut self, len: usize, f: u32) -> Result<TruncPrep, EngineError> {
        self.trunc_prep_each(&vec![f; len]).await
    }

    /// Prepares the randomness to truncate value `e` by `shifts[e]` bits, all at once: the
    /// low bits of every value are aligned so that their carries land in the same planes, and
    /// one preparation (19 rounds for 3 parties) serves any mix of shifts.
    pub async fn trunc_prep_each(&mut self, shifts: &[u32]) -> Result<TruncPrep, EngineError> {
        let outer = self.enter(Scope::Truncation);
        let prep = self.prepare(shifts).await;
        self.leave(outer);
        prep
    }

    async fn prepare(&mut self, shifts: &[u32]) -> Result<TruncPrep, EngineError> {
        if let Some(f) = shifts.iter().find(|f| !(1..=62).contains(*f)) {
            return Err(EngineError::Shape(format!("cannot truncate by {f} bits")));
        }
        let len = shifts.len();
        let m = self.layout.components();
        let w = m.next_power_of_two().trailing_zeros() as usize; // ceil(log2 m)
        let words = words_for(len);
        let r = self.random(len);
        // Full sum of the components: planes 63 (the top bit of R) and 64.. (wraps of the ring).
        let full = self.component_operands(&r, 64 + w);
        let top = self.sum_planes(full, 64 + w, 63, words).await?;
        // Sum of the components' low f_e bits, shifted left so that the carries out of bit f_e
        // land in planes top - w.. for every value: a single binary sum for all shifts.
        let max_f = shifts.iter().copied().max().unwrap_or(1) as usize;
        let planes = max_f + w;
        let low = RepVec {
            comps: r
                .comps
                .iter()
                .map(|c| {
                    c.iter()
                        .zip(shifts)
                        .map(|(v, &f)| (v & ((1u64 << f) - 1)) << (max_f - f as usize))
                        .collect()
                })
                .collect(),
        };
        let low_ops = self.component_operands(&low, planes);
        let carries = self.sum_planes(low_ops, planes, max_f, words).await?;
        // All the bits at once: msb, wraps (w planes), low carries (w planes).
        let arith = self.bits_to_arith(&RepVec::concat(&[&top, &carries]), len).await?;
        let bits = arith.split(&vec![len; 2 * w + 1]);
        let weighted = |bits: &[RepVec]| {
            bits.iter()
                .enumerate()
                .fold(RepVec { comps: r.comps.iter().map(|_| vec![0; len]).collect() }, |acc, (j, b)| {
                    acc.add(&b.mul_public(&vec![1u64 << j; len]))
                })
        };
        let r_msb = bits[0].clone();
        let wraps = weighted(&bits[1..=w]);
        let low_carry = weighted(&bits[w + 1..]);
        let shifted = RepVec {
            comps: r.comps.iter().map(|c| c.iter().zip(shifts).map(|(v, &f)| v >> f).collect()).collect(),
        };
        // R >> f = sum(r_T >> f) + low carries - wraps 2^(64 - f); drop bit 63 of R.
        let wrap_weight: Vec<u64> = shifts.iter().map(|&f| 1u64 << (64 - f)).collect();
        let msb_weight: Vec<u64> = shifts.iter().map(|&f| 1u64 << (63 - f)).collect();
        let r_shifted =
            shifted.add(&low_carry).sub(&wraps.mul_public(&wrap_weight)).sub(&r_msb.mul_public(&msb_weight));
        Ok(TruncPrep { shifts: shifts.to_vec(), r, r_shifted, r_msb })
    }

    /// Truncates `x` with prepared randomness (one round); see the module notes for the error.
    pub async fn trunc_with(&mut self, x: &RepVec, prep: &TruncPrep) -> Result<RepVec, EngineError> {
        let outer = self.enter(Scope::Truncation);
        let z = self.truncate(x, prep).await;
        self.leave(outer);
        z
    }

    async fn truncate(&mut self, x: &RepVec, prep: &TruncPrep) -> Result<RepVec, EngineError> {
        let len = x.len();
        if prep.r.len() != len {
            return Err(EngineError::Shape(format!(
                "truncation of {len} values with {} prepared",
                prep.r.len()
            )));
        }
        let offset = self.public(&vec![1u64 << 62; len]);
        let c = self.open(&x.add(&offset).add(&prep.r)).await?;
        let low: Vec<u64> = c.iter().zip(&prep.shifts).map(|(v, &f)| (v & (u64::MAX >> 1)) >> f).collect();
        let top: Vec<u64> = c.iter().map(|v| v >> 63).collect();
        // b = c_63 xor msb(R) = c_63 + msb - 2 c_63 msb, linear in msb since c is public.
        let sign: Vec<u64> = top.iter().map(|&t| 1u64.wrapping_sub(2 * t)).collect();
        let b = self.public(&top).add(&prep.r_msb.mul_public(&sign));
        let carry_weight: Vec<u64> = prep.shifts.iter().map(|&f| 1u64 << (63 - f)).collect();
        let offset_out: Vec<u64> = prep.shifts.iter().map(|&f| 1u64 << (62 - f)).collect();
        Ok(self
            .public(&low)
            .sub(&prep.r_shifted)
            .add(&b.mul_public(&carry_weight))
            .sub(&self.public(&offset_out)))
    }

    /// Fixed-point product with prepared truncation randomness (two rounds).
    pub async fn mul_fixed_with(
        &mut self,
        x: &RepVec,
        y: &RepVec,
        prep: &TruncPrep,
    ) -> Result<RepVec, EngineError> {
        let z = self.mul(x, y).await?;
        self.trunc_with(&z, prep).await
    }
}
