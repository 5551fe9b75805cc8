//! The `testnet` command line.

use crate::launch::{self, NodeCommand};
use crate::layout::{self, Plan};
use crate::{Cluster, plain, sample};
use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use wire::control::{BenchJob, FairnessJob, JobSpec, KmeansInit, KmeansJob, StatsJob};

/// Local test clusters of the secure segmentation nodes.
#[derive(Debug, Parser)]
#[command(name = "testnet", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a cluster, start its nodes on 127.0.0.1 and ingest the sample data.
    Up {
        /// Number of nodes (at least 3).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Directory for keys, configurations, data and logs.
        #[arg(long, default_value = ".testnet")]
        dir: PathBuf,
        /// Sample customers per node.
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// Seed of the sample data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Start the nodes but do not ingest the sample files.
        #[arg(long)]
        no_ingest: bool,
        /// Your own CSV instead of sample data: its rows are split across the nodes, as if each
        /// company held a part, and ingested as the dataset `customers`.
        #[arg(long, value_name = "FILE.csv", requires = "features")]
        data: Option<PathBuf>,
        /// With --data: comma-separated numeric columns to use.
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
        /// With --data: a categorical protected column (for fairness).
        #[arg(long)]
        protected: Option<String>,
    },
    /// Stop the nodes of a cluster started with `up`.
    Down {
        /// The cluster directory.
        #[arg(long, default_value = ".testnet")]
        dir: PathBuf,
    },
    /// Show each node of a cluster (processes or containers): reachable, version, datasets,
    /// running jobs, and its links to the other nodes.
    Status {
        /// The cluster directory.
        #[arg(long, default_value = ".testnet")]
        dir: PathBuf,
    },
    /// Start a cluster, ingest, run a job, print the result and the plaintext check, stop.
    Demo {
        /// Number of nodes (at least 3).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Sample customers per node.
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// Seed of the sample data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Keep the cluster's files in this directory (default: a temporary one, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Start a cluster and time engine operations between its node processes over QUIC:
    /// wall time, bytes sent per node and rounds, with sampled results checked against
    /// plaintext.
    Bench {
        /// Number of nodes (at least 3).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Operations, comma-separated: `mul` (SIZE products), `matmul` (SIZE x 8 by 8 x 8),
        /// `compare` (SIZE comparisons), `argmin` (SIZE rows of 8), `kmeans` (SIZE records, 4
        /// features, k = 5, 10 iterations).
        #[arg(long, value_delimiter = ',', default_value = "mul,matmul,compare,argmin")]
        ops: Vec<String>,
        /// Size of each operation (default: 1,000,000 for mul, 100,000 for the others).
        #[arg(long)]
        size: Option<u64>,
        /// Runs of each operation; the table shows each run.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Build the node image from nothing (`FROM scratch`: the binary, the shared libraries it
    /// links, an unprivileged user, a health check); no image is pulled.
    Image {
        /// The node binary (default: `mpc-node` beside this executable, as `cargo build
        /// --release` leaves it).
        #[arg(long)]
        binary: Option<PathBuf>,
        /// The orchestrator binary to include, for one-shot operator containers (default:
        /// `orchestrator` beside the node binary, when there is one).
        #[arg(long)]
        orchestrator: Option<PathBuf>,
        /// Image tag.
        #[arg(long, default_value = crate::docker::DEFAULT_IMAGE)]
        tag: String,
    },
    /// Write a compose project of one container per node: keys, configurations, data, and
    /// DIR/compose.yaml (private network, a volume per node, health checks, restarts,
    /// published UDP ports for the orchestrator on this host). With --up, also start it and
    /// wait until every company's data is ingested.
    Compose {
        /// Number of nodes (at least 3).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Directory for the project.
        #[arg(long, default_value = ".testnet-compose")]
        dir: PathBuf,
        /// Sample customers per node.
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// Seed of the sample data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The node image (build it with `testnet image`).
        #[arg(long, default_value = crate::docker::DEFAULT_IMAGE)]
        image: String,
        /// Node i publishes its port on 127.0.0.1 at this port + i.
        #[arg(long, default_value_t = 17100)]
        host_port: u16,
        /// Start the project and wait until the data is ingested.
        #[arg(long)]
        up: bool,
    },
    /// Time whole k-means jobs: for each record count, a fresh cluster ingests Gaussian blobs
    /// split across its nodes, runs the job from submission to opened result, then the same
    /// job runs in the plaintext mode on the same files for the ratio.
    BenchKmeans {
        /// Number of nodes (at least 3).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Record counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
        records: Vec<usize>,
        /// Features.
        #[arg(long, default_value_t = 8)]
        features: usize,
        /// Segments.
        #[arg(long, default_value_t = 8)]
        k: u32,
        /// Lloyd iterations.
        #[arg(long, default_value_t = 10)]
        iterations: u32,
        /// Restarts side by side.
        #[arg(long, default_value_t = 1)]
        restarts: u32,
        /// Starting centroids: `kmeans++` or `random`.
        #[arg(long, default_value_t = KmeansInit::PlusPlus)]
        init: KmeansInit,
        /// Seed of the data and of the job.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Keep the data and clusters in this directory (default: a temporary one, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also print the measurements as JSON lines.
        #[arg(long)]
        json: bool,
        /// Time the differentially private job (DPLloyd) at this budget instead (one run,
        /// random starts); the plaintext mode then draws its noise centrally.
        #[arg(long)]
        epsilon: Option<f64>,
    },
    /// Measure the accuracy of the differentially private releases: for each budget, private
    /// stats, k-means and fairness jobs on the sample customers, against the exact figures
    /// computed in the clear from the same files.
    BenchDp {
        /// Number of nodes (at least 3).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Sample customers per node.
        #[arg(long, default_value_t = 1000)]
        records: usize,
        /// Budgets, comma-separated; each job spends the whole of one.
        #[arg(long, value_delimiter = ',', default_value = "0.5,1,2,4")]
        epsilons: Vec<f64>,
        /// Runs per budget (the table shows medians and means).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Segments.
        #[arg(long, default_value_t = 4)]
        k: u32,
        /// Seed of the data and of the jobs.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also print the measurements as JSON lines.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line; `testnet node --config FILE` runs a node daemon (used by `up`).
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Installed as `mpc-node` (as in the node image), this binary is the node.
    if args.first().and_then(|a| Path::new(a).file_name()).is_some_and(|n| n == "mpc-node") {
        return mpc_node::cli::main_from(args);
    }
    if args.get(1).is_some_and(|a| a == "node") {
        let mut node_args = vec![std::ffi::OsString::from("mpc-node")];
        node_args.extend(args.into_iter().skip(2));
        return mpc_node::cli::main_from(node_args);
    }
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = runtime.block_on(async {
        let outcome = run(cli).await;
        orchestrator::client::finish_closing().await;
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", net::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up { nodes, dir, records, seed, no_ingest, data, features, protected } => {
            let data = data.map(|file| crate::byod::UserData { file, features, protected });
            let plan = Plan { nodes, records, seed, data };
            let cluster = Cluster::up(&dir, &plan, NodeCommand::current_exe()?).await?;
            eprintln!("{nodes} nodes are up in {}", cluster.generated.dir.display());
            if !no_ingest {
                ingest(&cluster).await?;
            }
            println!("export SEGMPC_CLUSTER={}", cluster.generated.cluster_file.display());
            cluster.detach();
            Ok(())
        }
        Command::Down { dir } => {
            let generated = layout::existing(&dir)?;
            for files in &generated.nodes {
                let was = launch::stop_pid_file(&files.dir, Duration::from_secs(5))?;
                eprintln!("{}: {}", files.id, if was { "stopped" } else { "was not running" });
            }
            Ok(())
        }
        Command::Bench { nodes, ops, size, repeat } => {
            let temp = tempdir_for_demo()?;
            let result = bench(&temp, nodes, &ops, size, repeat).await;
            let _ = std::fs::remove_dir_all(&temp);
            result
        }
        Command::Status { dir } => {
            let generated = layout::existing(&dir)?;
            let client =
                orchestrator::Client::new(orchestrator::ClusterFile::load(&generated.cluster_file)?)?;
            let statuses = client.node_statuses().await;
            print!(
                "{}",
                orchestrator::table::text(&orchestrator::table::cluster_grid(client.nodes(), &statuses))
            );
            if statuses.iter().any(Result::is_err) {
                bail!("some nodes do not answer");
            }
            Ok(())
        }
        Command::Image { binary, orchestrator, tag } => {
            let binary = match binary {
                Some(b) => b,
                None => std::env::current_exe()?.with_file_name("mpc-node"),
            };
            if !binary.exists() {
                bail!(
                    "{} does not exist; run `cargo build --release` first or pass --binary",
                    binary.display()
                );
            }
            let orchestrator = match orchestrator {
                Some(o) => Some(o),
                None => Some(binary.with_file_name("orchestrator")).filter(|o| o.exists()),
            };
            crate::docker::build_image(&binary, orchestrator.as_deref(), &tag)?;
            let out = std::process::Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Size}}", &tag])
                .output()?;
            let size: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0.0);
            println!("built {tag} from {} ({:.1} MB)", binary.display(), size / 1e6);
            Ok(())
        }
        Command::Compose { nodes, dir, records, seed, image, host_port, up } => {
            let plan = Plan { nodes, records, seed, data: None };
            let project = crate::docker::write_compose(&dir, &plan, &image, host_port)?;
            eprintln!("wrote {}", project.file.display());
            if up {
                crate::docker::up(&project).await?;
            } else {
                eprintln!("start it with: docker compose -f {} up -d", project.file.display());
            }
            println!("export SEGMPC_CLUSTER={}", project.generated.cluster_file.display());
            Ok(())
        }
        Command::BenchDp { nodes, records, epsilons, runs, k, seed, json } => {
            let temp = tempdir_for_demo()?;
            let b = crate::dpbench::DpBench { nodes, records, epsilons, runs, k, seed };
            let result = crate::dpbench::accuracy(&temp, &b).await;
            let _ = std::fs::remove_dir_all(&temp);
            let rows = result?;
            print_measured(&crate::dpbench::table(&b, &rows), &rows, json)
        }
        Command::BenchKmeans {
            nodes,
            records,
            features,
            k,
            iterations,
            restarts,
            init,
            seed,
            dir,
            json,
            epsilon,
        } => {
            let temp = tempdir_for_demo()?;
            let dir = dir.unwrap_or_else(|| temp.clone());
            let (restarts, init) =
                if epsilon.is_some() { KmeansJob::default_starts(true) } else { (restarts, init) };
            let b = crate::jobbench::KmeansBench {
                nodes,
                records,
                features,
                k,
                iterations,
                restarts,
                init,
                seed,
                epsilon,
            };
            let result = crate::jobbench::kmeans(&dir, &b).await;
            if dir == temp {
                let _ = std::fs::remove_dir_all(&temp);
            }
            let rows = result?;
            print_measured(&crate::jobbench::table(&b, &rows), &rows, json)
        }
        Command::Demo { nodes, records, seed, dir } => {
            let temp = tempdir_for_demo()?;
            let dir = dir.unwrap_or_else(|| temp.clone());
            let result = demo(&dir, &Plan { nodes, records, seed, data: None }).await;
            if dir == temp {
                let _ = std::fs::remove_dir_all(&temp);
            }
            result
        }
    }
}

