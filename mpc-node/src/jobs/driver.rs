//! The thin driver of the job lifecycle: it turns requests (an operator's submit, start or
//! abort, a peer's failure notice, an erasure) into [`Event`]s for the job's state machine,
//! and carries out the [`Effect`]s that come back. It is the only job code that touches the
//! audit log, the ledger, the mesh and tokio; the records are written by the registry.

use super::channel::{Inbox, QuicChannel};
use super::context::{JobContext, View};
use super::lifecycle::{Effect, Event};
use super::registry::Jobs;
use super::{JobError, bench, checks, fairness, kmeans, revealed, stats};
use crate::audit::AuditLog;
use crate::ledger::Ledger;
use crate::mesh::Mesh;
use net::Fingerprint;
use protocol::Counted;
use protocol::active::Active;
use protocol::engine::Security;
use protocol::replicated::{HonestMajority, Replicated};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use wire::audit::Event as Audit;
use wire::control::{BenchJob, JobId, JobSpec};

/// The jobs of this node and everything their lifecycle touches.
pub struct Runtime {
    view: View,
    audit: Arc<AuditLog>,
    ledger: Arc<Ledger>,
    mesh: Arc<Mesh>,
    inbox: Arc<Inbox>,
}

impl Runtime {
    /// The driver of the jobs seen through `view`.
    pub fn new(view: View, audit: Arc<AuditLog>, ledger: Arc<Ledger>, mesh: Arc<Mesh>) -> Self {
        Self { view, audit, ledger, mesh, inbox: Arc::new(Inbox::default()) }
    }

    /// The job records.
    pub fn jobs(&self) -> &Jobs {
        self.view.jobs()
    }

    /// Incoming job streams.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Records in the audit log that `what` (`bytes`) of `job` was opened to `to`.
    pub fn reveal(&self, job: JobId, to: String, what: String, bytes: &[u8]) {
        revealed::record(self.view.jobs(), &self.audit, job, to, what, bytes);
    }

    /// How this node would vote on `spec` (its data and its policy), without recording
    /// anything.
    pub fn dry_run(&self, spec: &JobSpec, submitter: Fingerprint) -> Result<(), JobError> {
        checks::check(&self.view, &self.ledger, spec, submitter)
    }

    /// Handles a submission: checks the job and records the vote. The refusal is the
    /// reason this node votes no.
    pub async fn submit(
        self: &Arc<Self>,
        job: JobId,
        spec: JobSpec,
        submitter: Fingerprint,
    ) -> Result<(), JobError> {
        let verdict = checks::check(&self.view, &self.ledger, &spec, submitter);
        let effects = self.jobs().submit(job, spec, submitter, verdict);
        let recorded = effects.iter().any(|e| matches!(e, Effect::Audit(_)));
        let reply = self.drive(job, effects).await;
        let refusal = reply.as_ref().and_then(|r| r.as_ref().err()).map(ToString::to_string);
        if recorded {
            tracing::info!(%job, accepted = refusal.is_none(), reason = ?refusal, "job submitted");
        }
        reply.unwrap_or(Ok(()))
    }

    /// Starts a submitted job in the background, once everything checked at the vote is
    /// checked again and its epsilon (if any) is charged: a refusal here costs nothing.
    pub async fn start(self: &Arc<Self>, job: JobId, by: Fingerprint) -> Result<(), JobError> {
        let effects =
            self.jobs().apply(job, Event::StartRequested { by }).ok_or(JobError::UnknownJob(job))?;
        self.drive(job, effects).await.unwrap_or(Ok(()))
    }

    /// Stops a job that has not finished, recording `reason`.
    pub async fn abort(self: &Arc<Self>, job: JobId, reason: &str, by: Fingerprint) -> Result<(), JobError> {
        let event = Event::AbortRequested { by, reason: reason.into() };
        let effects = self.jobs().apply(job, event).ok_or(JobError::UnknownJob(job))?;
        self.drive(job, effects).await.unwrap_or(Ok(()))
    }

