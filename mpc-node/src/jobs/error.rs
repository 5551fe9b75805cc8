//! Why a job is refused or fails on this node: one typed error for the vote, the start, the
//! lifecycle refusals and the run. Its text is what operators read (in a vote's reason, a
//! refused request, or a failed job's record), so every message names the node, job, dataset
//! or feature concerned.

use crate::ledger::LedgerError;
use crate::store::StoreError;
use std::path::PathBuf;
use thiserror::Error;
use wire::control::{JobId, JobState};

/// A boxed error from the engine or another part of `protocol`, whatever its type.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a job was refused, or why it failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JobError {
    // --- Lifecycle refusals ---
    /// An operator named a job this node does not know.
    #[error("unknown job {0}")]
    UnknownJob(JobId),
    /// A peer or a job named a job this node does not know.
    #[error("node {node} has no job {job}")]
    NoSuchJob {
        /// This node.
        node: String,
        /// The job.
        job: JobId,
    },
    /// The id of a new job is taken.
    #[error("job {0} already exists")]
    Exists(JobId),
    /// Only the submitter may start or abort a job.
    #[error("only the operator that submitted a job can {action} it")]
    NotSubmitter {
        /// `start` or `abort`.
        action: &'static str,
    },
    /// A job can start only once, from `submitted`.
    #[error("job {job} is {state}, not submitted")]
    NotSubmitted {
        /// The job.
        job: JobId,
        /// Its state here.
        state: JobState,
    },
    /// A failure notice came from a node that takes no part in the job.
    #[error("node {peer} is not a party of job {job}")]
    NotAParty {
        /// The sender.
        peer: String,
        /// The job.
        job: JobId,
    },
    /// The job finished here: a failure notice cannot undo it.
    #[error("job {job} is already {state} on node {node}")]
    Finished {
        /// The job.
        job: JobId,
        /// Its final state here.
        state: JobState,
        /// This node.
        node: String,
    },
    /// This node refused the job (at the vote or at the start), for `reason`.
    #[error("refused by node {node}: {reason}")]
    Refused {
        /// This node.
        node: String,
        /// Why.
        reason: Box<JobError>,
    },

    // --- How a job ends without output ---
    /// Its submitter aborted it.
    #[error("aborted: {0}")]
    Aborted(String),
    /// Another node's part of the job failed.
    #[error("node {peer} failed the job: {reason}")]
    FailedElsewhere {
        /// The node that failed.
        peer: String,
        /// Its reason.
        reason: String,
    },
    /// This node restarted while the job was in progress.
    #[error("the node restarted while the job was in progress")]
    Restarted,
    /// Shares the job reads were erased.
    #[error("shares of `{dataset}` were erased ({reason})")]
    Erased {
        /// The dataset.
        dataset: String,
        /// Why they were erased.
        reason: String,
    },

    // --- Checks of a job's parameters and data ---
    /// The epsilon is not a positive number.
    #[error("epsilon must be a positive number, got {0}")]
    Epsilon(f64),
    /// The dataset does not exist here.
    #[error("dataset `{dataset}` does not exist on node {node}")]
    NoDataset {
        /// The dataset.
        dataset: String,
        /// This node.
        node: String,
    },
    /// No feature was chosen.
    #[error("no feature was chosen")]
    NoFeature,
    /// A feature is listed twice.
    #[error("feature `{0}` is listed twice")]
    DuplicateFeature(String),
    /// A feature is not a numeric column of the dataset.
    #[error("`{feature}` is not a numeric feature of `{dataset}` (numeric features: {numeric})")]
    NotNumeric {
        /// The feature.
        feature: String,
        /// The dataset.
        dataset: String,
        /// Its numeric features, comma-separated.
        numeric: String,
    },
    /// A feature's sum could overflow the fixed-point range.
    #[error(
        "the sum of `{feature}` over {count} records bounded by {bound} could overflow the fixed-point range; \
         declare a tighter min/max for it in the schema"
    )]
    MayOverflow {
        /// The feature.
        feature: String,
        /// Records.
        count: u64,
        /// The bound of each value.
        bound: f64,
    },
    /// A private job's feature declares no range.
    #[error(
        "`{feature}` of `{dataset}` has no declared min and max; differential privacy scales its noise to the \
         declared range, so declare both in the schema"
    )]
    NoDeclaredRange {
        /// The feature.
        feature: String,
        /// The dataset.
        dataset: String,
    },
    /// The noise of a private release cannot be drawn exactly, or could wrap.
    #[error("differential privacy: {0}")]
    Noise(String),
    /// A k-means parameter is out of range.
    #[error("{name} must be between 1 and {max}, got {got}")]
    OutOfRange {
        /// `k`, `iterations` or `restarts`.
        name: &'static str,
        /// The largest allowed.
        max: u32,
        /// What the job asks.
        got: u32,
    },
    /// More segments than records.
    #[error("k = {k} is larger than the {rows} records of `{dataset}`")]
    KTooLarge {
        /// Segments asked.
        k: u32,
        /// Records of the dataset.
        rows: u64,
        /// The dataset.
        dataset: String,
    },
    /// A k-means specification breaks a rule that holds whatever the data.
    #[error(transparent)]
    KmeansSpec(#[from] wire::control::KmeansSpecError),
    /// The benchmark names no known operation.
    #[error(transparent)]
    BenchOp(#[from] protocol::bench::BenchError),
    /// The benchmark's size is out of range.
    #[error("a {op} benchmark takes a size from 1 to {max} values per operand")]
    BenchSize {
        /// The operation.
        op: &'static str,
        /// The largest size.
        max: u64,
    },
    /// A fairness job's segmentation belongs to another operator.
    #[error("job {0} was submitted by another operator")]
    NotYours(JobId),
    /// A fairness job's segmentation is not a k-means job.
    #[error("job {job} is a {kind} job, not kmeans")]
    NotKmeans {
        /// The segmentation's job.
        job: JobId,
        /// Its kind.
        kind: &'static str,
    },
    /// A fairness job's segmentation has not finished.
    #[error("job {job} is {state}, not done")]
    NotDone {
        /// The segmentation's job.
        job: JobId,
        /// Its state.
        state: JobState,
    },
    /// A fairness job's segments were erased.
    #[error("the segments of job {job} are gone ({why}); segment the dataset again")]
    SegmentsErased {
        /// The segmentation's job.
        job: JobId,
        /// Why.
        why: String,
    },
    /// This node holds no segments of the segmentation.
    #[error("node {node} holds no segments of job {job}")]
    NoSegments {
        /// This node.
        node: String,
        /// The segmentation's job.
        job: JobId,
    },
    /// The dataset changed since the segmentation.
    #[error("dataset `{dataset}` changed since job {job}; segment it again")]
    DatasetChanged {
        /// The dataset.
        dataset: String,
        /// The segmentation's job.
        job: JobId,
    },
    /// A fairness job's protected column is not categorical.
    #[error("`{column}` is not a categorical column of `{dataset}` (categorical: {categorical})")]
    NotCategorical {
        /// The column.
        column: String,
        /// The dataset.
        dataset: String,
        /// Its categorical columns, comma-separated.
        categorical: String,
    },
    /// The segmentation's record does not say which segments it withheld.
    #[error("node {node} cannot read which segments job {job} withheld")]
    UnreadableWithheld {
        /// This node.
        node: String,
        /// The segmentation's job.
        job: JobId,
    },
    /// A private fairness job on an exact segmentation.
    #[error(
        "job {0} is an exact segmentation: a differentially private fairness job needs segments from a k-means \
         job run with --epsilon"
    )]
    ExactSegmentation(JobId),
    /// An exact fairness job on a private segmentation.
    #[error("job {0} is a differentially private segmentation: its fairness table needs --epsilon too")]
    PrivateSegmentation(JobId),
    /// This node's policy refuses the job.
    #[error(transparent)]
    Policy(#[from] crate::policy::Refusal),
    /// This node's privacy budget cannot pay for the job.
    #[error(transparent)]
    Budget(#[from] LedgerError),
    /// A private job whose dataset cannot be found (its segmentation is gone).
    #[error("the job reads no dataset")]
    NoDatasetRead,

    // --- Failures while running ---
    /// The share store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// This node could not record that the job reads the dataset's current version.
    #[error("cannot record that the job reads `{dataset}`: {source}")]
    NoteUsed {
        /// The dataset.
        dataset: String,
        /// What failed.
        source: StoreError,
    },
    /// The operating system gave no randomness.
    #[error("no OS randomness: {0}")]
    Randomness(Source),
    /// The engine (or another protocol step) failed: a lost or misbehaving peer, a timeout,
    /// a value out of range.
    #[error(transparent)]
    Engine(Source),
    /// A contribution's owner is not a member.
    #[error("unknown owner")]
    UnknownOwner,
    /// The owner's labels file cannot be written.
    #[error("{}: {source}", path.display())]
    Labels {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

impl JobError {
    /// Wraps an error of the engine or another protocol step.
    pub fn engine(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        JobError::Engine(Box::new(e))
    }
}
