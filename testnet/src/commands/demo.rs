//! `testnet demo`: a cluster started, the sample customers ingested, every kind of job run
//! and checked against the plaintext, then stopped.

use crate::layout::Plan;
use crate::views::Done;
use crate::{Cluster, plain, sample};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wire::control::{FairnessJob, JobSpec, KmeansJob, StatsJob};

use super::Output;
use crate::launch::NodeCommand;

/// Writes the demo's story to stdout as it goes, through the rendering layer's writer.
macro_rules! say {
    ($($arg:tt)*) => { orchestrator::render::write_stdout(&format!($($arg)*)) };
}

macro_rules! sayln {
    ($($arg:tt)*) => { orchestrator::render::write_stdout(&format!("{}\n", format_args!($($arg)*))) };
}

/// Runs the demo (in `dir`, or a temporary directory removed after).
pub async fn run(dir: Option<PathBuf>, plan: &Plan) -> Result<Output> {
    let temp = super::temp_dir()?;
    let dir = dir.unwrap_or_else(|| temp.clone());
    let result = demo(&dir, plan).await;
    if dir == temp {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result.map(|()| Box::new(Done) as Output)
}

/// The demo in `dir`: a cluster started, stats, k-means, fairness and their private
/// counterparts, each checked against the plaintext; the story goes to stdout as it happens.
async fn demo(dir: &Path, plan: &Plan) -> Result<()> {
    let started = Instant::now();
    eprintln!("starting {} nodes on 127.0.0.1 in {}", plan.nodes, dir.display());
    let cluster = Cluster::up(dir, plan, NodeCommand::current_exe()?).await?;
    super::ingest(&cluster).await?;
    let features: Vec<String> = sample::FEATURES.iter().map(|f| f.0.to_string()).collect();
    let t = Instant::now();
    let job = cluster
        .client
        .submit(JobSpec::Stats(StatsJob {
            dataset: sample::DATASET.into(),
            features: features.clone(),
            epsilon: None,
        }))
        .await?;
    cluster.client.wait(job, Duration::from_secs(120)).await?;
    let result = cluster.client.stats_result(job).await?;
    let job_time = t.elapsed();
    sayln!(
        "\nsecure stats of `{}` over {} customers of {} companies (job {job}, {:.0} ms)",
        sample::DATASET,
        result.count,
        plan.nodes,
        job_time.as_secs_f64() * 1e3
    );
    say!("{}", orchestrator::table::stats(&result));

    let traffic: Vec<String> = cluster
        .client
        .status(job)
        .await
        .into_iter()
        .zip(&cluster.generated.nodes)
        .map(|(s, n)| match s {
            Ok(s) => format!("{} sent {} B in {} round(s)", n.id, s.bytes_sent, s.rounds),
            Err(e) => format!("{}: {e}", n.id),
        })
        .collect();
    sayln!("node-to-node traffic: {}", traffic.join(", "));

    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let names: Vec<&str> = features.iter().map(String::as_str).collect();
    let reference = plain::stats(&csvs, &sample::schema(), &names)?;
    let mut worst_mean = 0.0f64;
    let mut worst_std = 0.0f64;
    for ((name, s), p) in result.features.iter().zip(&reference) {
        if s.count != p.count {
            bail!("{name}: the cluster counted {} records, the plaintext {}", s.count, p.count);
        }
        if let (Some(a), Some(b)) = (s.mean, p.mean) {
            worst_mean = worst_mean.max((a - b).abs());
        }
        if let (Some(a), Some(b)) = (s.std_dev, p.variance) {
            worst_std = worst_std.max((a - b.sqrt()).abs() / b.sqrt().max(1e-12));
        }
    }
    let bound = 1.0 / f64::from(1u32 << (protocol::fixed::FRAC_BITS + 1));
    sayln!(
        "\nplaintext check (the demo reads the CSVs directly): counts equal, largest mean difference \
         {worst_mean:.2e} (bound {bound:.2e}), largest relative std dev difference {worst_std:.2e}"
    );
    if worst_mean > bound {
        bail!("a mean is outside the documented fixed-point error");
    }

    // Segmentation: k-means on the standardised features, on shares.
    let (k, iterations, seed) = (4u32, KmeansJob::DEFAULT_ITERATIONS, 1u64);
    let (restarts, init) = KmeansJob::default_starts(false);
    let t = Instant::now();
    let spec = JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: features.clone(),
        k,
        iterations,
        seed,
        restarts,
        init,
        labels: false,
        min_segment: 5,
        epsilon: None,
    });
    let job = cluster.client.submit(spec).await?;
    cluster.client.wait(job, Duration::from_secs(600)).await?;
    let segments = cluster.client.kmeans_result(job).await?;
    sayln!(
        "\nsecure k-means: {k} segments of {} customers, {iterations} iterations, {restarts} restarts side by side (job {job}, {:.0} ms); \
         within-cluster sum of squares {:.2} (standardised)",
        segments.count,
        t.elapsed().as_secs_f64() * 1e3,
        segments.segments.wcss.unwrap_or(f64::NAN)
    );
    say!("{}", orchestrator::table::segments(&segments));
    let rows = plain::rows(&csvs, &sample::schema(), &names)?;
    let bounds: Vec<(f64, f64)> = sample::FEATURES.iter().map(|f| (f.1, f.2)).collect();
    let (reference, _) = protocol::kmeans::plain_job(
        &rows,
        &bounds,
        orchestrator::plain::params(k, iterations, seed, restarts, init, 5),
    )?;
    let worst_centroid = segments
        .segments
        .centroids_std
        .iter()
        .zip(&reference.centroids_std)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    sayln!(
        "plaintext check (the plaintext mode: the same k-means in the clear on the CSVs): sizes {}, largest standardised centroid difference {worst_centroid:.2e}",
        if segments.segments.sizes == reference.sizes { "equal" } else { "DIFFER" }
    );

    // Fairness: how the protected attribute spreads over the segments, on shares.
    let t = Instant::now();
    let spec = JobSpec::Fairness(FairnessJob {
        segments: job,
        protected: "gender".into(),
        min_cell: 5,
        epsilon: None,
    });
    let fairness_job = cluster.client.submit(spec).await?;
    cluster.client.wait(fairness_job, Duration::from_secs(600)).await?;
    let fairness = cluster.client.fairness_result(fairness_job).await?;
    sayln!(
        "\nfairness of the segments by `gender` (job {fairness_job}, {:.0} ms; only the segment x group table is opened)",
        t.elapsed().as_secs_f64() * 1e3
    );
    say!("{}", orchestrator::table::fairness(&fairness));

    // Differential privacy: the same questions, every release with noise no node knows (a
    // budget of 4 per job; docs/privacy.md shows what smaller ones give on this data).
    let epsilon = 4.0;
    let iterations = protocol::kmeans::private::recommended_iterations(
        epsilon,
        segments.count,
        features.len(),
        k as usize,
    );
    let t = Instant::now();
    let spec = JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: features.clone(),
        k,
        iterations,
        seed,
        restarts: KmeansJob::PRIVATE_RESTARTS,
        init: KmeansJob::PRIVATE_INIT,
        labels: false,
        min_segment: 5,
        epsilon: Some(epsilon),
    });
    let private = cluster.client.submit(spec).await?;
    cluster.client.wait(private, Duration::from_secs(600)).await?;
    let private_segments = cluster.client.kmeans_result(private).await?;
    sayln!(
        "\ndifferentially private k-means (DPLloyd, epsilon {epsilon}, {iterations} iterations; job {private}, {:.0} ms): \
         centroids and sizes carry noise that no node drew alone",
        t.elapsed().as_secs_f64() * 1e3
    );
    say!("{}", orchestrator::table::segments(&private_segments));
    let spec = JobSpec::Fairness(FairnessJob {
        segments: private,
        protected: "gender".into(),
        min_cell: 5,
        epsilon: Some(epsilon),
    });
    let private_fairness = cluster.client.submit(spec).await?;
    cluster.client.wait(private_fairness, Duration::from_secs(600)).await?;
    let report = cluster.client.fairness_result(private_fairness).await?;
    sayln!(
        "\ndifferentially private fairness of those segments by `gender` (epsilon {epsilon}, job {private_fairness})"
    );
    say!("{}", orchestrator::table::fairness(&report));
    let ledgers = cluster.client.budgets().await;
    sayln!("\nprivacy budget spent (each node's ledger):");
    say!(
        "{}",
        orchestrator::table::text(&orchestrator::table::budget_grid(cluster.client.nodes(), &ledgers))
    );
    drop(cluster);
    eprintln!("cluster stopped; demo took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
