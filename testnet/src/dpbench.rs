//! How accurate the differentially private releases are: on one cluster of node processes
//! with the sample customers, for each epsilon, private `stats`, `kmeans` and `fairness` jobs
//! run several times and are compared with the exact figures computed in the clear from the
//! same CSV files (`testnet bench-dp`; `docs/privacy.md` quotes its output).

use crate::launch::NodeCommand;
use crate::layout::Plan;
use crate::{Cluster, plain, sample};
use anyhow::{Context, Result};
use protocol::kmeans::private::recommended_iterations;
use std::path::Path;
use std::time::Duration;
use wire::control::{FairnessJob, JobId, JobSpec, KmeansJob, StatsJob};

/// The shape of an accuracy run.
#[derive(Debug, Clone)]
pub struct DpBench {
    /// Nodes.
    pub nodes: usize,
    /// Sample customers per node.
    pub records: usize,
    /// Budgets to measure, each job spending the whole of one.
    pub epsilons: Vec<f64>,
    /// Runs per budget.
    pub runs: usize,
    /// Segments.
    pub k: u32,
    /// Seed of the data and of the jobs.
    pub seed: u64,
}

/// The accuracy measured at one budget (medians over the runs).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Accuracy {
    /// The budget of each job.
    pub epsilon: f64,
    /// `|noisy mean - mean|` over the feature's standard deviation, median over features and
    /// runs.
    pub mean_error: f64,
    /// `|noisy std dev - std dev|` over the standard deviation, median.
    pub std_error: f64,
    /// Iterations of the private k-means (Su et al.'s recommendation for the data's size).
    pub iterations: u32,
    /// Within-cluster sum of squares of the private segments around their released centroids
    /// over that of the exact job (both in exactly standardised units), median.
    pub wcss_ratio: f64,
    /// `|noisy size - size|` of the segments, mean.
    pub size_error: f64,
    /// `|noisy cell - cell|` of the fairness table, mean.
    pub cell_error: f64,
    /// The largest cell error seen.
    pub cell_error_max: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

/// The nearest of `centroids` (`k x d`) to each of `rows`.
fn nearest(rows: &[Vec<f64>], centroids: &[f64], d: usize) -> Vec<usize> {
    let k = centroids.len() / d;
    let dist = |z: &[f64], j: usize| {
        centroids[j * d..(j + 1) * d].iter().zip(z).map(|(c, x)| (c - x).powi(2)).sum::<f64>()
    };
    rows.iter().map(|z| (0..k).fold(0, |b, j| if dist(z, j) < dist(z, b) { j } else { b })).collect()
}

async fn run(cluster: &Cluster, spec: JobSpec) -> Result<JobId> {
    let job = cluster.client.submit(spec).await?;
    cluster.client.wait(job, Duration::from_secs(600)).await?;
    Ok(job)
}

