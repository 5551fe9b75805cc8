//! Local kernels on vectors of ring elements of `Z_2^64`, and the constants of the fixed-point
//! algorithms, shared by every engine.
//!
//! An engine applies these to whatever it holds: the plaintext engine to the values
//! themselves, the replicated engine to each component of a share (all of them are linear,
//! or, for the products, linear in one operand). Keeping one definition here means the engines
//! agree bit for bit wherever their arithmetic is the same: matrix and dot products, running
//! sums, transposes, the bit-sliced layout of binary sharings, and the division's
//! normalisation, start value and iterations.

/// Bits of the normalised divisor of the fixed-point division: every encoded divisor
/// `b < 2^31` (real units) is below `2^DIVISOR_BITS` as a ring element.
pub const DIVISOR_BITS: u32 = 47;
/// Fractional bits of the reciprocal during the division's Newton-Raphson iterations.
pub const RECIPROCAL_BITS: u32 = 28;
/// The linear start `1.4571` of the reciprocal of a divisor in `[1, 2)` (`y0 = 1.4571 - n / 2`,
/// relative error below `2^-3.5`), with [`RECIPROCAL_BITS`] fractional bits.
pub const RECIPROCAL_START: u64 = 391_137_303;
/// Newton-Raphson iterations `y <- y (2 - n y)` of the division (each doubles the correct bits).
pub const NEWTON_STEPS: usize = 3;

/// Number of 64-bit words holding one bit of each of `n` values in a bit-sliced plane.
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
/// plane `i` carries bit `i` of every value (bit `k % 64` of word `k / 64` for value `k`;
/// planes past 63 are zero).
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

/// Running sums of consecutive groups of `len` values (wrapping).
pub fn prefix_sums(values: &[u64], len: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(values.len());
    for group in values.chunks(len.max(1)) {
        let mut acc = 0u64;
        out.extend(group.iter().map(|v| {
            acc = acc.wrapping_add(*v);
            acc
        }));
    }
    out
}

/// The transpose of a `rows x cols` row-major matrix.
pub fn transpose(values: &[u64], rows: usize, cols: usize) -> Vec<u64> {
    (0..cols).flat_map(|j| (0..rows).map(move |i| values[i * cols + j])).collect()
}

/// Adds the ring product of `x` (`rows x inner`) and `y` (`inner x cols`), row-major, to `acc`
/// (`rows x cols`, wrapping).
pub fn matmul_into(acc: &mut [u64], x: &[u64], y: &[u64], rows: usize, inner: usize, cols: usize) {
    for i in 0..rows {
        let row = &x[i * inner..(i + 1) * inner];
        let out = &mut acc[i * cols..(i + 1) * cols];
        for (l, &a) in row.iter().enumerate() {
            for (o, &b) in out.iter_mut().zip(&y[l * cols..(l + 1) * cols]) {
                *o = o.wrapping_add(a.wrapping_mul(b));
            }
        }
    }
}

/// The ring product of `x` (`rows x inner`) and `y` (`inner x cols`), row-major (wrapping).
pub fn matmul(x: &[u64], y: &[u64], rows: usize, inner: usize, cols: usize) -> Vec<u64> {
    let mut out = vec![0u64; rows * cols];
    matmul_into(&mut out, x, y, rows, inner, cols);
    out
}

/// Adds the dot products of consecutive groups of `k` values of `x` and `y` to `acc` (one per
/// group, wrapping).
pub fn dot_into(acc: &mut [u64], x: &[u64], y: &[u64], k: usize) {
    for ((o, xs), ys) in acc.iter_mut().zip(x.chunks_exact(k)).zip(y.chunks_exact(k)) {
        let d = xs.iter().zip(ys).fold(0u64, |a, (p, q)| a.wrapping_add(p.wrapping_mul(*q)));
        *o = o.wrapping_add(d);
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

    #[test]
    fn prefix_sums_restart_in_each_group() {
        assert_eq!(prefix_sums(&[1, 2, 3, 4, 5, 6], 3), vec![1, 3, 6, 4, 9, 15]);
    }

    #[test]
    fn matrix_and_dot_products_wrap_and_agree() {
        // [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]
        assert_eq!(matmul(&[1, 2, 3, 4], &[5, 6, 7, 8], 2, 2, 2), vec![19, 22, 43, 50]);
        assert_eq!(transpose(&[1, 2, 3, 4, 5, 6], 2, 3), vec![1, 4, 2, 5, 3, 6]);
        let mut acc = vec![1, u64::MAX];
        dot_into(&mut acc, &[1, 2, 3, 4], &[5, 6, 7, u64::MAX], 2);
        // 1 + (5 + 12) and -1 + (21 - 4), wrapping.
        assert_eq!(acc, vec![18, 16]);
        // A row times a column is a dot product.
        assert_eq!(matmul(&[1, 2, 3], &[4, 5, 6], 1, 3, 1), vec![32]);
    }

    #[test]
    fn the_reciprocal_start_is_1_4571_in_fixed_point() {
        assert_eq!(RECIPROCAL_START, (1.4571 * (1u64 << RECIPROCAL_BITS) as f64).round() as u64);
    }
}
