//! Jobs on one node: records kept on disk, the checks a node makes before it takes part, and
//! the runner that drives the protocol over the mesh.
//!
//! Lifecycle: `submitted` (this node accepted the job and waits for the start signal),
//! `running`, then `done` or `failed` with a reason. A node that restarts marks the jobs it
//! was in the middle of as failed.

mod bench;
pub mod channel;
mod erasure;
mod fairness;
mod kmeans;
pub mod revealed;
mod stats;
mod upgrade;

use crate::node::Node;
use crate::store::{DatasetMeta, StoreError, write_atomic};
use net::Fingerprint;
use protocol::sharing::Component;
use protocol::{Counted, Traffic};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wire::audit::Event;
use wire::control::{BenchJob, FairnessJob, JobId, JobSpec, JobState, JobStatusInfo, KmeansJob, StatsJob};

pub use erasure::erase_derived;

/// What a finished job leaves on this node: its components of the outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutput {
    /// Records covered.
    pub count: u64,
    /// How to read the outputs.
    pub layout: wire::output::OutputLayout,
    /// This node's components of the outputs.
    pub components: Vec<Component>,
}

/// A job as this node records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job.
    pub id: JobId,
    /// What it computes.
    pub spec: JobSpec,
    /// The operator that submitted it; only it may read the output.
    pub submitter: Fingerprint,
    /// Where it is.
    pub state: JobState,
    /// Why it failed.
    pub reason: Option<String>,
    /// The current step.
    pub progress: String,
    /// The output, once done.
    pub output: Option<JobOutput>,
    /// What this node sent for the job.
    #[serde(default)]
    pub traffic: Traffic,
    /// Time from the start signal to the end, in milliseconds.
    #[serde(default)]
    pub elapsed_ms: u64,
    /// Steps done and in all, for progress bars.
    #[serde(default)]
    pub steps: (u64, u64),
    /// Why the output, segments and labels of this job were erased here (with shares of its
    /// dataset), if they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<String>,
    /// The key of this job's audit digests (the job's common secret), once agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<revealed::AuditKey>,
}

impl JobRecord {
    /// The record as the control API reports it to its submitter (or an auditor).
    pub fn status(&self) -> JobStatusInfo {
        JobStatusInfo {
            job: self.id,
            kind: self.spec.kind().into(),
            spec: Some(self.spec.clone()),
            state: self.state,
            reason: self.reason.clone(),
            progress: self.progress.clone(),
            bytes_sent: self.traffic.bytes_sent,
            rounds: self.traffic.rounds,
            elapsed_ms: self.elapsed_ms,
            step: self.steps.0,
            steps: self.steps.1,
        }
    }

    /// The record as another operator sees it: its kind, state and timing only (its
    /// parameters, progress, traffic and failure reason are its submitter's).
    pub fn summary(&self) -> JobStatusInfo {
        JobStatusInfo {
            job: self.id,
            kind: self.spec.kind().into(),
            spec: None,
            state: self.state,
            reason: None,
            progress: self.state.to_string(),
            bytes_sent: 0,
            rounds: 0,
            elapsed_ms: self.elapsed_ms,
            step: 0,
            steps: 0,
        }
    }
}

struct Entry {
    record: JobRecord,
    task: Option<tokio::task::AbortHandle>,
}

/// The jobs this node knows, persisted under `jobs/` in the data directory.
pub struct Jobs {
    dir: PathBuf,
    entries: Mutex<HashMap<JobId, Entry>>,
}

