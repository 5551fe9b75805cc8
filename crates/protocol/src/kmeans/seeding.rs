//! Starting centroids: k-means++ on shares (the default), or random points.
//!
//! k-means++ (Arthur and Vassilvitskii, SODA 2007) picks the first centre uniformly among the
//! records and each next one with probability proportional to `D(x)^2`, the squared distance
//! of a record to its nearest chosen centre. On shares, for every run side by side:
//!
//! 1. the first centre is the record at a public index drawn from the job's seed (the index
//!    depends on no value; the record itself stays secret);
//! 2. `D` is kept secret and exact (`2f` fractional bits): distances to a new centre come from
//!    one matrix product `[z | 1] [-2c ; |c|^2]` plus `|z|^2`, the minimum from one comparison
//!    and one product;
//! 3. the sampling weights are `D` truncated to `fb` fractional bits and their running sums
//!    `P_i` (local); with a public uniform `u` of `ub` bits from the seed, record `i` is chosen
//!    when `P_(i-1) 2^ub <= T u < P_i 2^ub` (`T` the total): one batched comparison
//!    `b_i = [T u < P_i 2^ub]` (the last `b` is 1), whose differences `b_i - b_(i-1)` are a
//!    secret one-hot selector;
//! 4. the selector times `[z | |z|^2]` (one matrix product) gives the new centre and its
//!    squared norm, still secret.
//!
//! A centre costs two comparisons of `n` values per run, about as much as one Lloyd step's
//! argmin of `k`; nothing is opened. `fb` and `ub` are chosen from the public bound on the
//! standardised features so that `T 2^ub` stays below `2^61`.

use super::Shape;
use crate::engine::Engine;
use crate::fixed::FRAC_BITS;
use crate::replicated::EngineError;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// How the starting centroids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Init {
    /// k-means++ seeding on shares.
    #[default]
    PlusPlus,
    /// Points drawn uniformly from `[-1.5, 1.5]^d` in standardised units.
    Random,
}

/// Starting centroids without k-means++: `k` points drawn uniformly from `[-1.5, 1.5]^d` with
/// the job's public seed (they depend on no record).
pub fn random_centroids(k: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..k * d)
        .map(|_| crate::fixed::decode(crate::fixed::encode(rng.random_range(-1.5..1.5)).expect("in range")))
        .collect()
}

/// Fractional bits `(fb, ub)` of the sampling weights and of the uniform draws, for `n`
/// records whose squared distances are at most `max_d2`: `n max_d2 2^(fb + ub)` stays below
/// `2^61`. `None` when even 8 bits each do not fit.
pub fn sampling_bits(n: usize, max_d2: f64) -> Option<(u32, u32)> {
    let total = (n.max(1) as f64 * max_d2.max(1.0)).log2().ceil();
    let avail = 61.0 - total;
    if avail < 16.0 {
        return None;
    }
    let avail = avail as u32;
    let fb = (avail - 16).clamp(8, FRAC_BITS);
    Some((fb, (avail - fb).min(16)))
}

/// The public draws of the seeding: the first record of each run, and `u` for every later
/// centre (run after run).
fn draws(n: usize, k: usize, runs: usize, ub: u32, seed: u64) -> (Vec<usize>, Vec<u64>) {
    // A stream of its own, apart from the random starting points of the same seed.
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6b6d_6561_6e73_2b2b);
    let first = (0..runs).map(|_| rng.random_range(0..n)).collect();
    let u = (0..runs * k.saturating_sub(1)).map(|_| rng.random_range(0..1u64 << ub)).collect();
    (first, u)
}

