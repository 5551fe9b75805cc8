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
//! [`crate::stats::dp_alphas`], [`crate::kmeans::private`], [`crate::fairness::dp_alpha`].
//!
//! The sampler works in floating point (a Gamma draw, then a Poisson draw); the result is an
//! integer, so the released value carries no floating-point artefact of its own, but the
//! probabilities of the draws are those of `f64` arithmetic, not exact ones.

use crate::engine::Engine;
use crate::replicated::EngineError;
use rand::Rng;
use rand_distr::{Distribution, Gamma, Poisson};

/// The discrete Laplace parameter `a` for privacy `epsilon` and sensitivity `sensitivity`
/// (both positive; no noise, `a = 0`, when the sensitivity is 0).
pub fn alpha(epsilon: f64, sensitivity: f64) -> f64 {
    if sensitivity <= 0.0 { 0.0 } else { (-epsilon / sensitivity).exp() }
}

/// The variance of `DL(a)`: `2a / (1 - a)^2`.
pub fn variance(alpha: f64) -> f64 {
    2.0 * alpha / ((1.0 - alpha) * (1.0 - alpha))
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

    /// The variance of the total noise of a value with parameter `alpha`.
    pub fn total_variance(&self, alpha: f64) -> f64 {
        self.parties as f64 / self.honest.max(1) as f64 * variance(alpha)
    }
}

/// One draw of the Polya distribution `NB(r, a)` (failures before `r` successes of
/// probability `1 - a`), as a Poisson variable whose mean is drawn from `Gamma(r, a / (1 - a))`.
fn polya<R: Rng + ?Sized>(rng: &mut R, r: f64, alpha: f64) -> u64 {
    if alpha <= 0.0 {
        return 0;
    }
    let mean = Gamma::new(r, alpha / (1.0 - alpha)).expect("positive shape and scale").sample(rng);
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |p| p.sample(rng) as u64)
}

/// This party's part of one noise value per entry of `alphas`: `NB(1/m, a) - NB(1/m, a)`
/// each, so that the parts of any `m` parties add up to `DL(a)`.
pub fn party_noise<R: Rng + ?Sized>(rng: &mut R, alphas: &[f64], m: usize) -> Vec<i64> {
    let r = 1.0 / m.max(1) as f64;
    alphas.iter().map(|&a| polya(rng, r, a) as i64 - polya(rng, r, a) as i64).collect()
}

/// Secret noise, one value per entry of `alphas`: every party draws its part with its own
/// generator ([`party_noise`]) and inputs it, one round each; the result is the secret sum of
/// all parts, which no party knows.
pub async fn distributed_noise<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    alphas: &[f64],
    who: NoiseParties,
) -> Result<E::Share, EngineError> {
    let len = alphas.len();
    let mine: Vec<u64> = party_noise(rng, alphas, who.honest).into_iter().map(|v| v as u64).collect();
    let me = engine.party();
    let mut total = engine.public(&vec![0; len]);
    for owner in 0..who.parties {
        let part = engine.input(owner, (owner == me).then_some(&mine[..]), len).await?;
        total = engine.add(&total, &part);
    }
    Ok(total)
}

/// `x` plus distributed noise with parameters `alphas` (one per value of `x`).
pub async fn add_noise<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    x: &E::Share,
    alphas: &[f64],
    who: NoiseParties,
) -> Result<E::Share, EngineError> {
    if E::len(x) != alphas.len() {
        return Err(EngineError::Shape(format!("{} values, {} noise parameters", E::len(x), alphas.len())));
    }
    let noise = distributed_noise(engine, rng, alphas, who).await?;
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

    #[test]
    fn any_m_parts_add_up_to_discrete_laplace() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for (alpha, m) in [(0.5, 2), (0.8, 3), (0.3, 1)] {
            let alphas = vec![alpha; 60_000];
            let parts: Vec<Vec<i64>> = (0..m).map(|_| party_noise(&mut rng, &alphas, m)).collect();
            let sums: Vec<i64> = (0..alphas.len()).map(|i| parts.iter().map(|p| p[i]).sum()).collect();
            matches_discrete_laplace(&sums, alpha, 0.01);
            let len = sums.len() as f64;
            let mean = sums.iter().sum::<i64>() as f64 / len;
            let var = sums.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / len;
            let sd = variance(alpha).sqrt();
            assert!(mean.abs() < 5.0 * sd / len.sqrt(), "mean {mean}");
            assert!((var / variance(alpha) - 1.0).abs() < 0.05, "variance {var} vs {}", variance(alpha));
        }
    }

    #[test]
    fn wide_noise_has_the_variance_of_its_parameter() {
        // The scale of a fixed-point sum: sensitivity 2^17 units, eps 0.5.
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let a = alpha(0.5, 131_072.0);
        let draws = party_noise(&mut rng, &vec![a; 40_000], 1);
        let var = draws.iter().map(|&d| (d as f64).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((var / variance(a) - 1.0).abs() < 0.05, "{var} vs {}", variance(a));
    }

    #[test]
    fn alpha_gives_the_privacy_ratio() {
        // Neighbouring outputs differ in probability by exp(eps) at most.
        let a = alpha(0.5, 2.0);
        assert!((a.ln().abs() * 2.0 - 0.5).abs() < 1e-12);
        assert!((variance(0.5) - 4.0).abs() < 1e-12);
        assert_eq!(alpha(1.0, 0.0), 0.0);
        assert_eq!(party_noise(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1), &[0.0; 5], 2), vec![0; 5]);
    }

    #[test]
    fn the_honest_parties_of_a_cluster() {
        assert_eq!(NoiseParties::cluster(3), NoiseParties { parties: 3, honest: 2 });
        assert_eq!(NoiseParties::cluster(4), NoiseParties { parties: 4, honest: 3 });
        assert_eq!(NoiseParties::cluster(5), NoiseParties { parties: 5, honest: 3 });
        assert!((NoiseParties::cluster(3).total_variance(0.5) - 6.0).abs() < 1e-12);
    }
}
