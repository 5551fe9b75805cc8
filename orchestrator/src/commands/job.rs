//! `orchestrator job ...`: submit jobs, explain them, follow them and read their results.

use super::Output;
use crate::client::{Client, ClientError};
use crate::render::cluster::JobStatuses;
use crate::render::commands::{
    Explained, RevealView, SpendView, SpendingView, Submitted, VerdictView, Waited,
};
use anyhow::Result;
use clap::Subcommand;
use std::time::Duration;
use wire::control::{BenchJob, FairnessJob, JobId, JobSpec, KmeansInit, KmeansJob, StatsJob};

/// The parameters of a k-means job, on the cluster or in the plaintext mode.
#[derive(Debug, clap::Args)]
pub struct KmeansArgs {
    /// Comma-separated numeric features.
    #[arg(long, value_delimiter = ',', required = true)]
    pub features: Vec<String>,
    /// Number of segments.
    #[arg(long)]
    pub k: u32,
    /// Lloyd iterations, public and fixed [default: 10; with --epsilon, the number Su et al.
    /// recommend for the dataset's size, 2 to 7].
    #[arg(long)]
    pub iterations: Option<u32>,
    /// Seed of the starting centroids.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Runs side by side from different starting centroids; the lowest within-cluster sum of
    /// squares wins [default: 5; with --epsilon, 1].
    #[arg(long)]
    pub restarts: Option<u32>,
    /// Starting centroids: `kmeans++` (greedy k-means++ seeding on shares) or `random` (points
    /// that depend on no record) [default: kmeans++; with --epsilon, random].
    #[arg(long)]
    pub init: Option<KmeansInit>,
    /// Segments with fewer records are suppressed: their centroid and size are not released.
    #[arg(long, default_value_t = 5)]
    pub min_segment: u64,
    /// Differentially private k-means (DPLloyd: noisy sums and counts each iteration, noise
    /// drawn inside the computation) at this privacy budget.
    #[arg(long)]
    pub epsilon: Option<f64>,
}

impl KmeansArgs {
    /// Iterations, restarts and starting rule, with the defaults of an exact or private job
    /// over `records` records.
    pub fn resolved(&self, records: u64) -> (u32, u32, KmeansInit) {
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
    pub fn params(&self, records: u64) -> protocol::kmeans::Params {
        let (iterations, restarts, init) = self.resolved(records);
        crate::plain::params(self.k, iterations, self.seed, restarts, init, self.min_segment)
    }
}

/// Submit jobs and read their results.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Submit a job; prints its id (with --wait, then its result; with --format json, one
    /// document: `{"job": ID}`, or `{"job": ID, "result": ...}`).
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

/// A job to submit (or explain).
#[derive(Debug, Subcommand)]
pub enum SubmitCommand {
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
        #[allow(missing_docs)] // The k-means parameters, documented field by field.
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

/// Runs a job command.
pub async fn run(command: JobCommand, client: &Client) -> Result<Output> {
    Ok(match command {
        JobCommand::Submit(submit) => {
            let (spec, wait) = spec_of(submit, client).await?;
            let job = client.submit(spec).await?;
            let result = if wait {
                eprintln!("submitted job {job}; waiting for it");
                client.wait(job, Duration::from_secs(3600)).await?;
                Some(client.result(job).await?)
            } else {
                None
            };
            Box::new(Submitted { job: job.to_string(), result })
        }
        JobCommand::Explain(submit) => Box::new(explain(submit, client).await?),
        JobCommand::Status { id } => {
            Box::new(JobStatuses { nodes: client.nodes().to_vec(), statuses: client.status(id).await })
        }
        JobCommand::Watch { id, timeout } => {
            watch(client, id, Duration::from_secs(timeout)).await?;
            Box::new(client.result(id).await?)
        }
        JobCommand::Wait { id, timeout } => {
            client.wait(id, Duration::from_secs(timeout)).await?;
            Box::new(Waited { job: id.to_string(), state: "done" })
        }
        JobCommand::Result { id } => Box::new(client.result(id).await?),
    })
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

/// What a job would reveal, each node's verdict, and for a private job what it would spend.
async fn explain(submit: SubmitCommand, client: &Client) -> Result<Explained> {
    let (spec, _) = spec_of(submit, client).await?;
    let verdicts = client.check(&spec).await;
    let models: Vec<Option<String>> =
        client.node_statuses().await.into_iter().map(|s| s.ok().map(|s| s.info.security)).collect();
    let reveals = crate::explain::reveals(&spec, client.operator())
        .into_iter()
        .map(|(to, what)| RevealView { to, what })
        .collect();
    let nodes = client
        .nodes()
        .iter()
        .zip(&verdicts)
        .zip(models)
        .map(|((n, v), security)| VerdictView {
            node: n.id.clone(),
            accepts: v.is_ok(),
            reason: v.as_ref().err().map(ToString::to_string),
            security,
        })
        .collect();
    let budget = budget_of(client, &spec).await.map(|(dataset, epsilon, ledgers)| SpendingView {
        dataset,
        epsilon,
        nodes: client
            .nodes()
            .iter()
            .zip(ledgers)
            .map(|(n, b)| SpendView {
                node: n.id.clone(),
                known: b.is_some(),
                spent: b.as_ref().map(|b| b.spent),
                budget: b.as_ref().and_then(|b| b.budget),
                left_after: b.as_ref().and_then(|b| b.budget.map(|v| (v - b.spent - epsilon).max(0.0))),
            })
            .collect(),
    });
    Ok(Explained { kind: spec.kind().to_string(), reveals, nodes, budget })
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
