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
//!    truncation per run), record `i` is drawn when `P_(i-1) <= r < P_i`. The records are cut
//!    into about `sqrt(n)` blocks: one batched comparison of `r` with the blocks' running
//!    totals (the last taken as 1) gives, by differences, a secret one-hot block selector; dot
//!    products and one matrix product bring out that block's running sums, starting total
//!    and records; a second comparison within the block selects the record, and dot products
//!    give the candidate `[z | |z|^2]`: about `2 sqrt(n)` comparisons per draw;
//! 4. each candidate's `D^2` if it were kept: one comparison and one product; the totals
//!    (local sums) go through an argmin over the candidates, and one product round keeps the
//!    winner's centre and `D^2`.
//!
//! A centre costs `(2 + floor(ln k)) (n + 2 sqrt(n))` comparisons per run (the draws are
//! cheap; comparing each candidate's distances with `D^2` is not); nothing is opened. The running
//! sums must stay below `2^61`: when `n max(D^2) 2^(2f)` does not, the coordinates are first
//! truncated to fewer fractional bits (one truncation of `z`; see [`seeding_shift`]).

use super::Shape;
use crate::engine::{Engine, EngineError};
use crate::fixed::FRAC_BITS;
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

/// The records cut into `count` blocks of `size` (the last padded with copies of the last
/// record, which get no weight), for drawing in two levels: a block by its total weight, then
/// a record within it, with about `2 sqrt(n)` comparisons per draw instead of `n`.
struct Blocks<S> {
    /// Records.
    n: usize,
    /// Records per block.
    size: usize,
    /// Blocks.
    count: usize,
    /// Values per record (`d` coordinates and the squared norm).
    width: usize,
    /// The padded records, `count x (size width)`.
    rows: S,
}

impl<S: Clone> Blocks<S> {
    fn new<E: Engine<Share = S>>(engine: &E, rows: &S, n: usize, width: usize) -> Self {
        let size = (n as f64).sqrt().ceil().max(1.0) as usize;
        let count = n.div_ceil(size);
        let last = engine.split(rows, &[(n - 1) * width, width])[1].clone();
        let mut parts = vec![rows];
        parts.extend(std::iter::repeat_n(&last, count * size - n));
        Blocks { n, size, count, width, rows: engine.concat(&parts) }
    }
}

/// `[r < p_i]` for every `i` but the last of each group of `len`, the last taken as 1, and
/// the differences of consecutive ones: a one-hot selector per group (`groups x len`), the
/// first `p_i` above `r`. `r` and `p` hold one and `len` values per group.
async fn first_above<E: Engine>(
    engine: &mut E,
    r: &[E::Share],
    p: &[E::Share],
    len: usize,
) -> Result<E::Share, EngineError> {
    let groups = r.len();
    let below = if len > 1 {
        let targets: Vec<E::Share> = r.iter().map(|v| engine.concat(&vec![v; len - 1])).collect();
        let heads: Vec<E::Share> = p.iter().map(|v| engine.split(v, &[len - 1, 1])[0].clone()).collect();
        let b = engine
            .less_than(
                &engine.concat(&targets.iter().collect::<Vec<_>>()),
                &engine.concat(&heads.iter().collect::<Vec<_>>()),
            )
            .await?;
        engine.split(&b, &vec![len - 1; groups])
    } else {
        vec![engine.public(&[]); groups]
    };
    let (one, zero) = (engine.public(&[1]), engine.public(&[0]));
    let selectors: Vec<E::Share> =
        below.iter().map(|b| engine.sub(&engine.concat(&[b, &one]), &engine.concat(&[&zero, b]))).collect();
    Ok(engine.concat(&selectors.iter().collect::<Vec<_>>()))
}

