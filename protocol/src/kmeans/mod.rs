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

use crate::engine::{Engine, EngineError};
use crate::fixed::FRAC_BITS;

pub mod private;
mod reference;
mod seeding;
mod suppress;

pub use reference::{float_job, lloyd_plain, plain_job, plain_private_job};
pub use seeding::{Init, candidates, max_squared_distance, plus_plus, random_centroids, seeding_shift};
pub use suppress::{Published, Scaling, complement, suppress_small};

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
    /// Sum of the records of each cluster under that assignment, `k x d` (fixed point).
    pub sums: S,
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
    lloyd_runs(engine, x, init, s, 1, iterations, &|_, _| {}).await
}

/// Called after each Lloyd iteration with the number done and the total.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Runs `runs` independent k-means side by side: `init` holds `runs x k` centroids (run after
/// run) and every round serves all runs at once: one matrix product for all distances, one
/// argmin over each run's `k` columns, one matrix product for all sums, one division. The
/// result holds `runs x k` centroids and sizes, and the `n x (runs k)` assignment.
pub async fn lloyd_runs<E: Engine>(
    engine: &mut E,
    x: &E::Share,
    init: &E::Share,
    s: Shape,
    runs: usize,
    iterations: usize,
    progress: Progress<'_>,
) -> Result<Clusters<E::Share>, EngineError> {
    let all = Shape { k: runs * s.k, ..s };
    let mut centroids = init.clone();
    let mut last = None;
    for done in 1..=iterations.max(1) {
        let dist = distances(engine, x, &centroids, all).await?;
        // Rows of k: record i, run r.
        let (_, assignment) = engine.argmin(&dist, s.k).await?;
        let at = engine.transpose(&assignment, s.n, all.k);
        let sums = engine.matmul(&at, x, all.k, s.n, s.d).await?;
        let sizes = engine.sums(&engine.split(&at, &vec![s.n; all.k]));
        centroids = update(engine, &centroids, &sums, &sizes, all).await?;
        last = Some((sizes, assignment, sums));
        progress(done, iterations.max(1));
    }
    let (sizes, assignment, sums) = last.expect("at least one iteration");
    Ok(Clusters { centroids, sizes, assignment, sums })
}

/// The kept run of a k-means job.
#[derive(Debug, Clone)]
pub struct Best<S> {
    /// Centroids, `k x d`.
    pub centroids: S,
    /// Records per segment, `k`.
    pub sizes: S,
    /// Within-cluster sum of squares, one fixed-point value.
    pub wcss: S,
    /// One-hot segment of each record (from the last assignment step), `n x k`.
    pub assignment: S,
}

