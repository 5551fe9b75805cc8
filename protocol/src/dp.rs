//! Differentially private releases with noise that no party knows: distributed discrete
//! Laplace noise, generated inside the computation.
//!
//! The discrete Laplace distribution `DL(a)`, `P(k) = (1 - a) / (1 + a) a^|k|`, is the
//! difference of two independent geometric variables, and a geometric variable is the sum of
//! `m` independent Polya (negative binomial) variables `NB(1/m, a)` (Goryczka and Xiong, 2017,
//! "A comprehensive comparison of multiparty secure additions with differential privacy").
//! Each party draws `NB(1/m, a) - NB(1/m, a)` from its own generator and secret-shares it; the
//! released value carries the sum of all parties' draws. With `m = n - t` (the number of honest
//! parties the trust model guarantees), the draws of any `m` parties alone already form
//! `DL(a)`: a coalition of `t` parties that subtracts its own draws still faces the full noise.
//! The total noise is therefore a little larger than `DL(a)` (its variance is `n / (n - t)`
//! times that of `DL(a)`).
//!
//! For a release of L1 sensitivity `D` (in the units the value is encoded in: `2^-16` for a
//! fixed-point sum, 1 for a count), `a = exp(-eps / D)` gives `eps`-differential privacy
//! against any `t` parties and the operator together. Each job splits its `eps` over its
//! releases (sequential composition) and states the sensitivity of each beside its code:
//! [`crate::stats::noise_plan`], [`crate::kmeans::private::noise_plan`],
//! [`crate::fairness::cell_noise`].
//!
//! # The sampler, and where it is exact
//!
//! A Polya draw is a Poisson variable whose mean is `theta g`, with `g` drawn from
//! `Gamma(1/m, 1)` and `theta = a / (1 - a)` the noise scale. The scale is computed as
//! `1 / expm1(eps / D)`, never through `1 - a`: for a wide declared range `eps / D` can be
//! `1e-15` or less, where `a = exp(-eps / D)` rounds to a float whose distance from 1 carries
//! almost no correct digit (or to exactly 1, an infinite scale), while `expm1` keeps the full
//! precision at every size. The draws are floating point (Gamma, then Poisson), and their
//! result is an integer, so the released value carries no floating-point artefact of its own
//! (the attack of Mironov 2012 on floating-point Laplace noise does not apply).
//!
//! A [`Laplace`] exists only for parameters where this is sound, and every failure refuses
//! the release rather than releasing less noise:
//!
//! - scale at most [`MAX_SCALE`] (`2^44`): every Poisson mean stays below `2^52` unless the
//!   Gamma draw exceeds 256 (probability below `e^-250`), so every part is an exactly
//!   represented integer; a draw beyond [`MAX_PART`] fails the release ([`DpError::Draw`]);
//! - scale at least [`MIN_SCALE`] (`2^-30`, that is `eps / D` at most about 20.8): below it
//!   the Poisson draw no longer resolves the probability of a nonzero part, so the released
//!   value would be exact more often than `DL(a)` allows;
//! - `eps` and `D` positive and finite, and every distribution constructor's error a refusal.
//!
//! The jobs check every release's parameters before they vote (`noise_plan`), so a job whose
//! noise the sampler cannot draw is refused before anything is charged or opened.

use crate::engine::{Engine, EngineError};
use rand::Rng;
use rand_distr::{Distribution, Gamma, Poisson};
use thiserror::Error;

/// Largest noise scale `theta = a / (1 - a)` the sampler draws (`2^44`).
pub const MAX_SCALE: f64 = 17_592_186_044_416.0;
/// Smallest noise scale the sampler draws (`2^-30`).
pub const MIN_SCALE: f64 = 1.0 / 1_073_741_824.0;
/// Largest magnitude of one Polya draw (`2^53`, the end of the exactly represented integers).
pub const MAX_PART: u64 = 1 << 53;