/// Draws one record per `u` (run after run, `u.len() / runs` each) with probability
/// proportional to the run's `D^2` (`runs x n`, exact): the target `r = (T >> 16) u`, then the
/// block whose running total first exceeds `r`, then the record within it. Returns each drawn
/// record with its squared norm, `u.len() x width`.
async fn draw<E: Engine>(
    engine: &mut E,
    nearest: &E::Share,
    blocks: &Blocks<E::Share>,
    runs: usize,
    u: &[u64],
) -> Result<E::Share, EngineError> {
    let Blocks { n, size, count, width, .. } = *blocks;
    let tries = u.len() / runs;
    let padded = count * size;
    let zeros = engine.public(&vec![0; padded - n]);
    // Per run: running sums within each block, block totals and their running sums.
    let mut within = Vec::with_capacity(runs);
    let mut starts = Vec::with_capacity(runs);
    let mut running = Vec::with_capacity(runs);
    for d2 in engine.split(nearest, &vec![n; runs]) {
        let w = engine.prefix_sums(&engine.concat(&[&d2, &zeros]), size);
        let totals: Vec<E::Share> = engine
            .split(&w, &vec![size; count])
            .iter()
            .map(|b| engine.split(b, &[size - 1, 1])[1].clone())
            .collect();
        let q = engine.prefix_sums(&engine.concat(&totals.iter().collect::<Vec<_>>()), count);
        // The running total before each block.
        starts.push(engine.concat(&[&engine.public(&[0]), &engine.split(&q, &[count - 1, 1])[0]]));
        within.push(engine.transpose(&w, count, size)); // size x count: column j of every block
        running.push(q);
    }
    let totals: Vec<E::Share> = running.iter().map(|q| engine.split(q, &[count - 1, 1])[1].clone()).collect();
    let scaled = engine.trunc(&engine.concat(&totals.iter().collect::<Vec<_>>()), DRAW_BITS).await?;
    let scaled = engine.split(&scaled, &vec![1; runs]);
    let targets: Vec<E::Share> =
        (0..runs * tries).map(|c| engine.mul_public(&scaled[c / tries], &[u[c]])).collect();
    // The block of each draw.
    let block_sums: Vec<E::Share> = (0..runs * tries).map(|c| running[c / tries].clone()).collect();
    let block = first_above(engine, &targets, &block_sums, count).await?; // draws x count
    // Its running sums and starting total (dot products over the blocks), and its records.
    let selectors = engine.split(&block, &vec![count; runs * tries]);
    let mut xs = Vec::with_capacity(runs * tries);
    let mut ys = Vec::with_capacity(runs * tries);
    for (c, sel) in selectors.iter().enumerate() {
        xs.push(engine.concat(&vec![sel; size + 1]));
        ys.push(engine.concat(&[&within[c / tries], &starts[c / tries]]));
    }
    let picked = engine
        .dot(
            &engine.concat(&xs.iter().collect::<Vec<_>>()),
            &engine.concat(&ys.iter().collect::<Vec<_>>()),
            count,
        )
        .await?;
    let records = engine.matmul(&block, &blocks.rows, runs * tries, count, size * width).await?;
    // The record within the block: the first running sum above r minus the block's start.
    let picked = engine.split(&picked, &vec![size + 1; runs * tries]);
    let mut offsets = Vec::with_capacity(runs * tries);
    let mut sums = Vec::with_capacity(runs * tries);
    for (c, p) in picked.iter().enumerate() {
        let parts = engine.split(p, &[size, 1]);
        offsets.push(engine.sub(&targets[c], &parts[1]));
        sums.push(parts[0].clone());
    }
    let record = first_above(engine, &offsets, &sums, size).await?; // draws x size
    // The drawn record: its selector times the block's records (dot products over the block).
    let rows = engine.split(&records, &vec![size * width; runs * tries]);
    let sels = engine.split(&record, &vec![size; runs * tries]);
    let mut xs = Vec::with_capacity(runs * tries);
    let mut ys = Vec::with_capacity(runs * tries);
    for (sel, rows) in sels.iter().zip(&rows) {
        xs.push(engine.concat(&vec![sel; width]));
        ys.push(engine.transpose(rows, size, width));
    }
    engine
        .dot(
            &engine.concat(&xs.iter().collect::<Vec<_>>()),
            &engine.concat(&ys.iter().collect::<Vec<_>>()),
            size,
        )
        .await
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
    let zt = engine.transpose(z, n, d);
    // [z | |z|^2], n x (d + 1): a selector times it gives a centre and its squared norm.
    let with_norms = engine.transpose(&engine.concat(&[&zt, &norms]), width, n);
    // [z | 1], n x (d + 1): times [-2c ; |c|^2] it gives |c|^2 - 2 z.c.
    let with_ones = engine.transpose(&engine.concat(&[&zt, &engine.public(&vec![1; n])]), width, n);
    let blocks = Blocks::new(engine, &with_norms, n, width);
    let row = |engine: &E, i: usize| engine.split(&with_norms, &[i * width, width])[1].clone();
    let firsts: Vec<E::Share> = first.iter().map(|&i| row(engine, i)).collect();
    let firsts = engine.concat(&firsts.iter().collect::<Vec<_>>());
    // Per run: each record's squared distance to its nearest centre, exact.
    let mut nearest = squared_distances(engine, &with_ones, &norms, &firsts, runs).await?;
    let mut centres = vec![firsts];
    for j in 1..k {
        let step: Vec<u64> = (0..runs)
            .flat_map(|r| u[(r * (k - 1) + (j - 1)) * tries..(r * (k - 1) + j) * tries].to_vec())
            .collect();
        let drawn = draw(engine, &nearest, &blocks, runs, &step).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clear::{self, Clear};

    /// The two-level draw follows the weights: frequencies within 0.01 of `D_i / T` over
    /// 20,000 draws, zero weights never drawn, for block sizes that do and do not divide `n`.
    #[test]
    fn draws_follow_the_weights() {
        for weights in [vec![0u64, 1, 2, 3, 0, 4, 5, 0, 1, 4], vec![3, 0, 0, 1, 7, 2, 2], vec![5]] {
            let n = weights.len();
            let mut e = Clear::new();
            // Record i is (i, i^2); weights at 32 fractional bits as the seeding keeps them.
            let rows: Vec<u64> = (0..n as u64).flat_map(|i| [i, i * i]).collect();
            let blocks = Blocks::new(&e, &rows, n, 2);
            let nearest: Vec<u64> = weights.iter().map(|w| w << 32).collect();
            let u: Vec<u64> = (0..20_000u64).map(|i| (i * 7919) % (1 << DRAW_BITS)).collect();
            let drawn = clear::run(draw(&mut e, &nearest, &blocks, 1, &u)).unwrap();
            let mut counts = vec![0usize; n];
            for pair in drawn.chunks(2) {
                assert_eq!(pair[1], pair[0] * pair[0], "a whole record is drawn");
                counts[pair[0] as usize] += 1;
            }
            let total: u64 = weights.iter().sum();
            for (i, (&c, &w)) in counts.iter().zip(&weights).enumerate() {
                let (freq, p) = (c as f64 / u.len() as f64, w as f64 / total as f64);
                assert!((freq - p).abs() < 0.01, "{weights:?}: record {i} drawn {freq}, weight {p}");
                if w == 0 {
                    assert_eq!(c, 0, "{weights:?}: record {i} has no weight");
                }
            }
        }
    }
}
