//! Binary (XOR) sharings in the replicated layout, bit-sliced.
//!
//! A binary sharing uses the same components and holders as an arithmetic one, but the
//! components combine by XOR; products are bitwise AND of 64-bit words, computed with the same
//! plan and one resharing message. Circuits work on *bit-sliced* values: `planes` bit
//! positions, each a vector of `words` 64-bit words whose bit `k % 64` of word `k / 64`
//! belongs to value `k` (the layout of [`crate::ring::bit_slice`]); so one AND of a whole plane
//! does 64 values at a time.

use super::{EngineError, RepVec, Replicated, Xor};
use crate::ring::{bit_slice, words_for};
use crate::transport::Transport;

impl RepVec {
    /// XOR of two binary sharings (local).
    pub fn xor(&self, other: &RepVec) -> RepVec {
        self.zip(other, |a, b| a ^ b)
    }

    /// Planes `range` of a bit-sliced sharing with `words` words per plane.
    pub fn planes(&self, range: std::ops::Range<usize>, words: usize) -> RepVec {
        RepVec {
            comps: self.comps.iter().map(|c| c[range.start * words..range.end * words].to_vec()).collect(),
        }
    }

    /// Concatenates sharings (of the same party) end to end.
    pub fn concat(parts: &[&RepVec]) -> RepVec {
        let comps = parts.first().map_or(0, |p| p.comps.len());
        RepVec {
            comps: (0..comps)
                .map(|i| parts.iter().flat_map(|p| p.comps[i].iter().copied()).collect())
                .collect(),
        }
    }

    /// The sum of all the secrets, as a sharing of one value (local).
    pub fn sum(&self) -> RepVec {
        RepVec {
            comps: self.comps.iter().map(|c| vec![c.iter().fold(0u64, |a, v| a.wrapping_add(*v))]).collect(),
        }
    }

    /// Splits into consecutive pieces of the given lengths.
    pub fn split(&self, lengths: &[usize]) -> Vec<RepVec> {
        let mut start = 0;
        lengths
            .iter()
            .map(|&len| {
                let piece =
                    RepVec { comps: self.comps.iter().map(|c| c[start..start + len].to_vec()).collect() };
                start += len;
                piece
            })
            .collect()
    }
}

impl<T: Transport> Replicated<'_, T> {
    /// Bitwise AND of two binary sharings of words (one round).
    pub async fn and(&mut self, x: &RepVec, y: &RepVec) -> Result<RepVec, EngineError> {
        self.product::<Xor>(x, y).await
    }

    /// Opens a binary sharing (one round).
    pub async fn open_binary(&mut self, x: &RepVec) -> Result<Vec<u64>, EngineError> {
        self.open_with::<Xor>(x).await
    }

    /// The binary sharing, bit-sliced in `planes` planes, of each component of `x` on its
    /// own: operand `c` has component `c` equal to the bits of `x`'s component `c`, and all
    /// its other components zero. Their (integer) sum is the value of `x`. Local.
    pub fn component_operands(&self, x: &RepVec, planes: usize) -> Vec<RepVec> {
        let words = words_for(x.len());
        let held = &self.plan.held;
        (0..self.layout.components())
            .map(|c| RepVec {
                comps: held
                    .iter()
                    .enumerate()
                    .map(
                        |(i, &h)| {
                            if h == c { bit_slice(&x.comps[i], planes) } else { vec![0; planes * words] }
                        },
                    )
                    .collect(),
            })
            .collect()
    }
}
