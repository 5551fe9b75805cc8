//! The `stats` job: count, sum and mean of numeric features over all owners' records.
//!
//! Sums are linear, so each party adds the components it holds locally (`Engine::sum`); the
//! only values that leave the parties are these component sums, opened by the party that asked
//! (see [`crate::sharing::reconstruct`]), and [`summarise`] turns them into means. The count is
//! public: every node knows how many records each owner contributed.
//!
//! Error: each input was rounded to the nearest `2^-16` when encoded, and the sum is exact in
//! the ring, so a mean differs from the plaintext mean of the inputs by at most `2^-17`. A sum
//! that could leave the ring's signed range is refused before anything is computed
//! ([`check_bounds`]).
//!
//! Variance: each value is scaled down by a public power of two `2^s` (chosen from the
//! feature's declared bound and the record count so that no square or sum can overflow, see
//! [`variance_scale`]), squared on shares with a fixed-point product, and the sums of the
//! scaled values and of their squares are opened; the population variance is
//! `2^(2s) (sum(x'^2) / N - (sum(x') / N)^2)`, and the standard deviation its square root,
//! computed by whoever opened the sums (they reveal nothing the variance does not).

use crate::engine::{Engine, EngineError};
use crate::fixed;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A `stats` job that cannot run.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StatsError {
    /// The sum of a feature could wrap around the ring.
    #[error(
        "the sum of feature {feature} over {count} records bounded by {bound} could overflow the \
         fixed-point range; declare a tighter range for it in the schema"
    )]
    MayOverflow {
        /// Index of the feature in the job.
        feature: usize,
        /// Number of records.
        count: u64,
        /// The absolute bound used.
        bound: f64,
    },
}

/// Checks that summing `count` records of features bounded by `bounds` cannot overflow.
pub fn check_bounds(count: u64, bounds: &[f64]) -> Result<(), StatsError> {
    for (feature, &bound) in bounds.iter().enumerate() {
        if !fixed::sum_fits(count, bound) {
            return Err(StatsError::MayOverflow { feature, count, bound });
        }
    }
    Ok(())
}

/// The opened statistics of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSummary {
    /// Number of records.
    pub count: u64,
    /// Sum of the feature over all records.
    pub sum: f64,
    /// Mean, or `None` when there are no records.
    pub mean: Option<f64>,
    /// Population variance, or `None` when there are no records.
    pub variance: Option<f64>,
    /// Population standard deviation, or `None` when there are no records.
    pub std_dev: Option<f64>,
}

/// The power of two `s` by which values bounded by `bound` are divided before squaring, so
/// that a square stays below `2^(62 - 2f)` before truncation and the sum of `count` squares
/// below `2^61` after it.
pub fn variance_scale(count: u64, bound: f64) -> u32 {
    let f = fixed::FRAC_BITS as f64;
    let log_bound = bound.abs().max(1.0).log2();
    let log_count = (count.max(1) as f64).log2();
    let for_square = log_bound - (62.0 - 2.0 * f) / 2.0;
    let for_sum = (2.0 * log_bound + log_count - (61.0 - f)) / 2.0;
    for_square.max(for_sum).max(0.0).ceil() as u32
}

/// The documented bound on the absolute error of a secure variance, for values bounded by
/// `bound` over `count` records: three units of `2^-16` of the scaled values' squares and
/// cross terms (`2 |x'| + 1` units), scaled back by `2^(2s)`, plus the effect of encoding each
/// input to `2^-17` (`2 bound 2^-17`).
pub fn variance_tolerance(count: u64, bound: f64) -> f64 {
    let s = variance_scale(count, bound);
    let unit = 1.0 / (1u64 << fixed::FRAC_BITS) as f64;
    let scaled = bound.abs() / (1u64 << s) as f64;
    (1u64 << (2 * s)) as f64 * 3.0 * (2.0 * scaled * unit + unit) + 2.0 * bound.abs() * unit / 2.0
}

/// Whether the sum of the exact squares (`2f` fractional bits) of `count` values bounded by
/// `bound` stays below `2^61`, so that squares need no truncation each.
pub fn exact_squares(count: u64, bound: f64) -> bool {
    let f = fixed::FRAC_BITS as f64;
    (count.max(1) as f64).log2() + 2.0 * (bound.abs() + 1.0).log2() + 2.0 * f < 61.0
}