/// A release the sampler refuses.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DpError {
    /// Epsilon is not a positive, finite number.
    #[error("epsilon must be a positive, finite number, got {0}")]
    Epsilon(f64),
    /// The sensitivity is not a positive, finite number.
    #[error("the sensitivity of a release must be a positive, finite number, got {0}")]
    Sensitivity(f64),
    /// The noise would be wider than the sampler draws exactly.
    #[error(
        "epsilon {epsilon:e} for a sensitivity of {sensitivity:e} needs noise of scale {scale:.3e}, wider than \
         the {MAX_SCALE:e} the noise sampler draws exactly; raise epsilon, declare a narrower range, or \
         release fewer values"
    )]
    TooWide {
        /// The release's epsilon.
        epsilon: f64,
        /// Its sensitivity.
        sensitivity: f64,
        /// The scale it needs.
        scale: f64,
    },
    /// The noise would be narrower than the sampler resolves.
    #[error(
        "epsilon {epsilon:e} for a sensitivity of {sensitivity:e} leaves noise of scale {scale:.3e}, narrower \
         than the {MIN_SCALE:e} the noise sampler resolves (at most {max_ratio:.2} epsilon per unit of \
         sensitivity); lower epsilon"
    )]
    TooNarrow {
        /// The release's epsilon.
        epsilon: f64,
        /// Its sensitivity.
        sensitivity: f64,
        /// The scale it would get.
        scale: f64,
        /// The largest `epsilon / sensitivity`.
        max_ratio: f64,
    },
    /// A draw left the sampler's exact range, or a distribution refused its parameter.
    #[error("a noise draw of scale {scale:.3e} left the sampler's exact range ({why}); nothing was released")]
    Draw {
        /// The scale.
        scale: f64,
        /// What happened.
        why: String,
    },
    /// A value and its noise could leave the ring's signed range.
    #[error(
        "a value bounded by {bound:.3e} units and its noise (up to {noise:.3e}) could leave the fixed-point \
         range; declare a narrower range"
    )]
    Overflow {
        /// The bound of the value, in its units.
        bound: f64,
        /// The bound of the noise.
        noise: f64,
    },
    /// The same, for a named release.
    #[error("{release}: {source}")]
    In {
        /// The release.
        release: String,
        /// Why.
        source: Box<DpError>,
    },
    /// The same, for a release of one feature.
    #[error("the {release} of feature {}: {source}", feature + 1)]
    OfFeature {
        /// The feature's position in the job.
        feature: usize,
        /// Which of its releases.
        release: &'static str,
        /// Why.
        source: Box<DpError>,
    },
}

impl DpError {
    /// This error, about `release`.
    pub fn about(self, release: impl Into<String>) -> DpError {
        DpError::In { release: release.into(), source: Box::new(self) }
    }

    /// This error, about the `release` of the job's feature `feature`.
    pub fn of_feature(self, feature: usize, release: &'static str) -> DpError {
        DpError::OfFeature { feature, release, source: Box::new(self) }
    }

    /// The message, with the job's features named by `names`.
    pub fn describe(&self, names: &[String]) -> String {
        match self {
            DpError::OfFeature { feature, release, source } => match names.get(*feature) {
                Some(name) => format!("the {release} of `{name}`: {}", source.describe(names)),
                None => self.to_string(),
            },
            DpError::In { release, source } => format!("{release}: {}", source.describe(names)),
            other => other.to_string(),
        }
    }
}

/// The largest `epsilon / sensitivity` of one release: that of [`MIN_SCALE`].
pub fn max_ratio() -> f64 {
    MIN_SCALE.ln_1p() - MIN_SCALE.ln()
}

/// The noise of one released value: `DL(a)` with `a = exp(-epsilon / sensitivity)`, known to
/// be inside the sampler's exact range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Laplace {
    ratio: f64,
    scale: f64,
}

