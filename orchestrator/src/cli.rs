//! The `orchestrator` command line: the parser, and the one place where a command's output is
//! printed in the format asked for (each command lives in [`crate::commands`], each output
//! form in [`crate::render`]).

use crate::client::ClientError;
use crate::cluster::CLUSTER_ENV;
use crate::commands::{self, audit, cluster, job, plain};
pub use crate::render::Format;
use crate::render::commands::AuditFailed;
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use wire::control::JobId;

/// Exit code when a node refused a job.
pub const EXIT_REFUSED: u8 = 3;
/// Exit code when a job failed.
pub const EXIT_FAILED: u8 = 4;
/// Exit code when an audit log does not verify.
pub const EXIT_AUDIT: u8 = 5;

/// Drive the secure segmentation cluster: datasets, jobs, results.
#[derive(Debug, Parser)]
#[command(name = "orchestrator", version)]
pub struct Cli {
    /// Cluster file (operator identity and nodes).
    #[arg(long, global = true, env = CLUSTER_ENV, value_name = "FILE")]
    cluster: Option<PathBuf>,
    /// Output format: `json` prints exactly one JSON document on stdout (nothing when the
    /// command fails); progress and notices always go to stderr.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(subcommand)]
    command: Command,
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
    Cluster(cluster::ClusterCommand),
    /// Submit jobs and read their results.
    #[command(subcommand)]
    Job(job::JobCommand),
    /// The nodes' audit logs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
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
    Plain(plain::PlainCommand),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let format = cli.format;
    let outcome = runtime.block_on(async {
        let outcome = run(cli).await;
        crate::client::finish_closing().await;
        outcome
    });
    // The one place where output is printed: nothing on stdout for a command that failed; a
    // negative verdict (a refusal in `job explain`, a log that does not verify) is printed,
    // then ends the command in failure.
    let failure = match outcome {
        Ok(output) => {
            crate::render::print(output.as_ref(), format);
            output.failure()
        }
        Err(e) => Some(e),
    };
    match failure {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("error: {}", net::error_chain(e.as_ref()));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit status that says what went wrong.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<AuditFailed>().is_some() {
        return EXIT_AUDIT;
    }
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Refused(_)) => EXIT_REFUSED,
        Some(ClientError::Failed(_)) => EXIT_FAILED,
        _ => 1,
    }
}

async fn run(cli: Cli) -> Result<commands::Output> {
    let connect = || commands::client(cli.cluster.clone());
    match cli.command {
        Command::Keygen { out, name } => commands::keygen::run(&out, &name),
        Command::Datasets => commands::datasets::run(&connect()?).await,
        Command::Budget => commands::budget::run(&connect()?).await,
        Command::Cluster(c) => cluster::run(c, &connect()?).await,
        Command::Job(c) => job::run(c, &connect()?).await,
        Command::Audit(c) => audit::run(c, &connect()?).await,
        Command::Report { id, out } => commands::report::run(id, &out, &connect()?).await,
        Command::Plain(c) => plain::run(c),
    }
}
