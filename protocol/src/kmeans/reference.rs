//! The plaintext mode, and a floating-point version of the job to check it against.

use super::{KmeansError, Outcome, Params, Shape, labels_from_onehot, outcome, random_centroids, secure_job};
use crate::clear::{self, Clear};

/// The plaintext mode: the k-means job run on [`Clear`], the same code, starting centroids
/// and fixed-point arithmetic as the secure job, over records the caller holds (`rows[i]` has
/// the `d` features, `bounds[j]` is feature `j`'s declared range). Returns the outcome and
/// each record's segment, numbered as in [`Outcome::ids`]. It agrees with the secure job up
/// to the rounding of its truncations (see [`crate::clear`]).
pub fn plain_job(
    rows: &[Vec<f64>],
    bounds: &[(f64, f64)],
    p: Params,
) -> Result<(Outcome, Vec<usize>), KmeansError> {
    let mut engine = Clear::new();
    let shares = clear::run(secure_job(&mut engine, &columns(rows, bounds.len())?, bounds, p, &|_, _| {}))?;
    read(p.k, bounds.len(), &shares.outputs, &shares.published, &shares.assignment)
}

/// The fixed-point columns of `rows` (`d` features each).
fn columns(rows: &[Vec<f64>], d: usize) -> Result<Vec<Vec<u64>>, KmeansError> {
    let mut columns = vec![Vec::with_capacity(rows.len()); d];
    for row in rows {
        for (column, v) in columns.iter_mut().zip(row) {
            column.push(crate::fixed::encode(*v)?);
        }
    }
    Ok(columns)
}

/// The outcome and each record's segment from a plaintext run's outputs.
fn read(
    k: usize,
    d: usize,
    outputs: &[u64],
    published: &super::Published,
    assignment: &[u64],
) -> Result<(Outcome, Vec<usize>), KmeansError> {
    let outcome = outcome(k, d, outputs, published)
        .ok_or_else(|| KmeansError::Engine(crate::engine::EngineError::Shape("k-means outputs".into())))?;
    Ok((outcome, labels_from_onehot(assignment, k)))
}

/// The private job in the plaintext mode: [`super::private::private_job`] on [`Clear`], with
/// the whole noise drawn centrally from `rng` (central differential privacy, `DL(a)` per
/// value; the cluster's noise is the sum of every node's part, a little wider).
pub fn plain_private_job<R: rand::Rng + ?Sized>(
    rows: &[Vec<f64>],
    bounds: &[(f64, f64)],
    p: super::private::PrivateParams,
    rng: &mut R,
) -> Result<(Outcome, Vec<usize>), KmeansError> {
    let mut engine = Clear::new();
    let who = crate::dp::NoiseParties::central();
    let columns = columns(rows, bounds.len())?;
    let shares =
        clear::run(super::private::private_job(&mut engine, rng, &columns, bounds, p, who, &|_, _| {}))?;
    read(p.k, bounds.len(), &shares.outputs, &shares.published, &shares.assignment)
}

/// Centroids, sizes and the cluster of each record, from [`lloyd_plain`].
pub type PlainRun = (Vec<f64>, Vec<u64>, Vec<usize>);

/// The same iterations in floating point, for checking: returns centroids, sizes and the
/// cluster of each record. Ties go to the lowest cluster, empty clusters keep their centroid.
pub fn lloyd_plain(x: &[f64], init: &[f64], s: Shape, iterations: usize) -> PlainRun {
    let mut c = init.to_vec();
    let mut sizes = vec![0u64; s.k];
    let mut labels = vec![0usize; s.n];
    for _ in 0..iterations.max(1) {
        for (i, label) in labels.iter_mut().enumerate() {
            let row = &x[i * s.d..(i + 1) * s.d];
            let score = |j: usize| {
                let cj = &c[j * s.d..(j + 1) * s.d];
                cj.iter().map(|v| v * v).sum::<f64>()
                    - 2.0 * row.iter().zip(cj).map(|(a, b)| a * b).sum::<f64>()
            };
            *label = (0..s.k).fold(0, |best, j| if score(j) < score(best) { j } else { best });
        }
        let mut sums = vec![0.0; s.k * s.d];
        sizes = vec![0; s.k];
        for (i, &j) in labels.iter().enumerate() {
            sizes[j] += 1;
            for f in 0..s.d {
                sums[j * s.d + f] += x[i * s.d + f];
            }
        }
        for j in 0..s.k {
            if sizes[j] > 0 {
                for f in 0..s.d {
                    c[j * s.d + f] = sums[j * s.d + f] / sizes[j] as f64;
                }
            }
        }
    }
    (c, sizes, labels)
}

/// The job in floating point, for checking the fixed-point algorithm: population means and
/// deviations, standardisation, Lloyd iterations from [`random_centroids`] (whatever
/// `p.init` says), the run with the lowest WCSS. Returns the outcome and each record's
/// segment, numbered as in [`Outcome::ids`].
pub fn float_job(rows: &[Vec<f64>], p: Params) -> (Outcome, Vec<usize>) {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    let means: Vec<f64> = (0..d).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n.max(1) as f64).collect();
    let stds: Vec<f64> = (0..d)
        .map(|j| (rows.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt())
        .collect();
    let z: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            (0..d).map(|j| if stds[j] > 0.0 { (r[j] - means[j]) / stds[j] } else { 0.0 }).collect::<Vec<_>>()
        })
        .collect();
    let shape = Shape { n, d, k: p.k };
    let runs = p.restarts.max(1);
    let starts = random_centroids(runs * p.k, d, p.seed);
    // (run result, WCSS) of the best run so far.
    let mut best: Option<(PlainRun, f64)> = None;
    for r in 0..runs {
        let init = &starts[r * p.k * d..(r + 1) * p.k * d];
        let run = lloyd_plain(&z, init, shape, p.iterations);
        let (centroids_std, labels) = (&run.0, &run.2);
        // The last assignment to the final centroids, as the secure job measures it.
        let wcss: f64 = (0..n)
            .map(|i| {
                let j = labels[i];
                (0..d).map(|f| (z[i * d + f] - centroids_std[j * d + f]).powi(2)).sum::<f64>()
            })
            .sum();
        if best.as_ref().is_none_or(|b| wcss < b.1) {
            best = Some((run, wcss));
        }
    }
    let ((centroids_std, sizes, labels), wcss) = best.expect("at least one run");
    let centroids = centroids_std.iter().enumerate().map(|(i, c)| means[i % d] + stds[i % d] * c).collect();
    let outcome = Outcome {
        k: p.k,
        d,
        centroids_std,
        centroids,
        sizes,
        wcss: Some(wcss),
        scaling: super::Scaling::Standardised,
        centres: means,
        scales: stds,
        ids: (0..p.k).collect(),
        suppressed: vec![false; p.k],
    };
    (outcome.sorted(), labels)
}