/// Sums, on shares, of the scaled values `x' = x >> s` and of their squares (with `f`
/// fractional bits), for every feature: `columns[j]` holds feature `j` of every record and
/// `bounds[j]` bounds its magnitude. Returns `2 F` sums (the `F` sums of `x'`, then the `F`
/// sums of `x'^2`) and each feature's `s` ([`variance_scale`]). Where the exact squares' sum
/// fits ([`exact_squares`]), the squares are summed exactly and only the sum is truncated
/// (one truncation per feature instead of one per record).
pub async fn scaled_moments<E: Engine>(
    engine: &mut E,
    columns: &[E::Share],
    bounds: &[f64],
) -> Result<(E::Share, Vec<u32>), EngineError> {
    let count = columns.first().map_or(0, E::len) as u64;
    let scales: Vec<u32> = bounds.iter().map(|b| variance_scale(count, *b)).collect();
    Ok((scaled_moments_at(engine, columns, bounds, &scales).await?, scales))
}

/// [`scaled_moments`] with given scale exponents (at least [`variance_scale`]'s).
pub async fn scaled_moments_at<E: Engine>(
    engine: &mut E,
    columns: &[E::Share],
    bounds: &[f64],
    scales: &[u32],
) -> Result<E::Share, EngineError> {
    let n = columns.first().map_or(0, E::len);
    let count = n as u64;
    let exact: Vec<bool> =
        bounds.iter().zip(scales).map(|(b, &s)| s == 0 && exact_squares(count, *b)).collect();
    let mut scaled = Vec::with_capacity(columns.len());
    for (col, &s) in columns.iter().zip(scales) {
        scaled.push(if s == 0 { col.clone() } else { engine.trunc(col, s).await? });
    }
    let all = engine.concat(&scaled.iter().collect::<Vec<_>>());
    let products = engine.mul(&all, &all).await?;
    let product_cols = engine.split(&products, &vec![n; columns.len()]);
    // One truncation by f: every square of the other features, and the exact sums.
    let mut to_truncate = Vec::new();
    for (p, &e) in product_cols.iter().zip(&exact) {
        to_truncate.push(if e { engine.sum(p) } else { p.clone() });
    }
    let lengths: Vec<usize> = exact.iter().map(|&e| if e { 1 } else { n }).collect();
    let truncated =
        engine.trunc(&engine.concat(&to_truncate.iter().collect::<Vec<_>>()), fixed::FRAC_BITS).await?;
    let square_sums: Vec<E::Share> = engine
        .split(&truncated, &lengths)
        .iter()
        .zip(&exact)
        .map(|(t, &e)| if e { t.clone() } else { engine.sum(t) })
        .collect();
    let sums: Vec<E::Share> = scaled.iter().map(|c| engine.sum(c)).chain(square_sums).collect();
    Ok(engine.concat(&sums.iter().collect::<Vec<_>>()))
}

/// Turns opened sums into summaries: `sums` of the features, and (when present) the opened
/// scaled sums and sums of squares of [`scaled_moments`] with their `scales`.
pub fn summarise(count: u64, sums: &[u64], moments: Option<(&[u64], &[u32])>) -> Vec<FeatureSummary> {
    let f = sums.len();
    sums.iter()
        .enumerate()
        .map(|(j, &s)| {
            let scaled = moments.map(|(m, scales)| (fixed::decode(m[j]), fixed::decode(m[f + j]), scales[j]));
            summary(count, fixed::decode(s), scaled)
        })
        .collect()
}

/// One feature's summary from its sum and, when known, the sum of its values scaled down by
/// `2^s` and the sum of their squares.
fn summary(count: u64, sum: f64, scaled: Option<(f64, f64, u32)>) -> FeatureSummary {
    let n = count as f64;
    let variance = scaled.filter(|_| count > 0).map(|(s1, s2, s)| {
        let scale = (2f64).powi(2 * s as i32);
        ((s2 / n - (s1 / n) * (s1 / n)) * scale).max(0.0)
    });
    FeatureSummary {
        count,
        sum,
        mean: (count > 0).then(|| sum / n),
        variance,
        std_dev: variance.map(f64::sqrt),
    }
}

/// How a private `stats` job releases its `2 F` values (the `F` sums, then the `F` sums of
/// squares of the scaled values, as [`private_moments`] lays them out): each feature's scale
/// exponent and the noise of every release.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisePlan {
    /// Each feature's scale exponent `s` (values are divided by `2^s` before squaring).
    pub scales: Vec<u32>,
    /// The noise of each release.
    pub noise: Vec<crate::dp::Laplace>,
}

