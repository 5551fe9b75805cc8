//! Running a `fairness` job on this node: the segments a `kmeans` job left here (secret), the
//! protected column's level codes (secret), `protocol::fairness::contingency`, and
//! `protocol::fairness::release` (small cells withheld, or noise with an epsilon).

use super::context::{JobContext, View};
use super::{JobError, JobOutput};
use crate::store::{DatasetMeta, Segments};
use net::Fingerprint;
use protocol::Transport;
use protocol::fairness::{contingency, release};
use protocol::replicated::HonestMajority;
use protocol::replicated::RepVec;
use wire::control::{FairnessJob, JobId, JobSpec, JobState, KmeansJob};
use wire::output::{FairnessOutput, OutputLayout};

/// What a fairness job reads, once checked.
pub struct Inputs {
    /// The dataset of the segmentation.
    pub meta: DatasetMeta,
    /// The segmentation's job.
    pub segmentation: JobSpec,
    /// The segments the segmentation suppressed (their rows are withheld whole).
    pub hidden: Vec<bool>,
    segments: Segments,
    column: usize,
    levels: Vec<String>,
}

/// Checks a fairness job: the segmentation is a finished `kmeans` job of the same operator
/// whose segments this node still holds, its dataset has not changed since, and the protected
/// column is categorical.
pub fn check(
    view: &View,
    segments_job: JobId,
    protected: &str,
    submitter: Fingerprint,
) -> Result<Inputs, JobError> {
    let node = view.node_id();
    let record = view
        .record(&segments_job)
        .ok_or_else(|| JobError::NoSuchJob { node: node.into(), job: segments_job })?;
    if record.submitter != submitter {
        return Err(JobError::NotYours(segments_job));
    }
    let JobSpec::Kmeans(KmeansJob { dataset, .. }) = &record.spec else {
        return Err(JobError::NotKmeans { job: segments_job, kind: record.spec.kind() });
    };
    if record.state != JobState::Done {
        return Err(JobError::NotDone { job: segments_job, state: record.state });
    }
    if let Some(why) = &record.erased {
        return Err(JobError::SegmentsErased { job: segments_job, why: why.clone() });
    }
    let segments = view
        .segments(&segments_job)?
        .ok_or_else(|| JobError::NoSegments { node: node.into(), job: segments_job })?;
    let meta = view.dataset(dataset)?;
    if meta.version() != segments.contributions {
        return Err(JobError::DatasetChanged { dataset: dataset.clone(), job: segments_job });
    }
    let Some(c) = meta.schema.categorical.iter().position(|c| c.name == protected) else {
        let names: Vec<&str> = meta.schema.categorical.iter().map(|c| c.name.as_str()).collect();
        return Err(JobError::NotCategorical {
            column: protected.into(),
            dataset: dataset.clone(),
            categorical: names.join(", "),
        });
    };
    let levels = meta.schema.categorical[c].levels.clone();
    let k = segments.k as usize;
    // Which segments the segmentation withheld: a record that does not say refuses the job.
    let hidden = record
        .output
        .as_ref()
        .and_then(|o| match &o.layout {
            OutputLayout::Kmeans(out) if out.k as usize == k && out.withheld.len() == k => {
                Some(out.withheld.clone())
            }
            _ => None,
        })
        .ok_or_else(|| JobError::UnreadableWithheld { node: node.into(), job: segments_job })?;
    Ok(Inputs {
        column: meta.schema.features.len() + c,
        meta,
        segmentation: record.spec.clone(),
        hidden,
        segments,
        levels,
    })
}

/// Runs the job and returns this node's components of the table.
/// (`spec` is the whole specification, which the nodes agree on; `job` its fairness part.)
pub async fn run<'t, T: Transport, E: HonestMajority<'t, T>>(
    cx: &JobContext,
    spec: &JobSpec,
    job: &FairnessJob,
    channel: &'t T,
) -> Result<JobOutput, JobError> {
    let FairnessJob { segments, protected, min_cell, epsilon } = job;
    let inputs = check(cx.view(), *segments, protected, cx.submitter()?)?;
    let mut engine: E = cx.start_engine(spec, Some(&inputs.meta), channel).await?;
    cx.progress("cross-tabulating segments and groups on shares");
    let levels = cx.stored_columns(&inputs.meta, &[inputs.column]).await?.remove(0);
    let mut comps = inputs.segments.components.clone();
    comps.sort_by_key(|c| c.id);
    let assignment = RepVec { comps: comps.into_iter().map(|c| c.values).collect() };
    engine.bind(&levels);
    engine.bind(&assignment);
    let (k, g) = (inputs.segments.k as usize, inputs.levels.len());
    let table = contingency(&mut engine, &assignment, &levels, k, g).await.map_err(JobError::engine)?;
    let mut rng = cx.rng()?;
    let who = protocol::dp::NoiseParties::cluster(cx.parties());
    let privacy = epsilon.map(|e| (e, who));
    let (values, withheld, opened) =
        release(&mut engine, &mut rng, &table, (k, g), *min_cell, &inputs.hidden, privacy)
            .await
            .map_err(JobError::engine)?;
    if !opened.is_empty() {
        let bytes: Vec<u8> = opened.iter().flat_map(|v| v.to_le_bytes()).collect();
        let what = match epsilon {
            Some(e) => {
                format!("the noisy table and group totals (epsilon {e}), to withhold those below {min_cell}")
            }
            None => format!("whether any cell or group total is below {min_cell} records"),
        };
        cx.reveal(wire::audit::EVERY_NODE.into(), what, &bytes);
    }
    cx.progress("checking every step before the result leaves the node");
    engine.verify().await.map_err(JobError::engine)?;
    Ok(JobOutput {
        count: inputs.meta.rows(),
        layout: OutputLayout::Fairness(FairnessOutput {
            segments: k as u32,
            groups: inputs.levels,
            withheld,
        }),
        components: cx.own_components(values),
    })
}
