//! What an erasure takes with it on this node: every job on the erased dataset loses what it
//! derived from the shares (its segments, its components of the outputs, the owner's labels),
//! and a job still in progress on it is stopped. The records stay, saying why their output is
//! gone, so that a result request or a fairness job on the segments is refused with the
//! reason. What happens to each job is its state machine's ([`super::lifecycle`]); this
//! module finds the jobs.

use super::record::JobRecord;
use wire::control::{FairnessJob, JobId, JobSpec};

/// The dataset a job reads: its own, or for a fairness job its segmentation's (the dataset
/// of the job `dataset_of` finds).
pub fn dataset_read(spec: &JobSpec, dataset_of: impl Fn(&JobId) -> Option<String>) -> Option<String> {
    match spec {
        JobSpec::Fairness(FairnessJob { segments, .. }) => dataset_of(segments),
        other => other.dataset().map(str::to_string),
    }
}

/// The jobs that read `dataset`: its own jobs, and the fairness jobs on their segments.
pub fn jobs_on(records: &[JobRecord], dataset: &str) -> Vec<JobId> {
    let dataset_of = |job: &JobId| {
        records.iter().find(|r| r.id == *job).and_then(|r| r.spec.dataset().map(str::to_string))
    };
    records
        .iter()
        .filter(|r| dataset_read(&r.spec, dataset_of).as_deref() == Some(dataset))
        .map(|r| r.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use net::Fingerprint;
    use wire::control::{BenchJob, JobState, KmeansJob, StatsJob};

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
