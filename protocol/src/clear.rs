//! The plaintext engine: every [`Engine`] operation on values in the clear, with the same ring
//! arithmetic, fixed-point encoding, tie rules and division algorithm as the secure engine
//! (the kernels and the division's constants are [`crate::ring`]'s, shared with it).
//!
//! Running a job's algorithm on [`Clear`] is the plaintext mode: the same code path, the same
//! starting centroids, the same integer arithmetic. The one difference is rounding: the secure
//! truncation rounds `x / 2^s` down or up at random (up with probability equal to the dropped
//! fraction, so its expectation is exact), while [`Clear`] rounds to the nearest, which is
//! also unbiased. Results therefore agree to a few units of `2^-16` per truncation; a record
//! whose two nearest centroids differ by less than that can land on the other side.
//!
//! Nothing here waits: [`run`] drives an algorithm to completion on the calling thread.

use crate::engine::{Engine, EngineError};
use crate::fixed::FRAC_BITS;
use crate::ring::{self, DIVISOR_BITS as K, NEWTON_STEPS, RECIPROCAL_BITS, RECIPROCAL_START};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The plaintext engine (one party that sees everything).
#[derive(Debug, Clone, Default)]
pub struct Clear {
    /// Draws for [`Engine::random`].
    counter: u64,
}

impl Clear {
    /// A plaintext engine.
    pub fn new() -> Clear {
        Clear::default()
    }
}

/// Runs an algorithm written against [`Engine`] on [`Clear`] to completion.
///
/// # Panics
/// If the future waits for something, which no [`Clear`] operation does.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the plaintext engine never waits"),
    }
}

/// `x / 2^s` rounded to the nearest (halves up), as a signed value.
fn round_shift(x: u64, s: u32) -> u64 {
    if s == 0 {
        return x;
    }
    let x = i128::from(x as i64);
    ((x + (1i128 << (s - 1))) >> s) as i64 as u64
}

/// `x y / 2^s` rounded to the nearest, without overflow in the product.
fn mul_shift(x: u64, y: u64, s: u32) -> u64 {
    let p = i128::from(x as i64) * i128::from(y as i64);
    if s == 0 {
        return p as u64;
    }
    ((p + (1i128 << (s - 1))) >> s) as i64 as u64
}

fn check_len(what: &str, a: usize, b: usize) -> Result<(), EngineError> {
    if a == b { Ok(()) } else { Err(EngineError::Shape(format!("{what} of {a} and {b} values"))) }
}

/// Fixed-point `a / b` exactly as the secure division computes it: the divisor normalised to
/// `[1, 2)` by its highest bit, Newton-Raphson from the same linear start with the same
/// precisions, each truncation rounded to the nearest.
fn divide(a: u64, b: u64) -> u64 {
    let (f, p) = (FRAC_BITS, RECIPROCAL_BITS);
    let b_low = b & ((1u64 << K) - 1);
    // The secure one-hot of the highest bit is all zero for a zero divisor: v = 0.
    let v = if b_low == 0 { 0 } else { 1u64 << (K - 1 - (63 - b_low.leading_zeros())) };
    let np = mul_shift(b, v, K - 1 - p);
    let m = mul_shift(a, v, K - 1 - f);
    let mut y = RECIPROCAL_START.wrapping_sub(round_shift(np, 1));
    let two = 2u64 << p;
    for _ in 0..NEWTON_STEPS {
        let ny = mul_shift(np, y, p);
        y = mul_shift(y, two.wrapping_sub(ny), p);
    }
    mul_shift(m, y, p)
}

impl Engine for Clear {
    type Share = Vec<u64>;

