//! Requests from operators (and from a node's own owner) to a node, and the answers.
//!
//! One request per bidirectional stream: the client writes one [`Request`] frame and
//! finishes its side; the node answers with one [`Response`] frame.

use crate::U64s;
use crate::schema::Schema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A request with the sender's protocol version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The sender's [`crate::PROTOCOL_VERSION`].
    pub version: u16,
    /// What is asked.
    pub body: RequestBody,
}

impl Request {
    /// A request at this build's protocol version.
    pub fn new(body: RequestBody) -> Self {
        Self { version: crate::PROTOCOL_VERSION, body }
    }
}

/// What an operator or owner can ask a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestBody {
    /// Liveness and identity.
    Ping,
    /// The datasets this node holds shares of (names, columns, counts; never values).
    ListDatasets,
    /// Owner only: ingest this node's CSV for `dataset` and share it with every node.
    Ingest {
        /// Dataset name from the node's configuration.
        dataset: String,
        /// Replace this node's current contribution to the dataset. Without it, an ingest
        /// that would replace one is refused ([`ErrorKind::Conflict`]) and nothing is sent.
        replace: bool,
    },
    /// Propose a job; the node checks it and votes.
    SubmitJob {
        /// Identifier chosen by the submitter.
        job: JobId,
        /// What to compute.
        spec: JobSpec,
    },
    /// Every node accepted: start computing.
    StartJob {
        /// The job.
        job: JobId,
    },
    /// Some node refused or could not be reached: drop the job.
    AbortJob {
        /// The job.
        job: JobId,
        /// Why.
        reason: String,
    },
    /// State of a job on this node.
    JobStatus {
        /// The job.
        job: JobId,
    },
    /// This node's shares of the job's output (only for the operator that submitted it).
    JobResult {
        /// The job.
        job: JobId,
    },
    /// Operators: who the node is, its datasets, the jobs it is running, and its links to
    /// the other nodes (each probed now).
    NodeStatus,
    /// Operators: would this node take part in `spec`? Answered with a [`Response::Vote`];
    /// nothing is recorded or started.
    CheckJob {
        /// The job.
        spec: JobSpec,
    },
    /// Operators: lines of this node's audit log from position `from`, at most
    /// [`AUDIT_PAGE`] of them.
    AuditLog {
        /// The first line wanted (0-based).
        from: u64,
    },
    /// Operators: this node's privacy-budget ledger, per dataset.
    PrivacyBudget,
    /// Owner only: put back, on every node, the contribution this node's last ingest with
    /// `replace` replaced, and drop the current one (while the replaced one is restorable).
    Restore {
        /// Dataset name.
        dataset: String,
    },
}

/// Most audit lines in one answer.
pub const AUDIT_PAGE: usize = 200;

/// A node's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Answer to [`RequestBody::Ping`].
    Pong(NodeInfo),
    /// Answer to [`RequestBody::ListDatasets`].
    Datasets(Vec<DatasetInfo>),
    /// Answer to [`RequestBody::Ingest`].
    Ingested(IngestReport),
    /// Answer to [`RequestBody::SubmitJob`].
    Vote {
        /// Whether this node takes part.
        accept: bool,
        /// Why not, when it refuses.
        reason: Option<String>,
    },
    /// The request was carried out.
    Ack,
    /// Answer to [`RequestBody::JobStatus`].
    Status(JobStatusInfo),
    /// Answer to [`RequestBody::JobResult`].
    Result(JobResultShares),
    /// The request failed.
    Error {
        /// Its category.
        kind: ErrorKind,
        /// A message for the operator.
        message: String,
    },
    /// Answer to [`RequestBody::NodeStatus`].
    NodeStatus(NodeStatus),
    /// Answer to [`RequestBody::AuditLog`]: raw lines, and whether more follow.
    AuditLines {
        /// The lines, as stored.
        lines: Vec<String>,
        /// Whether the log has more lines after these.
        more: bool,
    },
    /// Answer to [`RequestBody::PrivacyBudget`].
    PrivacyBudget(Vec<BudgetInfo>),
    /// Answer to [`RequestBody::Restore`].
    Restored(RestoreReport),
}

/// One dataset's line of a node's privacy-budget ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetInfo {
    /// The dataset.
    pub dataset: String,
    /// The epsilon the jobs on it have spent (sequential composition: the sum).
    pub spent: f64,
    /// The budget this node's policy sets for it, if any.
    pub budget: Option<f64>,
    /// Whether this node's policy refuses jobs on it without differential privacy.
    pub requires_epsilon: bool,
    /// The jobs that spent it.
    pub jobs: u64,
}

