//! The `testnet` command line: the parser, and the one place where a command's output is
//! printed (each command lives in [`crate::commands`]; outputs render through the
//! orchestrator's rendering layer, [`orchestrator::render`]).

use crate::commands::{self, Output};
use anyhow::Result;
use clap::{Parser, Subcommand};
use orchestrator::render::Format;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wire::control::{KmeansInit, KmeansJob};

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
        /// The nodes' engine: `passive` (secure against nodes that follow the protocol) or
        /// `active` (every step checked; a deviating minority is caught).
        #[arg(long, value_enum, default_value = "passive")]
        security: SecurityArg,
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
        /// The nodes' engine: `passive` (secure against nodes that follow the protocol) or
        /// `active` (every step checked; a deviating minority is caught).
        #[arg(long, value_enum, default_value = "passive")]
        security: SecurityArg,
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
        /// The nodes' engine: `passive` (secure against nodes that follow the protocol) or
        /// `active` (every step checked; a deviating minority is caught).
        #[arg(long, value_enum, default_value = "passive")]
        security: SecurityArg,
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
        /// The nodes' engine: `passive` (secure against nodes that follow the protocol) or
        /// `active` (every step checked; a deviating minority is caught).
        #[arg(long, value_enum, default_value = "passive")]
        security: SecurityArg,
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
        /// The nodes' engine: `passive` (secure against nodes that follow the protocol) or
        /// `active` (every step checked; a deviating minority is caught).
        #[arg(long, value_enum, default_value = "passive")]
        security: SecurityArg,
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
        #[arg(long, default_value_t = KmeansJob::DEFAULT_ITERATIONS)]
        iterations: u32,
        /// Restarts side by side.
        #[arg(long, default_value_t = 1)]
        restarts: u32,
        /// Starting centroids: `kmeans++` or `random`.
        #[arg(long, default_value_t = KmeansJob::DEFAULT_INIT)]
        init: KmeansInit,
        /// Seed of the data and of the job.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Keep the data and clusters in this directory (default: a temporary one, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print the measurements as one JSON document on stdout (the table goes to stderr).
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
        /// Print the measurements as one JSON document on stdout (the table goes to stderr).
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
    let format = match cli.command {
        Command::BenchKmeans { json: true, .. } | Command::BenchDp { json: true, .. } => Format::Json,
        _ => Format::Table,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = runtime.block_on(async {
        let outcome = run(cli).await;
        orchestrator::client::finish_closing().await;
        outcome
    });
    // The one place where a command's output is printed; with --json the table still shows,
    // on stderr, and stdout holds the one JSON document.
    let failure = match outcome {
        Ok(output) => {
            if format == Format::Json {
                eprint!("{}", output.table());
            }
            orchestrator::render::print(output.as_ref(), format);
            output.failure()
        }
        Err(e) => Some(e),
    };
    match failure {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("error: {}", net::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// The engines a cluster can run (`protocol::engine::Security` on the command line).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SecurityArg {
    /// Secure against nodes that follow the protocol.
    Passive,
    /// Every step checked: a minority of nodes that deviates is caught.
    Active,
}

impl From<SecurityArg> for protocol::engine::Security {
    fn from(s: SecurityArg) -> Self {
        match s {
            SecurityArg::Passive => protocol::engine::Security::Passive,
            SecurityArg::Active => protocol::engine::Security::Active,
        }
    }
}

async fn run(cli: Cli) -> Result<Output> {
    match cli.command {
        Command::Up { security, nodes, dir, records, seed, no_ingest, data, features, protected } => {
            let data = data.map(|file| crate::byod::UserData { file, features, protected });
            let plan = crate::layout::Plan { nodes, records, seed, data, security: security.into() };
            commands::local::up(&dir, plan, no_ingest).await
        }
        Command::Down { dir } => commands::local::down(&dir),
        Command::Status { dir } => commands::local::status(&dir).await,
        Command::Bench { security, nodes, ops, size, repeat } => {
            commands::bench::run(nodes, &ops, size, repeat, security.into()).await
        }
        Command::Image { binary, orchestrator, tag } => commands::deploy::image(binary, orchestrator, &tag),
        Command::Compose { security, nodes, dir, records, seed, image, host_port, up } => {
            let plan = crate::layout::Plan { nodes, records, seed, data: None, security: security.into() };
            commands::deploy::compose(&dir, &plan, &image, host_port, up).await
        }
        Command::BenchDp { nodes, records, epsilons, runs, k, seed, json: _ } => {
            commands::measure::dp(crate::dpbench::DpBench { nodes, records, epsilons, runs, k, seed }).await
        }
        Command::BenchKmeans {
            security,
            nodes,
            records,
            features,
            k,
            iterations,
            restarts,
            init,
            seed,
            dir,
            json: _,
            epsilon,
        } => {
            let (restarts, init) = if epsilon.is_some() {
                wire::control::KmeansJob::default_starts(true)
            } else {
                (restarts, init)
            };
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
                security: security.into(),
            };
            commands::measure::kmeans(b, dir).await
        }
        Command::Demo { security, nodes, records, seed, dir } => {
            let plan = crate::layout::Plan { nodes, records, seed, data: None, security: security.into() };
            commands::demo::run(dir, &plan).await
        }
    }
}
