//! What an erasure takes with it on this node: every job on the erased dataset loses what it
//! derived from the shares (its segments, its components of the outputs, the owner's labels),
//! and a job still in progress on it is stopped. The records stay, saying why their output is
//! gone, so that a result request or a fairness job on the segments is refused with the
//! reason.

use super::{JobRecord, Jobs, record_end, tell_peers_it_failed};
use crate::node::Node;
use crate::store::StoreError;
use std::sync::Arc;
use wire::control::{FairnessJob, JobId, JobSpec, JobState};

impl Jobs {
    /// A copy of every record.
    fn records(&self) -> Vec<JobRecord> {
        self.lock().values().map(|e| e.record.clone()).collect()
    }
}

/// The jobs that read `dataset`: its own jobs, and the fairness jobs on their segments.
fn jobs_on(records: &[JobRecord], dataset: &str) -> Vec<JobId> {
    let dataset_of = |spec: &JobSpec| match spec {
        JobSpec::Fairness(FairnessJob { segments, .. }) => {
            records.iter().find(|r| r.id == *segments).and_then(|r| r.spec.dataset().map(str::to_string))
        }
        other => other.dataset().map(str::to_string),
    };
    records.iter().filter(|r| dataset_of(&r.spec).as_deref() == Some(dataset)).map(|r| r.id).collect()
}

/// Erases on this node what every job on `dataset` derived from its shares, after some of
/// them were erased for `reason`: stops the jobs in progress (telling the other nodes), drops
/// the outputs of finished ones (marking their records), and deletes their segments and
/// labels files. Returns the jobs that lost anything.
pub async fn erase_derived(node: &Arc<Node>, dataset: &str, reason: &str) -> Result<Vec<JobId>, StoreError> {
    let why = format!("shares of `{dataset}` were erased ({reason})");
    let mut touched = Vec::new();
    for job in jobs_on(&node.jobs.records(), dataset) {
        let (mut stopped, mut lost) = (false, false);
        node.jobs.update(job, |e| {
            if !e.record.state.is_final() {
                if let Some(task) = e.task.take() {
                    task.abort();
                }
                e.record.state = JobState::Failed;
                e.record.reason = Some(why.clone());
                stopped = true;
            }
            lost = e.record.output.take().is_some();
            if e.record.state == JobState::Done && e.record.erased.is_none() {
                e.record.erased = Some(why.clone());
                e.record.progress = "output erased".into();
            }
        });
        let id = job.to_string();
        let files = node.with_store(move |store| store.erase_job_files(&id)).await?;
        if stopped {
            node.inbox.clear(job);
            record_end(node, job);
            tell_peers_it_failed(node, job, &why).await;
            tracing::warn!(%job, %dataset, "stopped a job whose data was erased");
        }
        if stopped || lost || files {
            touched.push(job);
        }
    }
    Ok(touched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use net::Fingerprint;
    use wire::control::{BenchJob, KmeansJob, StatsJob};

    fn record(id: u8, spec: JobSpec) -> JobRecord {
        JobRecord {
            id: JobId([id; 16]),
            spec,
            submitter: Fingerprint([0; 32]),
            state: JobState::Done,
            reason: None,
            progress: String::new(),
            output: None,
            traffic: Default::default(),
            elapsed_ms: 0,
            steps: (0, 0),
            erased: None,
            audit_key: None,
        }
    }

    #[test]
    fn the_jobs_on_a_dataset_include_fairness_jobs_on_its_segments() {
        let stats = |d: &str| JobSpec::Stats(StatsJob { dataset: d.into(), features: vec![], epsilon: None });
        let kmeans = JobSpec::Kmeans(KmeansJob {
            dataset: "a".into(),
            features: vec![],
            k: 2,
            iterations: 1,
            seed: 0,
            restarts: 1,
            init: wire::control::KmeansInit::Random,
            labels: false,
            min_segment: 0,
            epsilon: None,
        });
        let fairness = |of: u8| {
            JobSpec::Fairness(FairnessJob {
                segments: JobId([of; 16]),
                protected: "g".into(),
                min_cell: 0,
                epsilon: None,
            })
        };
        let records = vec![
            record(1, stats("a")),
            record(2, stats("b")),
            record(3, kmeans),
            record(4, fairness(3)),
            record(5, fairness(9)),
            record(6, JobSpec::Bench(BenchJob { op: "mul".into(), size: 1 })),
        ];
        let mut on_a = jobs_on(&records, "a");
        on_a.sort_by_key(|j| j.0);
        assert_eq!(on_a, vec![JobId([1; 16]), JobId([3; 16]), JobId([4; 16])]);
        assert_eq!(jobs_on(&records, "b"), vec![JobId([2; 16])]);
    }
}