impl Jobs {
    /// Loads every job record; jobs that were not finished are marked failed.
    pub fn load(dir: PathBuf) -> Result<Self, StoreError> {
        let mut entries = HashMap::new();
        let read_dir =
            std::fs::read_dir(&dir).map_err(|source| StoreError::Io { path: dir.clone(), source })?;
        for entry in read_dir {
            let path = entry.map_err(|source| StoreError::Io { path: dir.clone(), source })?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let bytes =
                std::fs::read(&path).map_err(|source| StoreError::Io { path: path.clone(), source })?;
            let mut record = upgrade::read_record(&bytes)
                .map_err(|reason| StoreError::Corrupt { path: path.clone(), reason })?;
            if !record.state.is_final() {
                record.state = JobState::Failed;
                record.reason = Some("the node restarted while the job was in progress".into());
                write_atomic(&path, &serde_json::to_vec_pretty(&record).expect("record serialises"))?;
            }
            entries.insert(record.id, Entry { record, task: None });
        }
        Ok(Self { dir, entries: Mutex::new(entries) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(&self, record: &JobRecord) {
        let path = self.dir.join(format!("{}.json", record.id));
        if let Err(e) = write_atomic(&path, &serde_json::to_vec_pretty(record).expect("record serialises")) {
            tracing::error!(job = %record.id, error = %e, "cannot persist a job record");
        }
    }

    /// The jobs submitted or running here: id, kind and progress (only the state for the
    /// jobs `shown` does not accept).
    pub fn active(&self, shown: impl Fn(&JobRecord) -> bool) -> Vec<(String, String, String)> {
        let mut list: Vec<_> = self
            .lock()
            .values()
            .filter(|e| !e.record.state.is_final())
            .map(|e| {
                let r = &e.record;
                let progress = if shown(r) { r.progress.clone() } else { r.state.to_string() };
                (r.id.to_string(), r.spec.kind().to_string(), progress)
            })
            .collect();
        list.sort();
        list
    }

    /// Whether peers may open channels for `job`: it is submitted or running here.
    pub fn accepts_channels(&self, job: &JobId) -> bool {
        self.lock()
            .get(job)
            .is_some_and(|e| matches!(e.record.state, JobState::Submitted | JobState::Running))
    }

    /// Moves a submitted job of `requester` to running, atomically.
    fn begin(&self, job: JobId, requester: Fingerprint) -> Result<JobRecord, String> {
        let mut entries = self.lock();
        let entry = entries.get_mut(&job).ok_or_else(|| format!("unknown job {job}"))?;
        if entry.record.submitter != requester {
            return Err("only the operator that submitted a job can start it".into());
        }
        if entry.record.state != JobState::Submitted {
            return Err(format!("job {job} is {}, not submitted", entry.record.state));
        }
        entry.record.state = JobState::Running;
        entry.record.progress = "starting".into();
        self.persist(&entry.record);
        Ok(entry.record.clone())
    }

    /// Remembers the task of a running job (and stops it if the job was aborted meanwhile).
    fn set_task(&self, job: JobId, task: tokio::task::AbortHandle) {
        let mut entries = self.lock();
        match entries.get_mut(&job) {
            Some(e) if e.record.state == JobState::Running => e.task = Some(task),
            _ => task.abort(),
        }
    }

    /// Records the outcome of a running job; a job aborted meanwhile stays failed.
    fn finish(&self, job: JobId, outcome: Result<JobOutput, String>, traffic: Traffic, elapsed_ms: u64) {
        self.update(job, |e| {
            e.task = None;
            e.record.traffic = traffic;
            e.record.elapsed_ms = elapsed_ms;
            if e.record.state != JobState::Running {
                return;
            }
            match outcome {
                Ok(output) => {
                    e.record.state = JobState::Done;
                    e.record.progress = "done".into();
                    e.record.output = Some(output);
                }
                Err(reason) => {
                    e.record.state = JobState::Failed;
                    e.record.reason = Some(reason);
                }
            }
        });
    }

    /// A copy of the record of `job`.
    pub fn get(&self, job: &JobId) -> Option<JobRecord> {
        self.lock().get(job).map(|e| e.record.clone())
    }

    /// The key of `job`'s audit digests, once its nodes agreed on it.
    pub fn audit_key(&self, job: &JobId) -> Option<revealed::AuditKey> {
        self.lock().get(job).and_then(|e| e.record.audit_key.clone())
    }

    /// Records a new job; refuses an id that exists.
    fn insert(&self, record: JobRecord) -> Result<(), String> {
        let mut entries = self.lock();
        if entries.contains_key(&record.id) {
            return Err(format!("job {} already exists", record.id));
        }
        self.persist(&record);
        entries.insert(record.id, Entry { record, task: None });
        Ok(())
    }

    /// Changes a record and persists it.
    fn update(&self, job: JobId, f: impl FnOnce(&mut Entry)) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&job) {
            f(entry);
            self.persist(&entry.record);
        }
    }

    /// Sets the progress text of a running job (kept in memory only).
    pub fn progress(&self, job: JobId, text: &str) {
        if let Some(e) = self.lock().get_mut(&job) {
            e.record.progress = text.into();
        }
    }

    /// Sets the progress of a running job counted in steps (kept in memory only).
    pub fn steps(&self, job: JobId, done: usize, total: usize, text: &str) {
        if let Some(e) = self.lock().get_mut(&job) {
            e.record.progress = text.into();
            e.record.steps = (done as u64, total as u64);
        }
    }
}

/// How this node would vote on `spec` (its data and its policy), without recording anything.
pub fn dry_run(node: &Node, spec: &JobSpec, submitter: Fingerprint) -> Result<(), String> {
    check(node, spec, submitter)
}

/// Checks a job against this node's data and policy before voting. Returns the reason for a
/// refusal.
fn check(node: &Node, spec: &JobSpec, submitter: Fingerprint) -> Result<(), String> {
    if let Some(epsilon) = spec.epsilon()
        && !(epsilon.is_finite() && epsilon > 0.0)
    {
        return Err(format!("epsilon must be a positive number, got {epsilon}"));
    }
    let (dataset, features) = match spec {
        JobSpec::Stats(StatsJob { dataset, features, .. })
        | JobSpec::Kmeans(KmeansJob { dataset, features, .. }) => (dataset, features),
        JobSpec::Bench(BenchJob { op, size }) => return bench::check(op, *size),
        JobSpec::Fairness(FairnessJob { segments, protected, epsilon, .. }) => {
            let inputs = fairness::check(node, *segments, protected, submitter)?;
            match (epsilon, inputs.segmentation.epsilon()) {
                (Some(_), None) => {
                    return Err(format!(
                        "job {segments} is an exact segmentation: a differentially private fairness job needs \
                         segments from a k-means job run with --epsilon"
                    ));
                }
                // Exact cells would give the segments' exact sizes, which the private job
                // released only with noise (and a withheld segment's by subtraction).
                (None, Some(_)) => {
                    return Err(format!(
                        "job {segments} is a differentially private segmentation: its fairness table needs \
                         --epsilon too"
                    ));
                }
                _ => {}
            }
            check_policy(node, spec, &inputs.meta.name, Some(&inputs.segmentation))?;
            if let Some(epsilon) = epsilon {
                protocol::fairness::cell_noise(*epsilon).map_err(|e| format!("differential privacy: {e}"))?;
            }
            return check_budget(node, spec, &inputs.meta.name);
        }
    };
    let meta = dataset_meta(node, dataset)?;
    check_stats(&meta, features)?;
    if spec.epsilon().is_some() {
        check_declared_ranges(&meta, features)?;
        check_noise(node, spec, &meta)?;
    }
    if let JobSpec::Kmeans(job) = spec {
        kmeans::check(&meta, job.k, job.iterations, job.restarts)?;
        job.check().map_err(|e| e.to_string())?;
    }
    check_policy(node, spec, dataset, None)?;
    check_budget(node, spec, dataset)
}

/// A differentially private release's noise is scaled to the features' declared ranges:
/// every feature must declare both ends.
fn check_declared_ranges(meta: &DatasetMeta, features: &[String]) -> Result<(), String> {
    for f in features {
        let column = meta.schema.features.iter().find(|c| &c.name == f);
        if column.is_none_or(|c| c.min.is_none() || c.max.is_none()) {
            return Err(format!(
                "`{f}` of `{}` has no declared min and max; differential privacy scales its noise to the \
                 declared range, so declare both in the schema",
                meta.name
            ));
        }
    }
    Ok(())
}

/// Checks that every release of a private `stats` or `kmeans` job on `meta` has noise the
/// sampler draws exactly, and that no value can wrap with its noise: a job that fails here
/// would have to release less noise than it was charged for, so it is refused before it is
/// charged or computes anything.
fn check_noise(node: &Node, spec: &JobSpec, meta: &DatasetMeta) -> Result<(), String> {
    let parties = node.members.len();
    match spec {
        JobSpec::Stats(StatsJob { features, epsilon: Some(epsilon), .. }) => {
            let refused =
                |e: protocol::dp::DpError| format!("differential privacy: {}", e.describe(features));
            let ranges = feature_bounds(meta, features);
            protocol::stats::noise_plan(meta.rows(), &ranges, *epsilon, parties).map_err(refused)?;
        }
        JobSpec::Kmeans(KmeansJob {
            features,
            k,
            iterations,
            seed,
            min_segment,
            epsilon: Some(epsilon),
            ..
        }) => {
            let p = protocol::kmeans::private::PrivateParams {
                k: *k as usize,
                iterations: *iterations as usize,
                seed: *seed,
                epsilon: *epsilon,
                min_segment: *min_segment,
            };
            let refused =
                |e: protocol::dp::DpError| format!("differential privacy: {}", e.describe(features));
            let bounds = feature_bounds(meta, features);
            protocol::kmeans::private::noise_plan(&p, &bounds, meta.rows(), parties).map_err(refused)?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether this node's ledger can pay for the job's epsilon on `dataset`.
fn check_budget(node: &Node, spec: &JobSpec, dataset: &str) -> Result<(), String> {
    let Some(epsilon) = spec.epsilon() else { return Ok(()) };
    node.ledger.check(dataset, epsilon, budget(node, dataset)).map_err(|e| e.to_string())
}

/// This node's budget for `dataset`.
fn budget(node: &Node, dataset: &str) -> Option<f64> {
    node.config.rules.as_ref().and_then(|p| p.budget(dataset))
}

/// The dataset a job reads: its own, or its segmentation's for a fairness job.
fn job_dataset(node: &Node, spec: &JobSpec) -> Option<String> {
    match spec {
        JobSpec::Fairness(FairnessJob { segments, .. }) => {
            node.jobs.get(segments).and_then(|r| r.spec.dataset().map(str::to_string))
        }
        other => other.dataset().map(str::to_string),
    }
}

/// Charges a private job's epsilon to this node's ledger before it computes anything, and
/// records the charge in the audit log.
fn charge(node: &Node, job: JobId, spec: &JobSpec) -> Result<(), String> {
    let Some(epsilon) = spec.epsilon() else { return Ok(()) };
    let dataset = job_dataset(node, spec).ok_or("the job reads no dataset")?;
    let budget = budget(node, &dataset);
    let spent = node.ledger.charge(&dataset, &job.to_string(), epsilon, budget).map_err(|e| e.to_string())?;
    node.audit.record(Event::Spent { job: job.to_string(), dataset, epsilon, spent, budget });
    Ok(())
}

/// Checks a job against this node's policy, if it has one.
fn check_policy(
    node: &Node,
    spec: &JobSpec,
    dataset: &str,
    segmentation: Option<&JobSpec>,
) -> Result<(), String> {
    match &node.config.rules {
        Some(policy) => policy.check(spec, dataset, segmentation),
        None => Ok(()),
    }
}

/// The metadata of `dataset` on this node, or why there is none.
fn dataset_meta(node: &Node, dataset: &str) -> Result<DatasetMeta, String> {
    node.store
        .dataset(dataset)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("dataset `{dataset}` does not exist on node {}", node.config.node_id))
}

/// This node's share as the components it holds, ready to keep or to send.
fn own_components(node: &Node, share: protocol::replicated::RepVec) -> Vec<Component> {
    node.layout
        .held_by(node.me)
        .into_iter()
        .zip(share.comps)
        .map(|(id, values)| Component { id: id as u16, values })
        .collect()
}

/// The start of every job: agree with every node on the job's view (one round), then on the
/// engine's per-job seeds (one round).
async fn start_engine<'t, T: protocol::Transport>(
    node: &Node,
    job: JobId,
    spec: &JobSpec,
    meta: Option<&DatasetMeta>,
    channel: &'t T,
) -> Result<protocol::replicated::Replicated<'t, T>, String> {
    node.jobs.progress(job, "agreeing on the job with every node");
    let nonce: [u8; 32] = rand::RngExt::random(&mut os_rng()?);
    let secret = protocol::agree::agree(channel, view_digest(node, job, spec, meta), nonce)
        .await
        .map_err(|e| e.to_string())?;
    node.jobs.update(job, |e| e.record.audit_key = Some(revealed::AuditKey(secret.0)));
    // Every node reads this version now: what its contributions replaced is no longer restorable.
    if let Some(meta) = meta {
        crate::contributions::note_used(node, job, meta)?;
    }
    node.jobs.progress(job, "agreeing on seeds");
    protocol::replicated::Replicated::setup(channel, &mut os_rng()?).await.map_err(|e| e.to_string())
}

/// A fresh generator seeded by the operating system, for a job's seeds and this node's part
/// of its noise: nobody else, the operator included, can reproduce it.
fn os_rng() -> Result<rand_chacha::ChaCha20Rng, String> {
    use rand::SeedableRng;
    rand_chacha::ChaCha20Rng::try_from_rng(&mut rand::rngs::SysRng)
        .map_err(|e| format!("no OS randomness: {e}"))
}

/// Loads the committed contributions of a dataset and returns, for each named feature, this
/// node's share of that feature over every record (components in held order).
async fn feature_columns(
    node: &Arc<Node>,
    meta: &DatasetMeta,
    features: &[String],
) -> Result<Vec<protocol::replicated::RepVec>, String> {
    let columns: Vec<usize> = features
        .iter()
        .map(|f| meta.schema.feature_index(f).ok_or_else(|| format!("`{f}` is not a numeric feature")))
        .collect::<Result<_, _>>()?;
    stored_columns(node, meta, &columns).await
}

/// This node's share of the columns at the given storage positions, over every record.
async fn stored_columns(
    node: &Arc<Node>,
    meta: &DatasetMeta,
    columns: &[usize],
) -> Result<Vec<protocol::replicated::RepVec>, String> {
    let (dataset, contributions) = (meta.name.clone(), meta.contributions.clone());
    let loaded = node
        .with_store(move |store| {
            contributions.iter().map(|c| store.load(&dataset, c)).collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| e.to_string())?;
    let held = node.layout.held_by(node.me).len();
    Ok(columns
        .iter()
        .map(|&j| protocol::replicated::RepVec {
            comps: (0..held)
                .map(|i| loaded.iter().flat_map(|s| s.columns[i][j].values.iter().copied()).collect())
                .collect(),
        })
        .collect())
}

/// The declared range of each named feature (the fixed-point range where none is declared).
fn feature_bounds(meta: &DatasetMeta, features: &[String]) -> Vec<(f64, f64)> {
    features
        .iter()
        .filter_map(|f| meta.schema.features.iter().find(|c| &c.name == f))
        .map(|c| (c.min.unwrap_or(-protocol::fixed::MAX_ABS), c.max.unwrap_or(protocol::fixed::MAX_ABS)))
        .collect()
}

/// Checks the features of a `stats` job against a dataset, including that no sum can
/// overflow for the dataset's current record count.
fn check_stats(meta: &DatasetMeta, features: &[String]) -> Result<(), String> {
    let dataset = &meta.name;
    if features.is_empty() {
        return Err("no feature was chosen".into());
    }
    let mut bounds = Vec::new();
    for (i, f) in features.iter().enumerate() {
        if features[..i].contains(f) {
            return Err(format!("feature `{f}` is listed twice"));
        }
        let Some(column) = meta.schema.features.iter().find(|c| &c.name == f) else {
            let numeric: Vec<&str> = meta.schema.features.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "`{f}` is not a numeric feature of `{dataset}` (numeric features: {})",
                numeric.join(", ")
            ));
        };
        let lo = column.min.unwrap_or(-protocol::fixed::MAX_ABS).abs();
        let hi = column.max.unwrap_or(protocol::fixed::MAX_ABS).abs();
        bounds.push(lo.max(hi));
    }
    protocol::stats::check_bounds(meta.rows(), &bounds).map_err(|e| match e {
        protocol::stats::StatsError::MayOverflow { feature, count, bound } => format!(
            "the sum of `{}` over {count} records bounded by {bound} could overflow the fixed-point range; \
             declare a tighter min/max for it in the schema",
            features[feature]
        ),
    })
}

