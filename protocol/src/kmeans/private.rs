//! Differentially private k-means on shares: DPLloyd (Su, Cao, Li, Bertino and Jin,
//! "Differentially private k-means clustering", CODASPY 2016), with the noise drawn inside the
//! computation ([`crate::dp`]).
//!
//! 1. Scaling: a fifth of the budget releases each feature's noisy sum, hence a noisy mean
//!    `m`, then each feature's noisy sum of absolute deviations from `m` (one comparison per
//!    value), hence a noisy mean absolute deviation and from it a deviation `s = 1.2533 MAD`
//!    (exact for normal data); every value becomes `z = (x - m) / (3 s)` clipped into `[-1,
//!    1]` on shares (two comparisons per value). Declared ranges are often much wider than the
//!    data: scaling by them would leave the records in a corner of the space, and absolute
//!    deviations have the sensitivity of a sum (the range) where squares have the range's
//!    square. Clipping at three deviations bounds every record's influence whatever the
//!    range.
//! 2. The starting centroids depend on no record: points drawn with the job's seed, spread
//!    apart ([`starting_centroids`]).
//! 3. Each of the `T` iterations assigns every record to its nearest public centroid (the
//!    distances are local, since the centroids are public; the argmin is on shares), sums the
//!    records of each cluster and counts them on shares, adds distributed discrete Laplace
//!    noise to the `k d` sums and the `k` counts, and opens the noisy values to every node.
//!    The next centroids are `noisy sum / noisy count`, clamped into `[-1, 1]`; a cluster whose
//!    noisy count is below 1 keeps its centroid. Every node computes them in the clear.
//! 4. Every record is assigned to its nearest final centroid (secret: for per-record labels
//!    and the fairness job), and those segments' counts are released with noise, so that the
//!    sizes describe the segments the centroids define.
//!
//! Privacy: neighbouring datasets differ in one record's values (the record count is public).
//! The scaling release has the sensitivities of the `stats` job's. Then moving one record
//! changes each coordinate's sums over the clusters by at most `|z| + |z'| <= 2` in L1 (plus
//! two units of `2^-16` for the rounding of `z`) and the counts by 2. The remaining nine tenths
//! are split evenly over the iterations and the final counts, and within an iteration as Su et
//! al. do: each of the `d` coordinates' sums gets `e`, the counts get `e (4 d rho^2)^(1/3)`
//! with `rho = 0.225` ([`split`]). Sequential composition over every release gives `eps`. The
//! noisy moments and every iteration's noisy sums and counts are revealed to every node, the
//! final centroids and counts to the operator; all of them are differentially private.

use super::suppress::mask;
use super::{KmeansError, Progress, Published, Scaling, Shape, standardise};
use crate::dp::{DpError, Laplace, NoiseParties, add_noise, fits};
use crate::engine::Engine;
use crate::fixed::{SCALE, decode, encode};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Su et al.'s normalisation constant of the split between sums and counts.
const RHO: f64 = 0.225;

/// The share of the budget spent on the noisy means and deviations that scale the features.
pub const SCALING_SHARE: f64 = 0.2;

/// The standard deviation of a normal variable over its mean absolute deviation, `sqrt(pi/2)`.
const SD_PER_MAD: f64 = 1.253_314_137_315_500_3;

/// Values are clipped at this many (noisy) standard deviations from the (noisy) mean.
pub const CLIP: f64 = 3.0;

/// The parameters of a private k-means job.
#[derive(Debug, Clone, Copy)]
pub struct PrivateParams {
    /// Clusters.
    pub k: usize,
    /// Lloyd iterations (each releases noisy sums and counts).
    pub iterations: usize,
    /// Seed of the starting centroids.
    pub seed: u64,
    /// The privacy budget of the whole job.
    pub epsilon: f64,
    /// Segments whose noisy size is below this are suppressed (post-processing).
    pub min_segment: u64,
}