/// Prints a benchmark's table and, with `json`, each measurement as a JSON line.
fn print_measured<T: serde::Serialize>(table: &str, rows: &[T], json: bool) -> Result<()> {
    print!("{table}");
    if json {
        for r in rows {
            println!("{}", serde_json::to_string(r)?);
        }
    }
    Ok(())
}

fn tempdir_for_demo() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("segmpc-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn bench(dir: &Path, nodes: usize, ops: &[String], size: Option<u64>, repeat: usize) -> Result<()> {
    let plan = Plan { nodes, records: 1, seed: 1, data: None };
    let cluster = Cluster::up(dir, &plan, NodeCommand::current_exe()?).await?;
    let mut rows = Vec::new();
    for op in ops {
        let parsed: protocol::bench::BenchOp = op.parse().map_err(anyhow::Error::msg)?;
        let size = size.unwrap_or(match parsed {
            protocol::bench::BenchOp::Mul => 1_000_000,
            protocol::bench::BenchOp::Kmeans => 10_000,
            _ => 100_000,
        });
        for run in 1..=repeat {
            let t = Instant::now();
            let job = cluster.client.submit(JobSpec::Bench(BenchJob { op: op.clone(), size })).await?;
            cluster.client.wait(job, Duration::from_secs(3600)).await?;
            let wall = t.elapsed();
            let result = cluster.client.bench_result(job).await?;
            let slowest = result.nodes.iter().map(|n| n.elapsed_ms).max().unwrap_or(0);
            let bytes = result.nodes.iter().map(|n| n.bytes_sent).max().unwrap_or(0);
            let rounds = result.nodes.iter().map(|n| n.rounds).max().unwrap_or(0);
            rows.push(vec![
                op.clone(),
                size.to_string(),
                run.to_string(),
                format!("{:.3}", wall.as_secs_f64()),
                format!("{:.3}", slowest as f64 / 1e3),
                format!("{:.2}", bytes as f64 / 1e6),
                rounds.to_string(),
                "ok".into(),
            ]);
        }
    }
    println!(
        "{nodes} nodes over QUIC on 127.0.0.1; node time = slowest node, start signal to end, all phases"
    );
    let headers =
        ["op", "size", "run", "wall (s)", "node time (s)", "MB sent per node", "rounds", "plaintext check"];
    print!("{}", orchestrator::table::render(&headers, &rows));
    drop(cluster);
    Ok(())
}