/// Largest scale exponent a private job's squares may use.
const MAX_PRIVATE_SCALE: u32 = 40;

/// The noise of a private `stats` job over `count` records of features whose values lie in
/// `ranges`, at `epsilon` in all, drawn by `parties` parties; or why it cannot be released.
///
/// Neighbouring datasets differ in one record's values (the record count is public). Each
/// release gets `epsilon / (2 F)` (sequential composition). Sensitivities, in `2^-16` units:
/// a sum, `(hi - lo) 2^16` plus one unit for the rounding of the encoding; a sum of squares,
/// the spread of `x'^2` over `[lo', hi']` (the scaled range widened by the one unit the
/// scaling's rounding can add) plus two units for the truncations of the squares.
///
/// The scale exponent of a feature is [`variance_scale`]'s, raised where the squares' noise
/// would be wider than the sampler draws exactly ([`crate::dp::MAX_SCALE`]): coarser squares
/// have a smaller sensitivity in their own units, so the same relative noise fits (a sum of
/// squares that needs such noise is dominated by it either way). A sum whose noise is too
/// wide, a release whose noise is too narrow, or a value that could wrap with its noise,
/// refuses the job.
pub fn noise_plan(
    count: u64,
    ranges: &[(f64, f64)],
    epsilon: f64,
    parties: usize,
) -> Result<NoisePlan, crate::dp::DpError> {
    use crate::dp::{DpError, Laplace, sum_sensitivity};
    let each = epsilon / (2 * ranges.len()).max(1) as f64;
    let mut sums = Vec::with_capacity(ranges.len());
    let mut squares = Vec::with_capacity(ranges.len());
    let mut scales = Vec::with_capacity(ranges.len());
    for (j, &(lo, hi)) in ranges.iter().enumerate() {
        let bound = lo.abs().max(hi.abs());
        let named = |what: &'static str| move |e: DpError| e.of_feature(j, what);
        sums.push(Laplace::new(each, sum_sensitivity(lo, hi, 1.0)).map_err(named("sum"))?);
        crate::dp::sum_fits(count, bound, parties).map_err(named("sum"))?;
        let mut s = variance_scale(count, bound);
        let noise = loop {
            match Laplace::new(each, square_sensitivity(lo, hi, s)) {
                Err(DpError::TooWide { .. }) if s < MAX_PRIVATE_SCALE => s += 1,
                other => break other.map_err(named("sum of squares"))?,
            }
        };
        squares.push(noise);
        scales.push(s);
    }
    sums.extend(squares);
    Ok(NoisePlan { scales, noise: sums })
}

/// The sensitivity, in `2^-16` units, of the sum of squares of values in `[lo, hi]` divided by
/// `2^s`.
fn square_sensitivity(lo: f64, hi: f64, s: u32) -> f64 {
    let unit = 1.0 / fixed::SCALE;
    let shrink = (2f64).powi(s as i32);
    let (lo, hi) = (lo / shrink - unit, hi / shrink + unit);
    let top = lo.powi(2).max(hi.powi(2));
    let bottom = if lo <= 0.0 && hi >= 0.0 { 0.0 } else { lo.powi(2).min(hi.powi(2)) };
    crate::dp::sum_sensitivity(bottom, top, 2.0)
}

/// The private releases of a `stats` job, on shares: each feature's sum and the sum of the
/// squares of its scaled values ([`scaled_moments_at`] with the plan's scales), `2 F` values,
/// each with distributed discrete Laplace noise ([`noise_plan`]).
pub async fn private_moments<E: Engine, R: rand::Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    columns: &[E::Share],
    ranges: &[(f64, f64)],
    plan: &NoisePlan,
    who: crate::dp::NoiseParties,
) -> Result<E::Share, EngineError> {
    let f = columns.len();
    let magnitudes: Vec<f64> = ranges.iter().map(|(lo, hi)| lo.abs().max(hi.abs())).collect();
    let moments = scaled_moments_at(engine, columns, &magnitudes, &plan.scales).await?;
    let squares = engine.split(&moments, &[f, f]).remove(1);
    let exact = engine.concat(&[&engine.sums(columns), &squares]);
    crate::dp::add_noise(engine, rng, &exact, &plan.noise, who).await
}