/// What every node must agree on before a job computes: the job, the members, and the
/// dataset's columns and contributions.
fn view_digest(node: &Node, job: JobId, spec: &JobSpec, meta: Option<&DatasetMeta>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"segmpc job view v1");
    h.update(job.0);
    h.update(postcard::to_stdvec(spec).expect("spec serialises"));
    for m in &node.members {
        h.update((m.id.len() as u64).to_le_bytes());
        h.update(m.id.as_bytes());
        h.update(m.fingerprint.0);
    }
    if let Some(meta) = meta {
        h.update(postcard::to_stdvec(&meta.schema).expect("schema serialises"));
        for c in &meta.contributions {
            h.update(postcard::to_stdvec(&(&c.id, &c.owner, c.rows)).expect("entry serialises"));
        }
    }
    h.finalize().into()
}

/// Handles a submission: checks the job and records the vote.
pub fn submit(node: &Node, job: JobId, spec: JobSpec, submitter: Fingerprint) -> Result<(), String> {
    let verdict = check(node, &spec, submitter);
    let spec_json = serde_json::to_string(&spec).expect("specifications serialise");
    let submitted = Event::Submitted {
        job: job.to_string(),
        spec_digest: wire::audit::digest(spec_json.as_bytes()),
        spec: spec_json,
        submitter: submitter.to_string(),
        accepted: verdict.is_ok(),
        reason: verdict.as_ref().err().cloned(),
    };
    let record = JobRecord {
        id: job,
        spec,
        submitter,
        state: if verdict.is_ok() { JobState::Submitted } else { JobState::Failed },
        reason: verdict.as_ref().err().map(|r| format!("refused by node {}: {r}", node.config.node_id)),
        progress: "waiting for every node to accept".into(),
        output: None,
        traffic: Traffic::default(),
        elapsed_ms: 0,
        steps: (0, 0),
        erased: None,
        audit_key: None,
    };
    node.jobs.insert(record)?;
    node.audit.record(submitted);
    tracing::info!(%job, accepted = verdict.is_ok(), reason = ?verdict.as_ref().err(), "job submitted");
    verdict
}

