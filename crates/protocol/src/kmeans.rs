//! Secure k-means (Lloyd's algorithm) on secret-shared, standardised fixed-point data.
//!
//! The default leakage profile: a public, fixed number of iterations; centroids stay secret
//! between iterations (revealing them each round would let an observer reconstruct inputs);
//! only what the caller opens at the end is revealed. One iteration:
//!
//! 1. distances `||c_j||^2 - 2 x_i . c_j` (the `||x_i||^2` term is the same for every `j`):
//!    one matrix product `X C^T` and one dot product per centroid, both one round, kept at
//!    `2f` fractional bits (no truncation: only their order matters);
//! 2. a secret one-hot assignment per record by an argmin tournament over the `k` columns;
//! 3. sums per cluster `A^T X` (one matrix product; exact, the one-hot is 0/1) and sizes by
//!    local sums of the one-hot columns;
//! 4. new centroids `sums / sizes` by secure division; a cluster that lost all its records
//!    keeps its previous centroid (`[size == 0]` selects it with one multiplication).
//!
//! Mohassel, Rosulek and Trieu (PoPETs 2020) describe this structure; here every step runs on
//! the [`Engine`] interface, so any trust model can run it.

use crate::engine::Engine;
use crate::fixed::FRAC_BITS;
use crate::replicated::EngineError;

/// Shape and length of a k-means run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Records.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Clusters.
    pub k: usize,
}

/// The secret result of Lloyd iterations.
#[derive(Debug, Clone)]
pub struct Clusters<S> {
    /// Centroids, `k x d` row-major, fixed point.
    pub centroids: S,
    /// Records per cluster, `k` plain integers.
    pub sizes: S,
    /// One-hot assignment of each record, `n x k` row-major.
    pub assignment: S,
}

/// Secret squared distances (up to the per-record constant `||x_i||^2`), `n x k`, with `2f`
/// fractional bits.
pub async fn distances<E: Engine>(
    engine: &mut E,
    x: &E::Share,
    c: &E::Share,
    s: Shape,
) -> Result<E::Share, EngineError> {
    let ct = engine.transpose(c, s.k, s.d);
    let xc = engine.matmul(x, &ct, s.n, s.d, s.k).await?;
    let cc = engine.dot(c, c, s.d).await?;
    let rows: Vec<&E::Share> = std::iter::repeat_n(&cc, s.n).collect();
    let cc_rows = engine.concat(&rows);
    Ok(engine.sub(&cc_rows, &engine.mul_public(&xc, &vec![2; s.n * s.k])))
}

/// Runs `iterations` Lloyd iterations from the secret centroids `init` (`k x d`) on the secret
/// records `x` (`n x d`), both fixed point.
pub async fn lloyd<E: Engine>(
    engine: &mut E,
    x: &E::Share,
    init: &E::Share,
    s: Shape,
    iterations: usize,
) -> Result<Clusters<E::Share>, EngineError> {
    let mut centroids = init.clone();
    let mut last = None;
    for _ in 0..iterations.max(1) {
        let dist = distances(engine, x, &centroids, s).await?;
        let (_, assignment) = engine.argmin(&dist, s.k).await?;
        let at = engine.transpose(&assignment, s.n, s.k);
        let sums = engine.matmul(&at, x, s.k, s.n, s.d).await?;
        let columns = engine.split(&at, &vec![s.n; s.k]);
        let sizes_list: Vec<E::Share> = columns.iter().map(|c| engine.sum(c)).collect();
        let sizes = engine.concat(&sizes_list.iter().collect::<Vec<_>>());
        centroids = update(engine, &centroids, &sums, &sizes, s).await?;
        last = Some((sizes, assignment));
    }
    let (sizes, assignment) = last.expect("at least one iteration");
    Ok(Clusters { centroids, sizes, assignment })
}

/// New centroids `sums / sizes`, keeping the previous centroid of an empty cluster.
async fn update<E: Engine>(
    engine: &mut E,
    previous: &E::Share,
    sums: &E::Share,
    sizes: &E::Share,
    s: Shape,
) -> Result<E::Share, EngineError> {
    let empty = engine.eqz(sizes).await?;
    // Per centroid coordinate: the size (as fixed point, 1 for an empty cluster) and the flag.
    let one = 1u64 << FRAC_BITS;
    let denominators =
        engine.add(&engine.mul_public(sizes, &vec![one; s.k]), &engine.mul_public(&empty, &vec![one; s.k]));
    let spread = |engine: &E, v: &E::Share| {
        let copies: Vec<&E::Share> = std::iter::repeat_n(v, s.d).collect();
        engine.transpose(&engine.concat(&copies), s.d, s.k)
    };
    let den = spread(engine, &denominators);
    let flag = spread(engine, &empty);
    let means = engine.div(sums, &den).await?;
    let keep = engine.mul(&flag, &engine.sub(previous, &means)).await?;
    Ok(engine.add(&means, &keep))
}

/// The same iterations in floating point, for checking: returns centroids, sizes and the
/// cluster of each record. Ties go to the lowest cluster, empty clusters keep their centroid.
pub fn lloyd_plain(x: &[f64], init: &[f64], s: Shape, iterations: usize) -> (Vec<f64>, Vec<u64>, Vec<usize>) {
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
