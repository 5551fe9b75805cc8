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
//! For a release of sensitivity `D` (in the units the value is encoded in), `a = exp(-eps / D)`
//! gives `eps`-differential privacy against any `t` parties and the operator.

use crate::engine::Engine;
use crate::replicated::EngineError;
use rand::Rng;
use rand_distr::{Distribution, Gamma, Poisson};

/// The discrete Laplace parameter `a` for privacy `epsilon` and sensitivity `sensitivity`
/// (both positive).
pub fn alpha(epsilon: f64, sensitivity: f64) -> f64 {
    (-epsilon / sensitivity).exp()
}

/// The variance of `DL(a)`: `2a / (1 - a)^2`.
pub fn variance(alpha: f64) -> f64 {
    2.0 * alpha / ((1.0 - alpha) * (1.0 - alpha))
}

/// One draw of the Polya distribution `NB(r, a)` (failures before `r` successes of
/// probability `1 - a`), as a Poisson variable whose mean is drawn from `Gamma(r, a / (1 - a))`.
fn polya<R: Rng + ?Sized>(rng: &mut R, r: f64, alpha: f64) -> u64 {
    let mean = Gamma::new(r, alpha / (1.0 - alpha)).expect("positive shape and scale").sample(rng);
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).map_or(0, |p| p.sample(rng) as u64)
}

/// This party's part of `len` noise values: `NB(1/m, a) - NB(1/m, a)` each, so that the parts
/// of any `m` parties add up to `DL(a)`.
pub fn party_noise<R: Rng + ?Sized>(rng: &mut R, alpha: f64, m: usize, len: usize) -> Vec<i64> {
    let r = 1.0 / m.max(1) as f64;
    (0..len).map(|_| polya(rng, r, alpha) as i64 - polya(rng, r, alpha) as i64).collect()
}

/// Secret noise for `len` values: every one of the `parties` parties draws its part with its
/// own generator (`m` = honest parties, see [`party_noise`]) and inputs it, one round each;
/// the result is the secret sum of all parts, which no party knows.
pub async fn distributed_noise<E: Engine, R: Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    alpha: f64,
    len: usize,
    parties: usize,
    m: usize,
) -> Result<E::Share, EngineError> {
    let mine: Vec<u64> = party_noise(rng, alpha, m, len).into_iter().map(|v| v as u64).collect();
    let me = engine.party();
    let mut total = engine.public(&vec![0; len]);
    for owner in 0..parties {
        let part = engine.input(owner, (owner == me).then_some(&mine[..]), len).await?;
        total = engine.add(&total, &part);
    }
    Ok(total)
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
            let len = 60_000;
            let parts: Vec<Vec<i64>> = (0..m).map(|_| party_noise(&mut rng, alpha, m, len)).collect();
            let sums: Vec<i64> = (0..len).map(|i| parts.iter().map(|p| p[i]).sum()).collect();
            matches_discrete_laplace(&sums, alpha, 0.01);
            let mean = sums.iter().sum::<i64>() as f64 / len as f64;
            let var = sums.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / len as f64;
            let sd = variance(alpha).sqrt();
            assert!(mean.abs() < 5.0 * sd / (len as f64).sqrt(), "mean {mean}");
            assert!((var / variance(alpha) - 1.0).abs() < 0.05, "variance {var} vs {}", variance(alpha));
        }
    }

    #[test]
    fn alpha_gives_the_privacy_ratio() {
        // Neighbouring outputs differ in probability by exp(eps) at most.
        let a = alpha(0.5, 2.0);
        assert!((a.ln().abs() * 2.0 - 0.5).abs() < 1e-12);
        assert!((variance(0.5) - 4.0).abs() < 1e-12);
    }
}