    /// Another node's part of `job` failed: stop this node's part with its reason. Honoured
    /// only from a party of the job (every node takes part in every job), for a job that
    /// exists here and has not finished; a notice about a job that already failed here
    /// changes nothing.
    pub async fn failed_elsewhere(
        self: &Arc<Self>,
        job: JobId,
        party: usize,
        reason: &str,
    ) -> Result<(), JobError> {
        let node = self.view.node_id().to_string();
        let event = Event::PeerFailed { party, reason: reason.into() };
        let effects = self.jobs().apply(job, event).ok_or(JobError::NoSuchJob { node, job })?;
        let stopped = effects.iter().any(|e| matches!(e, Effect::ClearInbox));
        let reply = self.drive(job, effects).await.unwrap_or(Ok(()));
        if stopped {
            let peer = self.view.local().name_of(party);
            tracing::warn!(%job, %peer, %reason, "job failed on another node");
        }
        reply
    }

    /// Erases on this node what every job on `dataset` derived from its shares, after some
    /// of them were erased for `reason`: stops the jobs in progress (telling the other
    /// nodes), drops the outputs of finished ones (marking their records), and deletes their
    /// segments and labels files. Every job is handled even if deleting one's files fails
    /// (its output is dropped and its record marked first); the first such failure is
    /// returned beside the jobs that lost anything.
    pub async fn erase_derived(self: &Arc<Self>, dataset: &str, reason: &str) -> Derived {
        let mut derived = Derived { touched: Vec::new(), failed: None };
        for job in super::erasure::jobs_on(&self.jobs().records(), dataset) {
            let lost = self.jobs().has_output(&job);
            let event = Event::DataErased { dataset: dataset.into(), reason: reason.into() };
            let effects = self.jobs().apply(job, event).unwrap_or_default();
            let stopped = effects.iter().any(|e| matches!(e, Effect::ClearInbox));
            self.drive(job, effects).await;
            let files = match self.view.erase_job_files(job).await {
                Ok(files) => files,
                Err(e) => {
                    tracing::error!(%job, %dataset, error = %e, "cannot delete the files of a job whose data was erased");
                    derived.failed.get_or_insert(e);
                    true
                }
            };
            if stopped {
                tracing::warn!(%job, %dataset, "stopped a job whose data was erased");
            }
            if stopped || lost || files {
                derived.touched.push(job);
            }
        }
        derived
    }

    /// Carries out `effects` of `job` in order, feeding the outcomes of the checks and the
    /// charge back to the machine; returns the reply, if one came.
    async fn drive(self: &Arc<Self>, job: JobId, effects: Vec<Effect>) -> Option<Result<(), JobError>> {
        let mut queue = VecDeque::from(effects);
        let mut reply = None;
        while let Some(effect) = queue.pop_front() {
            match effect {
                // Carried out by the registry, under its lock.
                Effect::Persist | Effect::CancelTask => {}
                Effect::Audit(event) => self.audit.record(event),
                Effect::Check => {
                    let checked = match self.jobs().get(&job) {
                        Some(r) => checks::check(&self.view, &self.ledger, &r.spec, r.submitter),
                        None => Err(JobError::UnknownJob(job)),
                    };
                    queue.extend(self.jobs().apply(job, Event::Checked(checked)).unwrap_or_default());
                }
                Effect::Charge => {
                    let charged = self.charge(job);
                    queue.extend(self.jobs().apply(job, Event::Charged(charged)).unwrap_or_default());
                }
                Effect::Spawn => self.spawn(job),
                Effect::ClearInbox => self.inbox.clear(job),
                Effect::NotifyPeers(reason) => self.tell_peers_it_failed(job, &reason).await,
                Effect::Reply(r) => reply = Some(r),
            }
        }
        reply
    }

    /// Charges a private job's epsilon to this node's ledger before it computes anything,
    /// and records the charge in the audit log.
    fn charge(&self, job: JobId) -> Result<(), JobError> {
        let spec = self.jobs().get(&job).ok_or(JobError::UnknownJob(job))?.spec;
        let Some(epsilon) = spec.epsilon() else { return Ok(()) };
        let dataset = checks::job_dataset(&self.view, &spec).ok_or(JobError::NoDatasetRead)?;
        let budget = checks::budget(&self.view, &dataset);
        let spent = self.ledger.charge(&dataset, &job.to_string(), epsilon, budget)?;
        self.audit.record(Audit::Spent { job: job.to_string(), dataset, epsilon, spent, budget });
        Ok(())
    }