impl Laplace {
    /// The noise that makes a release of L1 `sensitivity` (in the value's units)
    /// `epsilon`-differentially private, or why the sampler cannot draw it.
    pub fn new(epsilon: f64, sensitivity: f64) -> Result<Self, DpError> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(DpError::Epsilon(epsilon));
        }
        if !(sensitivity.is_finite() && sensitivity > 0.0) {
            return Err(DpError::Sensitivity(sensitivity));
        }
        let ratio = epsilon / sensitivity;
        // a / (1 - a) = 1 / (exp(ratio) - 1), to full precision at every size.
        let scale = 1.0 / ratio.exp_m1();
        // Written so that a NaN scale is refused too.
        if scale.is_nan() || scale > MAX_SCALE {
            return Err(DpError::TooWide { epsilon, sensitivity, scale });
        }
        if scale < MIN_SCALE {
            return Err(DpError::TooNarrow { epsilon, sensitivity, scale, max_ratio: max_ratio() });
        }
        Ok(Self { ratio, scale })
    }

    /// `theta = a / (1 - a)`, the scale of the Polya parts.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// `a = exp(-epsilon / sensitivity)`.
    #[cfg(test)]
    pub(crate) fn alpha(&self) -> f64 {
        (-self.ratio).exp()
    }

    /// The variance of `DL(a)`, `2a / (1 - a)^2 = 2 theta (1 + theta)`.
    pub fn variance(&self) -> f64 {
        2.0 * self.scale * (1.0 + self.scale)
    }

    /// The mean absolute value of `DL(a)`, `2a / (1 - a^2) = 2 theta (1 + theta) / (1 + 2 theta)`.
    #[cfg(test)]
    pub(crate) fn mean_abs(&self) -> f64 {
        self.variance() / (1.0 + 2.0 * self.scale)
    }

    /// The epsilon per unit of sensitivity that a noise of mean absolute value `mean_abs`
    /// gives: the inverse of [`Laplace::mean_abs`] (to measure the effective epsilon of
    /// drawn noise).
    #[cfg(test)]
    pub(crate) fn ratio_of_mean_abs(mean_abs: f64) -> f64 {
        // mean_abs = 2 t (1 + t) / (1 + 2 t)  =>  2 t^2 + (2 - 2 m) t - m = 0.
        let m = mean_abs;
        let t = ((2.0 * m - 2.0) + ((2.0 - 2.0 * m).powi(2) + 8.0 * m).sqrt()) / 4.0;
        (1.0 / t).ln_1p()
    }
}

/// Checks that the fixed-point sum of `count` values bounded by `magnitude` (in real units)
/// plus the noise of `parties` parties stays inside the ring ([`fits`]).
pub fn sum_fits(count: u64, magnitude: f64, parties: usize) -> Result<(), DpError> {
    fits(crate::fixed::sum_bound(count, magnitude), parties)
}

/// Checks that a value bounded by `bound` (in its units) plus the noise of `parties` parties
/// stays inside the ring's signed range whatever the draws (each part is at most
/// [`MAX_PART`]; a draw beyond fails instead).
pub fn fits(bound: f64, parties: usize) -> Result<(), DpError> {
    let noise = parties as f64 * MAX_PART as f64;
    if bound.abs() + noise < crate::fixed::RING_HALF {
        Ok(())
    } else {
        Err(DpError::Overflow { bound, noise })
    }
}

/// Who draws the noise of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseParties {
    /// Parties that each draw a part.
    pub parties: usize,
    /// Parties whose parts alone must already form the whole noise (the honest ones).
    pub honest: usize,
}

impl NoiseParties {
    /// The parties of an honest-majority cluster of `n`: any `t < n / 2` may collude, so the
    /// parts of the other `n - t` must suffice.
    pub fn cluster(n: usize) -> Self {
        Self { parties: n, honest: n - (n.saturating_sub(1)) / 2 }
    }

    /// One party that draws the whole noise (the plaintext mode: central differential
    /// privacy, with the same `DL(a)` per value).
    pub fn central() -> Self {
        Self { parties: 1, honest: 1 }
    }

    /// The variance of the total noise of a value with noise `noise`.
    pub fn total_variance(&self, noise: &Laplace) -> f64 {
        self.parties as f64 / self.honest.max(1) as f64 * noise.variance()
    }
}

