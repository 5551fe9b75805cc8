//! Exact comparison on arithmetic sharings.
//!
//! `x < 0` (two's complement) is the most significant bit of the ring sum of `x`'s
//! components. Each component is known to its holders, so its bits form a binary sharing
//! without communication ([`Replicated::component_operands`]). Carry-save adders reduce the
//! `C(n, t)` operands to two in one AND round per level (one level for 3 or 4 parties), and a
//! carry-lookahead tree over the 63 low bit positions gives the carry into the top bit in
//! `1 + ceil(log2 63)` rounds. Everything is bit-sliced: an AND of one plane compares 64
//! values at once. The resulting bit is turned into an arithmetic 0/1 sharing by folding the
//! components' bits with `a xor b = a + b - 2ab` (`ceil(log2 C(n, t))` rounds).
//!
//! Rounds and bytes per comparison are measured by the tests and the `bench` job and written
//! down in `docs/protocol.md`.

use super::{EngineError, RepVec, Replicated, Scope};
use crate::ring::words_for;
use crate::transport::Transport;

impl<T: Transport> Replicated<'_, T> {
    /// Reduces binary operands (bit-sliced, `planes` planes of `words` words) to two with the
    /// same sum modulo `2^planes`, by layers of carry-save adders (one AND round per layer).
    pub(super) async fn carry_save(
        &mut self,
        mut ops: Vec<RepVec>,
        planes: usize,
        words: usize,
    ) -> Result<(RepVec, RepVec), EngineError> {
        while ops.len() > 2 {
            let triples = ops.len() / 3;
            let rest: Vec<RepVec> = ops.split_off(triples * 3);
            // maj(a, b, c) = ((a ^ c) & (b ^ c)) ^ c: one AND per bit, all triples at once.
            let mut lefts = Vec::with_capacity(triples);
            let mut rights = Vec::with_capacity(triples);
            for t in ops.chunks(3) {
                lefts.push(t[0].xor(&t[2]));
                rights.push(t[1].xor(&t[2]));
            }
            let left = RepVec::concat(&lefts.iter().collect::<Vec<_>>());
            let right = RepVec::concat(&rights.iter().collect::<Vec<_>>());
            let ands = self.and(&left, &right).await?.split(&vec![planes * words; triples]);
            let mut next = Vec::with_capacity(2 * triples + rest.len());
            for (t, and) in ops.chunks(3).zip(ands) {
                let carry = and.xor(&t[2]);
                next.push(t[0].xor(&t[1]).xor(&t[2]));
                // The carry of plane i goes to plane i + 1; the top carry leaves the range.
                let shifted = RepVec {
                    comps: carry
                        .comps
                        .iter()
                        .map(|c| {
                            let mut v = vec![0u64; words];
                            v.extend_from_slice(&c[..(planes - 1) * words]);
                            v
                        })
                        .collect(),
                };
                next.push(shifted);
            }
            next.extend(rest);
            ops = next;
        }
        let mut it = ops.into_iter();
        let a = it.next().expect("at least one operand");
        let b =
            it.next().unwrap_or_else(|| RepVec { comps: a.comps.iter().map(|c| vec![0; c.len()]).collect() });
        Ok((a, b))
    }

    /// The carry into plane `pos` of a sum, from its generate (`g`) and propagate (`p`) planes
    /// below `pos`, by a carry-lookahead tree (`ceil(log2 pos)` AND rounds). `None` for 0.
    async fn carry_into(
        &mut self,
        g: &RepVec,
        p: &RepVec,
        pos: usize,
        words: usize,
    ) -> Result<Option<RepVec>, EngineError> {
        // Segments of bit positions, lowest first: (generate, propagate). The propagate of the
        // lowest segment is never needed (no carry enters bit 0).
        let mut segments: Vec<(RepVec, Option<RepVec>)> = (0..pos)
            .map(|i| (g.planes(i..i + 1, words), (i > 0).then(|| p.planes(i..i + 1, words))))
            .collect();
        while segments.len() > 1 {
            let pairs = segments.len() / 2;
            let carry_over = if segments.len() % 2 == 1 { segments.pop() } else { None };
            // For each pair (lo, hi): G = G_hi ^ (P_hi & G_lo), P = P_hi & P_lo.
            let mut lefts = Vec::new();
            let mut rights = Vec::new();
            for k in 0..pairs {
                let (lo, hi) = (&segments[2 * k], &segments[2 * k + 1]);
                let p_hi = hi.1.as_ref().expect("only the lowest segment lacks a propagate");
                lefts.push(p_hi.clone());
                rights.push(lo.0.clone());
                if let Some(p_lo) = &lo.1 {
                    lefts.push(p_hi.clone());
                    rights.push(p_lo.clone());
                }
            }
            let left = RepVec::concat(&lefts.iter().collect::<Vec<_>>());
            let right = RepVec::concat(&rights.iter().collect::<Vec<_>>());
            let ands = self.and(&left, &right).await?.split(&vec![words; lefts.len()]);
            let mut ands = ands.into_iter();
            let mut next = Vec::with_capacity(pairs + 1);
            for k in 0..pairs {
                let (lo, hi) = (&segments[2 * k], &segments[2 * k + 1]);
                let generate = hi.0.xor(&ands.next().expect("one AND per pair"));
                let propagate = lo.1.as_ref().map(|_| ands.next().expect("one AND per propagate"));
                next.push((generate, propagate));
            }
            next.extend(carry_over);
            segments = next;
        }
        Ok(segments.pop().map(|s| s.0))
    }

    /// Planes `from..planes` of the sum (modulo `2^planes`) of bit-sliced binary operands:
    /// carry-save layers, one AND round for the generate bits, a carry tree up to `from`, and a
    /// ripple through the planes above it.
    pub(super) async fn sum_planes(
        &mut self,
        operands: Vec<RepVec>,
        planes: usize,
        from: usize,
        words: usize,
    ) -> Result<RepVec, EngineError> {
        let (a, b) = self.carry_save(operands, planes, words).await?;
        let p = a.xor(&b);
        // Generate bits of every plane below the top (the top's carry out is dropped).
        let g = self.and(&a.planes(0..planes - 1, words), &b.planes(0..planes - 1, words)).await?;
        let mut carry = self.carry_into(&g, &p, from, words).await?;
        let mut out = Vec::with_capacity(planes - from);
        for i in from..planes {
            let pi = p.planes(i..i + 1, words);
            out.push(match &carry {
                Some(c) => pi.xor(c),
                None => pi.clone(),
            });
            if i + 1 < planes {
                let gi = g.planes(i..i + 1, words);
                carry = Some(match &carry {
                    Some(c) => gi.xor(&self.and(&pi, c).await?),
                    None => gi,
                });
            }
        }
        Ok(RepVec::concat(&out.iter().collect::<Vec<_>>()))
    }

    /// The bit `x < 0` of each secret (two's complement), as a binary sharing of one plane.
    pub async fn ltz_bits(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        let outer = self.enter(Scope::Comparison);
        let bits = self.sign_bits(x).await;
        self.leave(outer);
        bits
    }

    async fn sign_bits(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        let words = words_for(x.len());
        let ops = if self.pivots() {
            let (a, b) = self.pivot_operands(x).await?;
            vec![a, b]
        } else {
            self.component_operands(x, 64)
        };
        self.sum_planes(ops, 64, 63, words).await
    }
}