/// Summaries from the opened releases of [`private_moments`]: means from the noisy sums,
/// variances from the noisy sums and sums of squares (never below 0).
pub fn summarise_private(count: u64, released: &[u64], scales: &[u32]) -> Vec<FeatureSummary> {
    let f = scales.len();
    (0..f)
        .map(|j| {
            let sum = fixed::decode(released[j]);
            let scaled = sum / (1u64 << scales[j]) as f64;
            summary(count, sum, Some((scaled, fixed::decode(released[f + j]), scales[j])))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sharing::{Component, Layout, reconstruct, split_columns};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    /// Shares `columns` among `n` parties, runs the local sums and opens them.
    fn secure_stats(n: usize, columns: &[Vec<f64>], rng: &mut ChaCha20Rng) -> Vec<FeatureSummary> {
        let layout = Layout::honest_majority(n).unwrap();
        let encoded: Vec<Vec<u64>> =
            columns.iter().map(|c| c.iter().map(|x| fixed::encode(*x).unwrap()).collect()).collect();
        // Two owners: split the rows in two contributions, shared independently.
        let cut = encoded.first().map_or(0, |c| c.len() / 2);
        let halves: Vec<Vec<Vec<u64>>> = vec![
            encoded.iter().map(|c| c[..cut].to_vec()).collect(),
            encoded.iter().map(|c| c[cut..].to_vec()).collect(),
        ];
        let shared: Vec<_> = halves.iter().map(|h| split_columns(h, &layout, rng)).collect();
        // Each party's share of each feature over both contributions, summed locally.
        let parts: Vec<(usize, Vec<Component>)> = (0..n)
            .map(|p| {
                let comps = layout.held_by(p).into_iter().map(|c| {
                    let values = (0..columns.len())
                        .map(|j| {
                            shared.iter().flat_map(|s| &s[c][j].values).fold(0u64, |a, v| a.wrapping_add(*v))
                        })
                        .collect();
                    Component { id: c as u16, values }
                });
                (p, comps.collect())
            })
            .collect();
        let count = columns.first().map_or(0, |c| c.len()) as u64;
        summarise(count, &reconstruct(&layout, &parts).unwrap(), None)
    }

    fn plain(column: &[f64]) -> (f64, Option<f64>) {
        let sum: f64 = column.iter().sum();
        (sum, (!column.is_empty()).then(|| sum / column.len() as f64))
    }

    #[test]
    fn matches_plaintext_on_random_and_edge_inputs() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for n in [3, 4, 5] {
            for rows in [0usize, 1, 2, 17, 1000] {
                let columns: Vec<Vec<f64>> = vec![
                    (0..rows).map(|_| rng.random_range(-1.0e6..1.0e6)).collect(),
                    (0..rows).map(|_| rng.random_range(-1.0..1.0)).collect(),
                    (0..rows).map(|i| if i % 2 == 0 { 30_000.0 } else { -30_000.0 }).collect(),
                ];
                let got = secure_stats(n, &columns, &mut rng);
                for (g, col) in got.iter().zip(&columns) {
                    let (sum, mean) = plain(col);
                    assert_eq!(g.count, rows as u64);
                    assert!((g.sum - sum).abs() <= rows as f64 / 131_072.0 + 1e-6, "n={n} rows={rows}");
                    match (g.mean, mean) {
                        (Some(a), Some(b)) => assert!((a - b).abs() <= 1.0 / 131_072.0 + 1e-9),
                        (None, None) => {}
                        other => panic!("mean mismatch {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn extremes_sum_exactly() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let col = vec![fixed::MAX_ABS, -fixed::MAX_ABS, fixed::MAX_ABS, fixed::MAX_ABS];
        let got = secure_stats(3, &[col], &mut rng);
        assert_eq!(got[0].sum, 2.0 * fixed::MAX_ABS);
        assert_eq!(got[0].mean, Some(fixed::MAX_ABS / 2.0));
    }

    #[test]
    fn refuses_sums_that_could_wrap() {
        assert!(check_bounds(1000, &[fixed::MAX_ABS, 10.0]).is_ok());
        assert_eq!(
            check_bounds(1 << 20, &[10.0, fixed::MAX_ABS]),
            Err(StatsError::MayOverflow { feature: 1, count: 1 << 20, bound: fixed::MAX_ABS })
        );
    }
}
