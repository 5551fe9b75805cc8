//! Starting centroids: greedy k-means++ on shares (the default), or random points.
//!
//! k-means++ (Arthur and Vassilvitskii, SODA 2007) picks the first centre uniformly among the
//! records and each next one with probability proportional to `D(x)^2`, the squared distance
//! of a record to its nearest chosen centre; the greedy variant (as scikit-learn runs it) draws
//! `2 + floor(ln k)` candidates per centre and keeps the one that leaves the smallest total
//! `D^2`. On shares, for every run side by side:
//!
//! 1. the first centre is the record at a public index drawn from the job's seed (the index
//!    depends on no value; the record itself stays secret);
//! 2. `D^2` stays secret and exact (`2f` fractional bits): distances to new centres come from
//!    one matrix product `[z | 1] [-2c ; |c|^2]` plus `|z|^2`;
//! 3. a candidate is drawn with the running sums `P_i` of `D^2` (local) and a public uniform
//!    `u` of 16 bits from the seed: with the target `r = (T >> 16) u` (`T` the total, one
//!    truncation per run), record `i` is drawn when `P_(i-1) <= r < P_i`. One batched
//!    comparison gives `b_i = [r < P_i]` (the last `b` is 1); the differences
//!    `b_i - b_(i-1)` are a secret one-hot selector, and the selector times `[z | |z|^2]` (one
//!    matrix product) is the candidate with its squared norm;
//! 4. each candidate's `D^2` if it were kept: one comparison and one product; the totals
//!    (local sums) go through an argmin over the candidates, and one product round keeps the
//!    winner's centre and `D^2`.
//!
//! A centre costs `2 (2 + floor(ln k)) n` comparisons per run; nothing is opened. The running
//! sums must stay below `2^61`: when `n max(D^2) 2^(2f)` does not, the coordinates are first
//! truncated to fewer fractional bits (one truncation of `z`; see [`seeding_shift`]).

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

/// Bits of the uniform draws.
const DRAW_BITS: u32 = 16;

/// The largest squared distance between two records whose standardised features lie within
/// `z_bounds` of 0.
pub fn max_squared_distance(z_bounds: &[f64]) -> f64 {
    z_bounds.iter().map(|b| (2.0 * b).powi(2)).sum()
}

/// Fractional bits to drop from the standardised coordinates before seeding, for `n` records
/// whose squared distances are at most `max_d2`: `n max_d2 2^(2 (f - shift))` must stay below
/// `2^61`. `None` when fewer than 4 fractional bits would be left.
pub fn seeding_shift(n: usize, max_d2: f64) -> Option<u32> {
    let total = (n.max(1) as f64 * max_d2.max(1.0)).log2();
    let excess = total + 2.0 * f64::from(FRAC_BITS) - 61.0;
    let shift = if excess <= 0.0 { 0 } else { (excess / 2.0).ceil() as u32 };
    (shift + 4 <= FRAC_BITS).then_some(shift)
}

/// Candidates drawn for each centre after the first: `2 + floor(ln k)`, as scikit-learn's
/// greedy k-means++ draws.
pub fn candidates(k: usize) -> usize {
    2 + (k.max(1) as f64).ln().floor() as usize
}

/// The public draws of the seeding: the first record of each run, and `u` for every
/// candidate of every later centre (run after run, centre after centre).
fn draws(n: usize, k: usize, runs: usize, tries: usize, seed: u64) -> (Vec<usize>, Vec<u64>) {
    // A stream of its own, apart from the random starting points of the same seed.
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6b6d_6561_6e73_2b2b);
    let first = (0..runs).map(|_| rng.random_range(0..n)).collect();
    let u = (0..runs * k.saturating_sub(1) * tries).map(|_| rng.random_range(0..1u64 << DRAW_BITS)).collect();
    (first, u)
}