/// Categories of failure, so that clients can map them to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The sender is not allowed to ask this.
    Forbidden,
    /// The dataset or job does not exist.
    NotFound,
    /// The request is invalid.
    BadRequest,
    /// The request was valid but carrying it out failed.
    Failed,
    /// The sender speaks another protocol version.
    Version,
    /// The request would replace data that exists; it takes an explicit confirmation (an
    /// ingest: `replace`).
    Conflict,
}

/// Who a node is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's configured id.
    pub node_id: String,
    /// Its party index in the cluster (nodes sorted by id).
    pub party: u16,
    /// Number of nodes in the cluster.
    pub parties: u16,
    /// Software version.
    pub version: String,
    /// The security model of its engine: `passive` or `active`.
    pub security: String,
}

/// A node's view of itself and of the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Who it is.
    pub info: NodeInfo,
    /// Its datasets: name and records.
    pub datasets: Vec<(String, u64)>,
    /// Jobs submitted or running here: id, kind and progress.
    pub jobs: Vec<(String, String, String)>,
    /// Its link to every other node, probed when asked.
    pub links: Vec<PeerLink>,
}

/// One node's link to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerLink {
    /// The other node.
    pub node: String,
    /// The round-trip time of the QUIC connection, in microseconds, when it is up.
    pub rtt_us: Option<u64>,
    /// Why it is down.
    pub error: Option<String>,
}

/// One dataset as a node knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Dataset name.
    pub name: String,
    /// Its columns.
    pub schema: Schema,
    /// Each owner's contribution.
    pub contributions: Vec<ContributionInfo>,
}

impl DatasetInfo {
    /// Total number of records over all contributions.
    pub fn rows(&self) -> u64 {
        self.contributions.iter().map(|c| c.rows).sum()
    }
}

/// One owner's part of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionInfo {
    /// Identifier of the contribution (random, chosen by the owner).
    pub id: String,
    /// The owner node's id.
    pub owner: String,
    /// Number of records shared.
    pub rows: u64,
}

/// The outcome of an ingest, for the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Dataset name.
    pub dataset: String,
    /// The new contribution's id.
    pub contribution: String,
    /// Records shared.
    pub rows: u64,
    /// Records skipped because their consent column said no.
    pub skipped_no_consent: u64,
    /// Nodes that stored the shares.
    pub nodes: u16,
    /// Share bytes the owner sent to the other nodes.
    pub bytes_sent: u64,
    /// The owner's contribution this one replaced, if any.
    pub replaced: Option<ReplacedInfo>,
}

/// A contribution an ingest replaced, kept aside on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplacedInfo {
    /// Its id.
    pub contribution: String,
    /// Its records.
    pub rows: u64,
    /// Until when (milliseconds since the Unix epoch) the owner's node keeps it restorable,
    /// unless a job uses the new contribution before.
    pub keep_until_ms: u64,
}

/// The outcome of a restore, for the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// Dataset name.
    pub dataset: String,
    /// The contribution put back.
    pub restored: String,
    /// Its records.
    pub restored_rows: u64,
    /// The contribution dropped.
    pub dropped: String,
    /// Its records.
    pub dropped_rows: u64,
    /// Nodes that restored.
    pub nodes: u16,
}

/// A job identifier: 16 random bytes, written as 32 hex digits (also in JSON).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub [u8; 16]);

impl Serialize for JobId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.serialize_str(&self.to_string()) } else { self.0.serialize(s) }
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 16]>::deserialize(d).map(JobId)
        }
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({self})")
    }
}

/// A string that is not what it should be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Not a job id.
    #[error("`{0}` is not a job id (32 hex digits)")]
    JobId(String),
    /// Not a way to start k-means.
    #[error("unknown initialisation `{0}` (use kmeans++ or random)")]
    Init(String),
}

impl FromStr for JobId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || ParseError::JobId(s.to_string());
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// How a `kmeans` job chooses its starting centroids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KmeansInit {
    /// k-means++ seeding on shares: records drawn with probability proportional to their
    /// squared distance to the centres chosen so far; none is revealed.
    #[default]
    PlusPlus,
    /// Points drawn uniformly from `[-1.5, 1.5]^d` in standardised units with the job's seed.
    Random,
}

impl KmeansInit {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KmeansInit::PlusPlus => "kmeans++",
            KmeansInit::Random => "random",
        }
    }
}

