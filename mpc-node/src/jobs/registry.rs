//! The jobs this node knows, each a [`Job`] state machine, kept in memory and persisted under
//! `jobs/` in the data directory. Events are applied under one lock; the effects that belong
//! inside it (writing the record, stopping the task) are carried out there, so that a record
//! on disk never goes back, and the rest are returned to the driver.

use super::lifecycle::{Effect, Event, Job, Parties};
use super::record::JobRecord;
use super::{JobError, revealed};
use crate::store::{StoreError, write_atomic};
use net::Fingerprint;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use wire::control::{JobId, JobSpec, JobState};

struct Entry {
    job: Job,
    task: Option<tokio::task::AbortHandle>,
}

/// The jobs this node knows.
pub struct Jobs {
    dir: PathBuf,
    parties: Parties,
    entries: Mutex<HashMap<JobId, Entry>>,
}

impl Jobs {
    /// Loads every job record; jobs that were not finished are marked failed.
    pub fn load(dir: PathBuf, parties: Parties) -> Result<Self, StoreError> {
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
            let record = super::upgrade::read_record(&bytes)
                .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
            let (job, effects) = Job::restart(record);
            if effects.iter().any(|e| matches!(e, Effect::Persist)) {
                write_atomic(&path, &serde_json::to_vec_pretty(job.record()).expect("record serialises"))?;
            }
            entries.insert(job.record().id, Entry { job, task: None });
        }
        Ok(Self { dir, parties, entries: Mutex::new(entries) })
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

    /// Carries out the effects that belong under the lock, and returns the others.
    fn settle(&self, entry: &mut Entry, effects: Vec<Effect>) -> Vec<Effect> {
        effects
            .into_iter()
            .filter(|effect| match effect {
                Effect::Persist => {
                    self.persist(entry.job.record());
                    false
                }
                Effect::CancelTask => {
                    if let Some(task) = entry.task.take() {
                        task.abort();
                    }
                    false
                }
                _ => true,
            })
            .collect()
    }

    /// Records a new job with this node's verdict, or refuses an id that exists.
    pub(super) fn submit(
        &self,
        id: JobId,
        spec: JobSpec,
        submitter: Fingerprint,
        verdict: Result<(), JobError>,
    ) -> Vec<Effect> {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(&id) {
            let effects = entry.job.handle(&self.parties, Event::Submitted);
            return self.settle(entry, effects);
        }
        let (job, effects) = Job::submit(&self.parties, id, spec, submitter, verdict);
        let entry = entries.entry(id).or_insert(Entry { job, task: None });
        self.settle(entry, effects)
    }

    /// Applies `event` to `job`; `None` if this node does not know the job.
    pub(super) fn apply(&self, job: JobId, event: Event) -> Option<Vec<Effect>> {
        let mut entries = self.lock();
        let entry = entries.get_mut(&job)?;
        let effects = entry.job.handle(&self.parties, event);
        Some(self.settle(entry, effects))
    }

    /// Remembers the task of a running job (and stops it if the job was stopped meanwhile).
    pub(super) fn set_task(&self, job: JobId, task: tokio::task::AbortHandle) {
        let mut entries = self.lock();
        match entries.get_mut(&job) {
            Some(e) if e.job.record().state == JobState::Running => e.task = Some(task),
            _ => task.abort(),
        }
    }

    /// Forgets the task of a job whose run ended.
    pub(super) fn clear_task(&self, job: JobId) {
        if let Some(e) = self.lock().get_mut(&job) {
            e.task = None;
        }
    }

    /// A copy of the record of `job`.
    pub fn get(&self, job: &JobId) -> Option<JobRecord> {
        self.lock().get(job).map(|e| e.job.record().clone())
    }

    /// A copy of every record.
    pub(super) fn records(&self) -> Vec<JobRecord> {
        self.lock().values().map(|e| e.job.record().clone()).collect()
    }

    /// Whether `job` holds an output (before an erasure takes it).
    pub(super) fn has_output(&self, job: &JobId) -> bool {
        self.lock().get(job).is_some_and(|e| e.job.record().output.is_some())
    }

    /// The key of `job`'s audit digests, once its nodes agreed on it.
    pub fn audit_key(&self, job: &JobId) -> Option<revealed::AuditKey> {
        self.lock().get(job).and_then(|e| e.job.record().audit_key.clone())
    }