/// Starts a submitted job in the background, once its epsilon (if any) is charged.
pub fn start(node: Arc<Node>, job: JobId, requester: Fingerprint) -> Result<(), String> {
    let record = node.jobs.begin(job, requester)?;
    // Everything checked at the vote is checked again (the data, the policy, the noise, the
    // budget) before anything is charged or computed: a refusal here costs nothing.
    let checked =
        check(&node, &record.spec, record.submitter).and_then(|()| charge(&node, job, &record.spec));
    if let Err(reason) = checked {
        let reason = format!("refused by node {}: {reason}", node.config.node_id);
        node.jobs.finish(job, Err(reason.clone()), Traffic::default(), 0);
        record_end(&node, job);
        return Err(reason);
    }
    let runner = node.clone();
    let handle = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let channel = Counted::new(channel::QuicChannel::new(runner.clone(), job));
        let outcome = match &record.spec {
            JobSpec::Stats(_) => stats::run(runner.clone(), job, &record.spec, &channel).await,
            JobSpec::Bench(BenchJob { op, size }) => {
                bench::run(runner.clone(), job, &record.spec, op, *size, &channel).await
            }
            JobSpec::Kmeans(_) => kmeans::run(runner.clone(), job, &record.spec, &channel).await,
            JobSpec::Fairness(_) => fairness::run(runner.clone(), job, &record.spec, &channel).await,
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let traffic = channel.traffic();
        match &outcome {
            Ok(_) => {
                tracing::info!(%job, bytes_sent = traffic.bytes_sent, rounds = traffic.rounds, "job done")
            }
            Err(reason) => tracing::warn!(%job, %reason, "job failed"),
        }
        let failure = outcome.as_ref().err().cloned();
        // Finish first, so that no channel for the job is accepted after the inbox is cleared.
        runner.jobs.finish(job, outcome, traffic, elapsed_ms);
        record_end(&runner, job);
        // Tell the others why before closing the channels, so that they report the cause
        // (say, the node that was lost) rather than this node's closed channel.
        if let Some(reason) = failure {
            tell_peers_it_failed(&runner, job, &reason).await;
        }
        channel.inner().close().await;
    });
    node.jobs.set_task(job, handle.abort_handle());
    Ok(())
}