    fn party(&self) -> usize {
        0
    }
    fn len(share: &Vec<u64>) -> usize {
        share.len()
    }
    fn public(&self, values: &[u64]) -> Vec<u64> {
        values.to_vec()
    }
    fn random(&mut self, len: usize) -> Vec<u64> {
        use rand::{Rng, SeedableRng};
        self.counter += 1;
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(self.counter);
        (0..len).map(|_| rng.next_u64()).collect()
    }
    fn add(&self, a: &Vec<u64>, b: &Vec<u64>) -> Vec<u64> {
        a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect()
    }
    fn sub(&self, a: &Vec<u64>, b: &Vec<u64>) -> Vec<u64> {
        a.iter().zip(b).map(|(x, y)| x.wrapping_sub(*y)).collect()
    }
    fn mul_public(&self, a: &Vec<u64>, c: &[u64]) -> Vec<u64> {
        a.iter().zip(c).map(|(x, y)| x.wrapping_mul(*y)).collect()
    }
    fn concat(&self, parts: &[&Vec<u64>]) -> Vec<u64> {
        parts.iter().flat_map(|p| p.iter().copied()).collect()
    }
    fn split(&self, a: &Vec<u64>, lengths: &[usize]) -> Vec<Vec<u64>> {
        let mut start = 0;
        lengths
            .iter()
            .map(|&l| {
                let piece = a[start..start + l].to_vec();
                start += l;
                piece
            })
            .collect()
    }
    fn sum(&self, a: &Vec<u64>) -> Vec<u64> {
        vec![a.iter().fold(0u64, |acc, v| acc.wrapping_add(*v))]
    }
    fn transpose(&self, a: &Vec<u64>, rows: usize, cols: usize) -> Vec<u64> {
        ring::transpose(a, rows, cols)
    }
    fn prefix_sums(&self, a: &Vec<u64>, len: usize) -> Vec<u64> {
        ring::prefix_sums(a, len)
    }
    fn matmul_public(&self, x: &Vec<u64>, y: &[u64], rows: usize, inner: usize, cols: usize) -> Vec<u64> {
        ring::matmul(x, y, rows, inner, cols)
    }
    async fn input(&mut self, _: usize, values: Option<&[u64]>, len: usize) -> Result<Vec<u64>, EngineError> {
        let values =
            values.ok_or_else(|| EngineError::Shape("the plaintext engine owns every input".into()))?;
        check_len("input", values.len(), len)?;
        Ok(values.to_vec())
    }
    async fn open(&mut self, x: &Vec<u64>) -> Result<Vec<u64>, EngineError> {
        Ok(x.clone())
    }
    async fn mul(&mut self, x: &Vec<u64>, y: &Vec<u64>) -> Result<Vec<u64>, EngineError> {
        check_len("product", x.len(), y.len())?;
        Ok(self.mul_public(x, y))
    }
    async fn dot(&mut self, x: &Vec<u64>, y: &Vec<u64>, k: usize) -> Result<Vec<u64>, EngineError> {
        check_len("dot product", x.len(), y.len())?;
        if k == 0 || !x.len().is_multiple_of(k) {
            return Err(EngineError::Shape(format!("dot products of {} values in groups of {k}", x.len())));
        }
        let mut out = vec![0u64; x.len() / k];
        ring::dot_into(&mut out, x, y, k);
        Ok(out)
    }
    async fn matmul(
        &mut self,
        x: &Vec<u64>,
        y: &Vec<u64>,
        rows: usize,
        inner: usize,
        cols: usize,
    ) -> Result<Vec<u64>, EngineError> {
        check_len("left matrix", x.len(), rows * inner)?;
        check_len("right matrix", y.len(), inner * cols)?;
        Ok(ring::matmul(x, y, rows, inner, cols))
    }
    async fn trunc(&mut self, x: &Vec<u64>, f: u32) -> Result<Vec<u64>, EngineError> {
        Ok(x.iter().map(|v| round_shift(*v, f)).collect())
    }
    async fn mul_fixed(&mut self, x: &Vec<u64>, y: &Vec<u64>, f: u32) -> Result<Vec<u64>, EngineError> {
        check_len("product", x.len(), y.len())?;
        Ok(x.iter().zip(y).map(|(a, b)| round_shift(a.wrapping_mul(*b), f)).collect())
    }
    async fn ltz(&mut self, x: &Vec<u64>) -> Result<Vec<u64>, EngineError> {
        Ok(x.iter().map(|v| u64::from((*v as i64) < 0)).collect())
    }
    async fn less_than(&mut self, a: &Vec<u64>, b: &Vec<u64>) -> Result<Vec<u64>, EngineError> {
        check_len("comparison", a.len(), b.len())?;
        let d = self.sub(a, b);
        self.ltz(&d).await
    }
    async fn bits_to_arith(&mut self, bits: &Vec<u64>, n: usize) -> Result<Vec<u64>, EngineError> {
        // Bit-sliced planes of `n` values: plane after plane, 64 values per word.
        let words = ring::words_for(n);
        if words == 0 || !bits.len().is_multiple_of(words) {
            return Ok(Vec::new());
        }
        Ok(bits.chunks(words).flat_map(|plane| ring::unslice_plane(plane, n)).collect())
    }
    async fn eqz(&mut self, x: &Vec<u64>) -> Result<Vec<u64>, EngineError> {
        Ok(x.iter().map(|v| u64::from(*v == 0)).collect())
    }
    async fn div(&mut self, a: &Vec<u64>, b: &Vec<u64>) -> Result<Vec<u64>, EngineError> {
        check_len("division", a.len(), b.len())?;
        Ok(a.iter().zip(b).map(|(x, y)| divide(*x, *y)).collect())
    }
    async fn argmin(&mut self, x: &Vec<u64>, k: usize) -> Result<(Vec<u64>, Vec<u64>), EngineError> {
        if k == 0 || !x.len().is_multiple_of(k) {
            return Err(EngineError::Shape(format!("argmin of {} values in rows of {k}", x.len())));
        }
        let mut mins = Vec::with_capacity(x.len() / k);
        let mut onehot = vec![0u64; x.len()];
        for (r, row) in x.chunks(k).enumerate() {
            // The secure tournament: pairs (left, right), the right wins only if smaller.
            let mut alive: Vec<usize> = (0..k).collect();
            while alive.len() > 1 {
                let next = alive
                    .chunks(2)
                    .map(|p| match *p {
                        [l, r] if (row[r].wrapping_sub(row[l]) as i64) < 0 => r,
                        [l, ..] => l,
                        [] => unreachable!("chunks are never empty"),
                    })
                    .collect();
                alive = next;
            }
            mins.push(row[alive[0]]);
            onehot[r * k + alive[0]] = 1;
        }
        Ok((mins, onehot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::{decode, encode};

    #[test]
    fn division_is_close_to_floating_point() {
        for (a, b) in [(1.0, 3.0), (-7.25, 2.0), (1000.0, 0.5), (12345.0, 6789.0), (0.0, 5.0), (-3.0, 4096.0)]
        {
            let q = decode(divide(encode(a).unwrap(), encode(b).unwrap()));
            let want: f64 = a / b;
            assert!(
                (q - want).abs() <= want.abs() * 2f64.powi(-14) + 3.0 / 65536.0,
                "{a} / {b}: {q} vs {want}"
            );
        }
    }

    #[test]
    fn truncation_rounds_to_nearest_for_both_signs() {
        assert_eq!(round_shift(5, 1), 3);
        assert_eq!(round_shift(4, 1), 2);
        assert_eq!(round_shift((-5i64) as u64, 1) as i64, -2);
        assert_eq!(round_shift((-6i64) as u64, 1) as i64, -3);
        assert_eq!(round_shift(7, 0), 7);
    }

    #[test]
    fn argmin_ties_go_to_the_lowest_column_and_tournament_order_holds() {
        let mut e = Clear::new();
        let x = vec![3, 1, 1, 2, 5, 5, 5, 5, 5];
        let (m, h) = run(e.argmin(&x, 3)).unwrap();
        assert_eq!(m, vec![1, 2, 5]);
        assert_eq!(h, vec![0, 1, 0, 1, 0, 0, 1, 0, 0]);
        let neg = vec![(-1i64) as u64, 0, (-2i64) as u64];
        let (m, h) = run(e.argmin(&neg, 3)).unwrap();
        assert_eq!((m[0] as i64, h), (-2, vec![0, 0, 1]));
    }
}