/// The budget of one iteration's releases: `(eps_sum, eps_count)`, for each coordinate's sums
/// and for the counts (the final counts get `eps_count` too), so that `T (d eps_sum +
/// eps_count) + eps_count` is the budget left after the scaling, `(1 - SCALING_SHARE) eps`.
pub fn split(epsilon: f64, iterations: usize, d: usize) -> (f64, f64) {
    let ratio = (4.0 * d as f64 * RHO * RHO).cbrt();
    let t = iterations.max(1) as f64;
    let per = (1.0 - SCALING_SHARE) * epsilon / (t * (d as f64 + ratio) + ratio);
    (per, per * ratio)
}

/// The number of iterations Su et al. recommend for `n` records in `d` dimensions and `k`
/// clusters at `epsilon`: `eps / eps_m` with `eps_m = sqrt(500 k^3 / n^2 (d + (4 d rho^2)^(1/3))^3)`,
/// kept between 2 and 7.
pub fn recommended_iterations(epsilon: f64, n: u64, d: usize, k: usize) -> u32 {
    let n = n.max(1) as f64;
    let spread = d as f64 + (4.0 * d as f64 * RHO * RHO).cbrt();
    let eps_m = (500.0 * (k as f64).powi(3) / (n * n) * spread.powi(3)).sqrt();
    (epsilon / eps_m).clamp(2.0, 7.0) as u32
}

/// Sensitivity of one coordinate's sums over the clusters, in `2^-16` units: a record of
/// `|z| <= 1` leaves one cluster and one joins another, plus two units of rounding.
pub fn sum_sensitivity() -> f64 {
    2.0 * SCALE + 2.0
}

/// Sensitivity of the counts: one record leaves a cluster and joins another.
pub const COUNT_SENSITIVITY: f64 = 2.0;

/// The noise of one iteration's release: `k d` sums, then `k` counts.
pub fn iteration_noise(p: &PrivateParams, d: usize) -> Result<Vec<Laplace>, DpError> {
    let (eps_sum, _) = split(p.epsilon, p.iterations, d);
    let sums = Laplace::new(eps_sum, sum_sensitivity()).map_err(|e| e.about("each segment's sum"))?;
    let mut out = vec![sums; p.k * d];
    out.extend(count_noise(p, d)?);
    Ok(out)
}

/// The noise of `k` counts (each iteration's, and the final ones).
pub fn count_noise(p: &PrivateParams, d: usize) -> Result<Vec<Laplace>, DpError> {
    let counts = Laplace::new(split(p.epsilon, p.iterations, d).1, COUNT_SENSITIVITY)
        .map_err(|e| e.about("each segment's count"))?;
    Ok(vec![counts; p.k])
}

/// Checks, before anything is computed, that every release of a private job over `count`
/// records of features declared in `bounds` can be drawn by `parties` parties: the scaling's
/// sums, its sums of absolute deviations for any centre the noisy means can give (between the
/// middle and an end of the range), each iteration's sums and counts and the final counts,
/// and that no value can wrap with its noise.
pub fn noise_plan(
    p: &PrivateParams,
    bounds: &[(f64, f64)],
    count: u64,
    parties: usize,
) -> Result<(), DpError> {
    scaling_noise(p.epsilon, bounds, None)?;
    let ends: Vec<f64> = bounds.iter().map(|&(lo, _)| lo).collect();
    let middles: Vec<f64> = bounds.iter().map(|&(lo, hi)| (lo + hi) / 2.0).collect();
    scaling_noise(p.epsilon, bounds, Some(&ends))?;
    scaling_noise(p.epsilon, bounds, Some(&middles))?;
    iteration_noise(p, bounds.len())?;
    let n = count as f64;
    for (j, &(lo, hi)) in bounds.iter().enumerate() {
        let magnitude = lo.abs().max(hi.abs());
        let named = |what: &'static str| move |e: DpError| e.of_feature(j, what);
        crate::dp::sum_fits(count, magnitude, parties).map_err(named("sum"))?;
        fits(n * ((hi - lo).max(0.0) * SCALE + 1.0), parties).map_err(named("sum of absolute deviations"))?;
    }
    fits(n * (SCALE + 1.0), parties).map_err(|e| e.about("each segment's sum"))
}

