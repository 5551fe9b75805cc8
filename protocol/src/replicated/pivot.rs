//! Cheaper conversions when every party misses exactly one component (`t = 1`: 3 or 4
//! parties). Then component `c` is missed only by party `c`, and party `r` alone knows the sum
//! of all the other components. For a block of values "pivoted" on `r`:
//!
//! - the value is `A + B` with `A = sum of the components other than r`, known to `r`, and
//!   `B = x_r`, known to everybody else; `r` inputs `A` as a binary sharing (its special
//!   component carries `A` masked by the other components' mask streams, sent to the other
//!   holders of that component), and `B`'s bits are component `r` of a binary sharing, locally.
//!   This replaces the carry-save layer, and only `r` sends;
//! - a bit `b = d xor b_r` with `d` the XOR of the components other than `r`: `r` inputs `d`
//!   arithmetically, and `b = d + b_r - 2 d b_r` takes one multiplication instead of two.
//!
//! Blocks of 64 values (one word of a bit-sliced plane) rotate the pivot over the parties, so
//! each sends for a third (or a quarter) of the values.

use super::{EngineError, RepVec, Replicated};
use crate::engine::Engine;
use crate::message::{self, Op};
use crate::ring::{transpose64, unslice_plane, words_for};
use crate::transport::Transport;
use rand::RngExt;