/// One draw of the Polya distribution `NB(r, a)` (failures before `r` successes of
/// probability `1 - a`): a Poisson variable whose mean is `theta g`, `g` from `Gamma(r, 1)`.
fn polya<R: Rng + ?Sized>(rng: &mut R, shape: &Gamma<f64>, noise: &Laplace) -> Result<u64, DpError> {
    let draw_error = |why: String| DpError::Draw { scale: noise.scale, why };
    let mean = noise.scale * shape.sample(rng);
    if !mean.is_finite() || mean < 0.0 {
        return Err(draw_error(format!("a Poisson mean of {mean}")));
    }
    if mean == 0.0 {
        return Ok(0);
    }
    if mean > (MAX_PART / 2) as f64 {
        return Err(draw_error(format!("a Poisson mean of {mean:.3e}")));
    }
    let k = Poisson::new(mean).map_err(|e| draw_error(e.to_string()))?.sample(rng);
    if !(k >= 0.0 && k <= MAX_PART as f64 && k.fract() == 0.0) {
        return Err(draw_error(format!("a Poisson draw of {k}")));
    }
    Ok(k as u64)
}

/// This party's part of one noise value per entry of `noises`: `NB(1/m, a) - NB(1/m, a)`
/// each, so that the parts of any `m` parties add up to `DL(a)`. Any draw outside the
/// sampler's exact range fails the whole release.
pub fn party_noise<R: Rng + ?Sized>(rng: &mut R, noises: &[Laplace], m: usize) -> Result<Vec<i64>, DpError> {
    let r = 1.0 / m.max(1) as f64;
    let shape =
        Gamma::new(r, 1.0).map_err(|e| DpError::Draw { scale: 1.0, why: format!("Gamma({r}, 1): {e}") })?;
    noises
        .iter()
        .map(|noise| Ok(polya(rng, &shape, noise)? as i64 - polya(rng, &shape, noise)? as i64))
        .collect()
}

/// Secret noise, one value per entry of `noises`: every party draws its part with its own
/// generator ([`party_noise`]) and inputs it, one round each; the result is the secret sum of
/// all parts, which no party knows. A party whose draw fails stops the release (its
/// error, or the others' transport error when it leaves).
pub async fn distributed_noise<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    noises: &[Laplace],
    who: NoiseParties,
) -> Result<E::Share, EngineError> {
    let len = noises.len();
    let mine: Vec<u64> = party_noise(rng, noises, who.honest)?.into_iter().map(|v| v as u64).collect();
    let me = engine.party();
    let mut total = engine.public(&vec![0; len]);
    for owner in 0..who.parties {
        let part = engine.input(owner, (owner == me).then_some(&mine[..]), len).await?;
        total = engine.add(&total, &part);
    }
    Ok(total)
}

/// `x` plus distributed noise `noises` (one per value of `x`).
pub async fn add_noise<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    x: &E::Share,
    noises: &[Laplace],
    who: NoiseParties,
) -> Result<E::Share, EngineError> {
    if E::len(x) != noises.len() {
        return Err(EngineError::Shape(format!("{} values, {} noise parameters", E::len(x), noises.len())));
    }
    let noise = distributed_noise(engine, rng, noises, who).await?;
    Ok(engine.add(x, &noise))
}