    /// Runs `job` in the background and remembers its task.
    fn spawn(self: &Arc<Self>, job: JobId) {
        let run: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(self.clone().run(job));
        let handle = tokio::spawn(run);
        self.jobs().set_task(job, handle.abort_handle());
    }

    /// Runs the job's protocol over the mesh and reports how it ended.
    async fn run(self: Arc<Self>, job: JobId) {
        let Some(record) = self.jobs().get(&job) else { return };
        let started = std::time::Instant::now();
        let local = self.view.local_arc();
        let channel = Counted::new(QuicChannel::new(local, self.mesh.clone(), self.inbox.clone(), job));
        let cx = JobContext::new(self.view.clone(), job, self.audit.clone());
        let spec = &record.spec;
        let outcome = match self.view.local().config.security {
            Security::Passive => run_spec::<_, Replicated<'_, _>>(&cx, spec, &channel).await,
            Security::Active => run_spec::<_, Active<'_, _>>(&cx, spec, &channel).await,
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let traffic = channel.traffic();
        match &outcome {
            Ok(_) => {
                tracing::info!(%job, bytes_sent = traffic.bytes_sent, rounds = traffic.rounds, "job done")
            }
            Err(reason) => tracing::warn!(%job, %reason, "job failed"),
        }
        // Finish first, so that no channel for the job is accepted after the inbox is cleared;
        // tell the others why before closing the channels, so that they report the cause (say,
        // the node that was lost) rather than this node's closed channel.
        self.jobs().clear_task(job);
        let finished = Event::RunFinished { outcome, traffic, elapsed_ms };
        let effects = self.jobs().apply(job, finished).unwrap_or_default();
        self.drive(job, effects).await;
        channel.inner().close().await;
    }

    /// Sends every other node that `job` failed here and why (each within the mesh probe
    /// timeout; a node that is gone is not waited for).
    async fn tell_peers_it_failed(&self, job: JobId, reason: &str) {
        let notices = self.view.local().peers().into_iter().map(|p| {
            let request = wire::mesh::MeshRequest::JobFailed { job, reason: reason.to_string() };
            tokio::time::timeout(crate::mesh::PROBE_TIMEOUT, self.mesh.call(p, request))
        });
        futures_util::future::join_all(notices).await;
    }
}

/// Runs a job's protocol on engine `E` (the cluster's security model). The future is boxed
/// with its `Send` bound stated here, where the engine's lifetime is a parameter: the
/// compiler cannot prove it at the spawn (rust-lang/rust#100013).
fn run_spec<'t, T: protocol::Transport, E: HonestMajority<'t, T> + 't>(
    cx: &'t JobContext,
    spec: &'t JobSpec,
    channel: &'t T,
) -> Pin<Box<dyn Future<Output = Result<super::JobOutput, JobError>> + Send + 't>> {
    Box::pin(async move {
        match spec {
            JobSpec::Stats(stats) => stats::run::<T, E>(cx, spec, stats, channel).await,
            JobSpec::Bench(BenchJob { op, size }) => bench::run::<T, E>(cx, spec, op, *size, channel).await,
            JobSpec::Kmeans(kmeans) => kmeans::run::<T, E>(cx, spec, kmeans, channel).await,
            JobSpec::Fairness(fairness) => fairness::run::<T, E>(cx, spec, fairness, channel).await,
        }
    })
}

/// What an erasure took from the jobs on a dataset ([`Runtime::erase_derived`]).
#[derive(Debug)]
pub struct Derived {
    /// The jobs that lost anything (a run stopped, an output dropped, files deleted).
    pub touched: Vec<JobId>,
    /// The first job whose files could not be deleted, if any.
    pub failed: Option<crate::store::StoreError>,
}