impl<T: Transport> Replicated<'_, T> {
    /// Whether the pivot conversions apply (`t = 1`).
    pub(super) fn pivots(&self) -> bool {
        self.layout.threshold() == 1 && self.log.is_none()
    }

    fn pivot_of(&self, word: usize) -> usize {
        word % self.layout.parties()
    }

    /// Sends, for every block this party pivots, the special component of its input, and
    /// receives the special components of the other pivots' inputs. `mine[w]` holds the
    /// block's `width` words for the blocks this party pivots. Returns `theirs[w]` for the blocks
    /// of other pivots whose special component this party holds.
    async fn exchange_pivot_inputs(
        &mut self,
        blocks: usize,
        width: usize,
        mine: &[Option<Vec<u64>>],
    ) -> Result<Vec<Option<Vec<u64>>>, EngineError> {
        let me = self.party();
        let n = self.layout.parties();
        let special = self.plan.special[me];
        let tag = self.next_tag(Op::Pivot);
        let mut payload = Vec::new();
        for block in mine.iter().flatten() {
            payload.extend_from_slice(block);
        }
        let message = tag.u64s(&payload);
        for q in self.layout.holders(special).into_iter().filter(|&q| q != me) {
            self.send(q, message.clone()).await?;
        }
        let mut theirs: Vec<Option<Vec<u64>>> = vec![None; blocks];
        for r in (0..n).filter(|&r| r != me && self.layout.holds(me, self.plan.special[r])) {
            let owned: Vec<usize> = (0..blocks).filter(|&w| self.pivot_of(w) == r).collect();
            let values = message::recv_u64s(self.transport, r, tag, owned.len() * width).await?;
            for (k, &w) in owned.iter().enumerate() {
                theirs[w] = Some(values[k * width..(k + 1) * width].to_vec());
            }
        }
        Ok(theirs)
    }

    /// The two binary operands `(A, B)` (bit-sliced, 64 planes) whose sum is `x`, one round in
    /// which each party sends only for the blocks it pivots.
    pub(super) async fn pivot_operands(&mut self, x: &RepVec) -> Result<(RepVec, RepVec), EngineError> {
        let me = self.party();
        let len = x.len();
        let words = words_for(len);
        let held = self.plan.held.clone();
        let special = self.plan.special.clone();
        let index = |c: usize| held.iter().position(|&h| h == c);
        let mut a = RepVec { comps: vec![vec![0u64; 64 * words]; held.len()] };
        let mut b = RepVec { comps: vec![vec![0u64; 64 * words]; held.len()] };
        // B: component r of block w is the bits of x's component r, for the pivot r of w.
        for (i, &c) in held.iter().enumerate() {
            for w in (0..words).filter(|&w| self.pivot_of(w) == c) {
                let mut block = [0u64; 64];
                let values = &x.comps[i][w * 64..((w + 1) * 64).min(len)];
                block[..values.len()].copy_from_slice(values);
                transpose64(&mut block);
                for (plane, v) in block.iter().enumerate() {
                    b.comps[i][plane * words + w] = *v;
                }
            }
        }
        // A: masks from the mask streams for every held component other than the pivot's
        // special one; the pivot puts A xor masks in its special component.
        let mut mine: Vec<Option<Vec<u64>>> = vec![None; words];
        for (w, slot) in mine.iter_mut().enumerate() {
            let r = self.pivot_of(w);
            let mut masks_total = [0u64; 64];
            for (i, &c) in held.iter().enumerate() {
                if c == r || c == special[r] {
                    continue;
                }
                let mut m = [0u64; 64];
                self.masks[i].fill(&mut m[..]);
                for plane in 0..64 {
                    a.comps[i][plane * words + w] = m[plane];
                    masks_total[plane] ^= m[plane];
                }
            }
            if r == me {
                let mut block = [0u64; 64];
                for (k, slot) in block.iter_mut().enumerate() {
                    let idx = w * 64 + k;
                    if idx < len {
                        *slot = x.comps.iter().fold(0u64, |acc, comp| acc.wrapping_add(comp[idx]));
                    }
                }
                transpose64(&mut block);
                let s = index(special[me]).expect("special is held");
                let out: Vec<u64> = block.iter().zip(&masks_total).map(|(v, m)| v ^ m).collect();
                for (plane, v) in out.iter().enumerate() {
                    a.comps[s][plane * words + w] = *v;
                }
                *slot = Some(out);
            }
        }
        let theirs = self.exchange_pivot_inputs(words, 64, &mine).await?;
        for (w, block) in theirs.into_iter().enumerate() {
            if let Some(block) = block {
                let s = index(special[self.pivot_of(w)]).expect("received only for held components");
                for (plane, v) in block.iter().enumerate() {
                    a.comps[s][plane * words + w] = *v;
                }
            }
        }
        Ok((a, b))
    }

    /// Turns a binary sharing of `n` bits (one plane) into an arithmetic 0/1 sharing with one
    /// input round and one multiplication.
    pub(super) async fn pivot_bits_to_arith(
        &mut self,
        bits: &RepVec,
        n: usize,
    ) -> Result<RepVec, EngineError> {
        let me = self.party();
        let words = words_for(n);
        let held = self.plan.held.clone();
        let special = self.plan.special.clone();
        let index = |c: usize| held.iter().position(|&h| h == c);
        let mut d = RepVec { comps: vec![vec![0u64; n]; held.len()] };
        let mut br = RepVec { comps: vec![vec![0u64; n]; held.len()] };
        let values: Vec<Vec<u64>> = bits.comps.iter().map(|c| unslice_plane(c, n)).collect();
        let mut mine: Vec<Option<Vec<u64>>> = vec![None; words];
        for (w, slot) in mine.iter_mut().enumerate() {
            let r = self.pivot_of(w);
            let range = w * 64..((w + 1) * 64).min(n);
            let width = range.len();
            if let Some(i) = index(r) {
                br.comps[i][range.clone()].copy_from_slice(&values[i][range.clone()]);
            }
            let mut masks_total = vec![0u64; width];
            for (i, &c) in held.iter().enumerate() {
                if c == r || c == special[r] {
                    continue;
                }
                let mut m = vec![0u64; 64];
                self.masks[i].fill(&mut m[..]);
                for k in 0..width {
                    d.comps[i][range.start + k] = m[k];
                    masks_total[k] = masks_total[k].wrapping_add(m[k]);
                }
            }
            if r == me {
                let s = index(special[me]).expect("special is held");
                let mut out = vec![0u64; 64];
                for k in 0..width {
                    let xor = values.iter().fold(0u64, |acc, v| acc ^ v[range.start + k]);
                    let v = xor.wrapping_sub(masks_total[k]);
                    d.comps[s][range.start + k] = v;
                    out[k] = v;
                }
                *slot = Some(out);
            }
        }
        let theirs = self.exchange_pivot_inputs(words, 64, &mine).await?;
        for (w, block) in theirs.into_iter().enumerate() {
            if let Some(block) = block {
                let s = index(special[self.pivot_of(w)]).expect("received only for held components");
                let range = w * 64..((w + 1) * 64).min(n);
                let width = range.len();
                d.comps[s][range].copy_from_slice(&block[..width]);
            }
        }
        let product = self.mul(&d, &br).await?;
        Ok(d.add(&br).sub(&product.add(&product)))
    }
}
