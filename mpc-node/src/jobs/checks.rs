//! The checks a node makes on a job before it votes, and again before it charges or computes
//! anything at the start: the parameters, the data, the noise of a private release, this
//! node's policy and its privacy budget. Reads only; the answer is the refusal, if any.

use super::context::View;
use super::{JobError, bench, fairness, kmeans};
use crate::ledger::Ledger;
use crate::store::DatasetMeta;
use net::Fingerprint;
use wire::control::{BenchJob, FairnessJob, JobSpec, KmeansJob, StatsJob};

/// Checks a job against this node's data and policy. Returns the reason for a refusal.
pub fn check(view: &View, ledger: &Ledger, spec: &JobSpec, submitter: Fingerprint) -> Result<(), JobError> {
    if let Some(epsilon) = spec.epsilon()
        && !(epsilon.is_finite() && epsilon > 0.0)
    {
        return Err(JobError::Epsilon(epsilon));
    }
    let (dataset, features) = match spec {
        JobSpec::Stats(StatsJob { dataset, features, .. })
        | JobSpec::Kmeans(KmeansJob { dataset, features, .. }) => (dataset, features),
        JobSpec::Bench(BenchJob { op, size }) => return bench::check(op, *size),
        JobSpec::Fairness(FairnessJob { segments, protected, epsilon, .. }) => {
            let inputs = fairness::check(view, *segments, protected, submitter)?;
            match (epsilon, inputs.segmentation.epsilon()) {
                (Some(_), None) => return Err(JobError::ExactSegmentation(*segments)),
                // Exact cells would give the segments' exact sizes, which the private job
                // released only with noise (and a withheld segment's by subtraction).
                (None, Some(_)) => return Err(JobError::PrivateSegmentation(*segments)),
                _ => {}
            }
            check_policy(view, spec, &inputs.meta.name, Some(&inputs.segmentation))?;
            if let Some(epsilon) = epsilon {
                protocol::fairness::cell_noise(*epsilon).map_err(|e| JobError::Noise(e.to_string()))?;
            }
            return check_budget(view, ledger, spec, &inputs.meta.name);
        }
    };
    let meta = view.dataset(dataset)?;
    check_stats(&meta, features)?;
    if spec.epsilon().is_some() {
        check_declared_ranges(&meta, features)?;
        check_noise(view, spec, &meta)?;
    }
    if let JobSpec::Kmeans(job) = spec {
        kmeans::check(&meta, job.k, job.iterations, job.restarts)?;
        job.check()?;
    }
    check_policy(view, spec, dataset, None)?;
    check_budget(view, ledger, spec, dataset)
}

/// A differentially private release's noise is scaled to the features' declared ranges:
/// every feature must declare both ends.
fn check_declared_ranges(meta: &DatasetMeta, features: &[String]) -> Result<(), JobError> {
    for f in features {
        let column = meta.schema.features.iter().find(|c| &c.name == f);
        if column.is_none_or(|c| c.min.is_none() || c.max.is_none()) {
            return Err(JobError::NoDeclaredRange { feature: f.clone(), dataset: meta.name.clone() });
        }
    }
    Ok(())
}

/// Checks that every release of a private `stats` or `kmeans` job on `meta` has noise the
/// sampler draws exactly, and that no value can wrap with its noise: a job that fails here
/// would have to release less noise than it was charged for, so it is refused before it is
/// charged or computes anything.
fn check_noise(view: &View, spec: &JobSpec, meta: &DatasetMeta) -> Result<(), JobError> {
    let parties = view.local().members.len();
    match spec {
        JobSpec::Stats(StatsJob { features, epsilon: Some(epsilon), .. }) => {
            let refused = |e: protocol::dp::DpError| JobError::Noise(e.describe(features));
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
            let refused = |e: protocol::dp::DpError| JobError::Noise(e.describe(features));
            let bounds = feature_bounds(meta, features);
            protocol::kmeans::private::noise_plan(&p, &bounds, meta.rows(), parties).map_err(refused)?;
        }
        _ => {}
    }
    Ok(())
}

/// Whether this node's ledger can pay for the job's epsilon on `dataset`.
fn check_budget(view: &View, ledger: &Ledger, spec: &JobSpec, dataset: &str) -> Result<(), JobError> {
    let Some(epsilon) = spec.epsilon() else { return Ok(()) };
    Ok(ledger.check(dataset, epsilon, budget(view, dataset))?)
}

/// This node's budget for `dataset`.
pub fn budget(view: &View, dataset: &str) -> Option<f64> {
    view.local().config.rules.as_ref().and_then(|p| p.budget(dataset))
}

/// The dataset a job reads: its own, or its segmentation's for a fairness job.
pub fn job_dataset(view: &View, spec: &JobSpec) -> Option<String> {
    super::erasure::dataset_read(spec, |job| {
        view.record(job).and_then(|r| r.spec.dataset().map(str::to_string))
    })
}

/// Checks a job against this node's policy, if it has one.
fn check_policy(
    view: &View,
    spec: &JobSpec,
    dataset: &str,
    segmentation: Option<&JobSpec>,
) -> Result<(), JobError> {
    match &view.local().config.rules {
        Some(policy) => policy.check(spec, dataset, segmentation).map_err(JobError::Policy),
        None => Ok(()),
    }
}

/// The declared range of each named feature (the fixed-point range where none is declared).
pub fn feature_bounds(meta: &DatasetMeta, features: &[String]) -> Vec<(f64, f64)> {
    features
        .iter()
        .filter_map(|f| meta.schema.features.iter().find(|c| &c.name == f))
        .map(|c| (c.min.unwrap_or(-protocol::fixed::MAX_ABS), c.max.unwrap_or(protocol::fixed::MAX_ABS)))
        .collect()
}

/// Checks the features of a `stats` job against a dataset, including that no sum can
/// overflow for the dataset's current record count.
pub fn check_stats(meta: &DatasetMeta, features: &[String]) -> Result<(), JobError> {
    let dataset = &meta.name;
    if features.is_empty() {
        return Err(JobError::NoFeature);
    }
    let mut bounds = Vec::new();
    for (i, f) in features.iter().enumerate() {
        if features[..i].contains(f) {
            return Err(JobError::DuplicateFeature(f.clone()));
        }
        let Some(column) = meta.schema.features.iter().find(|c| &c.name == f) else {
            let numeric: Vec<&str> = meta.schema.features.iter().map(|c| c.name.as_str()).collect();
            return Err(JobError::NotNumeric {
                feature: f.clone(),
                dataset: dataset.clone(),
                numeric: numeric.join(", "),
            });
        };
        let lo = column.min.unwrap_or(-protocol::fixed::MAX_ABS).abs();
        let hi = column.max.unwrap_or(protocol::fixed::MAX_ABS).abs();
        bounds.push(lo.max(hi));
    }
    protocol::stats::check_bounds(meta.rows(), &bounds).map_err(|e| match e {
        protocol::stats::StatsError::MayOverflow { feature, count, bound } => {
            JobError::MayOverflow { feature: features[feature].clone(), count, bound }
        }
    })
}
