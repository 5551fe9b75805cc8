//! The life of one job on this node, as a state machine without I/O (in the manner of
//! quinn-proto's `Connection`): events go in, effects come out, and the driver in
//! [`super::driver`] is the only code that carries them out (the store, the audit log, the
//! ledger, the mesh and tokio). Nothing here reads a file, a clock or a socket, so every
//! ordering of events is a unit test.
//!
//! ```text
//!            submit (verdict ok)                 start (by submitter)
//!  (new) ────────────────────────▶ submitted ──────────────────────────▶ running
//!    │  submit (refused)              │                                  │  checks ─▶ charge ─▶ spawn
//!    └──────────────▶ failed ◀────────┤ abort / peer failure / erasure   │
//!                       ▲             │ / restart                        │ run ok ──▶ done
//!                       └─────────────┴──────────────────────────────────┘ run error, refusal at
//!                                                                          the start, abort, peer
//!                                                                          failure, erasure, restart
//! ```
//!
//! `done` and `failed` are final: a run that finishes after its job was stopped leaves it
//! failed (its output is dropped), and a failure notice cannot undo `done`. An erasure drops
//! a finished job's output and marks its record.

use super::JobError;
use super::record::{JobOutput, JobRecord};
use net::Fingerprint;
use protocol::Traffic;
use wire::audit::Event as Audit;
use wire::control::{JobId, JobSpec, JobState};

/// What the machine knows of the cluster: this node's id and party number, and every
/// member's id in party order.
#[derive(Debug, Clone)]
pub struct Parties {
    /// This node's id.
    pub node: String,
    /// This node's party number.
    pub me: usize,
    /// Every member's id, in party order.
    pub members: Vec<String>,
    /// The security model of this node's engine.
    pub security: protocol::engine::Security,
}

impl Parties {
    fn name(&self, party: usize) -> String {
        self.members.get(party).map_or_else(|| format!("#{party}"), Clone::clone)
    }
}

/// Something that happened to a job.
#[derive(Debug)]
pub enum Event {
    /// A job with this id was submitted again.
    Submitted,
    /// An operator asked to start the job.
    StartRequested {
        /// The operator.
        by: Fingerprint,
    },
    /// The checks made again at the start passed, or refused.
    Checked(Result<(), JobError>),
    /// The job's epsilon was charged to the ledger, or could not be.
    Charged(Result<(), JobError>),
    /// The run ended.
    RunFinished {
        /// Its output here, or why it failed.
        outcome: Result<JobOutput, JobError>,
        /// What this node sent.
        traffic: Traffic,
        /// Time from the start signal to the end.
        elapsed_ms: u64,
    },
    /// Another node said the job failed there.
    PeerFailed {
        /// Its party number.
        party: usize,
        /// Its reason.
        reason: String,
    },
    /// An operator asked to abort the job.
    AbortRequested {
        /// The operator.
        by: Fingerprint,
        /// Its reason.
        reason: String,
    },
    /// Shares the job reads were erased.
    DataErased {
        /// The dataset.
        dataset: String,
        /// Why.
        reason: String,
    },
}

/// Something the driver must do.
#[derive(Debug)]
pub enum Effect {
    /// Write the record to disk.
    Persist,
    /// Append this event to the audit log.
    Audit(Audit),
    /// Make the checks of the vote again, and report [`Event::Checked`].
    Check,
    /// Charge the job's epsilon (if any) to the ledger, and report [`Event::Charged`].
    Charge,
    /// Run the job in the background, and report [`Event::RunFinished`].
    Spawn,
    /// Stop the job's running task, if there is one.
    CancelTask,
    /// Forget the job's incoming streams.
    ClearInbox,
    /// Tell every other node that the job failed here, and why.
    NotifyPeers(String),
    /// Answer the request that caused the event.
    Reply(Result<(), JobError>),
}

/// One job on this node: its record, and the rules that move it.
#[derive(Debug, Clone)]
pub struct Job {
    record: JobRecord,
}