/// Runs the measurement on a fresh cluster under `dir`.
pub async fn accuracy(dir: &Path, b: &DpBench) -> Result<Vec<Accuracy>> {
    let plan = Plan {
        nodes: b.nodes,
        records: b.records,
        seed: b.seed,
        data: None,
        security: protocol::engine::Security::Passive,
    };
    let cluster = Cluster::up(dir, &plan, NodeCommand::current_exe()?).await?;
    cluster.ingest_all().await?;
    let names: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let features: Vec<String> = names.iter().map(|f| f.to_string()).collect();
    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let rows = plain::rows(&csvs, &sample::schema(), &names)?;
    let exact = plain::stats(&csvs, &sample::schema(), &names)?;
    let (d, k, n) = (names.len(), b.k as usize, rows.len());
    // The exact job's quality (the plaintext mode: k-means++, 5 restarts, 10 iterations), in
    // standardised units; the private segments are measured in the same units.
    let bounds: Vec<(f64, f64)> = sample::FEATURES.iter().map(|f| (f.1, f.2)).collect();
    let (restarts, init) = KmeansJob::default_starts(false);
    let params = orchestrator::plain::params(b.k, KmeansJob::DEFAULT_ITERATIONS, b.seed, restarts, init, 0);
    let exact_wcss = protocol::kmeans::plain_job(&rows, &bounds, params)?.0.wcss.unwrap_or(f64::NAN);
    let (means, sds): (Vec<f64>, Vec<f64>) =
        exact.iter().map(|p| (p.mean.unwrap_or(0.0), p.variance.unwrap_or(0.0).sqrt().max(1e-12))).unzip();
    let standardise = |x: f64, j: usize| (x - means[j]) / sds[j];
    let mut out = Vec::new();
    for &epsilon in &b.epsilons {
        let iterations = recommended_iterations(epsilon, n as u64, d, k);
        let (mut mean_errors, mut std_errors, mut ratios, mut sizes, mut cells) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for run_no in 0..b.runs {
            eprintln!("epsilon {epsilon}: run {} of {}", run_no + 1, b.runs);
            let spec = JobSpec::Stats(StatsJob {
                dataset: sample::DATASET.into(),
                features: features.clone(),
                epsilon: Some(epsilon),
            });
            let stats = cluster.client.stats_result(run(&cluster, spec).await?).await?;
            for (((_, s), p), sd) in stats.features.iter().zip(&exact).zip(&sds) {
                mean_errors.push((s.mean.unwrap_or(0.0) - p.mean.unwrap_or(0.0)).abs() / sd);
                std_errors.push((s.std_dev.unwrap_or(0.0) - sd).abs() / sd);
            }
            let spec = JobSpec::Kmeans(KmeansJob {
                dataset: sample::DATASET.into(),
                features: features.clone(),
                k: b.k,
                iterations,
                seed: b.seed,
                restarts: KmeansJob::PRIVATE_RESTARTS,
                init: KmeansJob::PRIVATE_INIT,
                labels: false,
                min_segment: 0,
                epsilon: Some(epsilon),
            });
            let job = run(&cluster, spec).await?;
            let s = cluster.client.kmeans_result(job).await?.segments;
            // The released centroids by the job's own segment numbers, in the job's clipped
            // space (where the nodes assign the records) and in feature units.
            let mut clipped_centroids = vec![0.0; k * d];
            let mut units = vec![0.0; k * d];
            for (j, &id) in s.ids.iter().enumerate() {
                clipped_centroids[id * d..(id + 1) * d].copy_from_slice(&s.centroids_std[j * d..(j + 1) * d]);
                units[id * d..(id + 1) * d].copy_from_slice(&s.centroids[j * d..(j + 1) * d]);
            }
            let clipped: Vec<Vec<f64>> = rows
                .iter()
                .map(|r| (0..d).map(|j| ((r[j] - s.centres[j]) / s.scales[j]).clamp(-1.0, 1.0)).collect())
                .collect();
            let labels = nearest(&clipped, &clipped_centroids, d);
            let wcss: f64 = rows
                .iter()
                .zip(&labels)
                .map(|(r, &l)| {
                    (0..d)
                        .map(|j| (standardise(r[j], j) - standardise(units[l * d + j], j)).powi(2))
                        .sum::<f64>()
                })
                .sum();
            ratios.push(wcss / exact_wcss);
            let mut true_sizes = vec![0u64; k];
            for &l in &labels {
                true_sizes[l] += 1;
            }
            for (j, &id) in s.ids.iter().enumerate() {
                sizes.push((s.sizes[j] as f64 - true_sizes[id] as f64).abs());
            }
            let spec = JobSpec::Fairness(FairnessJob {
                segments: job,
                protected: "gender".into(),
                min_cell: 0,
                epsilon: Some(epsilon),
            });
            let report = cluster.client.fairness_result(run(&cluster, spec).await?).await?.report;
            let table = gender_table(&csvs, &labels, k).context("the labels do not match the records")?;
            let g = sample::GENDERS.len();
            for seg in &report.segments {
                for (l, c) in seg.counts.iter().enumerate() {
                    if let Some(c) = c {
                        cells.push((*c as f64 - table[seg.id * g + l] as f64).abs());
                    }
                }
            }
        }
        out.push(Accuracy {
            epsilon,
            mean_error: median(mean_errors),
            std_error: median(std_errors),
            iterations,
            wcss_ratio: median(ratios),
            size_error: sizes.iter().sum::<f64>() / sizes.len().max(1) as f64,
            cell_error: cells.iter().sum::<f64>() / cells.len().max(1) as f64,
            cell_error_max: cells.iter().copied().fold(0.0, f64::max),
        });
    }
    Ok(out)
}

/// The plaintext segment-by-gender table of the consenting records of `csvs` under `labels`.
fn gender_table(csvs: &[&Path], labels: &[usize], k: usize) -> Option<Vec<u64>> {
    let levels = sample::GENDERS.map(String::from);
    let columns = orchestrator::plain::Columns {
        features: &[],
        consent: Some("consent"),
        protected: Some("gender"),
        levels: Some(&levels),
    };
    let records = orchestrator::plain::read(csvs, &columns).ok()?;
    if records.groups.len() != labels.len() {
        return None;
    }
    let g = sample::GENDERS.len();
    let mut table = vec![0u64; k * g];
    for (&l, &group) in labels.iter().zip(&records.groups) {
        table[l * g + group] += 1;
    }
    Some(table)
}

/// The table of an accuracy run.
pub fn table(b: &DpBench, rows: &[Accuracy]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            vec![
                format!("{}", a.epsilon),
                format!("{:.4}", a.mean_error),
                format!("{:.4}", a.std_error),
                a.iterations.to_string(),
                format!("{:.3}", a.wcss_ratio),
                format!("{:.1}", a.size_error),
                format!("{:.2}", a.cell_error),
                format!("{:.0}", a.cell_error_max),
            ]
        })
        .collect();
    let mut text = format!(
        "private releases: {} nodes, {} sample customers, k = {}, {} runs per epsilon (each job spends the whole epsilon)\n",
        b.nodes,
        b.nodes * b.records,
        b.k,
        b.runs
    );
    text.push_str(&orchestrator::table::render(
        &[
            "epsilon",
            "stats: mean error (sd)",
            "std dev error (sd)",
            "k-means iterations",
            "WCSS / exact job",
            "size error",
            "fairness cell error",
            "max",
        ],
        &cells,
    ));
    text
}