impl std::fmt::Display for KmeansInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KmeansInit {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "kmeans++" | "plus-plus" => Ok(KmeansInit::PlusPlus),
            "random" => Ok(KmeansInit::Random),
            other => Err(ParseError::Init(other.to_string())),
        }
    }
}

/// What a job computes: one specification per kind of job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobSpec {
    /// Count, sum, mean and variance of numeric features.
    Stats(StatsJob),
    /// Secure k-means segmentation.
    Kmeans(KmeansJob),
    /// Fairness statistics of a segmentation.
    Fairness(FairnessJob),
    /// A benchmark of the engine.
    Bench(BenchJob),
}

/// Count, sum and mean of numeric features over all records of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsJob {
    /// Dataset name.
    pub dataset: String,
    /// Numeric features to summarise.
    pub features: Vec<String>,
    /// Release every sum with differential privacy at this budget (noise drawn inside the
    /// computation); exact values when absent.
    #[serde(default)]
    pub epsilon: Option<f64>,
}

/// Secure k-means segmentation of standardised features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansJob {
    /// Dataset name.
    pub dataset: String,
    /// Numeric features to segment on.
    pub features: Vec<String>,
    /// Number of segments.
    pub k: u32,
    /// Lloyd iterations (public, fixed).
    pub iterations: u32,
    /// Seed of the starting centroids (public; they depend on no record).
    pub seed: u64,
    /// Runs side by side from different starting centroids; the lowest within-cluster sum of
    /// squares wins.
    pub restarts: u32,
    /// How the starting centroids are chosen.
    pub init: KmeansInit,
    /// Give each owner node, and only it, the segment of each of its own records.
    pub labels: bool,
    /// Segments with fewer records are suppressed: their centroid and size are not released.
    #[serde(default)]
    pub min_segment: u64,
    /// Run differentially private k-means (DPLloyd, noisy sums and counts each iteration) at
    /// this budget; the exact job when absent.
    #[serde(default)]
    pub epsilon: Option<f64>,
}

/// Why a k-means specification cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KmeansSpecError {
    /// A private job picked its starts by the data or ran several restarts.
    #[error(
        "a differentially private k-means job runs once from starting centroids that depend on no \
         record: use --restarts {restarts} --init {init}",
        restarts = KmeansJob::PRIVATE_RESTARTS,
        init = KmeansJob::PRIVATE_INIT
    )]
    PrivateStarts,
}

impl KmeansJob {
    /// The restarts of a private job: one (choosing the best of several by their exact
    /// within-cluster sums would use the records without noise).
    pub const PRIVATE_RESTARTS: u32 = 1;
    /// The starts of a private job: random points (k-means++ draws records).
    pub const PRIVATE_INIT: KmeansInit = KmeansInit::Random;
    /// The restarts of an exact job unless the operator says otherwise.
    pub const DEFAULT_RESTARTS: u32 = 5;
    /// The starts of an exact job unless the operator says otherwise.
    pub const DEFAULT_INIT: KmeansInit = KmeansInit::PlusPlus;
    /// Lloyd iterations of an exact job unless the operator says otherwise.
    pub const DEFAULT_ITERATIONS: u32 = 10;

    /// The restarts and starts of a job that does not name them: the private ones when
    /// `private`, else the exact defaults.
    pub fn default_starts(private: bool) -> (u32, KmeansInit) {
        if private {
            (Self::PRIVATE_RESTARTS, Self::PRIVATE_INIT)
        } else {
            (Self::DEFAULT_RESTARTS, Self::DEFAULT_INIT)
        }
    }

    /// Checks the rules a specification must follow whatever the data: a private job runs
    /// once from random starts.
    pub fn check(&self) -> Result<(), KmeansSpecError> {
        if self.epsilon.is_some()
            && (self.restarts != Self::PRIVATE_RESTARTS || self.init != Self::PRIVATE_INIT)
        {
            return Err(KmeansSpecError::PrivateStarts);
        }
        Ok(())
    }
}

/// Fairness statistics of a finished `kmeans` job's segments against a protected categorical
/// column: the segment-by-group table is computed on shares and opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessJob {
    /// The `kmeans` job whose segments to examine.
    pub segments: JobId,
    /// The protected categorical column.
    pub protected: String,
    /// Cells (and group totals) below this count are withheld from the operator.
    pub min_cell: u64,
    /// Release the table with differential privacy at this budget; exact when absent.
    #[serde(default)]
    pub epsilon: Option<f64>,
}