/// k-means++ starting centroids for `runs` runs side by side, on the standardised records `z`
/// (`n x d`) with squared norms `norms` (`n`, `2f` fractional bits), whose features lie within
/// `z_bounds` of 0. Returns `runs x k` centroids, run after run, as [`super::lloyd_runs`]
/// takes them. Records must be at least one.
pub async fn plus_plus<E: Engine>(
    engine: &mut E,
    z: &E::Share,
    norms: &E::Share,
    s: Shape,
    runs: usize,
    seed: u64,
    z_bounds: &[f64],
) -> Result<E::Share, EngineError> {
    let Shape { n, d, k } = s;
    let max_d2: f64 = z_bounds.iter().map(|b| (2.0 * b).powi(2)).sum();
    let (fb, ub) = sampling_bits(n, max_d2)
        .ok_or_else(|| EngineError::Shape(format!("{n} records are too many for k-means++ seeding")))?;
    let (first, u) = draws(n, k, runs, ub, seed);
    // [z | |z|^2], n x (d + 1): a selector times it gives a centre and its squared norm.
    let with_norms = {
        let zt = engine.transpose(z, n, d);
        engine.transpose(&engine.concat(&[&zt, norms]), d + 1, n)
    };
    // [z | 1], n x (d + 1): times [-2c ; |c|^2] it gives |c|^2 - 2 z.c.
    let with_ones = {
        let zt = engine.transpose(z, n, d);
        engine.transpose(&engine.concat(&[&zt, &engine.public(&vec![1; n])]), d + 1, n)
    };
    let norms_runs = engine.concat(&vec![norms; runs]);
    // Chosen centres with their squared norms: one `runs x (d + 1)` share per centre.
    let row = |engine: &E, i: usize| engine.split(&with_norms, &[i * (d + 1), d + 1])[1].clone();
    let firsts: Vec<E::Share> = first.iter().map(|&i| row(engine, i)).collect();
    let mut centres = vec![engine.concat(&firsts.iter().collect::<Vec<_>>())];
    let mut nearest: Option<E::Share> = None;
    let mut factor = vec![(-2i64) as u64; d];
    factor.push(1);
    let factors = factor.repeat(runs);
    for j in 1..k {
        // Squared distances to the newest centre, runs x n.
        let newest = engine.mul_public(centres.last().expect("a centre"), &factors);
        let right = engine.transpose(&newest, runs, d + 1);
        let cross = engine.matmul(&with_ones, &right, n, d + 1, runs).await?;
        let dist = engine.add(&engine.transpose(&cross, n, runs), &norms_runs);
        let d2 = match nearest.take() {
            None => dist,
            Some(old) => {
                let closer = engine.less_than(&dist, &old).await?;
                let change = engine.mul(&closer, &engine.sub(&dist, &old)).await?;
                engine.add(&old, &change)
            }
        };
        let weights = engine.trunc(&d2, 2 * FRAC_BITS - fb).await?;
        nearest = Some(d2);
        let running = engine.prefix_sums(&weights, n);
        // b_i = [T u < P_i 2^ub] for i < n - 1, per run; b_(n-1) = 1.
        let per_run = engine.split(&running, &vec![n; runs]);
        let mut targets = Vec::with_capacity(runs);
        let mut scaled = Vec::with_capacity(runs);
        for (r, p) in per_run.iter().enumerate() {
            let parts = engine.split(p, &[n - 1, 1]);
            let draw = u[r * (k - 1) + (j - 1)];
            targets.push(engine.mul_public(&engine.concat(&vec![&parts[1]; n - 1]), &vec![draw; n - 1]));
            scaled.push(engine.mul_public(&parts[0], &vec![1u64 << ub; n - 1]));
        }
        let below = engine
            .less_than(
                &engine.concat(&targets.iter().collect::<Vec<_>>()),
                &engine.concat(&scaled.iter().collect::<Vec<_>>()),
            )
            .await?;
        let one = engine.public(&[1]);
        let zero = engine.public(&[0]);
        let mut selector = Vec::with_capacity(runs);
        for b in engine.split(&below, &vec![n - 1; runs]) {
            let current = engine.concat(&[&b, &one]);
            let previous = engine.concat(&[&zero, &b]);
            selector.push(engine.sub(&current, &previous));
        }
        let selector = engine.concat(&selector.iter().collect::<Vec<_>>());
        centres.push(engine.matmul(&selector, &with_norms, runs, n, d + 1).await?);
    }
    // runs x k x d, run after run.
    let pieces: Vec<Vec<E::Share>> = centres.iter().map(|c| engine.split(c, &vec![d + 1; runs])).collect();
    let mut rows = Vec::with_capacity(runs * k);
    for r in 0..runs {
        for centre in &pieces {
            rows.push(engine.split(&centre[r], &[d, 1])[0].clone());
        }
    }
    Ok(engine.concat(&rows.iter().collect::<Vec<_>>()))
}
