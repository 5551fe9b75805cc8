//! Benchmark workloads of the engine on random secret inputs, so that the same operations can
//! be timed over the in-memory transport (criterion) and between node processes over QUIC
//! (the `bench` job). Each workload returns a few opened-able samples so that the caller can
//! check the result against plaintext.

use crate::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};

/// Number of sample values of each operand and result that a workload returns.
pub const SAMPLES: usize = 16;

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchOp {
    /// `size` element-wise products.
    Mul,
    /// A `size x 8` by `8 x 8` matrix product.
    Matmul,
    /// `size` exact comparisons with zero.
    Compare,
    /// `size` argmins over 8 columns, with one-hot outputs.
    Argmin,
    /// Secure k-means on `size` records of [`KMEANS_D`] features from [`KMEANS_K`] planted
    /// clusters, [`KMEANS_ITERATIONS`] Lloyd iterations (the data is public benchmark data,
    /// input by party 0).
    Kmeans,
}

/// Features of the k-means benchmark.
pub const KMEANS_D: usize = 4;
/// Clusters of the k-means benchmark.
pub const KMEANS_K: usize = 5;
/// Lloyd iterations of the k-means benchmark.
pub const KMEANS_ITERATIONS: usize = 10;

/// The k-means benchmark's records (`size x KMEANS_D`, on the fixed-point grid) and starting
/// centroids (the first `KMEANS_K` records), from a fixed seed.
pub fn kmeans_data(size: usize) -> (Vec<f64>, Vec<f64>) {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let centres: Vec<f64> = (0..KMEANS_K * KMEANS_D).map(|_| rng.random_range(-3.0..3.0)).collect();
    let mut x = Vec::with_capacity(size * KMEANS_D);
    for i in 0..size {
        let c = i % KMEANS_K;
        for f in 0..KMEANS_D {
            let v = centres[c * KMEANS_D + f] + rng.random_range(-0.5..0.5);
            x.push(crate::fixed::decode(crate::fixed::encode(v).expect("in range")));
        }
    }
    let init = x[..KMEANS_K.min(size) * KMEANS_D].to_vec();
    (x, init)
}

impl BenchOp {
    /// The name used on command lines.
    pub fn name(self) -> &'static str {
        match self {
            BenchOp::Mul => "mul",
            BenchOp::Matmul => "matmul",
            BenchOp::Compare => "compare",
            BenchOp::Argmin => "argmin",
            BenchOp::Kmeans => "kmeans",
        }
    }
}

/// What is wrong with a benchmark: its name, or its opened samples.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchError {
    /// No such workload.
    #[error("unknown benchmark `{0}` (mul, matmul, compare, argmin, kmeans)")]
    Unknown(String),
    /// Another number of samples than the workload opens.
    #[error("expected {expected} samples, got {got}")]
    Samples {
        /// What the workload opens.
        expected: usize,
        /// What was opened.
        got: usize,
    },
    /// A sample differs from the plaintext computation.
    #[error("{0}")]
    Differs(String),
}

impl std::str::FromStr for BenchOp {
    type Err = BenchError;
    fn from_str(s: &str) -> Result<Self, BenchError> {
        match s {
            "mul" => Ok(BenchOp::Mul),
            "matmul" => Ok(BenchOp::Matmul),
            "compare" => Ok(BenchOp::Compare),
            "argmin" => Ok(BenchOp::Argmin),
            "kmeans" => Ok(BenchOp::Kmeans),
            other => Err(BenchError::Unknown(other.to_string())),
        }
    }
}

/// Width of the matrices of [`BenchOp::Matmul`] and of the rows of [`BenchOp::Argmin`].
pub const MATMUL_WIDTH: usize = 8;

/// Runs `op` of `size` on fresh random sharings (uniform ring elements, read as signed
/// integers). Returns the samples to open: for `mul`, the first [`SAMPLES`] values of `x`, `y`
/// and `x * y`; for `matmul`, the first two rows of `x`, all of `y` and the first two rows of
/// `x y`; for `compare`, the first values of `x` and `[x < 0]`; for `argmin`, the first two
/// rows, their minima and their one-hot vectors.
pub async fn run<E: Engine>(engine: &mut E, op: BenchOp, size: usize) -> Result<E::Share, EngineError> {
    // The first `k` secrets of a share.
    let head = |e: &E, x: &E::Share, k: usize| e.split(x, &[k, E::len(x) - k]).swap_remove(0);
    match op {
        BenchOp::Mul => {
            let x = engine.random(size);
            let y = engine.random(size);
            let z = engine.mul(&x, &y).await?;
            let k = SAMPLES.min(size);
            let parts = [head(engine, &x, k), head(engine, &y, k), head(engine, &z, k)];
            Ok(engine.concat(&parts.iter().collect::<Vec<_>>()))
        }
        BenchOp::Matmul => {
            let w = MATMUL_WIDTH;
            let x = engine.random(size * w);
            let y = engine.random(w * w);
            let z = engine.matmul(&x, &y, size, w, w).await?;
            let rows = 2.min(size) * w;
            let parts = [head(engine, &x, rows), y, head(engine, &z, rows)];
            Ok(engine.concat(&parts.iter().collect::<Vec<_>>()))
        }
        BenchOp::Compare => {
            let x = engine.random(size);
            let b = engine.ltz(&x).await?;
            let k = SAMPLES.min(size);
            let parts = [head(engine, &x, k), head(engine, &b, k)];
            Ok(engine.concat(&parts.iter().collect::<Vec<_>>()))
        }
        BenchOp::Argmin => {
            let w = MATMUL_WIDTH;
            let x = engine.random(size * w);
            let (min, onehot) = engine.argmin(&x, w).await?;
            let rows = 2.min(size);
            let parts =
                [head(engine, &x, rows * w), head(engine, &min, rows), head(engine, &onehot, rows * w)];
            Ok(engine.concat(&parts.iter().collect::<Vec<_>>()))
        }
        BenchOp::Kmeans => {
            let (data, init) = kmeans_data(size);
            let encode =
                |v: &[f64]| v.iter().map(|x| crate::fixed::encode(*x).expect("in range")).collect::<Vec<_>>();
            let own = (engine.party() == 0).then(|| encode(&data));
            let x = engine.input(0, own.as_deref(), data.len()).await?;
            let c = engine.public(&encode(&init));
            let shape = crate::kmeans::Shape { n: size, d: KMEANS_D, k: KMEANS_K.min(size) };
            let out = crate::kmeans::lloyd(engine, &x, &c, shape, KMEANS_ITERATIONS).await?;
            Ok(engine.concat(&[&out.centroids, &out.sizes]))
        }
    }
}