/// Squared distances of every record to each of `m` centres (`m x (d + 1)`, each with its
/// squared norm), as `m x n`: `[z | 1] [-2c ; |c|^2]` plus `|z|^2`.
async fn squared_distances<E: Engine>(
    engine: &mut E,
    with_ones: &E::Share,
    norms: &E::Share,
    centres: &E::Share,
    m: usize,
) -> Result<E::Share, EngineError> {
    let n = E::len(norms);
    let width = E::len(with_ones) / n.max(1);
    let mut factor = vec![(-2i64) as u64; width - 1];
    factor.push(1);
    let scaled = engine.mul_public(centres, &factor.repeat(m));
    let right = engine.transpose(&scaled, m, width);
    let cross = engine.matmul(with_ones, &right, n, width, m).await?;
    Ok(engine.add(&engine.transpose(&cross, n, m), &engine.concat(&vec![norms; m])))
}

/// Greedy k-means++ starting centroids for `runs` runs side by side, on the standardised
/// records `z` (`n x d`, at least one) whose features lie within `z_bounds` of 0. Returns
/// `runs x k` centroids, run after run, as [`super::lloyd_runs`] takes them.
pub async fn plus_plus<E: Engine>(
    engine: &mut E,
    z: &E::Share,
    s: Shape,
    runs: usize,
    seed: u64,
    z_bounds: &[f64],
) -> Result<E::Share, EngineError> {
    let Shape { n, d, k } = s;
    let shift = seeding_shift(n, max_squared_distance(z_bounds))
        .ok_or_else(|| EngineError::Shape(format!("{n} records are too many for k-means++ seeding")))?;
    let coarse;
    let z = if shift == 0 {
        z
    } else {
        coarse = engine.trunc(z, shift).await?;
        &coarse
    };
    let norms = engine.dot(z, z, d).await?;
    let tries = candidates(k);
    let (first, u) = draws(n, k, runs, tries, seed);
    let width = d + 1;
    // [z | |z|^2], n x (d + 1): a selector times it gives a centre and its squared norm.
    let with_norms = {
        let zt = engine.transpose(z, n, d);
        engine.transpose(&engine.concat(&[&zt, &norms]), width, n)
    };
    // [z | 1], n x (d + 1): times [-2c ; |c|^2] it gives |c|^2 - 2 z.c.
    let with_ones = {
        let zt = engine.transpose(z, n, d);
        engine.transpose(&engine.concat(&[&zt, &engine.public(&vec![1; n])]), width, n)
    };
    let row = |engine: &E, i: usize| engine.split(&with_norms, &[i * width, width])[1].clone();
    let firsts: Vec<E::Share> = first.iter().map(|&i| row(engine, i)).collect();
    let firsts = engine.concat(&firsts.iter().collect::<Vec<_>>());
    // Per run: each record's squared distance to its nearest centre, exact.
    let mut nearest = squared_distances(engine, &with_ones, &norms, &firsts, runs).await?;
    let mut centres = vec![firsts];
    let one = engine.public(&[1]);
    let zero = engine.public(&[0]);
    for j in 1..k {
        // The targets r = (T >> 16) u of every candidate of every run.
        let running = engine.split(&engine.prefix_sums(&nearest, n), &vec![n; runs]);
        let totals: Vec<E::Share> = running.iter().map(|p| engine.split(p, &[n - 1, 1])[1].clone()).collect();
        let totals = engine.trunc(&engine.concat(&totals.iter().collect::<Vec<_>>()), DRAW_BITS).await?;
        let totals = engine.split(&totals, &vec![1; runs]);
        // b_i = [r < P_i] for i < n - 1; b_(n-1) = 1; the differences select one record.
        let mut targets = Vec::with_capacity(runs * tries);
        let mut sums = Vec::with_capacity(runs * tries);
        for (r, p) in running.iter().enumerate() {
            let head = engine.split(p, &[n - 1, 1])[0].clone();
            let total = engine.concat(&vec![&totals[r]; n - 1]);
            for t in 0..tries {
                let draw = u[(r * (k - 1) + (j - 1)) * tries + t];
                targets.push(engine.mul_public(&total, &vec![draw; n - 1]));
                sums.push(head.clone());
            }
        }
        let below = engine
            .less_than(
                &engine.concat(&targets.iter().collect::<Vec<_>>()),
                &engine.concat(&sums.iter().collect::<Vec<_>>()),
            )
            .await?;
        let mut selector = Vec::with_capacity(runs * tries);
        for b in engine.split(&below, &vec![n - 1; runs * tries]) {
            selector.push(engine.sub(&engine.concat(&[&b, &one]), &engine.concat(&[&zero, &b])));
        }
        let selector = engine.concat(&selector.iter().collect::<Vec<_>>());
        let drawn = engine.matmul(&selector, &with_norms, runs * tries, n, width).await?;
        // Each candidate's D^2 if it were kept.
        let dist = squared_distances(engine, &with_ones, &norms, &drawn, runs * tries).await?;
        let current: Vec<E::Share> = engine
            .split(&nearest, &vec![n; runs])
            .iter()
            .flat_map(|c| std::iter::repeat_n(c.clone(), tries))
            .collect();
        let current = engine.concat(&current.iter().collect::<Vec<_>>());
        let closer = engine.less_than(&dist, &current).await?;
        let change = engine.mul(&closer, &engine.sub(&dist, &current)).await?;
        let if_kept = engine.add(&current, &change);
        // Keep the candidate that leaves the smallest total (greedy k-means++).
        let potentials: Vec<E::Share> =
            engine.split(&if_kept, &vec![n; runs * tries]).iter().map(|w| engine.sum(w)).collect();
        let (_, pick) = engine.argmin(&engine.concat(&potentials.iter().collect::<Vec<_>>()), tries).await?;
        // One product round keeps the winner's centre and distances.
        let picks = engine.split(&pick, &vec![1; runs * tries]);
        let cands = engine.split(&drawn, &vec![width; runs * tries]);
        let dists = engine.split(&if_kept, &vec![n; runs * tries]);
        let mut flags = Vec::with_capacity(runs * tries);
        let mut values = Vec::with_capacity(runs * tries);
        for c in 0..runs * tries {
            flags.push(engine.concat(&vec![&picks[c]; width + n]));
            values.push(engine.concat(&[&cands[c], &dists[c]]));
        }
        let kept = engine
            .mul(
                &engine.concat(&flags.iter().collect::<Vec<_>>()),
                &engine.concat(&values.iter().collect::<Vec<_>>()),
            )
            .await?;
        let kept = engine.split(&kept, &vec![width + n; runs * tries]);
        let mut next_centres = Vec::with_capacity(runs);
        let mut next_nearest = Vec::with_capacity(runs);
        for group in kept.chunks(tries) {
            let total = group[1..].iter().fold(group[0].clone(), |acc, g| engine.add(&acc, g));
            let parts = engine.split(&total, &[width, n]);
            next_centres.push(parts[0].clone());
            next_nearest.push(parts[1].clone());
        }
        centres.push(engine.concat(&next_centres.iter().collect::<Vec<_>>()));
        nearest = engine.concat(&next_nearest.iter().collect::<Vec<_>>());
    }
    // runs x k x d, run after run, back at f fractional bits.
    let pieces: Vec<Vec<E::Share>> = centres.iter().map(|c| engine.split(c, &vec![width; runs])).collect();
    let mut rows = Vec::with_capacity(runs * k);
    for r in 0..runs {
        for centre in &pieces {
            rows.push(engine.split(&centre[r], &[d, 1])[0].clone());
        }
    }
    let init = engine.concat(&rows.iter().collect::<Vec<_>>());
    Ok(engine.mul_public(&init, &vec![1u64 << shift; runs * k * d]))
}