impl Job {
    /// A new job, with this node's verdict on it: `submitted` if accepted, `failed` with the
    /// refusal otherwise. Either way the record is kept and the submission audited.
    pub fn submit(
        parties: &Parties,
        id: JobId,
        spec: JobSpec,
        submitter: Fingerprint,
        verdict: Result<(), JobError>,
    ) -> (Self, Vec<Effect>) {
        let refusal = verdict.as_ref().err().map(ToString::to_string);
        let spec_json = serde_json::to_string(&spec).expect("specifications serialise");
        let audit = Audit::Submitted {
            job: id.to_string(),
            spec_digest: wire::audit::digest(spec_json.as_bytes()),
            spec: spec_json,
            submitter: submitter.to_string(),
            accepted: verdict.is_ok(),
            reason: refusal.clone(),
            security: Some(parties.security.to_string()),
        };
        let record = JobRecord {
            id,
            spec,
            submitter,
            state: if verdict.is_ok() { JobState::Submitted } else { JobState::Failed },
            reason: refusal.map(|r| format!("refused by node {}: {r}", parties.node)),
            progress: "waiting for every node to accept".into(),
            output: None,
            traffic: Traffic::default(),
            elapsed_ms: 0,
            steps: (0, 0),
            erased: None,
            audit_key: None,
        };
        (Self { record }, vec![Effect::Persist, Effect::Audit(audit), Effect::Reply(verdict)])
    }

    /// A job loaded from disk when the node starts: one it was in the middle of failed.
    pub fn restart(record: JobRecord) -> (Self, Vec<Effect>) {
        let mut job = Self { record };
        if job.record.state.is_final() {
            return (job, Vec::new());
        }
        job.fail(JobError::Restarted.to_string());
        (job, vec![Effect::Persist])
    }

    /// The job's record.
    pub fn record(&self) -> &JobRecord {
        &self.record
    }

    /// The job's record, for the fields the lifecycle does not govern (progress, the audit
    /// key).
    pub(super) fn record_mut(&mut self) -> &mut JobRecord {
        &mut self.record
    }

    /// Takes in an event and says what to do.
    pub fn handle(&mut self, parties: &Parties, event: Event) -> Vec<Effect> {
        let id = self.record.id;
        match event {
            Event::Submitted => vec![Effect::Reply(Err(JobError::Exists(id)))],
            Event::StartRequested { by } => {
                if by != self.record.submitter {
                    return vec![Effect::Reply(Err(JobError::NotSubmitter { action: "start" }))];
                }
                if self.record.state != JobState::Submitted {
                    let state = self.record.state;
                    return vec![Effect::Reply(Err(JobError::NotSubmitted { job: id, state }))];
                }
                self.record.state = JobState::Running;
                self.record.progress = "starting".into();
                vec![Effect::Persist, Effect::Check]
            }
            // Stopped during the checks or the charge: nothing more is charged or run.
            Event::Checked(Ok(())) | Event::Charged(Ok(())) if self.record.state != JobState::Running => {
                vec![Effect::Reply(Ok(()))]
            }
            Event::Checked(Err(reason)) | Event::Charged(Err(reason))
                if self.record.state != JobState::Running =>
            {
                vec![Effect::Reply(Err(refused(parties, reason)))]
            }
            Event::Checked(Ok(())) => vec![Effect::Charge],
            Event::Charged(Ok(())) => vec![Effect::Spawn, Effect::Reply(Ok(()))],
            Event::Checked(Err(reason)) | Event::Charged(Err(reason)) => {
                let reason = refused(parties, reason);
                self.fail(reason.to_string());
                vec![Effect::Persist, self.ended(), Effect::Reply(Err(reason))]
            }
            Event::RunFinished { outcome, traffic, elapsed_ms } => {
                self.record.traffic = traffic;
                self.record.elapsed_ms = elapsed_ms;
                if self.record.state != JobState::Running {
                    // Stopped meanwhile: it stays failed, and the output is dropped.
                    return vec![Effect::Persist];
                }
                match outcome {
                    Ok(output) => {
                        self.record.state = JobState::Done;
                        self.record.progress = "done".into();
                        self.record.output = Some(output);
                        vec![Effect::Persist, self.ended()]
                    }
                    Err(reason) => {
                        let reason = reason.to_string();
                        self.fail(reason.clone());
                        vec![Effect::Persist, self.ended(), Effect::NotifyPeers(reason)]
                    }
                }
            }
            Event::PeerFailed { party, reason } => {
                let peer = parties.name(party);
                if party >= parties.members.len() || party == parties.me {
                    return vec![Effect::Reply(Err(JobError::NotAParty { peer, job: id }))];
                }
                match self.record.state {
                    JobState::Failed => vec![Effect::Reply(Ok(()))],
                    state @ JobState::Done => {
                        let node = parties.node.clone();
                        vec![Effect::Reply(Err(JobError::Finished { job: id, state, node }))]
                    }
                    JobState::Submitted | JobState::Running => {
                        self.fail(JobError::FailedElsewhere { peer, reason }.to_string());
                        let mut effects = vec![Effect::CancelTask, Effect::Persist, Effect::ClearInbox];
                        effects.extend([self.ended(), Effect::Reply(Ok(()))]);
                        effects
                    }
                }
            }
            Event::AbortRequested { by, reason } => {
                if by != self.record.submitter {
                    return vec![Effect::Reply(Err(JobError::NotSubmitter { action: "abort" }))];
                }
                let mut effects = Vec::new();
                if !self.record.state.is_final() {
                    self.fail(JobError::Aborted(reason).to_string());
                    effects.extend([Effect::CancelTask, Effect::Persist]);
                }
                // How the job ended is recorded again, whatever state it was in.
                effects.extend([Effect::ClearInbox, self.ended(), Effect::Reply(Ok(()))]);
                effects
            }
            Event::DataErased { dataset, reason } => {
                let why = JobError::Erased { dataset, reason }.to_string();
                let stopped = !self.record.state.is_final();
                if stopped {
                    self.fail(why.clone());
                }
                let lost = self.record.output.take().is_some();
                let marked = self.record.state == JobState::Done && self.record.erased.is_none();
                if marked {
                    self.record.erased = Some(why.clone());
                    self.record.progress = "output erased".into();
                }
                let mut effects = Vec::new();
                if stopped {
                    effects.extend([Effect::CancelTask, Effect::Persist, Effect::ClearInbox, self.ended()]);
                    effects.push(Effect::NotifyPeers(why));
                } else if lost || marked {
                    effects.push(Effect::Persist);
                }
                effects
            }
        }
    }