/// Of `runs` side-by-side results, keeps the one with the lowest within-cluster sum of
/// squares (decided on shares; ties go to the lowest run). `z_bounds` bound the features'
/// magnitudes.
///
/// The WCSS of a run is that of its last assignment to its final centroids, from the cluster
/// sums alone: `sum_i |x_i|^2 + sum_j (n_j |c_j|^2 - 2 c_j . S_j)`, exact for any `c_j`, so it
/// costs two rounds on `k` values instead of a distance and an argmin per record, and it
/// describes the same assignment as the sizes and labels.
pub async fn best_run<E: Engine>(
    engine: &mut E,
    x: &E::Share,
    clusters: &Clusters<E::Share>,
    s: Shape,
    runs: usize,
    z_bounds: &[f64],
) -> Result<Best<E::Share>, EngineError> {
    let all = runs * s.k;
    let norms = engine.dot(x, x, s.d).await?; // n, 2f fractional bits
    let c = &clusters.centroids;
    let products = engine.dot(&engine.concat(&[c, c]), &engine.concat(&[&clusters.sums, c]), s.d).await?;
    let halves = engine.split(&products, &[all, all]);
    let (cross, squares) = (&halves[0], &halves[1]);
    let weighted = engine.mul(&clusters.sizes, squares).await?;
    let per_cluster = engine.sub(&weighted, &engine.mul_public(cross, &vec![2; all]));
    // Exact sums at 2f bits, truncated once per run, when they fit (the usual case);
    // otherwise every term is truncated first.
    let exact = seeding_shift(s.n, max_squared_distance(z_bounds)) == Some(0);
    let (norm_total, per_cluster) = if exact {
        (engine.sum(&norms), per_cluster)
    } else {
        let both = engine.trunc(&engine.concat(&[&norms, &per_cluster]), FRAC_BITS).await?;
        let parts = engine.split(&both, &[s.n, all]);
        (engine.sum(&parts[0]), parts[1].clone())
    };
    let totals: Vec<E::Share> = engine
        .split(&per_cluster, &vec![s.k; runs])
        .iter()
        .map(|r| engine.add(&engine.sum(r), &norm_total))
        .collect();
    let totals = engine.concat(&totals.iter().collect::<Vec<_>>());
    let totals = if exact { engine.trunc(&totals, FRAC_BITS).await? } else { totals };
    // Each run's assignment, transposed: run after run, k x n.
    let assignment_t = engine.transpose(&clusters.assignment, s.n, all);
    if runs == 1 {
        return Ok(Best {
            centroids: clusters.centroids.clone(),
            sizes: clusters.sizes.clone(),
            wcss: totals,
            assignment: clusters.assignment.clone(),
        });
    }
    let (_, choice) = engine.argmin(&totals, runs).await?;
    // One multiplication round: every value of every run by that run's 0/1 choice.
    let widths = [s.k * s.d, s.k, 1, s.k * s.n];
    let choice_parts = engine.split(&choice, &vec![1; runs]);
    let per_run = |v: &E::Share, width: usize| engine.split(v, &vec![width; runs]);
    let sources = [
        per_run(&clusters.centroids, widths[0]),
        per_run(&clusters.sizes, widths[1]),
        per_run(&totals, widths[2]),
        per_run(&assignment_t, widths[3]),
    ];
    let mut flags = Vec::new();
    let mut values = Vec::new();
    for (source, &width) in sources.iter().zip(&widths) {
        for (r, part) in source.iter().enumerate() {
            let copies: Vec<&E::Share> = std::iter::repeat_n(&choice_parts[r], width).collect();
            flags.push(engine.concat(&copies));
            values.push(part.clone());
        }
    }
    let picked = engine
        .mul(
            &engine.concat(&flags.iter().collect::<Vec<_>>()),
            &engine.concat(&values.iter().collect::<Vec<_>>()),
        )
        .await?;
    let lengths: Vec<usize> = widths.iter().flat_map(|&w| std::iter::repeat_n(w, runs)).collect();
    let pieces = engine.split(&picked, &lengths);
    let mut chunks = pieces.chunks(runs);
    let fold = |chunk: &[E::Share]| chunk[1..].iter().fold(chunk[0].clone(), |acc, p| engine.add(&acc, p));
    let centroids = fold(chunks.next().expect("centroids"));
    let sizes = fold(chunks.next().expect("sizes"));
    let wcss = fold(chunks.next().expect("wcss"));
    let assignment = engine.transpose(&fold(chunks.next().expect("assignment")), s.k, s.n);
    Ok(Best { centroids, sizes, wcss, assignment })
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

/// Extra fractional bits of the standardisation factors `1 / sigma`: the product
/// `z 2^(2f + bits)` must stay below `2^62`, so standardised values stay below
/// `2^(30 - bits)` = [`MAX_STANDARDISED`].
const STANDARDISE_BITS: u32 = 23;

/// Standardises features on shares: `z = (x - mean) / std` for each column (`columns[j]` holds
/// feature `j` of every record), with public means and standard deviations (fixed point). The
/// result is `n x d` row-major. A feature with zero deviation becomes 0. The caller checks
/// that every standardised value stays below [`MAX_STANDARDISED`] in magnitude (see
/// [`standardised_bound`]).
pub async fn standardise<E: Engine>(
    engine: &mut E,
    columns: &[E::Share],
    means: &[f64],
    stds: &[f64],
) -> Result<E::Share, EngineError> {
    let n = columns.first().map_or(0, E::len);
    let d = columns.len();
    let shift = FRAC_BITS + STANDARDISE_BITS;
    let mut centred = Vec::with_capacity(d);
    for ((col, &mean), &std) in columns.iter().zip(means).zip(stds) {
        let mean_enc = crate::fixed::encode(mean).unwrap_or(0);
        let factor = if std > 0.0 { ((1u64 << shift) as f64 / std).round() as u64 } else { 0 };
        let c = engine.sub(col, &engine.public(&vec![mean_enc; n]));
        centred.push(engine.mul_public(&c, &vec![factor; n]));
    }
    let all = engine.concat(&centred.iter().collect::<Vec<_>>());
    let z = engine.trunc(&all, shift).await?;
    Ok(engine.transpose(&z, d, n))
}

/// The largest standardised magnitude a feature can reach, from its declared bound.
pub fn standardised_bound(min: f64, max: f64, mean: f64, std: f64) -> f64 {
    if std > 0.0 { (mean - min).abs().max((max - mean).abs()) / std } else { 0.0 }
}

/// Largest standardised magnitude the secure k-means accepts (the standardisation, distances,
/// sums and divisions stay in range below it).
pub const MAX_STANDARDISED: f64 = 128.0;

/// What a k-means job computes: everything here but the scaling is opened only to the
/// operator; the exact job's means and deviations are opened to the nodes too (they
/// standardise with them) and are listed in the threat model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Clusters.
    pub k: usize,
    /// Features.
    pub d: usize,
    /// Centroids in scaled units (`(x - centre) / scale`), `k x d`.
    pub centroids_std: Vec<f64>,
    /// Centroids in the features' own units, `k x d`.
    pub centroids: Vec<f64>,
    /// Records per cluster (noisy for a private job; 0 where suppressed).
    pub sizes: Vec<u64>,
    /// Within-cluster sum of squares, in scaled units (not released by a private job).
    pub wcss: Option<f64>,
    /// How the features were scaled.
    pub scaling: Scaling,
    /// Each feature's centre: its mean (exact, or noisy for a private job).
    pub centres: Vec<f64>,
    /// Each feature's scale: its population standard deviation, or three noisy ones for a
    /// private job (whose values are clipped to `[-1, 1]` after scaling).
    pub scales: Vec<f64>,
    /// The job's own number of each listed segment (per-record labels use these numbers).
    pub ids: Vec<usize>,
    /// Whether each listed segment is suppressed (fewer records than the job's minimum): its
    /// size and centroid are not released.
    pub suppressed: Vec<bool>,
}

