//! What job code may see and touch, and nothing more: [`View`] reads this node's place in
//! the cluster, the job records and the store (for the checks, at the vote and at the
//! start); [`JobContext`] adds, for one running job, its progress, the audit of what it
//! opens, the OS randomness, the segments it keeps and the owner's labels file, and the
//! agreement every job starts with.

use super::JobError;
use super::record::JobRecord;
use super::registry::Jobs;
use super::revealed;
use crate::audit::AuditLog;
use crate::local::Local;
use crate::store::{DatasetMeta, Segments, Store, StoreError};
use net::Fingerprint;
use protocol::replicated::{HonestMajority, RepVec};
use protocol::sharing::Component;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use wire::control::{JobId, JobSpec};

/// Read access to this node's place in the cluster, its job records and its store.
#[derive(Clone)]
pub struct View {
    local: Arc<Local>,
    store: Arc<Store>,
    jobs: Arc<Jobs>,
}

impl View {
    /// A view of `local`, `store` and `jobs`.
    pub fn new(local: Arc<Local>, store: Arc<Store>, jobs: Arc<Jobs>) -> Self {
        Self { local, store, jobs }
    }

    /// This node's place in the cluster.
    pub fn local(&self) -> &Local {
        &self.local
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        self.local.node_id()
    }

    /// The job records.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// A copy of the record of `job`.
    pub fn record(&self, job: &JobId) -> Option<JobRecord> {
        self.jobs.get(job)
    }

    /// The metadata of `dataset` on this node, or why there is none.
    pub fn dataset(&self, dataset: &str) -> Result<DatasetMeta, JobError> {
        self.store
            .dataset(dataset)?
            .ok_or_else(|| JobError::NoDataset { dataset: dataset.into(), node: self.node_id().into() })
    }

    /// The segments `job` left on this node, if any.
    pub fn segments(&self, job: &JobId) -> Result<Option<Segments>, StoreError> {
        self.store.load_segments(&job.to_string())
    }

    /// This node's place in the cluster, shared.
    pub(super) fn local_arc(&self) -> Arc<Local> {
        self.local.clone()
    }

    /// Deletes the segments and labels files of `job`; whether there were any.
    pub(super) async fn erase_job_files(&self, job: JobId) -> Result<bool, StoreError> {
        let id = job.to_string();
        self.with_store(move |store| store.erase_job_files(&id)).await
    }

    /// Runs blocking store work (file reads, writes, syncs) off the async worker threads.
    async fn with_store<R, F>(&self, f: F) -> R
    where
        R: Send + 'static,
        F: FnOnce(&Store) -> R + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store)).await.expect("a store task panicked")
    }
}

/// What one running job may touch.
pub struct JobContext {
    view: View,
    job: JobId,
    audit: Arc<AuditLog>,
}

impl JobContext {
    /// The context of `job`, recording what it opens in `audit`.
    pub fn new(view: View, job: JobId, audit: Arc<AuditLog>) -> Self {
        Self { view, job, audit }
    }

    /// The job.
    pub fn job(&self) -> JobId {
        self.job
    }