/// `a < b` as the engine decides it: the sign of `a - b` in the ring.
fn ring_less(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

/// The tournament of [`Replicated::argmin`] in the clear: pairs at each level, right wins
/// only if strictly smaller. Returns the winning value and column.
fn tournament(row: &[u64]) -> (u64, usize) {
    let mut candidates: Vec<(u64, usize)> = row.iter().copied().zip(0..).collect();
    while candidates.len() > 1 {
        let carry = if candidates.len() % 2 == 1 { candidates.pop() } else { None };
        let mut next: Vec<(u64, usize)> =
            candidates.chunks(2).map(|p| if ring_less(p[1].0, p[0].0) { p[1] } else { p[0] }).collect();
        next.extend(carry);
        candidates = next;
    }
    candidates[0]
}

/// Checks opened samples of `op` of `size` against plaintext arithmetic.
pub fn check(op: BenchOp, size: usize, opened: &[u64]) -> Result<(), BenchError> {
    match op {
        BenchOp::Mul => {
            let k = SAMPLES.min(size);
            if opened.len() != 3 * k {
                return Err(BenchError::Samples { expected: 3 * k, got: opened.len() });
            }
            let (x, rest) = opened.split_at(k);
            let (y, z) = rest.split_at(k);
            for i in 0..k {
                if x[i].wrapping_mul(y[i]) != z[i] {
                    return Err(BenchError::Differs(format!("product {i} is wrong")));
                }
            }
        }
        BenchOp::Matmul => {
            let w = MATMUL_WIDTH;
            let rows = 2.min(size);
            if opened.len() != 2 * rows * w + w * w {
                return Err(BenchError::Samples { expected: 2 * rows * w + w * w, got: opened.len() });
            }
            let (x, rest) = opened.split_at(rows * w);
            let (y, z) = rest.split_at(w * w);
            for r in 0..rows {
                for c in 0..w {
                    let v = (0..w).fold(0u64, |a, l| a.wrapping_add(x[r * w + l].wrapping_mul(y[l * w + c])));
                    if v != z[r * w + c] {
                        return Err(BenchError::Differs(format!("entry ({r}, {c}) is wrong")));
                    }
                }
            }
        }
        BenchOp::Compare => {
            let k = SAMPLES.min(size);
            if opened.len() != 2 * k {
                return Err(BenchError::Samples { expected: 2 * k, got: opened.len() });
            }
            for i in 0..k {
                if opened[k + i] != ((opened[i] as i64) < 0) as u64 {
                    return Err(BenchError::Differs(format!("comparison {i} is wrong")));
                }
            }
        }
        BenchOp::Kmeans => {
            let (data, init) = kmeans_data(size);
            let k = KMEANS_K.min(size);
            let shape = crate::kmeans::Shape { n: size, d: KMEANS_D, k };
            let (centroids, sizes, _) = crate::kmeans::lloyd_plain(&data, &init, shape, KMEANS_ITERATIONS);
            if opened.len() != k * KMEANS_D + k {
                return Err(BenchError::Samples { expected: k * KMEANS_D + k, got: opened.len() });
            }
            if opened[k * KMEANS_D..] != sizes[..] {
                return Err(BenchError::Differs("cluster sizes differ from plaintext k-means".into()));
            }
            for (got, want) in opened.iter().zip(&centroids) {
                if (crate::fixed::decode(*got) - want).abs() > 1e-3 {
                    return Err(BenchError::Differs("a centroid differs from plaintext k-means".into()));
                }
            }
        }
        BenchOp::Argmin => {
            let w = MATMUL_WIDTH;
            let rows = 2.min(size);
            if opened.len() != rows * (2 * w + 1) {
                return Err(BenchError::Samples { expected: rows * (2 * w + 1), got: opened.len() });
            }
            let (x, rest) = opened.split_at(rows * w);
            let (mins, onehot) = rest.split_at(rows);
            for r in 0..rows {
                let (value, column) = tournament(&x[r * w..(r + 1) * w]);
                let expected: Vec<u64> = (0..w).map(|j| (j == column) as u64).collect();
                if mins[r] != value || onehot[r * w..(r + 1) * w] != expected[..] {
                    return Err(BenchError::Differs(format!("argmin of row {r} is wrong")));
                }
            }
        }
    }
    Ok(())
}
