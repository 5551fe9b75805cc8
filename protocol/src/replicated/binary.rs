//! Binary (XOR) sharings in the replicated layout, bit-sliced.
//!
//! A binary sharing uses the same components and holders as an arithmetic one, but the
//! components combine by XOR; products are bitwise AND of 64-bit words, computed with the same
//! plan and one resharing message. Circuits work on *bit-sliced* values: `planes` bit
//! positions, each a vector of `words` 64-bit words whose bit `k % 64` of word `k / 64`
//! belongs to value `k`; so one AND of a whole plane does 64 values at a time.

use super::{EngineError, RepVec, Replicated, Xor};
use crate::transport::Transport;

/// Number of 64-bit words holding one bit of each of `n` values.
pub fn words_for(n: usize) -> usize {
    n.div_ceil(64)
}

/// Transposes a 64 x 64 bit matrix in place: bit `j` of word `i` moves to bit `i` of word `j`.
pub fn transpose64(m: &mut [u64; 64]) {
    let mut width = 32;
    let mut mask: u64 = 0x0000_0000_FFFF_FFFF;
    while width != 0 {
        let mut k = 0;
        while k < 64 {
            for i in k..k + width {
                let t = ((m[i] >> width) ^ m[i + width]) & mask;
                m[i] ^= t << width;
                m[i + width] ^= t;
            }
            k += 2 * width;
        }
        width >>= 1;
        mask ^= mask << width;
    }
}

/// Bit-slices `values`: the result holds `planes` planes of `words_for(values.len())` words;
/// plane `i` carries bit `i` of every value (planes past 63 are zero).
pub fn bit_slice(values: &[u64], planes: usize) -> Vec<u64> {
    let words = words_for(values.len());
    let mut out = vec![0u64; planes * words];
    let mut block = [0u64; 64];
    for (w, chunk) in values.chunks(64).enumerate() {
        block.fill(0);
        block[..chunk.len()].copy_from_slice(chunk);
        transpose64(&mut block);
        for (bit, word) in block.iter().enumerate().take(planes.min(64)) {
            out[bit * words + w] = *word;
        }
    }
    out
}

/// The bits of one plane as 0/1 values, `n` of them.
pub fn unslice_plane(plane: &[u64], n: usize) -> Vec<u64> {
    (0..n).map(|k| (plane[k / 64] >> (k % 64)) & 1).collect()
}

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
    pub async fn open_binary(&self, x: &RepVec) -> Result<Vec<u64>, EngineError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_twice_is_identity_and_moves_bits() {
        let mut m = [0u64; 64];
        for (i, w) in m.iter_mut().enumerate() {
            *w = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        let original = m;
        transpose64(&mut m);
        for (i, row) in original.iter().enumerate() {
            for (j, col) in m.iter().enumerate() {
                assert_eq!((col >> i) & 1, (row >> j) & 1);
            }
        }
        transpose64(&mut m);
        assert_eq!(m, original);
    }

    #[test]
    fn slicing_round_trips_through_planes() {
        let values: Vec<u64> = (0..130u64).map(|i| i.wrapping_mul(0xDEAD_BEEF_1234_5677)).collect();
        let sliced = bit_slice(&values, 64);
        let words = words_for(values.len());
        let mut back = vec![0u64; values.len()];
        for bit in 0..64 {
            for (k, b) in
                unslice_plane(&sliced[bit * words..(bit + 1) * words], values.len()).into_iter().enumerate()
            {
                back[k] |= b << bit;
            }
        }
        assert_eq!(back, values);
    }
}
