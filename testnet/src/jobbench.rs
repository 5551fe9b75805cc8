//! Whole-job benchmarks: a k-means job over ingested records, from submission to the opened
//! result, on a fresh cluster of node processes; and the same job in the plaintext mode on the
//! same files, for the ratio.

use crate::byod::UserData;
use crate::launch::NodeCommand;
use crate::layout::Plan;
use crate::{Cluster, sample};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wire::control::{JobSpec, KmeansInit, KmeansJob};

/// The shape of a k-means benchmark.
#[derive(Debug, Clone)]
pub struct KmeansBench {
    /// Nodes.
    pub nodes: usize,
    /// Record counts, one cluster each.
    pub records: Vec<usize>,
    /// Features.
    pub features: usize,
    /// Segments.
    pub k: u32,
    /// Lloyd iterations.
    pub iterations: u32,
    /// Restarts side by side.
    pub restarts: u32,
    /// Starting centroids.
    pub init: KmeansInit,
    /// Seed of the data and of the job.
    pub seed: u64,
    /// Run the differentially private job at this budget instead.
    pub epsilon: Option<f64>,
    /// The nodes' engine.
    pub security: protocol::engine::Security,
}

/// One measured job.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measured {
    /// Records.
    pub records: usize,
    /// Submission to opened result, seconds.
    pub wall_s: f64,
    /// The slowest node's time from start signal to end, seconds.
    pub node_s: f64,
    /// Most bytes any node sent.
    pub bytes_per_node: u64,
    /// Most rounds of any node.
    pub rounds: u64,
    /// The plaintext mode on the same files, seconds.
    pub plaintext_s: f64,
    /// Within-cluster sum of squares of the secure job (standardised units).
    pub wcss: f64,
    /// The plaintext mode's.
    pub plaintext_wcss: f64,
    /// Whether the segment sizes are equal.
    pub sizes_equal: bool,
    /// The data file (kept with `--dir`).
    pub data: PathBuf,
}

/// Runs the benchmark, one fresh cluster per record count under `dir`.
pub async fn kmeans(dir: &Path, b: &KmeansBench) -> Result<Vec<Measured>> {
    let names: Vec<String> = (1..=b.features).map(|j| format!("f{j}")).collect();
    let mut out = Vec::new();
    for &n in &b.records {
        let here = dir.join(format!("kmeans-{n}"));
        std::fs::create_dir_all(&here)?;
        let data = here.join("blobs.csv");
        sample::write_blobs(&data, n, b.features, b.k as usize, b.seed)
            .with_context(|| format!("writing {}", data.display()))?;
        let user = UserData { file: data.clone(), features: names.clone(), protected: Some("group".into()) };
        let plan = Plan { nodes: b.nodes, records: n, seed: b.seed, data: Some(user), security: b.security };
        eprintln!("{n} records x {} features: starting {} nodes and ingesting", b.features, b.nodes);
        let cluster = Cluster::up(&here.join("net"), &plan, NodeCommand::current_exe()?).await?;
        cluster.ingest_all().await?;
        let spec = JobSpec::Kmeans(KmeansJob {
            dataset: sample::DATASET.into(),
            features: names.clone(),
            k: b.k,
            iterations: b.iterations,
            seed: b.seed,
            restarts: b.restarts,
            init: b.init,
            labels: false,
            min_segment: 0,
            epsilon: b.epsilon,
        });
        eprintln!("{n} records: running the secure job");
        let t = Instant::now();
        let job = cluster.client.submit(spec).await?;
        let statuses = cluster.client.wait(job, Duration::from_secs(3600)).await?;
        let result = cluster.client.kmeans_result(job).await?;
        let wall_s = t.elapsed().as_secs_f64();

        eprintln!("{n} records: running the plaintext mode");
        let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|f| f.csv.as_path()).collect();
        let schema = orchestrator::plain::load_schema(&cluster.generated.nodes[0].config, sample::DATASET)?;
        let columns = orchestrator::plain::Columns { features: &names, ..Default::default() };
        let records = orchestrator::plain::read(&csvs, &columns)?;
        let bounds = orchestrator::plain::bounds(Some(&schema), &names, &records.rows);
        let params = orchestrator::plain::params(b.k, b.iterations, b.seed, b.restarts, b.init, 0);
        let t = Instant::now();
        let (plain, _) = match b.epsilon {
            Some(epsilon) => {
                let p = protocol::kmeans::private::PrivateParams {
                    k: b.k as usize,
                    iterations: b.iterations as usize,
                    seed: b.seed,
                    epsilon,
                    min_segment: 0,
                };
                orchestrator::plain::kmeans_private(&records, &names, &bounds, p)?
            }
            None => orchestrator::plain::kmeans(&records, &names, &bounds, params)?,
        };
        let plaintext_s = t.elapsed().as_secs_f64();
        drop(cluster);
        out.push(Measured {
            records: n,
            wall_s,
            node_s: statuses.iter().map(|s| s.elapsed_ms).max().unwrap_or(0) as f64 / 1e3,
            bytes_per_node: statuses.iter().map(|s| s.bytes_sent).max().unwrap_or(0),
            rounds: statuses.iter().map(|s| s.rounds).max().unwrap_or(0),
            plaintext_s,
            wcss: result.segments.wcss.unwrap_or(f64::NAN),
            plaintext_wcss: plain.segments.wcss.unwrap_or(f64::NAN),
            sizes_equal: result.segments.sizes == plain.segments.sizes,
            data,
        });
    }
    Ok(out)
}

/// The table of a benchmark's measurements.
pub fn table(b: &KmeansBench, rows: &[Measured]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|m| {
            vec![
                m.records.to_string(),
                format!("{:.2}", m.wall_s),
                format!("{:.2}", m.node_s),
                format!("{:.1}", m.bytes_per_node as f64 / 1e6),
                m.rounds.to_string(),
                format!("{:.3}", m.plaintext_s),
                format!("{:.0}", m.wall_s / m.plaintext_s.max(1e-6)),
                format!("{:.2}", m.wcss),
                format!("{:.2}", m.plaintext_wcss),
                match (b.epsilon, m.sizes_equal) {
                    (Some(_), _) => "noisy".into(),
                    (None, true) => "equal".into(),
                    (None, false) => "differ".into(),
                },
            ]
        })
        .collect();
    let private = b.epsilon.map_or(String::new(), |e| format!(", differentially private at epsilon {e}"));
    let mut text = format!(
        "k-means job: {} nodes over QUIC on 127.0.0.1, {} features, k = {}, {} iterations, {} restart(s), {} starts{private}\n",
        b.nodes, b.features, b.k, b.iterations, b.restarts, b.init
    );
    text.push_str(&orchestrator::table::render(
        &[
            "records",
            "wall (s)",
            "node time (s)",
            "MB sent per node",
            "rounds",
            "plaintext (s)",
            "ratio",
            "WCSS",
            "plaintext WCSS",
            "sizes",
        ],
        &cells,
    ));
    text
}
