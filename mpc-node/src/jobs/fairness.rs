//! Running a `fairness` job on this node: the segments a `kmeans` job left here (secret), the
//! protected column's level codes (secret), `protocol::fairness::contingency`, and
//! `protocol::fairness::release` (small cells withheld, or noise with an epsilon).

use super::{JobOutput, dataset_meta, own_components, start_engine, stored_columns};
use crate::node::Node;
use crate::store::{DatasetMeta, Segments};
use net::Fingerprint;
use protocol::Transport;
use protocol::fairness::{contingency, release};
use protocol::replicated::RepVec;
use std::sync::Arc;
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
    node: &Node,
    segments_job: JobId,
    protected: &str,
    submitter: Fingerprint,
) -> Result<Inputs, String> {
    let record = node
        .jobs
        .get(&segments_job)
        .ok_or_else(|| format!("node {} has no job {segments_job}", node.config.node_id))?;
    if record.submitter != submitter {
        return Err(format!("job {segments_job} was submitted by another operator"));
    }
    let JobSpec::Kmeans(KmeansJob { dataset, .. }) = &record.spec else {
        return Err(format!("job {segments_job} is a {} job, not kmeans", record.spec.kind()));
    };
    if record.state != JobState::Done {
        return Err(format!("job {segments_job} is {}, not done", record.state));
    }
    if let Some(why) = &record.erased {
        return Err(format!(
            "the segments of job {segments_job} are gone ({why}); segment the dataset again"
        ));
    }
    let segments = node
        .store
        .load_segments(&segments_job.to_string())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("node {} holds no segments of job {segments_job}", node.config.node_id))?;
    let meta = dataset_meta(node, dataset)?;
    if meta.version() != segments.contributions {
        return Err(format!("dataset `{dataset}` changed since job {segments_job}; segment it again"));
    }
    let Some(c) = meta.schema.categorical.iter().position(|c| c.name == protected) else {
        let names: Vec<&str> = meta.schema.categorical.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "`{protected}` is not a categorical column of `{dataset}` (categorical: {})",
            names.join(", ")
        ));
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
        .ok_or_else(|| {
            format!("node {} cannot read which segments job {segments_job} withheld", node.config.node_id)
        })?;
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
pub async fn run<T: Transport>(
    node: Arc<Node>,
    job: JobId,
    spec: &JobSpec,
    channel: &T,
) -> Result<JobOutput, String> {
    let JobSpec::Fairness(FairnessJob { segments, protected, min_cell, epsilon }) = spec else {
        return Err("not a fairness job".into());
    };
    let submitter = node.jobs.get(&job).map(|r| r.submitter).ok_or("the job vanished")?;
    let inputs = check(&node, *segments, protected, submitter)?;
    let mut engine = start_engine(&node, job, spec, Some(&inputs.meta), channel).await?;
    node.jobs.progress(job, "cross-tabulating segments and groups on shares");
    let levels = stored_columns(&node, &inputs.meta, &[inputs.column]).await?.remove(0);
    let mut comps = inputs.segments.components.clone();
    comps.sort_by_key(|c| c.id);
    let assignment = RepVec { comps: comps.into_iter().map(|c| c.values).collect() };
    let (k, g) = (inputs.segments.k as usize, inputs.levels.len());
    let table = contingency(&mut engine, &assignment, &levels, k, g).await.map_err(|e| e.to_string())?;
    let mut rng = super::os_rng()?;
    let who = protocol::dp::NoiseParties::cluster(node.members.len());
    let privacy = epsilon.map(|e| (e, who));
    let (values, withheld, opened) =
        release(&mut engine, &mut rng, &table, (k, g), *min_cell, &inputs.hidden, privacy)
            .await
            .map_err(|e| e.to_string())?;
    if !opened.is_empty() {
        let bytes: Vec<u8> = opened.iter().flat_map(|v| v.to_le_bytes()).collect();
        let what = match epsilon {
            Some(e) => {
                format!("the noisy table and group totals (epsilon {e}), to withhold those below {min_cell}")
            }
            None => format!("which cells and group totals are below {min_cell} records"),
        };
        super::revealed::record(&node, job, "every node".into(), what, &bytes);
    }
    Ok(JobOutput {
        count: inputs.meta.rows(),
        layout: OutputLayout::Fairness(FairnessOutput {
            segments: k as u32,
            groups: inputs.levels,
            withheld,
        }),
        components: own_components(&node, values),
    })
}