/// Why a k-means job cannot run.
#[derive(Debug, thiserror::Error)]
pub enum KmeansError {
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A value cannot be encoded in fixed point.
    #[error(transparent)]
    Encoding(#[from] crate::fixed::FixedError),
    /// A differentially private release's noise cannot be drawn: nothing is released.
    #[error(transparent)]
    Privacy(#[from] crate::dp::DpError),
    /// A feature's declared range allows values too far from its mean.
    #[error(
        "feature {feature} can lie {deviations:.1} standard deviations from its mean, more than \
         the {MAX_STANDARDISED} the secure k-means supports; declare a tighter range"
    )]
    Range {
        /// Index of the feature.
        feature: usize,
        /// How far it can lie.
        deviations: f64,
    },
}

/// One party's result of [`secure_job`].
#[derive(Debug, Clone)]
pub struct JobShares<S> {
    /// Share of `[centroids (k d), sizes (k), wcss (1)]`, to open for the operator, with the
    /// suppressed segments' centroids and sizes set to 0.
    pub outputs: S,
    /// What the operator needs beside the outputs to read them: the means and deviations
    /// (opened to the parties) and the suppressed segments (opened to the parties).
    pub published: Published,
    /// Share of each record's one-hot segment, `n x k` (kept secret).
    pub assignment: S,
}

/// The parameters of a k-means job.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Clusters.
    pub k: usize,
    /// Lloyd iterations.
    pub iterations: usize,
    /// Seed of the starting centroids.
    pub seed: u64,
    /// Runs side by side from different starting centroids; the lowest WCSS wins.
    pub restarts: usize,
    /// How the starting centroids are chosen.
    pub init: Init,
    /// Segments with fewer records are suppressed: their size and centroid are not opened.
    pub min_segment: u64,
}