    /// Keeps the key of `job`'s audit digests (persisted).
    pub(super) fn set_audit_key(&self, job: JobId, key: revealed::AuditKey) {
        if let Some(e) = self.lock().get_mut(&job) {
            e.job.record_mut().audit_key = Some(key);
            self.persist(e.job.record());
        }
    }

    /// The jobs submitted or running here: id, kind and progress (only the state for the
    /// jobs `shown` does not accept).
    pub fn active(&self, shown: impl Fn(&JobRecord) -> bool) -> Vec<(String, String, String)> {
        let mut list: Vec<_> = self
            .lock()
            .values()
            .map(|e| e.job.record())
            .filter(|r| !r.state.is_final())
            .map(|r| {
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
            .is_some_and(|e| matches!(e.job.record().state, JobState::Submitted | JobState::Running))
    }

    /// Sets the progress text of a running job (kept in memory only).
    pub fn progress(&self, job: JobId, text: &str) {
        if let Some(e) = self.lock().get_mut(&job) {
            e.job.record_mut().progress = text.into();
        }
    }

    /// Sets the progress of a running job counted in steps (kept in memory only).
    pub fn steps(&self, job: JobId, done: usize, total: usize, text: &str) {
        if let Some(e) = self.lock().get_mut(&job) {
            let record = e.job.record_mut();
            record.progress = text.into();
            record.steps = (done as u64, total as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::lifecycle::Effect;

    fn parties() -> Parties {
        Parties {
            node: "node-1".into(),
            me: 0,
            members: vec!["node-1".into(), "node-2".into(), "node-3".into()],
            security: protocol::engine::Security::Passive,
        }
    }

    fn spec() -> JobSpec {
        JobSpec::Bench(wire::control::BenchJob { op: "mul".into(), size: 1 })
    }

    #[test]
    fn a_job_in_progress_is_failed_on_disk_when_the_node_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let (running, done) = (JobId([1; 16]), JobId([2; 16]));
        let operator = Fingerprint([9; 32]);
        {
            let jobs = Jobs::load(dir.path().to_path_buf(), parties()).unwrap();
            for id in [running, done] {
                jobs.submit(id, spec(), operator, Ok(()));
                jobs.apply(id, Event::StartRequested { by: operator }).unwrap();
            }
            let layout = wire::output::OutputLayout::Bench(wire::output::BenchOutput { op: "mul".into() });
            let output = super::super::JobOutput { count: 1, layout, components: vec![] };
            let finished =
                Event::RunFinished { outcome: Ok(output), traffic: Default::default(), elapsed_ms: 1 };
            jobs.apply(done, finished).unwrap();
        }
        let jobs = Jobs::load(dir.path().to_path_buf(), parties()).unwrap();
        let r = jobs.get(&running).unwrap();
        assert_eq!(
            (r.state, r.reason.as_deref()),
            (JobState::Failed, Some("the node restarted while the job was in progress"))
        );
        assert_eq!(jobs.get(&done).unwrap().state, JobState::Done);
        // The failure was written: a second restart reads it from disk as it is.
        let on_disk: JobRecord =
            serde_json::from_slice(&std::fs::read(dir.path().join(format!("{running}.json"))).unwrap())
                .unwrap();
        assert_eq!(on_disk.state, JobState::Failed);
    }

    #[test]
    fn the_registry_refuses_a_taken_id_and_keeps_the_first_job() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::load(dir.path().to_path_buf(), parties()).unwrap();
        let (id, first, second) = (JobId([3; 16]), Fingerprint([1; 32]), Fingerprint([2; 32]));
        let effects = jobs.submit(id, spec(), first, Ok(()));
        assert!(effects.iter().any(|e| matches!(e, Effect::Audit(_))));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Persist)), "persisted under the lock");
        let effects = jobs.submit(id, spec(), second, Err(JobError::NoFeature));
        assert!(matches!(&effects[..], [Effect::Reply(Err(JobError::Exists(j)))] if *j == id));
        let r = jobs.get(&id).unwrap();
        assert_eq!((r.submitter, r.state), (first, JobState::Submitted));
        assert!(jobs.apply(JobId([4; 16]), Event::Submitted).is_none(), "an unknown job takes no event");
    }
}
