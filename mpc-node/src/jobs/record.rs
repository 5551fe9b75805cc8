//! A job's record as this node keeps it on disk and reports it: what it computes, who
//! submitted it, where it is, and what it left.

use super::revealed;
use net::Fingerprint;
use protocol::Traffic;
use protocol::sharing::Component;
use serde::{Deserialize, Serialize};
use wire::control::{JobId, JobSpec, JobState, JobStatusInfo};

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