/// The secure job on one party: standardise (opening means and deviations to the parties),
/// choose starting centroids (k-means++ on shares, or random points), run Lloyd, compute the WCSS, and return this party's share of
/// the outputs `[centroids (k d), sizes (k), wcss (1)]`, the means and deviations, and the
/// secret one-hot segment of every record (`n x k`, never opened: the fairness job uses it).
pub async fn secure_job<E: Engine>(
    engine: &mut E,
    columns: &[E::Share],
    bounds: &[(f64, f64)],
    p: Params,
    progress: Progress<'_>,
) -> Result<JobShares<E::Share>, KmeansError> {
    let n = columns.first().map_or(0, E::len);
    let d = columns.len();
    let magnitudes: Vec<f64> = bounds.iter().map(|(lo, hi)| lo.abs().max(hi.abs())).collect();
    let sums = engine.sums(columns);
    let (moments, scales) = crate::stats::scaled_moments(engine, columns, &magnitudes).await?;
    let both = engine.concat(&[&sums, &moments]);
    let opened = engine.open(&both).await?;
    let summary = crate::stats::summarise(n as u64, &opened[..d], Some((&opened[d..], &scales)));
    let means: Vec<f64> = summary.iter().map(|s| s.mean.unwrap_or(0.0)).collect();
    let stds: Vec<f64> = summary.iter().map(|s| s.std_dev.unwrap_or(0.0)).collect();
    let mut z_bounds = Vec::with_capacity(d);
    for (j, ((lo, hi), (m, s))) in bounds.iter().zip(means.iter().zip(&stds)).enumerate() {
        let deviations = standardised_bound(*lo, *hi, *m, *s);
        if deviations >= MAX_STANDARDISED {
            return Err(KmeansError::Range { feature: j, deviations });
        }
        z_bounds.push(deviations);
    }
    let z = standardise(engine, columns, &means, &stds).await?;
    let shape = Shape { n, d, k: p.k };
    let runs = p.restarts.max(1);
    let init = match p.init {
        Init::PlusPlus => plus_plus(engine, &z, shape, runs, p.seed, &z_bounds).await?,
        Init::Random => {
            let points: Vec<u64> = random_centroids(runs * p.k, d, p.seed)
                .iter()
                .map(|v| crate::fixed::encode(*v).expect("in range"))
                .collect();
            engine.public(&points)
        }
    };
    let clusters = lloyd_runs(engine, &z, &init, shape, runs, p.iterations, progress).await?;
    let best = best_run(engine, &z, &clusters, shape, runs, &z_bounds).await?;
    let outputs = engine.concat(&[&best.centroids, &best.sizes, &best.wcss]);
    let (outputs, suppressed) = suppress_small(engine, &outputs, p.k, d, p.min_segment).await?;
    // The within-cluster sum of squares is released only when no segment is withheld.
    let wcss = !suppressed.iter().any(|&s| s);
    let published =
        Published { scaling: Scaling::Standardised, centres: means, scales: stds, suppressed, wcss };
    Ok(JobShares { outputs, published, assignment: best.assignment })
}

impl Outcome {
    /// Orders the segments by size, largest first (ties by standardised centroid), so that
    /// results that differ only in the order of their segments read the same.
    pub fn sorted(mut self) -> Outcome {
        let (k, d) = (self.k, self.d);
        let mut order: Vec<usize> = (0..k).collect();
        let key = |j: usize| &self.centroids_std[j * d..(j + 1) * d];
        order.sort_by(|&a, &b| {
            self.sizes[b]
                .cmp(&self.sizes[a])
                .then_with(|| key(a).partial_cmp(key(b)).unwrap_or(std::cmp::Ordering::Equal))
        });
        let pick =
            |v: &[f64]| order.iter().flat_map(|&j| v[j * d..(j + 1) * d].to_vec()).collect::<Vec<f64>>();
        let centroids_std = pick(&self.centroids_std);
        let centroids = pick(&self.centroids);
        self.sizes = order.iter().map(|&j| self.sizes[j]).collect();
        self.ids = order.iter().map(|&j| self.ids[j]).collect();
        self.suppressed = order.iter().map(|&j| self.suppressed[j]).collect();
        self.centroids_std = centroids_std;
        self.centroids = centroids;
        self
    }
}

impl Outcome {
    /// Renumbers segment ids (as in labels) by their position in this outcome's list, which
    /// orders segments by size: two runs that find the same segments under different numbers
    /// (restarts that converge to the same optimum) give the same ranks.
    pub fn ranks(&self, labels: &[usize]) -> Vec<usize> {
        labels.iter().map(|l| self.ids.iter().position(|id| id == l).unwrap_or(usize::MAX)).collect()
    }
}

/// The segment of each record from opened one-hot rows of `k`.
pub fn labels_from_onehot(rows: &[u64], k: usize) -> Vec<usize> {
    rows.chunks(k.max(1)).map(|r| r.iter().position(|&v| v == 1).unwrap_or(0)).collect()
}

/// Reads opened outputs of [`secure_job`] (or of [`private::private_job`]) with what the job
/// published, segments ordered by [`Outcome::sorted`].
pub fn outcome(k: usize, d: usize, opened: &[u64], published: &Published) -> Option<Outcome> {
    let Published { scaling, centres, scales, suppressed, wcss } = published.clone();
    if opened.len() != k * d + k + 1 || centres.len() != d || scales.len() != d || suppressed.len() != k {
        return None;
    }
    let centroids_std: Vec<f64> = opened[..k * d].iter().map(|v| crate::fixed::decode(*v)).collect();
    let centroids =
        centroids_std.iter().enumerate().map(|(i, z)| centres[i % d] + scales[i % d] * z).collect();
    let sizes = opened[k * d..k * d + k].to_vec();
    let wcss = wcss.then(|| crate::fixed::decode(opened[k * d + k]));
    let ids = (0..k).collect();
    Some(
        Outcome { k, d, centroids_std, centroids, sizes, wcss, scaling, centres, scales, ids, suppressed }
            .sorted(),
    )
}