/// The sensitivity, in units of `2^-16`, of a fixed-point sum when one record's value, which
/// lies in `[lo, hi]`, is replaced by another (bounded differential privacy: the number of
/// records is public), with `slack` units for the rounding of the computation.
pub fn sum_sensitivity(lo: f64, hi: f64, slack: f64) -> f64 {
    ((hi - lo).max(0.0) * crate::fixed::SCALE).ceil() + slack
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The frequencies of `k = -3..=3` in `draws` against `DL(a)`, each within `tol`.
    fn matches_discrete_laplace(draws: &[i64], alpha: f64, tol: f64) {
        let n = draws.len() as f64;
        for k in -3i64..=3 {
            let want = (1.0 - alpha) / (1.0 + alpha) * alpha.powi(k.unsigned_abs() as i32);
            let got = draws.iter().filter(|&&d| d == k).count() as f64 / n;
            assert!((got - want).abs() < tol, "P({k}) = {got}, expected {want}");
        }
    }

    /// The sums of `m` parties' parts of `count` values of `noise`.
    fn sums_of_parts(rng: &mut rand_chacha::ChaCha20Rng, noise: Laplace, m: usize, count: usize) -> Vec<i64> {
        let noises = vec![noise; count];
        let parts: Vec<Vec<i64>> = (0..m).map(|_| party_noise(rng, &noises, m).unwrap()).collect();
        (0..count).map(|i| parts.iter().map(|p| p[i]).sum()).collect()
    }

    #[test]
    fn any_m_parts_add_up_to_discrete_laplace() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for (alpha, m) in [(0.5f64, 2), (0.8, 3), (0.3, 1)] {
            let noise = Laplace::new(-alpha.ln(), 1.0).unwrap();
            assert!((noise.alpha() - alpha).abs() < 1e-12);
            let sums = sums_of_parts(&mut rng, noise, m, 60_000);
            matches_discrete_laplace(&sums, alpha, 0.01);
            let len = sums.len() as f64;
            let mean = sums.iter().sum::<i64>() as f64 / len;
            let var = sums.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / len;
            let sd = noise.variance().sqrt();
            assert!(mean.abs() < 5.0 * sd / len.sqrt(), "mean {mean}");
            assert!((var / noise.variance() - 1.0).abs() < 0.05, "variance {var} vs {}", noise.variance());
        }
    }

    /// The effective epsilon of drawn noise equals the one asked for, from the narrowest
    /// noise the sampler draws to the widest, for declared ranges from a unit to `2^31`
    /// (sensitivities `2` to `2^47` units) and budgets from `1e-7` to 40 per release: the
    /// epsilon read back from the mean absolute value of 20,000 sums of the parts of 3
    /// parties (2 honest) is within 4 standard errors of the one asked for (about 3% here),
    /// and the frequencies of small values match `DL(a)` where they are measurable.
    #[test]
    fn drawn_noise_has_the_epsilon_it_was_asked_for_at_every_scale() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
        let wide = sum_sensitivity(-2_147_483_648.0, 2_147_483_648.0, 1.0);
        let cases = [
            (1e-7, 2.0),
            (0.01, 2.0),
            (0.5, 2.0),
            (4.0, 2.0),
            (8.0, 2.0),
            (16.0, 2.0),
            (40.0, 2.0),
            (0.5, sum_sensitivity(0.0, 1.0, 1.0)),
            (0.005, sum_sensitivity(0.0, 1.0e6, 1.0)),
            (1e-4, sum_sensitivity(0.0, 120.0, 1.0)),
            (200.0, wide),
            (1.0e4, wide),
        ];
        let count = 20_000;
        for (epsilon, sensitivity) in cases {
            let noise = Laplace::new(epsilon, sensitivity).unwrap();
            let sums = sums_of_parts(&mut rng, noise, 2, count);
            let mean_abs = sums.iter().map(|s| s.unsigned_abs() as f64).sum::<f64>() / count as f64;
            // The standard error of the mean absolute value: sqrt(E[X^2] - E|X|^2) / sqrt(n).
            let se = (noise.variance() - noise.mean_abs().powi(2)).max(0.0).sqrt() / (count as f64).sqrt();
            assert!(
                (mean_abs - noise.mean_abs()).abs() <= 4.0 * se + 1e-9,
                "epsilon {epsilon}, sensitivity {sensitivity}: mean |noise| {mean_abs}, expected {} +- {se}",
                noise.mean_abs()
            );
            if noise.mean_abs() > 0.05 {
                let effective = Laplace::ratio_of_mean_abs(mean_abs) * sensitivity;
                let tolerance = 4.0 * se / noise.mean_abs();
                assert!(
                    (effective / epsilon - 1.0).abs() < tolerance,
                    "epsilon {epsilon}, sensitivity {sensitivity}: effective epsilon {effective} (+- {tolerance})"
                );
            }
            // The share of nonzero values, 1 - P(0) = 2a / (1 + a), within 5 binomial
            // standard deviations: what tells a budget near the narrow end from no noise.
            let a = noise.alpha();
            let p = 2.0 * a / (1.0 + a);
            let nonzero = sums.iter().filter(|&&s| s != 0).count() as f64;
            let sd = (count as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (nonzero - count as f64 * p).abs() <= 5.0 * sd + 1.0,
                "epsilon {epsilon}, sensitivity {sensitivity}: {nonzero} nonzero of {count}, expected {}",
                count as f64 * p
            );
            if a < 0.999 {
                matches_discrete_laplace(&sums, a, 0.015);
            }
        }
    }

    #[test]
    fn the_scale_keeps_its_precision_where_one_minus_a_loses_it() {
        // eps / D = 7.8e-17: exp(-x) rounds to exactly 1, the old scale a / (1 - a) was
        // infinite, and the sampler released no noise at all.
        let noise = Laplace::new(0.005, 6.4e13);
        assert!(matches!(noise, Err(DpError::TooWide { .. })), "{noise:?}");
        // eps / D = 7.6e-14: 1 - a has about three correct digits; the scale is exact.
        let noise = Laplace::new(0.005, 6.5e10).unwrap();
        assert!((noise.scale() * 0.005 / 6.5e10 - 1.0).abs() < 1e-9, "{}", noise.scale());
        let old = {
            let a = (-0.005f64 / 6.5e10).exp();
            a / (1.0 - a)
        };
        assert!((old * 0.005 / 6.5e10 - 1.0).abs() > 1e-4, "the float 1 - a did lose precision: {old}");
    }

    #[test]
    fn parameters_outside_the_exact_range_are_refused() {
        for (epsilon, sensitivity) in [(0.0, 1.0), (-1.0, 1.0), (f64::NAN, 1.0), (f64::INFINITY, 1.0)] {
            assert!(matches!(Laplace::new(epsilon, sensitivity), Err(DpError::Epsilon(_))), "{epsilon}");
        }
        for sensitivity in [0.0, -2.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(Laplace::new(1.0, sensitivity), Err(DpError::Sensitivity(_))));
        }
        // Too little noise to resolve: epsilon 1e300, or just past the largest ratio.
        assert!(matches!(Laplace::new(1e300, 2.0), Err(DpError::TooNarrow { .. })));
        assert!(matches!(Laplace::new(max_ratio() * 2.0 * 1.001, 2.0), Err(DpError::TooNarrow { .. })));
        assert!(Laplace::new(max_ratio() * 2.0 * 0.999, 2.0).is_ok());
        // Too much noise to draw exactly: a tiny epsilon for a count, or a wide range.
        assert!(matches!(Laplace::new(1e-20, 2.0), Err(DpError::TooWide { .. })));
        assert!(matches!(Laplace::new(1e-6, 1e10), Err(DpError::TooWide { .. })));
        let edge = 1.0 / MAX_SCALE;
        assert!(Laplace::new(edge * 1.001, 1.0).is_ok());
        assert!(matches!(Laplace::new(edge * 0.999, 1.0), Err(DpError::TooWide { .. })));
        let err = Laplace::new(1e-20, 2.0).unwrap_err().about("the count of segment 1").to_string();
        assert!(
            err.starts_with("the count of segment 1: epsilon 1e-20") && err.contains("raise epsilon"),
            "{err}"
        );
        assert!(fits(1e18, 5).is_ok());
        assert!(matches!(fits(9.2e18, 3), Err(DpError::Overflow { .. })));
    }

    #[test]
    fn the_widest_noise_draws_exact_integers_of_the_right_spread() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let noise = Laplace::new(1.0 / MAX_SCALE * 1.0001, 1.0).unwrap();
        let draws = party_noise(&mut rng, &vec![noise; 20_000], 1).unwrap();
        let var = draws.iter().map(|&d| (d as f64).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((var / noise.variance() - 1.0).abs() < 0.05, "{var} vs {}", noise.variance());
        assert!(draws.iter().all(|d| d.unsigned_abs() <= MAX_PART));
        assert!(draws.iter().any(|d| d % 2 != 0), "odd values are drawn too");
    }

    #[test]
    fn the_honest_parties_of_a_cluster() {
        assert_eq!(NoiseParties::cluster(3), NoiseParties { parties: 3, honest: 2 });
        assert_eq!(NoiseParties::cluster(4), NoiseParties { parties: 4, honest: 3 });
        assert_eq!(NoiseParties::cluster(5), NoiseParties { parties: 5, honest: 3 });
        let noise = Laplace::new(-(0.5f64).ln(), 1.0).unwrap();
        assert!((noise.variance() - 4.0).abs() < 1e-12);
        assert!((NoiseParties::cluster(3).total_variance(&noise) - 6.0).abs() < 1e-12);
        assert!((Laplace::ratio_of_mean_abs(noise.mean_abs()) + (0.5f64).ln()).abs() < 1e-12);
    }
}