async fn ingest(cluster: &Cluster) -> Result<()> {
    for (files, report) in cluster.generated.nodes.iter().zip(cluster.ingest_all().await?) {
        eprintln!(
            "{}: shared {} customers with {} nodes ({} skipped without consent, {:.1} MB of shares sent)",
            files.id,
            report.rows,
            report.nodes,
            report.skipped_no_consent,
            report.bytes_sent as f64 / 1e6
        );
    }
    Ok(())
}

async fn demo(dir: &Path, plan: &Plan) -> Result<()> {
    let started = Instant::now();
    eprintln!("starting {} nodes on 127.0.0.1 in {}", plan.nodes, dir.display());
    let cluster = Cluster::up(dir, plan, NodeCommand::current_exe()?).await?;
    ingest(&cluster).await?;
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
    println!(
        "\nsecure stats of `{}` over {} customers of {} companies (job {job}, {:.0} ms)",
        sample::DATASET,
        result.count,
        plan.nodes,
        job_time.as_secs_f64() * 1e3
    );
    print!("{}", orchestrator::table::stats(&result));

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
    println!("node-to-node traffic: {}", traffic.join(", "));

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
    println!(
        "\nplaintext check (the demo reads the CSVs directly): counts equal, largest mean difference \
         {worst_mean:.2e} (bound {bound:.2e}), largest relative std dev difference {worst_std:.2e}"
    );
    if worst_mean > bound {
        bail!("a mean is outside the documented fixed-point error");
    }

    // Segmentation: k-means on the standardised features, on shares.
    let (k, iterations, seed, restarts) = (4u32, 10u32, 1u64, 5u32);
    let t = Instant::now();
    let spec = JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: features.clone(),
        k,
        iterations,
        seed,
        restarts,
        init: wire::control::KmeansInit::PlusPlus,
        labels: false,
        min_segment: 5,
        epsilon: None,
    });
    let job = cluster.client.submit(spec).await?;
    cluster.client.wait(job, Duration::from_secs(600)).await?;
    let segments = cluster.client.kmeans_result(job).await?;
    println!(
        "\nsecure k-means: {k} segments of {} customers, {iterations} iterations, {restarts} restarts side by side (job {job}, {:.0} ms); \
         within-cluster sum of squares {:.2} (standardised)",
        segments.count,
        t.elapsed().as_secs_f64() * 1e3,
        segments.segments.wcss.unwrap_or(f64::NAN)
    );
    print!("{}", orchestrator::table::segments(&segments));
    let rows = plain::rows(&csvs, &sample::schema(), &names)?;
    let bounds: Vec<(f64, f64)> = sample::FEATURES.iter().map(|f| (f.1, f.2)).collect();
    let (reference, _) = protocol::kmeans::plain_job(
        &rows,
        &bounds,
        orchestrator::plain::params(k, iterations, seed, restarts, KmeansInit::PlusPlus, 5),
    )?;
    let worst_centroid = segments
        .segments
        .centroids_std
        .iter()
        .zip(&reference.centroids_std)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
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
    println!(
        "\nfairness of the segments by `gender` (job {fairness_job}, {:.0} ms; only the segment x group table is opened)",
        t.elapsed().as_secs_f64() * 1e3
    );
    print!("{}", orchestrator::table::fairness(&fairness));

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
    println!(
        "\ndifferentially private k-means (DPLloyd, epsilon {epsilon}, {iterations} iterations; job {private}, {:.0} ms): \
         centroids and sizes carry noise that no node drew alone",
        t.elapsed().as_secs_f64() * 1e3
    );
    print!("{}", orchestrator::table::segments(&private_segments));
    let spec = JobSpec::Fairness(FairnessJob {
        segments: private,
        protected: "gender".into(),
        min_cell: 5,
        epsilon: Some(epsilon),
    });
    let private_fairness = cluster.client.submit(spec).await?;
    cluster.client.wait(private_fairness, Duration::from_secs(600)).await?;
    let report = cluster.client.fairness_result(private_fairness).await?;
    println!(
        "\ndifferentially private fairness of those segments by `gender` (epsilon {epsilon}, job {private_fairness})"
    );
    print!("{}", orchestrator::table::fairness(&report));
    let ledgers = cluster.client.budgets().await;
    println!("\nprivacy budget spent (each node's ledger):");
    print!(
        "{}",
        orchestrator::table::text(&orchestrator::table::budget_grid(cluster.client.nodes(), &ledgers))
    );
    drop(cluster);
    eprintln!("cluster stopped; demo took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