    fn fail(&mut self, reason: String) {
        self.record.state = JobState::Failed;
        self.record.reason = Some(reason);
    }

    /// The audit entry of how the job ended here (as its record now says).
    fn ended(&self) -> Effect {
        Effect::Audit(Audit::Ended {
            job: self.record.id.to_string(),
            state: self.record.state.to_string(),
            reason: self.record.reason.clone(),
        })
    }
}

fn refused(parties: &Parties, reason: JobError) -> JobError {
    JobError::Refused { node: parties.node.clone(), reason: Box::new(reason) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPERATOR: Fingerprint = Fingerprint([1; 32]);
    const OTHER: Fingerprint = Fingerprint([2; 32]);
    const ID: JobId = JobId([7; 16]);

    fn parties() -> Parties {
        Parties {
            node: "node-1".into(),
            me: 0,
            members: vec!["node-1".into(), "node-2".into(), "node-3".into()],
            security: protocol::engine::Security::Passive,
        }
    }

    fn spec() -> JobSpec {
        JobSpec::Stats(wire::control::StatsJob {
            dataset: "d".into(),
            features: vec!["x".into()],
            epsilon: None,
        })
    }

    fn output() -> JobOutput {
        let layout = wire::output::OutputLayout::Bench(wire::output::BenchOutput { op: "mul".into() });
        JobOutput { count: 3, layout, components: vec![] }
    }

    fn submitted() -> Job {
        let (job, effects) = Job::submit(&parties(), ID, spec(), OPERATOR, Ok(()));
        assert!(matches!(
            effects[..],
            [Effect::Persist, Effect::Audit(Audit::Submitted { accepted: true, .. }), Effect::Reply(Ok(()))]
        ));
        job
    }

    /// A job that has passed its checks and its charge, and whose run was spawned.
    fn running() -> Job {
        let mut job = submitted();
        assert!(matches!(
            job.handle(&parties(), Event::StartRequested { by: OPERATOR })[..],
            [Effect::Persist, Effect::Check]
        ));
        assert!(matches!(job.handle(&parties(), Event::Checked(Ok(())))[..], [Effect::Charge]));
        let effects = job.handle(&parties(), Event::Charged(Ok(())));
        assert!(matches!(effects[..], [Effect::Spawn, Effect::Reply(Ok(()))]));
        assert_eq!(job.record().state, JobState::Running);
        job
    }

    fn done() -> Job {
        let mut job = running();
        let finished =
            Event::RunFinished { outcome: Ok(output()), traffic: Traffic::default(), elapsed_ms: 5 };
        let effects = job.handle(&parties(), finished);
        assert!(
            matches!(&effects[..], [Effect::Persist, Effect::Audit(Audit::Ended { state, .. })] if state == "done")
        );
        job
    }

    fn reply(effects: &[Effect]) -> Option<Result<(), String>> {
        effects.iter().find_map(|e| match e {
            Effect::Reply(r) => Some(r.as_ref().map(|_| ()).map_err(ToString::to_string)),
            _ => None,
        })
    }

    fn has(effects: &[Effect], f: impl Fn(&Effect) -> bool) -> bool {
        effects.iter().any(f)
    }

    fn ends(effects: &[Effect]) -> bool {
        has(effects, |e| matches!(e, Effect::Audit(Audit::Ended { .. })))
    }

    fn notifies(effects: &[Effect]) -> bool {
        has(effects, |e| matches!(e, Effect::NotifyPeers(_)))
    }

    fn reason(job: &Job) -> &str {
        job.record().reason.as_deref().unwrap_or_default()
    }

    #[test]
    fn a_refused_submission_is_kept_failed_and_audited_with_the_reason() {
        let (job, effects) = Job::submit(&parties(), ID, spec(), OPERATOR, Err(JobError::NoFeature));
        assert_eq!(job.record().state, JobState::Failed);
        assert_eq!(reason(&job), "refused by node node-1: no feature was chosen");
        assert!(has(&effects, |e| matches!(e, Effect::Persist)));
        assert!(has(
            &effects,
            |e| matches!(e, Effect::Audit(Audit::Submitted { accepted: false, reason: Some(r), .. }) if r == "no feature was chosen")
        ));
        assert_eq!(reply(&effects), Some(Err("no feature was chosen".into())));
    }

    #[test]
    fn a_second_submission_of_an_id_is_refused_and_changes_nothing() {
        let mut job = running();
        let effects = job.handle(&parties(), Event::Submitted);
        assert_eq!(reply(&effects), Some(Err(format!("job {ID} already exists"))));
        assert_eq!(effects.len(), 1, "no persist, no audit");
        assert_eq!(job.record().state, JobState::Running);
    }

    #[test]
    fn a_start_by_another_operator_is_refused() {
        let mut job = submitted();
        let effects = job.handle(&parties(), Event::StartRequested { by: OTHER });
        assert_eq!(reply(&effects), Some(Err("only the operator that submitted a job can start it".into())));
        assert_eq!(effects.len(), 1);
        assert_eq!(job.record().state, JobState::Submitted);
    }

    #[test]
    fn a_job_starts_only_once() {
        let mut job = running();
        let effects = job.handle(&parties(), Event::StartRequested { by: OPERATOR });
        assert_eq!(reply(&effects), Some(Err(format!("job {ID} is running, not submitted"))));
        assert!(!has(&effects, |e| matches!(e, Effect::Check | Effect::Spawn)));
        let mut job = done();
        let effects = job.handle(&parties(), Event::StartRequested { by: OPERATOR });
        assert_eq!(reply(&effects), Some(Err(format!("job {ID} is done, not submitted"))));
    }

    #[test]
    fn a_refusal_at_the_start_fails_the_job_before_anything_is_charged() {
        let mut job = submitted();
        job.handle(&parties(), Event::StartRequested { by: OPERATOR });
        let effects = job.handle(&parties(), Event::Checked(Err(JobError::NoFeature)));
        assert!(!has(&effects, |e| matches!(e, Effect::Charge | Effect::Spawn)));
        assert!(ends(&effects));
        assert_eq!(reply(&effects), Some(Err("refused by node node-1: no feature was chosen".into())));
        assert_eq!(job.record().state, JobState::Failed);
        assert_eq!(reason(&job), "refused by node node-1: no feature was chosen");
    }

    #[test]
    fn a_failed_charge_fails_the_job_with_nothing_computed() {
        let mut job = submitted();
        job.handle(&parties(), Event::StartRequested { by: OPERATOR });
        job.handle(&parties(), Event::Checked(Ok(())));
        let effects = job.handle(&parties(), Event::Charged(Err(JobError::NoDatasetRead)));
        assert!(!has(&effects, |e| matches!(e, Effect::Spawn)), "nothing is computed");
        assert!(has(&effects, |e| matches!(e, Effect::Persist)) && ends(&effects));
        // The operator is told, and aborts the job on the other nodes.
        assert_eq!(reply(&effects), Some(Err("refused by node node-1: the job reads no dataset".into())));
        assert_eq!(job.record().state, JobState::Failed);
    }

    #[test]
    fn an_abort_before_the_start_fails_the_job_and_the_start_is_refused() {
        let mut job = submitted();
        let effects = job.handle(&parties(), Event::AbortRequested { by: OPERATOR, reason: "enough".into() });
        assert_eq!(reply(&effects), Some(Ok(())));
        assert!(has(&effects, |e| matches!(e, Effect::ClearInbox)) && ends(&effects));
        assert_eq!(reason(&job), "aborted: enough");
        let effects = job.handle(&parties(), Event::StartRequested { by: OPERATOR });
        assert_eq!(reply(&effects), Some(Err(format!("job {ID} is failed, not submitted"))));
    }

    #[test]
    fn an_abort_by_another_operator_is_refused() {
        let mut job = running();
        let effects = job.handle(&parties(), Event::AbortRequested { by: OTHER, reason: "no".into() });
        assert_eq!(reply(&effects), Some(Err("only the operator that submitted a job can abort it".into())));
        assert_eq!(job.record().state, JobState::Running);
    }

    #[test]
    fn an_abort_during_the_checks_charges_and_runs_nothing() {
        let mut job = submitted();
        job.handle(&parties(), Event::StartRequested { by: OPERATOR });
        job.handle(&parties(), Event::AbortRequested { by: OPERATOR, reason: "stop".into() });
        let effects = job.handle(&parties(), Event::Checked(Ok(())));
        assert!(!has(&effects, |e| matches!(e, Effect::Charge | Effect::Spawn)));
        assert_eq!(job.record().state, JobState::Failed);
        assert_eq!(reason(&job), "aborted: stop");
    }

    #[test]
    fn an_aborted_run_that_finishes_stays_failed_and_its_output_is_dropped() {
        let mut job = running();
        let effects = job.handle(&parties(), Event::AbortRequested { by: OPERATOR, reason: "stop".into() });
        assert!(has(&effects, |e| matches!(e, Effect::CancelTask)));
        let traffic = Traffic { bytes_sent: 10, rounds: 2, ..Traffic::default() };
        let effects =
            job.handle(&parties(), Event::RunFinished { outcome: Ok(output()), traffic, elapsed_ms: 9 });
        assert!(matches!(effects[..], [Effect::Persist]), "no second end, no notice");
        assert_eq!(job.record().state, JobState::Failed);
        assert_eq!(reason(&job), "aborted: stop");
        assert!(job.record().output.is_none());
        assert_eq!((job.record().traffic.bytes_sent, job.record().elapsed_ms), (10, 9));
    }

    #[test]
    fn a_run_that_fails_tells_the_other_nodes_why() {
        let mut job = running();
        let outcome = Err(JobError::UnknownOwner);
        let effects = job
            .handle(&parties(), Event::RunFinished { outcome, traffic: Traffic::default(), elapsed_ms: 1 });
        assert!(ends(&effects));
        assert!(has(&effects, |e| matches!(e, Effect::NotifyPeers(r) if r == "unknown owner")));
        assert_eq!(job.record().state, JobState::Failed);
    }

    #[test]
    fn a_peer_failure_before_the_start_fails_the_job() {
        let mut job = submitted();
        let effects = job.handle(&parties(), Event::PeerFailed { party: 2, reason: "lost".into() });
        assert_eq!(reply(&effects), Some(Ok(())));
        assert!(has(&effects, |e| matches!(e, Effect::ClearInbox)) && ends(&effects));
        assert!(!notifies(&effects), "the notice is not echoed");
        assert_eq!(reason(&job), "node node-3 failed the job: lost");
    }

    #[test]
    fn a_peer_failure_during_the_run_stops_it_and_the_run_finishing_changes_nothing() {
        let mut job = running();
        let effects = job.handle(&parties(), Event::PeerFailed { party: 1, reason: "no memory".into() });
        assert!(has(&effects, |e| matches!(e, Effect::CancelTask)));
        assert_eq!(reason(&job), "node node-2 failed the job: no memory");
        let outcome = Err(JobError::UnknownOwner);
        let effects = job
            .handle(&parties(), Event::RunFinished { outcome, traffic: Traffic::default(), elapsed_ms: 1 });
        assert!(!notifies(&effects) && !ends(&effects));
        assert_eq!(reason(&job), "node node-2 failed the job: no memory");
        // A second notice about a failed job is accepted and changes nothing.
        let effects = job.handle(&parties(), Event::PeerFailed { party: 2, reason: "too".into() });
        assert!(matches!(effects[..], [Effect::Reply(Ok(()))]));
    }

    #[test]
    fn a_peer_failure_after_the_job_is_done_is_refused() {
        let mut job = done();
        let effects = job.handle(&parties(), Event::PeerFailed { party: 1, reason: "late".into() });
        assert_eq!(reply(&effects), Some(Err(format!("job {ID} is already done on node node-1"))));
        assert_eq!(job.record().state, JobState::Done);
        assert!(job.record().output.is_some());
    }

    #[test]
    fn a_failure_notice_from_a_non_party_is_refused() {
        for party in [0, 3] {
            let mut job = running();
            let effects = job.handle(&parties(), Event::PeerFailed { party, reason: "x".into() });
            let peer = if party == 0 { "node-1".to_string() } else { "#3".to_string() };
            assert_eq!(reply(&effects), Some(Err(format!("node {peer} is not a party of job {ID}"))));
            assert_eq!(job.record().state, JobState::Running);
        }
    }

    #[test]
    fn a_restart_fails_a_job_in_progress_and_keeps_a_finished_one() {
        for job in [submitted(), running()] {
            let (job, effects) = Job::restart(job.record().clone());
            assert!(matches!(effects[..], [Effect::Persist]));
            assert_eq!(job.record().state, JobState::Failed);
            assert_eq!(reason(&job), "the node restarted while the job was in progress");
        }
        let (job, effects) = Job::restart(done().record().clone());
        assert!(effects.is_empty());
        assert_eq!(job.record().state, JobState::Done);
    }

    #[test]
    fn an_erasure_stops_a_running_job_and_tells_the_others() {
        let mut job = running();
        let effects =
            job.handle(&parties(), Event::DataErased { dataset: "d".into(), reason: "expired".into() });
        let why = "shares of `d` were erased (expired)";
        assert!(has(&effects, |e| matches!(e, Effect::CancelTask)));
        assert!(has(&effects, |e| matches!(e, Effect::ClearInbox)) && ends(&effects));
        assert!(has(&effects, |e| matches!(e, Effect::NotifyPeers(r) if r == why)));
        assert_eq!(reason(&job), why);
        assert!(job.record().erased.is_none(), "a failed job has no output to mark");
    }

    #[test]
    fn an_erasure_drops_a_finished_jobs_output_once() {
        let mut job = done();
        let effects =
            job.handle(&parties(), Event::DataErased { dataset: "d".into(), reason: "expired".into() });
        assert!(matches!(effects[..], [Effect::Persist]), "no end recorded, no notice");
        assert_eq!(job.record().state, JobState::Done);
        assert!(job.record().output.is_none());
        assert_eq!(job.record().erased.as_deref(), Some("shares of `d` were erased (expired)"));
        assert_eq!(job.record().progress, "output erased");
        let effects =
            job.handle(&parties(), Event::DataErased { dataset: "d".into(), reason: "again".into() });
        assert!(effects.is_empty(), "nothing left to lose");
        assert_eq!(job.record().erased.as_deref(), Some("shares of `d` were erased (expired)"));
    }

    #[test]
    fn an_abort_of_a_finished_job_changes_nothing_but_records_its_end_again() {
        let mut job = done();
        let effects = job.handle(&parties(), Event::AbortRequested { by: OPERATOR, reason: "late".into() });
        assert!(!has(&effects, |e| matches!(e, Effect::CancelTask | Effect::Persist)));
        assert!(has(&effects, |e| matches!(e, Effect::Audit(Audit::Ended { state, .. }) if state == "done")));
        assert_eq!(reply(&effects), Some(Ok(())));
        assert_eq!(job.record().state, JobState::Done);
    }
}
