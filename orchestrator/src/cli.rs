//! The `orchestrator` command line.

use crate::client::{Client, ClientError, DatasetView, JobResult};
use crate::cluster::{CLUSTER_ENV, ClusterFile};
use crate::table::render;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wire::control::{BenchJob, FairnessJob, JobId, JobSpec, KmeansInit, KmeansJob, StatsJob};

/// Writes to stdout. A reader that stops early (`| head`) ends the program quietly with the
/// status a shell reports for a broken pipe, instead of a panic.
fn emit(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(text) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing the output: {e}");
        std::process::exit(1);
    }
}

macro_rules! out {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

macro_rules! outln {
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Exit code when a node refused a job.
pub const EXIT_REFUSED: u8 = 3;
/// Exit code when a job failed.
pub const EXIT_FAILED: u8 = 4;
/// Exit code when an audit log does not verify.
pub const EXIT_AUDIT: u8 = 5;

/// Some audit logs did not verify.
#[derive(Debug, thiserror::Error)]
#[error("{0} problem(s) in the audit logs")]
struct AuditFailed(usize);

/// Drive the secure segmentation cluster: datasets, jobs, results.
#[derive(Debug, Parser)]
#[command(name = "orchestrator", version)]
pub struct Cli {
    /// Cluster file (operator identity and nodes).
    #[arg(long, global = true, env = CLUSTER_ENV, value_name = "FILE")]
    cluster: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// JSON on one line.
    Json,
    /// CSV with a header row (results only; the JSON holds every figure).
    Csv,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the operator's private key and certificate; print the fingerprint to list in
    /// each node's `[[operators]]`.
    Keygen {
        /// Directory to write `cert.pem` and `key.pem` into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Name written in the certificate.
        #[arg(long, default_value = "operator")]
        name: String,
    },
    /// List datasets: name, owners, columns and record counts (never values).
    Datasets,
    /// Each node's privacy-budget ledger: the epsilon spent on each dataset, of the budget
    /// its policy sets.
    Budget,
    /// Cluster-wide commands.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Submit jobs and read their results.
    #[command(subcommand)]
    Job(JobCommand),
    /// The nodes' audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a self-contained HTML report (charts and tables) and the JSON of a finished
    /// `kmeans` job, or of a `fairness` job with its segmentation.
    Report {
        /// A kmeans or fairness job.
        id: JobId,
        /// Directory to write `report.html` and `result.json` into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run a job in the clear over CSV files you hold, with the cluster's algorithm, starting
    /// centroids and fixed-point arithmetic; no node is contacted.
    #[command(subcommand)]
    Plain(PlainCommand),
}

/// The parameters of a k-means job, on the cluster or in the plaintext mode.
#[derive(Debug, clap::Args)]
struct KmeansArgs {
    /// Comma-separated numeric features.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
    /// Number of segments.
    #[arg(long)]
    k: u32,
    /// Lloyd iterations, public and fixed [default: 10; with --epsilon, the number Su et al.
    /// recommend for the dataset's size, 2 to 7].
    #[arg(long)]
    iterations: Option<u32>,
    /// Seed of the starting centroids.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs side by side from different starting centroids; the lowest within-cluster sum of
    /// squares wins [default: 5; with --epsilon, 1].
    #[arg(long)]
    restarts: Option<u32>,
    /// Starting centroids: `kmeans++` (greedy k-means++ seeding on shares) or `random` (points
    /// that depend on no record) [default: kmeans++; with --epsilon, random].
    #[arg(long)]
    init: Option<KmeansInit>,
    /// Segments with fewer records are suppressed: their centroid and size are not released.
    #[arg(long, default_value_t = 5)]
    min_segment: u64,
    /// Differentially private k-means (DPLloyd: noisy sums and counts each iteration, noise
    /// drawn inside the computation) at this privacy budget.
    #[arg(long)]
    epsilon: Option<f64>,
}

impl KmeansArgs {
    /// Iterations, restarts and starting rule, with the defaults of an exact or private job
    /// over `records` records.
    fn resolved(&self, records: u64) -> (u32, u32, KmeansInit) {
        let private = self.epsilon.is_some();
        let iterations = self.iterations.unwrap_or_else(|| match self.epsilon {
            Some(e) => protocol::kmeans::private::recommended_iterations(
                e,
                records,
                self.features.len(),
                self.k as usize,
            ),
            None => KmeansJob::DEFAULT_ITERATIONS,
        });
        let (restarts, init) = KmeansJob::default_starts(private);
        (iterations, self.restarts.unwrap_or(restarts), self.init.unwrap_or(init))
    }

    /// The job's parameters for the plaintext mode over `records` records.
    fn params(&self, records: u64) -> protocol::kmeans::Params {
        let (iterations, restarts, init) = self.resolved(records);
        crate::plain::params(self.k, iterations, self.seed, restarts, init, self.min_segment)
    }
}

#[derive(Debug, Subcommand)]
enum PlainCommand {
    /// k-means (and, with --protected, the fairness report) over the records of FILES.
    Kmeans {
        /// CSV files, read in order as the cluster orders its owners' contributions.
        #[arg(required = true, value_name = "FILE.csv")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        kmeans: KmeansArgs,
        /// Declared ranges, consent column and levels: a node configuration (with --dataset)
        /// or a schema file. Without it, ranges are the data's own.
        #[arg(long, value_name = "FILE.toml")]
        schema: Option<PathBuf>,
        /// The dataset of a node configuration given with --schema.
        #[arg(long, default_value = "customers")]
        dataset: String,
        /// Consent column (default: the schema's); records that do not say yes are skipped.
        #[arg(long)]
        consent: Option<String>,
        /// A categorical protected column: also print the fairness report.
        #[arg(long)]
        protected: Option<String>,
        /// Smallest cell shown in the fairness report.
        #[arg(long, default_value_t = 5)]
        min_cell: u64,
        /// Write each record's segment to this CSV (file, record, segment).
        #[arg(long, value_name = "FILE.csv")]
        labels_out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Fetch every node's audit log, check each hash chain, and check that the nodes recorded
    /// the same specification for every job; any edited, deleted or reordered line is
    /// reported with its position. Exit 5 when something does not verify.
    Verify,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Ask every node whether it answers.
    Status,
}

#[derive(Debug, Subcommand)]
enum JobCommand {
    /// Submit a job; prints its id.
    #[command(subcommand)]
    Submit(SubmitCommand),
    /// Before anything runs: what a job would reveal and to whom, and whether each node (its
    /// data and its policy) would take part. Takes the same arguments as `submit`.
    #[command(subcommand)]
    Explain(SubmitCommand),
    /// The state of a job on every node.
    Status {
        /// Job id.
        id: JobId,
    },
    /// Show a job's progress on every node with a progress bar (stderr), then its result.
    Watch {
        /// Job id.
        id: JobId,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Wait until a job is done on every node (or failed on one).
    Wait {
        /// Job id.
        id: JobId,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Open and print the result of a finished job.
    Result {
        /// Job id.
        id: JobId,
    },
}

#[derive(Debug, Subcommand)]
enum SubmitCommand {
    /// Count, sum and mean of numeric features over every owner's records.
    Stats {
        /// Dataset name.
        #[arg(long)]
        dataset: String,
        /// Comma-separated numeric features.
        #[arg(long, value_delimiter = ',', required = true)]
        features: Vec<String>,
        /// Release the sums (and so the means and variances) with differential privacy at
        /// this budget.
        #[arg(long)]
        epsilon: Option<f64>,
        /// Wait for the job and print its result.
        #[arg(long)]
        wait: bool,
    },
    /// Segment the records with k-means on secret shares (standardised features; centroids,
    /// sizes and the within-cluster sum of squares are revealed; with --epsilon,
    /// differentially private centroids and sizes).
    Kmeans {
        /// Dataset name.
        #[arg(long)]
        dataset: String,
        #[command(flatten)]
        kmeans: KmeansArgs,
        /// Give each owner node, and only it, the segment of each of its records (a CSV in
        /// its data directory).
        #[arg(long)]
        labels: bool,
        /// Wait for the job and print its result.
        #[arg(long)]
        wait: bool,
    },
    /// Fairness of a finished kmeans job's segments against a protected categorical column
    /// (only the segment-by-group table is revealed).
    Fairness {
        /// The kmeans job.
        #[arg(long)]
        segments: JobId,
        /// The protected categorical column.
        #[arg(long)]
        protected: String,
        /// Withhold cells (and group totals) with fewer records than this; they are never
        /// opened to you.
        #[arg(long, default_value_t = 5)]
        min_cell: u64,
        /// Release the table with differential privacy at this budget (needs a segmentation
        /// run with --epsilon).
        #[arg(long)]
        epsilon: Option<f64>,
        /// Wait for the job and print its result.
        #[arg(long)]
        wait: bool,
    },
    /// Time an operation of the engine between the nodes on random secret inputs, and check
    /// sampled results against plaintext.
    Bench {
        /// The operation: `mul` (SIZE products), `matmul` (SIZE x 8 by 8 x 8), `compare` (SIZE
        /// comparisons) or `argmin` (SIZE rows of 8).
        #[arg(long, default_value = "mul")]
        op: String,
        /// Its size.
        #[arg(long, default_value_t = 1_000_000)]
        size: u64,
        /// Wait for the job and print its result.
        #[arg(long)]
        wait: bool,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = runtime.block_on(async {
        let outcome = run(cli).await;
        crate::client::finish_closing().await;
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", net::error_chain(e.as_ref()));
            if e.downcast_ref::<AuditFailed>().is_some() {
                return ExitCode::from(EXIT_AUDIT);
            }
            match e.downcast_ref::<ClientError>() {
                Some(ClientError::Refused(_)) => ExitCode::from(EXIT_REFUSED),
                Some(ClientError::Failed(_)) => ExitCode::from(EXIT_FAILED),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// The job a `submit` (or `explain`) command describes, and whether to wait for it. A private
/// k-means job without --iterations asks the cluster for the dataset's size.
async fn spec_of(submit: SubmitCommand, client: &Client) -> Result<(JobSpec, bool)> {
    Ok(match submit {
        SubmitCommand::Stats { dataset, features, epsilon, wait } => {
            (JobSpec::Stats(StatsJob { dataset, features, epsilon }), wait)
        }
        SubmitCommand::Bench { op, size, wait } => (JobSpec::Bench(BenchJob { op, size }), wait),
        SubmitCommand::Fairness { segments, protected, min_cell, epsilon, wait } => {
            (JobSpec::Fairness(FairnessJob { segments, protected, min_cell, epsilon }), wait)
        }
        SubmitCommand::Kmeans { dataset, kmeans, labels, wait } => {
            let records = if kmeans.epsilon.is_some() && kmeans.iterations.is_none() {
                let list = client.datasets().await?;
                list.iter().find(|d| d.name == dataset).map_or(0, |d| d.rows)
            } else {
                0
            };
            let (iterations, restarts, init) = kmeans.resolved(records);
            let KmeansArgs { features, k, seed, min_segment, epsilon, .. } = kmeans;
            let spec = JobSpec::Kmeans(KmeansJob {
                dataset,
                features,
                k,
                iterations,
                seed,
                restarts,
                init,
                labels,
                min_segment,
                epsilon,
            });
            (spec, wait)
        }
    })
}

fn client(cluster: Option<PathBuf>) -> Result<Client> {
    let path =
        cluster.with_context(|| format!("no cluster file: pass --cluster FILE or set {CLUSTER_ENV}"))?;
    Ok(Client::new(ClusterFile::load(&path)?)?)
}

async fn run(cli: Cli) -> Result<()> {
    let format = cli.format;
    match cli.command {
        Command::Keygen { out, name } => {
            let identity = net::Identity::generate(&name)?;
            let (cert, key) = identity.write(&out)?;
            eprintln!("wrote {} and {}", cert.display(), key.display());
            outln!("{}", identity.fingerprint());
        }
        Command::Datasets => print_datasets(&client(cli.cluster)?.datasets().await?, format),
        Command::Cluster(ClusterCommand::Status) => {
            let client = client(cli.cluster)?;
            let statuses = client.node_statuses().await;
            match format {
                Format::Json => {
                    let v: Vec<_> = statuses
                        .iter()
                        .zip(client.nodes())
                        .map(|(s, n)| match s {
                            Ok(s) => serde_json::json!({"node": n.id, "address": n.address, "status": s}),
                            Err(e) => serde_json::json!({"node": n.id, "address": n.address, "error": e.to_string()}),
                        })
                        .collect();
                    outln!("{}", serde_json::Value::Array(v));
                }
                Format::Csv => {
                    out!("{}", crate::table::csv(&crate::table::cluster_grid(client.nodes(), &statuses)))
                }
                Format::Table => {
                    out!("{}", crate::table::text(&crate::table::cluster_grid(client.nodes(), &statuses)))
                }
            }
        }
        Command::Budget => {
            let client = client(cli.cluster)?;
            let ledgers = client.budgets().await;
            match format {
                Format::Json => {
                    let v: Vec<_> = client
                        .nodes()
                        .iter()
                        .zip(&ledgers)
                        .map(|(n, l)| match l {
                            Ok(l) => serde_json::json!({"node": n.id, "datasets": l}),
                            Err(e) => serde_json::json!({"node": n.id, "error": e.to_string()}),
                        })
                        .collect();
                    outln!("{}", serde_json::Value::Array(v));
                }
                Format::Csv => {
                    out!("{}", crate::table::csv(&crate::table::budget_grid(client.nodes(), &ledgers)))
                }
                Format::Table => {
                    out!("{}", crate::table::text(&crate::table::budget_grid(client.nodes(), &ledgers)))
                }
            }
        }
        Command::Job(JobCommand::Explain(submit)) => {
            let client = client(cli.cluster)?;
            let (spec, _) = spec_of(submit, &client).await?;
            let verdicts = client.check(&spec).await;
            let reveals = crate::explain::reveals(&spec, client.operator());
            let spending = budget_of(&client, &spec).await;
            let refusals: Vec<String> = client
                .nodes()
                .iter()
                .zip(&verdicts)
                .filter_map(|(n, v)| v.as_ref().err().map(|r| format!("{}: {r}", n.id)))
                .collect();
            match format {
                Format::Json => {
                    let nodes: Vec<_> = client
                        .nodes()
                        .iter()
                        .zip(&verdicts)
                        .map(|(n, v)| serde_json::json!({"node": n.id, "accepts": v.is_ok(), "reason": v.as_ref().err()}))
                        .collect();
                    let to: Vec<_> = reveals
                        .iter()
                        .map(|(who, what)| serde_json::json!({"to": who, "what": what}))
                        .collect();
                    let budget = spending.as_ref().map(|(dataset, epsilon, ledgers)| {
                        let per_node: Vec<_> = client
                            .nodes()
                            .iter()
                            .zip(ledgers)
                            .map(|(n, b)| serde_json::json!({"node": n.id, "ledger": b}))
                            .collect();
                        serde_json::json!({"dataset": dataset, "epsilon": epsilon, "nodes": per_node})
                    });
                    outln!(
                        "{}",
                        serde_json::json!({"job": spec.kind(), "reveals": to, "nodes": nodes, "budget": budget})
                    );
                }
                Format::Table | Format::Csv => {
                    outln!("a {} job would reveal:", spec.kind());
                    for (who, what) in &reveals {
                        outln!("  to {who}: {what}");
                    }
                    let rows: Vec<Vec<String>> = client
                        .nodes()
                        .iter()
                        .zip(&verdicts)
                        .map(|(n, v)| match v {
                            Ok(()) => vec![n.id.clone(), "takes part".into(), String::new()],
                            Err(reason) => vec![n.id.clone(), "refuses".into(), reason.clone()],
                        })
                        .collect();
                    out!("{}", render(&["node", "verdict", "reason"], &rows));
                    if let Some((dataset, epsilon, ledgers)) = &spending {
                        outln!("privacy budget of `{dataset}` (this job spends epsilon {epsilon}):");
                        let rows: Vec<Vec<String>> = client
                            .nodes()
                            .iter()
                            .zip(ledgers)
                            .map(|(n, b)| match b {
                                Some(b) => vec![
                                    n.id.clone(),
                                    format!("{}", b.spent),
                                    b.budget.map_or("none".into(), |v| format!("{v}")),
                                    b.budget.map_or("-".into(), |v| {
                                        format!("{}", (v - b.spent - epsilon).max(0.0))
                                    }),
                                ],
                                None => vec![n.id.clone(), "?".into(), "?".into(), "?".into()],
                            })
                            .collect();
                        out!("{}", render(&["node", "spent", "budget", "left after this job"], &rows));
                    }
                }
            }
            if !refusals.is_empty() {
                return Err(ClientError::Refused(refusals).into());
            }
        }
        Command::Job(JobCommand::Submit(submit)) => {
            let client = client(cli.cluster)?;
            let (spec, wait) = spec_of(submit, &client).await?;
            let job = client.submit(spec).await?;
            outln!("{job}");
            if wait {
                client.wait(job, Duration::from_secs(3600)).await?;
                print_result(&client.result(job).await?, format);
            }
        }
        Command::Job(JobCommand::Status { id }) => {
            let client = client(cli.cluster)?;
            let statuses = client.status(id).await;
            let rows: Vec<Vec<String>> = statuses
                .iter()
                .zip(client.nodes())
                .map(|(s, n)| match s {
                    Ok(s) => vec![
                        n.id.clone(),
                        s.state.to_string(),
                        s.progress.clone(),
                        s.bytes_sent.to_string(),
                        s.rounds.to_string(),
                        s.reason.clone().unwrap_or_default(),
                    ],
                    Err(e) => {
                        vec![
                            n.id.clone(),
                            "unknown".into(),
                            String::new(),
                            "-".into(),
                            "-".into(),
                            e.to_string(),
                        ]
                    }
                })
                .collect();
            let names = ["node", "state", "progress", "bytes sent", "rounds", "reason"];
            match format {
                Format::Table => out!("{}", render(&names, &rows)),
                Format::Csv => {
                    out!("{}", crate::table::csv(&(names.map(String::from).to_vec(), rows.clone())))
                }
                Format::Json => {
                    let v: Vec<_> = statuses
                        .iter()
                        .zip(client.nodes())
                        .map(|(s, n)| match s {
                            Ok(s) => serde_json::json!({"node": n.id, "status": s}),
                            Err(e) => serde_json::json!({"node": n.id, "error": e.to_string()}),
                        })
                        .collect();
                    outln!("{}", serde_json::Value::Array(v));
                }
            }
        }
        Command::Job(JobCommand::Watch { id, timeout }) => {
            let client = client(cli.cluster)?;
            watch(&client, id, Duration::from_secs(timeout)).await?;
            print_result(&client.result(id).await?, format);
        }
        Command::Job(JobCommand::Wait { id, timeout }) => {
            client(cli.cluster)?.wait(id, Duration::from_secs(timeout)).await?;
            outln!("done");
        }
        Command::Audit(AuditCommand::Verify) => {
            let client = client(cli.cluster)?;
            let logs = client.audit_logs().await;
            let mut problems = Vec::new();
            let mut verified = Vec::new();
            for (node, log) in client.nodes().iter().zip(logs) {
                match log.map_err(|e| e.to_string()).and_then(|text| {
                    wire::audit::verify_served(&text).map_err(|(line, why)| format!("line {line}: {why}"))
                }) {
                    Ok((entries, withheld)) => {
                        let others = match withheld {
                            0 => String::new(),
                            n => format!(
                                " ({n} more about other operators' jobs: links checked, contents withheld)"
                            ),
                        };
                        outln!("{}: {} entries{others}, chain intact", node.id, entries.len());
                        verified.push((node.id.clone(), entries));
                    }
                    Err(why) => {
                        outln!("{}: DOES NOT VERIFY: {why}", node.id);
                        problems.push(format!("{}: {why}", node.id));
                    }
                }
            }
            for d in wire::audit::disagreements(&verified) {
                outln!("DISAGREEMENT: {d}");
                problems.push(d);
            }
            if !problems.is_empty() {
                anyhow::bail!(AuditFailed(problems.len()));
            }
            outln!("every log verifies and the nodes agree on every job");
        }
        Command::Report { id, out } => {
            let client = client(cli.cluster)?;
            let (kmeans, fairness) = match client.result(id).await? {
                JobResult::Kmeans(k) => (k, None),
                JobResult::Fairness(f) => {
                    let segments: JobId = f.segments_job.parse().map_err(anyhow::Error::msg)?;
                    (client.kmeans_result(segments).await?, Some(f))
                }
                _ => {
                    anyhow::bail!("job {id} is neither a kmeans nor a fairness job; a report shows segments")
                }
            };
            let page = crate::report::write(&out, &kmeans, fairness.as_ref())?;
            outln!("{}", page.display());
        }
        Command::Plain(PlainCommand::Kmeans {
            files,
            kmeans,
            schema,
            dataset,
            consent,
            protected,
            min_cell,
            labels_out,
        }) => {
            let schema = schema.map(|p| crate::plain::load_schema(&p, &dataset)).transpose()?;
            let levels = schema.as_ref().and_then(|s| {
                s.categorical.iter().find(|c| Some(&c.name) == protected.as_ref()).map(|c| c.levels.clone())
            });
            let paths: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
            let features = &kmeans.features;
            let columns = crate::plain::Columns {
                features,
                consent: consent.as_deref().or(schema.as_ref().and_then(|s| s.consent.as_deref())),
                protected: protected.as_deref(),
                levels: levels.as_deref(),
            };
            let records = crate::plain::read(&paths, &columns)?;
            let bounds = crate::plain::bounds(schema.as_ref(), features, &records.rows);
            let n = records.rows.len() as u64;
            let (result, labels) = match kmeans.epsilon {
                Some(epsilon) => {
                    let (iterations, _, _) = kmeans.resolved(n);
                    let p = protocol::kmeans::private::PrivateParams {
                        k: kmeans.k as usize,
                        iterations: iterations as usize,
                        seed: kmeans.seed,
                        epsilon,
                        min_segment: kmeans.min_segment,
                    };
                    crate::plain::kmeans_private(&records, features, &bounds, p)?
                }
                None => crate::plain::kmeans(&records, features, &bounds, kmeans.params(n))?,
            };
            let fairness =
                protected.map(|p| crate::plain::fairness(&records, &labels, &result, &p, min_cell));
            if let Some(out) = labels_out {
                std::fs::write(&out, crate::plain::labels_csv(&paths, &records, &labels))
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            print_result(&JobResult::Kmeans(result), format);
            if let Some(f) = fairness {
                print_result(&JobResult::Fairness(f), format);
            }
        }
        Command::Job(JobCommand::Result { id }) => {
            print_result(&client(cli.cluster)?.result(id).await?, format)
        }
    }
    Ok(())
}

/// Polls every node's status and shows the slowest node's steps with a bar on stderr (hidden
/// when stderr is not a terminal), until the job is done everywhere or failed somewhere.
async fn watch(client: &Client, id: JobId, limit: Duration) -> Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let deadline = std::time::Instant::now() + limit;
    loop {
        let statuses: Vec<_> = client.status(id).await.into_iter().collect::<Result<_, _>>()?;
        if let Some(failed) = statuses.iter().find(|s| s.state == wire::control::JobState::Failed) {
            bar.abandon_with_message("failed");
            return Err(ClientError::Failed(failed.reason.clone().unwrap_or_default()).into());
        }
        let steps = statuses.iter().map(|s| s.steps).max().unwrap_or(0);
        bar.set_length(steps);
        bar.set_position(statuses.iter().map(|s| s.step).min().unwrap_or(0));
        let slowest = statuses.iter().min_by_key(|s| s.step).map(|s| s.progress.clone()).unwrap_or_default();
        bar.set_message(slowest);
        bar.tick();
        if statuses.iter().all(|s| s.state == wire::control::JobState::Done) {
            bar.finish_with_message("done");
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bar.abandon();
            return Err(ClientError::Failed(format!("not finished after {} s", limit.as_secs())).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn print_datasets(list: &[DatasetView], format: Format) {
    match format {
        Format::Json => outln!("{}", serde_json::to_string(list).expect("datasets serialise")),
        Format::Table | Format::Csv => {
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|d| {
                    let owners: Vec<String> = d.owners.iter().map(|(o, n)| format!("{o} ({n})")).collect();
                    let cats: Vec<String> =
                        d.categorical.iter().map(|(c, l)| format!("{c} [{}]", l.join("|"))).collect();
                    vec![
                        d.name.clone(),
                        d.rows.to_string(),
                        owners.join(", "),
                        d.features.join(","),
                        cats.join(", "),
                    ]
                })
                .collect();
            let names = ["dataset", "records", "owners (records)", "numeric", "categorical"];
            if format == Format::Csv {
                out!("{}", crate::table::csv(&(names.map(String::from).to_vec(), rows)));
            } else {
                out!("{}", render(&names, &rows));
            }
        }
    }
}

/// For a private job: its dataset, its epsilon, and each node's ledger line for the dataset
/// (`None` where a node does not answer).
async fn budget_of(
    client: &Client,
    spec: &JobSpec,
) -> Option<(String, f64, Vec<Option<wire::control::BudgetInfo>>)> {
    let epsilon = spec.epsilon()?;
    let dataset = match spec {
        JobSpec::Fairness(FairnessJob { segments, .. }) => {
            let statuses = client.status(*segments).await;
            statuses.into_iter().flatten().find_map(|s| s.spec?.dataset().map(str::to_string))?
        }
        other => other.dataset()?.to_string(),
    };
    let ledgers = client
        .budgets()
        .await
        .into_iter()
        .map(|l| l.ok().and_then(|list| list.into_iter().find(|b| b.dataset == dataset)))
        .collect();
    Some((dataset, epsilon, ledgers))
}

/// How a result's heading says that its figures carry differential-privacy noise.
fn private_note(epsilon: Option<f64>) -> String {
    epsilon.map_or_else(String::new, |e| {
        format!(", differentially private at epsilon {e}: every figure carries noise that no node drew alone")
    })
}

fn print_result(result: &JobResult, format: Format) {
    match (format, result) {
        (Format::Json, r) => outln!("{}", serde_json::to_string(r).expect("result serialises")),
        (Format::Csv, JobResult::Stats(r)) => out!("{}", crate::table::csv(&crate::table::stats_grid(r))),
        (Format::Csv, JobResult::Kmeans(r)) => {
            out!("{}", crate::table::csv(&crate::table::segments_grid(r)))
        }
        (Format::Csv, JobResult::Fairness(r)) => {
            out!("{}", crate::table::csv(&crate::table::fairness_grid(r)))
        }
        (Format::Csv, JobResult::Bench(r)) => {
            out!("{}", crate::table::csv(&crate::table::traffic_grid(&r.nodes)))
        }
        (Format::Table, JobResult::Stats(r)) => {
            outln!(
                "stats of `{}` over {} records (job {}){}",
                r.dataset,
                r.count,
                r.job,
                private_note(r.epsilon)
            );
            out!("{}", crate::table::stats(r));
        }
        (Format::Table, JobResult::Kmeans(r)) => {
            let quality = match r.segments.wcss {
                Some(w) => format!("; within-cluster sum of squares {w:.2} (standardised)"),
                None => String::new(),
            };
            outln!(
                "{} segments of `{}` over {} records (job {}){quality}{}",
                r.segments.k,
                r.dataset,
                r.count,
                r.job,
                private_note(r.epsilon)
            );
            out!("{}", crate::table::segments(r));
        }
        (Format::Table, JobResult::Fairness(r)) => {
            outln!(
                "fairness of the segments of job {} by `{}` (job {}){}",
                r.segments_job,
                r.protected,
                r.job,
                private_note(r.epsilon)
            );
            out!("{}", crate::table::fairness(r));
        }
        (Format::Table, JobResult::Bench(r)) => {
            outln!("{} of size {} (job {}): sampled results match plaintext", r.op, r.size, r.job);
            out!("{}", crate::table::traffic(&r.nodes));
        }
    }
}