/// A feature's centre from its noisy sum over `n` records declared in `[lo, hi]`: the noisy
/// mean kept in the range (the midpoint without records).
pub fn centre(sum: f64, n: usize, (lo, hi): (f64, f64)) -> f64 {
    if n == 0 { (lo + hi) / 2.0 } else { (sum / n as f64).clamp(lo, hi) }
}

/// A feature's scale from its noisy sum of absolute deviations over `n` records declared in
/// `[lo, hi]`: three deviations (`1.2533` mean absolute deviations each), at least a 64th of
/// the range (so that no scaled value exceeds 64 before clipping).
pub fn scale(deviations: f64, n: usize, (lo, hi): (f64, f64)) -> f64 {
    let mad = if n == 0 { 0.0 } else { deviations / n as f64 };
    (CLIP * SD_PER_MAD * mad).max((hi - lo) / 64.0)
}

/// The noise of the scaling's two releases (`d` sums, then `d` sums of absolute deviations
/// from the `centres`), each getting `SCALING_SHARE eps / (2 d)`: a sum moves by the range
/// (plus a unit of encoding), an absolute deviation from `m` by the farther end of the range
/// from `m` (plus two units).
pub fn scaling_noise(
    epsilon: f64,
    bounds: &[(f64, f64)],
    centres: Option<&[f64]>,
) -> Result<Vec<Laplace>, DpError> {
    let each = SCALING_SHARE * epsilon / (2 * bounds.len()).max(1) as f64;
    bounds
        .iter()
        .enumerate()
        .map(|(j, &(lo, hi))| match centres {
            None => Laplace::new(each, crate::dp::sum_sensitivity(lo, hi, 1.0))
                .map_err(|e| e.of_feature(j, "scaling's sum")),
            Some(c) => Laplace::new(each, crate::dp::sum_sensitivity(0.0, (hi - c[j]).max(c[j] - lo), 2.0))
                .map_err(|e| e.of_feature(j, "scaling's sum of absolute deviations")),
        })
        .collect()
}

/// The scaling of the features on shares (`columns[j]` holds feature `j`), opening a noisy
/// sum and a noisy sum of absolute deviations per feature to every party. Returns the
/// centres, the scales and the `2 d` opened values.
async fn noisy_scaling<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    columns: &[E::Share],
    bounds: &[(f64, f64)],
    epsilon: f64,
    who: NoiseParties,
) -> Result<(Vec<f64>, Vec<f64>, Vec<u64>), KmeansError> {
    let n = columns.first().map_or(0, E::len);
    let sums = engine.sums(columns);
    let noisy = add_noise(engine, rng, &sums, &scaling_noise(epsilon, bounds, None)?, who).await?;
    let mut opened = engine.open(&noisy).await?;
    let centres: Vec<f64> = opened.iter().zip(bounds).map(|(v, &b)| centre(decode(*v), n, b)).collect();
    // |x - m| = (x - m) - 2 [x < m] (x - m), every feature at once.
    let mut diffs = Vec::with_capacity(columns.len());
    for (col, &m) in columns.iter().zip(&centres) {
        diffs.push(engine.sub(col, &engine.public(&vec![encode(m)?; n])));
    }
    let diffs = engine.concat(&diffs.iter().collect::<Vec<_>>());
    let zero = engine.public(&vec![0; E::len(&diffs)]);
    let below = engine.less_than(&diffs, &zero).await?;
    let flipped = engine.mul(&below, &diffs).await?;
    let abs = engine.sub(&diffs, &engine.mul_public(&flipped, &vec![2; E::len(&diffs)]));
    let deviations = engine.sums(&engine.split(&abs, &vec![n; columns.len()]));
    let noise = scaling_noise(epsilon, bounds, Some(&centres))?;
    let noisy = add_noise(engine, rng, &deviations, &noise, who).await?;
    let spread = engine.open(&noisy).await?;
    let scales: Vec<f64> = spread.iter().zip(bounds).map(|(v, &b)| scale(decode(*v), n, b)).collect();
    opened.extend(spread);
    Ok((centres, scales, opened))
}