/// Sends every other node that `job` failed here and why (each within the mesh probe
/// timeout; a node that is gone is not waited for).
async fn tell_peers_it_failed(node: &Arc<Node>, job: JobId, reason: &str) {
    let peers: Vec<usize> = (0..node.members.len()).filter(|&p| p != node.me).collect();
    let notices = peers.iter().map(|&p| {
        let request = wire::mesh::MeshRequest::JobFailed { job, reason: reason.to_string() };
        tokio::time::timeout(crate::mesh::PROBE_TIMEOUT, node.mesh.call(p, request))
    });
    futures_util::future::join_all(notices).await;
}

/// Why a node ignores another node's notice that a job failed.
#[derive(Debug, thiserror::Error)]
pub enum NoticeRefused {
    /// The job is not known here.
    #[error("node {node} has no job {job}")]
    UnknownJob {
        /// This node.
        node: String,
        /// The job.
        job: JobId,
    },
    /// The sender takes no part in the job.
    #[error("node {peer} is not a party of job {job}")]
    NotAParty {
        /// The sender.
        peer: String,
        /// The job.
        job: JobId,
    },
    /// The job finished here: a notice cannot undo it.
    #[error("job {job} is already {state} on node {node}")]
    Finished {
        /// The job.
        job: JobId,
        /// Its final state here.
        state: JobState,
        /// This node.
        node: String,
    },
}

