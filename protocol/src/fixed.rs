//! Fixed-point encoding of real numbers in the ring `Z_2^64`.
//!
//! A real `x` is stored as the ring element `round(x * 2^FRAC_BITS) mod 2^64`, read back as a
//! two's-complement signed integer divided by `2^FRAC_BITS`. With [`FRAC_BITS`] = 16 the
//! resolution is `2^-16` (about 1.5e-5) and encoding rounds to the nearest step, so the
//! encoding error of one value is at most `2^-17`.
//!
//! The safe input range is `|x| <= MAX_ABS` = 2^31 (about 2.1e9). Values outside it are
//! refused with an error, never wrapped: a secret value must leave head room for the sums,
//! products and truncations computed on it. Operations that add `n` values check, from public
//! bounds, that the result cannot leave the ring's signed range (see [`sum_fits`]).

use thiserror::Error;

/// Number of fractional bits of the fixed-point encoding.
pub const FRAC_BITS: u32 = 16;
/// Largest absolute value accepted by [`encode`].
pub const MAX_ABS: f64 = 2_147_483_648.0; // 2^31
/// The scale `2^FRAC_BITS` as a float.
pub const SCALE: f64 = (1u64 << FRAC_BITS) as f64;

/// A value that cannot be encoded.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FixedError {
    /// The value is NaN or infinite.
    #[error("value {0} is not a finite number")]
    NotFinite(f64),
    /// The value is outside the safe range `[-MAX_ABS, MAX_ABS]`.
    #[error("value {0} is outside the safe fixed-point range of +/-2^31")]
    OutOfRange(f64),
}

/// Encodes a real number as a fixed-point ring element, rounding to the nearest `2^-16`.
pub fn encode(x: f64) -> Result<u64, FixedError> {
    if !x.is_finite() {
        return Err(FixedError::NotFinite(x));
    }
    if x.abs() > MAX_ABS {
        return Err(FixedError::OutOfRange(x));
    }
    Ok(((x * SCALE).round() as i64) as u64)
}

/// Decodes a fixed-point ring element (two's complement) into a real number.
pub fn decode(v: u64) -> f64 {
    (v as i64) as f64 / SCALE
}

/// Decodes a ring element that carries a plain signed integer (no fractional bits).
pub fn decode_int(v: u64) -> i64 {
    v as i64
}

/// Whether the sum of `count` encoded values, each of absolute value at most `bound` (in
/// real units, at most [`MAX_ABS`]), is guaranteed to stay inside the signed ring range, so
/// that decoding it is exact.
pub fn sum_fits(count: u64, bound: f64) -> bool {
    sum_bound(count, bound) < RING_HALF
}

/// `2^63`: encoded values whose absolute value stays below it decode without wrapping.
pub const RING_HALF: f64 = 9.223_372_036_854_775e18;

/// The largest absolute value of the encoded sum of `count` values, each of absolute value at
/// most `bound` in real units (at most [`MAX_ABS`]): `count * (bound * 2^16 + 1/2)`.
pub fn sum_bound(count: u64, bound: f64) -> f64 {
    (count as f64) * (bound.abs().min(MAX_ABS) * SCALE + 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn round_trip_within_half_a_step() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for _ in 0..100_000 {
            let x: f64 = rng.random_range(-MAX_ABS..=MAX_ABS);
            let back = decode(encode(x).unwrap());
            assert!((back - x).abs() <= 0.5 / SCALE, "{x} -> {back}");
        }
    }

    #[test]
    fn edges_and_special_values() {
        assert_eq!(encode(0.0).unwrap(), 0);
        assert_eq!(decode(encode(-1.0).unwrap()), -1.0);
        assert_eq!(decode(encode(MAX_ABS).unwrap()), MAX_ABS);
        assert_eq!(decode(encode(-MAX_ABS).unwrap()), -MAX_ABS);
        assert_eq!(decode(encode(1.0 / SCALE).unwrap()), 1.0 / SCALE);
        assert!(matches!(encode(MAX_ABS * 1.0001), Err(FixedError::OutOfRange(_))));
        assert!(matches!(encode(-MAX_ABS - 1.0), Err(FixedError::OutOfRange(_))));
        assert!(matches!(encode(f64::NAN), Err(FixedError::NotFinite(_))));
        assert!(matches!(encode(f64::INFINITY), Err(FixedError::NotFinite(_))));
    }

    #[test]
    fn sums_of_encodings_decode_exactly_when_they_fit() {
        let xs = [MAX_ABS, MAX_ABS, -3.25, 17.5];
        let sum = xs.iter().fold(0u64, |a, x| a.wrapping_add(encode(*x).unwrap()));
        assert!(sum_fits(xs.len() as u64, MAX_ABS));
        assert_eq!(decode(sum), xs.iter().sum::<f64>());
    }

    #[test]
    fn sum_bound_refuses_what_could_wrap() {
        assert!(sum_fits(65_535, MAX_ABS));
        assert!(!sum_fits(1 << 17, MAX_ABS));
        assert!(sum_fits(1 << 27, 1.0e6));
        assert!(!sum_fits(u64::MAX, 1.0));
    }
}