/// A benchmark of the engine on random secret inputs (no dataset is read); opens a few samples
/// so that the result can be checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchJob {
    /// The workload (`mul`, `matmul`).
    pub op: String,
    /// Its size (products, or matrix rows).
    pub size: u64,
}

impl JobSpec {
    /// The job type's name, as on the command line.
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Stats(_) => "stats",
            JobSpec::Bench(_) => "bench",
            JobSpec::Kmeans(_) => "kmeans",
            JobSpec::Fairness(_) => "fairness",
        }
    }

    /// The privacy budget the job spends, if it releases with differential privacy.
    pub fn epsilon(&self) -> Option<f64> {
        match self {
            JobSpec::Stats(StatsJob { epsilon, .. })
            | JobSpec::Kmeans(KmeansJob { epsilon, .. })
            | JobSpec::Fairness(FairnessJob { epsilon, .. }) => *epsilon,
            JobSpec::Bench(_) => None,
        }
    }

    /// The dataset the job reads, if any.
    pub fn dataset(&self) -> Option<&str> {
        match self {
            JobSpec::Stats(StatsJob { dataset, .. }) | JobSpec::Kmeans(KmeansJob { dataset, .. }) => {
                Some(dataset)
            }
            JobSpec::Bench(_) | JobSpec::Fairness(_) => None,
        }
    }
}

/// Lifecycle of a job on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Accepted, waiting for the start signal.
    Submitted,
    /// Computing.
    Running,
    /// Finished; the result can be fetched.
    Done,
    /// Stopped with an error.
    Failed,
}

impl JobState {
    /// Whether the job will not change state any more.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobState::Submitted => "submitted",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        })
    }
}

/// A job as one node sees it. Of a job another operator submitted, a node shows only its
/// kind, state and timing (unless its policy names the asker an auditor): its specification,
/// progress, traffic and failure reason are that operator's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatusInfo {
    /// The job.
    pub job: JobId,
    /// The job type's name.
    pub kind: String,
    /// What it computes (`None` for another operator's job).
    pub spec: Option<JobSpec>,
    /// Where it is.
    pub state: JobState,
    /// Why it failed.
    pub reason: Option<String>,
    /// A short description of the current step.
    pub progress: String,
    /// Protocol payload bytes this node sent to the other nodes for the job.
    pub bytes_sent: u64,
    /// Communication rounds of the job so far.
    pub rounds: u64,
    /// Time the job ran on this node, from its start signal to its end, in milliseconds.
    pub elapsed_ms: u64,
    /// Steps done of `steps` (for example Lloyd iterations); both 0 when the job has none.
    pub step: u64,
    /// Steps in all.
    pub steps: u64,
}

/// One node's components of a job's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResultShares {
    /// The job.
    pub job: JobId,
    /// The answering node's party index.
    pub party: u16,
    /// Number of nodes.
    pub parties: u16,
    /// Number of records the job covered (public).
    pub count: u64,
    /// How to read the outputs (names, shapes, what was withheld).
    pub layout: crate::output::OutputLayout,
    /// The components of the outputs that this node holds.
    pub components: Vec<WireComponent>,
}

/// An additive component of a vector of secrets, as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireComponent {
    /// Index of the component in the layout.
    pub id: u16,
    /// Its values.
    pub values: U64s,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_print_and_parse() {
        let id = JobId([0xab; 16]);
        assert_eq!(id.to_string(), "ab".repeat(16));
        assert_eq!(id.to_string().parse::<JobId>().unwrap(), id);
        assert!("xyz".parse::<JobId>().is_err());
        assert!("zz".repeat(16).parse::<JobId>().is_err());
    }

    #[test]
    fn job_ids_are_hex_in_json_and_bytes_on_the_wire() {
        let id = JobId([1; 16]);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{}\"", "01".repeat(16)));
        assert_eq!(serde_json::from_str::<JobId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
        assert_eq!(postcard::to_stdvec(&id).unwrap(), vec![1; 16]);
    }

    #[test]
    fn request_known_answer() {
        // Version 5 (varint 0x05), variant 0 (Ping).
        assert_eq!(postcard::to_stdvec(&Request::new(RequestBody::Ping)).unwrap(), vec![5, 0]);
        // Variant 2 (Ingest), the name (length 1, `d`), replace = true.
        let ingest = RequestBody::Ingest { dataset: "d".into(), replace: true };
        assert_eq!(postcard::to_stdvec(&Request::new(ingest)).unwrap(), vec![5, 2, 1, b'd', 1]);
    }
}