    /// The read access of the checks.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        self.view.node_id()
    }

    /// How many nodes take part.
    pub fn parties(&self) -> usize {
        self.view.local.members.len()
    }

    /// The party number of the node `id`.
    pub fn party_of(&self, id: &str) -> Option<usize> {
        self.view.local.members.iter().position(|m| m.id == id)
    }

    /// The operator that submitted the job.
    pub fn submitter(&self) -> Result<Fingerprint, JobError> {
        let node = self.node_id().to_string();
        self.view.record(&self.job).map(|r| r.submitter).ok_or(JobError::NoSuchJob { node, job: self.job })
    }

    /// Sets the job's progress text.
    pub fn progress(&self, text: &str) {
        self.view.jobs.progress(self.job, text);
    }

    /// Sets the job's progress in steps.
    pub fn steps(&self, done: usize, total: usize, text: &str) {
        self.view.jobs.steps(self.job, done, total, text);
    }

    /// A fresh generator seeded by the operating system, for a job's seeds and this node's
    /// part of its noise: nobody else, the operator included, can reproduce it.
    pub fn rng(&self) -> Result<rand_chacha::ChaCha20Rng, JobError> {
        use rand::SeedableRng;
        rand_chacha::ChaCha20Rng::try_from_rng(&mut rand::rngs::SysRng)
            .map_err(|e| JobError::Randomness(Box::new(e)))
    }

    /// Records in the audit log that `what` (`bytes`) of the job was opened to `to`.
    pub fn reveal(&self, to: String, what: String, bytes: &[u8]) {
        revealed::record(&self.view.jobs, &self.audit, self.job, to, what, bytes);
    }

    /// This node's share as the components it holds, ready to keep or to send.
    pub fn own_components(&self, share: RepVec) -> Vec<Component> {
        let local = &self.view.local;
        local
            .layout
            .held_by(local.me)
            .into_iter()
            .zip(share.comps)
            .map(|(id, values)| Component { id: id as u16, values })
            .collect()
    }

    /// Loads the committed contributions of a dataset and returns, for each named feature,
    /// this node's share of that feature over every record (components in held order).
    pub async fn feature_columns(
        &self,
        meta: &DatasetMeta,
        features: &[String],
    ) -> Result<Vec<RepVec>, JobError> {
        let columns: Vec<usize> = features
            .iter()
            .map(|f| {
                meta.schema.feature_index(f).ok_or_else(|| JobError::NotNumeric {
                    feature: f.clone(),
                    dataset: meta.name.clone(),
                    numeric: meta
                        .schema
                        .features
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            })
            .collect::<Result<_, _>>()?;
        self.stored_columns(meta, &columns).await
    }

    /// This node's share of the columns at the given storage positions, over every record.
    pub async fn stored_columns(
        &self,
        meta: &DatasetMeta,
        columns: &[usize],
    ) -> Result<Vec<RepVec>, JobError> {
        let (dataset, contributions) = (meta.name.clone(), meta.contributions.clone());
        let loaded = self
            .view
            .with_store(move |store| {
                contributions.iter().map(|c| store.load(&dataset, c)).collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let held = self.view.local.layout.held_by(self.view.local.me).len();
        Ok(columns
            .iter()
            .map(|&j| RepVec {
                comps: (0..held)
                    .map(|i| loaded.iter().flat_map(|s| s.columns[i][j].values.iter().copied()).collect())
                    .collect(),
            })
            .collect())
    }

    /// Keeps the secret segment of every record on this node, for fairness jobs.
    pub async fn save_segments(&self, segments: Segments) -> Result<(), JobError> {
        let id = self.job.to_string();
        Ok(self.view.with_store(move |store| store.save_segments(&id, &segments)).await?)
    }

    /// Writes `labels/<job>.csv` in the data directory: each of the owner's records (by
    /// position) and its segment.
    pub async fn write_labels(&self, segments: &[usize]) -> Result<(), JobError> {
        let path = self.view.local.config.data_dir.join("labels").join(format!("{}.csv", self.job));
        let mut text = String::from("record,segment\n");
        for (i, s) in segments.iter().enumerate() {
            text.push_str(&format!("{i},{s}\n"));
        }
        self.view
            .with_store(move |_| {
                crate::files::create_dir(path.parent().expect("labels directory"))
                    .and_then(|()| crate::files::write(&path, text.as_bytes()))
                    .map_err(|source| JobError::Labels { path, source })
            })
            .await
    }

    /// The start of every job: agree with every node on the job's view (one round), then on
    /// the engine's per-job seeds (one round).
    pub async fn start_engine<'t, T: protocol::Transport, E: HonestMajority<'t, T>>(
        &self,
        spec: &JobSpec,
        meta: Option<&DatasetMeta>,
        channel: &'t T,
    ) -> Result<E, JobError> {
        self.progress("agreeing on the job with every node");
        let nonce: [u8; 32] = rand::RngExt::random(&mut self.rng()?);
        let secret = protocol::agree::agree(channel, self.view_digest(spec, meta), nonce, E::SECURITY)
            .await
            .map_err(JobError::engine)?;
        self.view.jobs.set_audit_key(self.job, revealed::AuditKey(secret.0));
        // Every node reads this version now: what its contributions replaced is no longer
        // restorable.
        if let Some(meta) = meta {
            let job = self.job.to_string();
            let ended = (self.view.store.note_used(&meta.name, &meta.contributions, &job))
                .map_err(|source| JobError::NoteUsed { dataset: meta.name.clone(), source })?;
            for kept in ended {
                tracing::info!(
                    %job,
                    dataset = %meta.name,
                    owner = %kept.owner,
                    replaced = %kept.previous.id,
                    "the job reads a replacing contribution: the replaced one is no longer restorable and is deleted"
                );
            }
        }
        self.progress("agreeing on seeds");
        #[cfg_attr(not(feature = "deviate"), allow(unused_mut))]
        let mut engine = E::start(channel, &mut self.rng()?).await.map_err(JobError::engine)?;
        #[cfg(feature = "deviate")]
        if let Some(deviation) = self.view.local.config.deviate.as_ref().and_then(|d| d.deviation()) {
            tracing::warn!(job = %self.job, ?deviation, "this test node deviates from the protocol");
            engine.deviate_at(deviation);
        }
        Ok(engine)
    }

    /// What every node must agree on before a job computes: the job, the members, and the
    /// dataset's columns and contributions.
    fn view_digest(&self, spec: &JobSpec, meta: Option<&DatasetMeta>) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"segmpc job view v1");
        h.update(self.job.0);
        h.update(postcard::to_stdvec(spec).expect("spec serialises"));
        for m in &self.view.local.members {
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
}