/// `k` starting centroids in `[-1, 1]^d` that depend on no record: drawn with the job's seed
/// from `[-1 + r, 1 - r]^d`, each at least `2r` from the others, with `r` halved from 1/2
/// until `k` fit (100 tries per centroid), as diffprivlib's DPLloyd seeds them.
pub fn starting_centroids(k: usize, d: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x6470_6c6c_6f79_6421);
    let mut r = 0.5;
    loop {
        let mut chosen: Vec<Vec<f64>> = Vec::with_capacity(k);
        let mut tries = 0;
        while chosen.len() < k && tries < 100 {
            let point: Vec<f64> = (0..d).map(|_| rng.random_range(-1.0 + r..=1.0 - r)).collect();
            let far = chosen
                .iter()
                .all(|c| c.iter().zip(&point).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt() >= 2.0 * r);
            if far {
                chosen.push(point);
                tries = 0;
            } else {
                tries += 1;
            }
        }
        if chosen.len() == k || r < 1e-6 {
            chosen.resize(k, vec![0.0; d]);
            return chosen.concat().into_iter().map(|v| decode(encode(v).expect("in [-1, 1]"))).collect();
        }
        r /= 2.0;
    }
}

/// One iteration's release, as every node opened it.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// The noisy sum of each cluster's scaled records, `k x d`.
    pub sums: Vec<f64>,
    /// The noisy count of each cluster.
    pub counts: Vec<i64>,
}

/// One party's result of [`private_job`].
#[derive(Debug, Clone)]
pub struct PrivateShares<S> {
    /// A sharing of the public `[centroids (k d), sizes (k), 0]`, laid out as the exact job's
    /// outputs (no within-cluster sum of squares is released), suppressed segments at 0.
    pub outputs: S,
    /// The scaling (noisy means, three noisy deviations) and the suppressed segments.
    pub published: Published,
    /// The opened noisy sums and sums of absolute deviations that gave the scaling (`2 d`
    /// values).
    pub moments: Vec<u64>,
    /// Each iteration's release.
    pub releases: Vec<Release>,
    /// The final segments' noisy counts.
    pub counts: Vec<i64>,
    /// Share of each record's one-hot segment under the final centroids, `n x k` (secret).
    pub assignment: S,
}

/// `y` clipped into `[-1, 1]` on shares (fixed point): one batched comparison of every value
/// with both ends and one batched product.
async fn clip<E: Engine>(engine: &mut E, y: &E::Share) -> Result<E::Share, KmeansError> {
    let len = E::len(y);
    let one = engine.public(&vec![encode(1.0)?; len]);
    let minus_one = engine.public(&vec![encode(-1.0)?; len]);
    // [y < -1] and [1 < y], together.
    let flags = engine.less_than(&engine.concat(&[y, &one]), &engine.concat(&[&minus_one, y])).await?;
    let gaps = engine.concat(&[&engine.sub(&minus_one, y), &engine.sub(&one, y)]);
    let products = engine.mul(&flags, &gaps).await?;
    let moves = engine.split(&products, &[len, len]);
    Ok(engine.add(y, &engine.add(&moves[0], &moves[1])))
}

/// Squared distances (less `|z|^2`) of every record to public centroids, and the secret one-hot
/// of the nearest (ties to the lowest), `n x k`.
async fn assign<E: Engine>(
    engine: &mut E,
    z: &E::Share,
    centroids: &[f64],
    s: Shape,
) -> Result<E::Share, KmeansError> {
    let c: Vec<u64> = centroids.iter().map(|v| encode(*v)).collect::<Result<_, _>>()?;
    // |c_j|^2 and -2 c_j^T, at 2f fractional bits: the distance is |c_j|^2 - 2 z . c_j.
    let norms: Vec<u64> = c
        .chunks(s.d)
        .map(|row| row.iter().fold(0u64, |acc, v| acc.wrapping_add(v.wrapping_mul(*v))))
        .collect();
    let c = &c;
    let minus_two_ct: Vec<u64> =
        (0..s.d).flat_map(|l| (0..s.k).map(move |j| c[j * s.d + l].wrapping_mul(2).wrapping_neg())).collect();
    let cross = engine.matmul_public(z, &minus_two_ct, s.n, s.d, s.k);
    let rows: Vec<u64> = (0..s.n).flat_map(|_| norms.iter().copied()).collect();
    let dist = engine.add(&cross, &engine.public(&rows));
    Ok(engine.argmin(&dist, s.k).await?.1)
}