/// Another node's part of `job` failed: stop this node's part with its reason. Honoured only
/// from a party of the job (every node takes part in every job), for a job that exists here
/// and has not finished; a notice about a job that already failed here changes nothing.
pub fn failed_elsewhere(node: &Node, job: JobId, party: usize, reason: &str) -> Result<(), NoticeRefused> {
    let peer = node.members.get(party).map_or_else(|| format!("#{party}"), |m| m.id.clone());
    let here = node.config.node_id.clone();
    if node.jobs.get(&job).is_none() {
        return Err(NoticeRefused::UnknownJob { node: here, job });
    }
    if party >= node.members.len() || party == node.me {
        return Err(NoticeRefused::NotAParty { peer, job });
    }
    let mut refusal = None;
    let mut stopped = false;
    node.jobs.update(job, |e| match e.record.state {
        JobState::Failed => {}
        state if state.is_final() => refusal = Some(NoticeRefused::Finished { job, state, node: here }),
        _ => {
            if let Some(task) = e.task.take() {
                task.abort();
            }
            e.record.state = JobState::Failed;
            e.record.reason = Some(format!("node {peer} failed the job: {reason}"));
            stopped = true;
        }
    });
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    if stopped {
        node.inbox.clear(job);
        record_end(node, job);
        tracing::warn!(%job, %peer, %reason, "job failed on another node");
    }
    Ok(())
}

/// Records in the audit log how `job` ended here.
fn record_end(node: &Node, job: JobId) {
    if let Some(r) = node.jobs.get(&job) {
        node.audit.record(Event::Ended {
            job: job.to_string(),
            state: r.state.to_string(),
            reason: r.reason,
        });
    }
}

/// Stops a job that has not finished, recording `reason`.
pub fn abort(node: &Node, job: JobId, reason: &str, requester: Fingerprint) -> Result<(), String> {
    let record = node.jobs.get(&job).ok_or_else(|| format!("unknown job {job}"))?;
    if record.submitter != requester {
        return Err("only the operator that submitted a job can abort it".into());
    }
    node.jobs.update(job, |e| {
        if !e.record.state.is_final() {
            if let Some(task) = e.task.take() {
                task.abort();
            }
            e.record.state = JobState::Failed;
            e.record.reason = Some(format!("aborted: {reason}"));
        }
    });
    node.inbox.clear(job);
    record_end(node, job);
    Ok(())
}