/// The next centroids from a release: `sum / count` clamped into `[-1, 1]`, or the previous
/// centroid where the noisy count is below 1.
pub fn next_centroids(previous: &[f64], release: &Release, d: usize) -> Vec<f64> {
    let mut out = previous.to_vec();
    for (j, &count) in release.counts.iter().enumerate() {
        if count >= 1 {
            for l in 0..d {
                let v = release.sums[j * d + l] / count as f64;
                out[j * d + l] = decode(encode(v.clamp(-1.0, 1.0)).expect("in [-1, 1]"));
            }
        }
    }
    out
}

/// The private job on one party: scale every feature into `[-1, 1]` by its noisy mean and
/// deviation (clipped; `bounds` are the declared ranges), run `p.iterations` DPLloyd
/// iterations from [`starting_centroids`], each opening noisy sums and counts to every party,
/// assign every record to its nearest final centroid (secret) and open those segments' noisy
/// counts. `rng` draws this party's part of the noise; `who` says who draws.
pub async fn private_job<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    columns: &[E::Share],
    bounds: &[(f64, f64)],
    p: PrivateParams,
    who: NoiseParties,
    progress: Progress<'_>,
) -> Result<PrivateShares<E::Share>, KmeansError> {
    let n = columns.first().map_or(0, E::len);
    let d = columns.len();
    let s = Shape { n, d, k: p.k };
    // Every release's noise, before anything is computed or opened.
    noise_plan(&p, bounds, n as u64, who.parties)?;
    let (centres, scales, moments) = noisy_scaling(engine, rng, columns, bounds, p.epsilon, who).await?;
    let scaled = standardise(engine, columns, &centres, &scales).await?;
    let z = clip(engine, &scaled).await?;
    let noise = iteration_noise(&p, d)?;
    let mut centroids = starting_centroids(p.k, d, p.seed);
    let mut releases = Vec::with_capacity(p.iterations);
    for done in 1..=p.iterations.max(1) {
        let onehot = assign(engine, &z, &centroids, s).await?;
        let at = engine.transpose(&onehot, n, p.k);
        let sums = engine.matmul(&at, &z, p.k, n, d).await?;
        let counts = engine.sums(&engine.split(&at, &vec![n; p.k]));
        let exact = engine.concat(&[&sums, &counts]);
        let noisy = add_noise(engine, rng, &exact, &noise, who).await?;
        let opened = engine.open(&noisy).await?;
        let release = Release {
            sums: opened[..p.k * d].iter().map(|v| decode(*v)).collect(),
            counts: opened[p.k * d..].iter().map(|v| *v as i64).collect(),
        };
        centroids = next_centroids(&centroids, &release, d);
        releases.push(release);
        progress(done, p.iterations.max(1));
    }
    let assignment = assign(engine, &z, &centroids, s).await?;
    let at = engine.transpose(&assignment, n, p.k);
    let exact = engine.sums(&engine.split(&at, &vec![n; p.k]));
    let noisy = add_noise(engine, rng, &exact, &count_noise(&p, d)?, who).await?;
    let counts: Vec<i64> = engine.open(&noisy).await?.iter().map(|&v| v as i64).collect();
    let sizes: Vec<u64> = counts.iter().map(|&c| c.max(0) as u64).collect();
    let suppressed: Vec<bool> = sizes.iter().map(|&c| p.min_segment > 1 && c < p.min_segment).collect();
    let mut public: Vec<u64> = centroids.iter().map(|v| encode(*v)).collect::<Result<_, _>>()?;
    public.extend(&sizes);
    public.push(0);
    let outputs = mask(engine, &engine.public(&public), &suppressed, d);
    let published = Published { scaling: Scaling::Clipped, centres, scales, suppressed, wcss: false };
    Ok(PrivateShares { outputs, published, moments, releases, counts, assignment })
}
