//! Running a `kmeans` job on this node: agree, set up the engine, load the features, and run
//! `protocol::kmeans::secure_job` (or, with an epsilon, the differentially private
//! `protocol::kmeans::private::private_job`); the scaling and the suppressed segments travel
//! with the output as public parameters.

use super::checks::{check_stats, feature_bounds};
use super::context::JobContext;
use super::{JobError, JobOutput};
use crate::store::{DatasetMeta, Segments};
use protocol::Transport;
use protocol::kmeans::private::{PrivateParams, private_job};
use protocol::kmeans::{Init, Params, Scaling, secure_job};
use protocol::replicated::HonestMajority;
use wire::control::{JobSpec, KmeansInit, KmeansJob};
use wire::output::{KmeansOutput, OutputLayout};

/// Largest number of segments.
const MAX_K: u32 = 64;
/// Largest number of iterations.
const MAX_ITERATIONS: u32 = 100;

/// Largest number of restarts.
const MAX_RESTARTS: u32 = 20;

/// Checks the parameters against the dataset before voting.
pub fn check(meta: &DatasetMeta, k: u32, iterations: u32, restarts: u32) -> Result<(), JobError> {
    if restarts == 0 || restarts > MAX_RESTARTS {
        return Err(JobError::OutOfRange { name: "restarts", max: MAX_RESTARTS, got: restarts });
    }
    if k == 0 || k > MAX_K {
        return Err(JobError::OutOfRange { name: "k", max: MAX_K, got: k });
    }
    if u64::from(k) > meta.rows() {
        return Err(JobError::KTooLarge { k, rows: meta.rows(), dataset: meta.name.clone() });
    }
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(JobError::OutOfRange { name: "iterations", max: MAX_ITERATIONS, got: iterations });
    }
    Ok(())
}

/// Runs the job and returns this node's components of the outputs.
/// (`spec` is the whole specification, which the nodes agree on; `job` its k-means part.)
pub async fn run<'t, T: Transport, E: HonestMajority<'t, T>>(
    cx: &JobContext,
    spec: &JobSpec,
    job: &KmeansJob,
    channel: &'t T,
) -> Result<JobOutput, JobError> {
    let KmeansJob { dataset, features, k, iterations, seed, restarts, init, labels, min_segment, epsilon } =
        job;
    let meta = cx.view().dataset(dataset)?;
    let mut engine: E = cx.start_engine(spec, Some(&meta), channel).await?;
    // The dataset may have changed since the vote: check again what was agreed.
    check_stats(&meta, features)?;
    check(&meta, *k, *iterations, *restarts)?;
    let columns = cx.feature_columns(&meta, features).await?;
    for column in &columns {
        engine.bind(column);
    }
    let bounds = feature_bounds(&meta, features);
    let report = |done: usize, total: usize| {
        cx.steps(done, total, &format!("iteration {done} of {total} on shares"));
    };
    let (outputs, published, assignment) = match epsilon {
        Some(epsilon) => {
            cx.progress(&format!("differentially private k-means: {iterations} noisy iterations"));
            let p = PrivateParams {
                k: *k as usize,
                iterations: *iterations as usize,
                seed: *seed,
                epsilon: *epsilon,
                min_segment: *min_segment,
            };
            let mut rng = cx.rng()?;
            let who = protocol::dp::NoiseParties::cluster(cx.parties());
            let out = private_job(&mut engine, &mut rng, &columns, &bounds, p, who, &report)
                .await
                .map_err(JobError::engine)?;
            // Everything opened to the nodes, in order: the scaling, each iteration, the
            // final counts (the job's epsilon covers them all).
            let opened_to_nodes = |what: String, bytes: Vec<u8>| {
                let what = format!("{what} (epsilon {epsilon} in all)");
                cx.reveal(wire::audit::EVERY_NODE.into(), what, &bytes)
            };
            let le = |values: &[u64]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
            opened_to_nodes(
                "each feature's noisy sum and sum of absolute deviations".into(),
                le(&out.moments),
            );
            for (t, r) in out.releases.iter().enumerate() {
                let bytes: Vec<u8> = r
                    .sums
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .chain(r.counts.iter().flat_map(|c| c.to_le_bytes()))
                    .collect();
                opened_to_nodes(
                    format!("iteration {} of {iterations}: each segment's noisy sum and count", t + 1),
                    bytes,
                );
            }
            let counts: Vec<u64> = out.counts.iter().map(|&c| c as u64).collect();
            opened_to_nodes("the final segments' noisy counts".into(), le(&counts));
            (out.outputs, out.published, out.assignment)
        }
        None => {
            cx.progress(&format!(
                "standardising, seeding ({init}) and running {iterations} iterations on shares"
            ));
            let params = Params {
                k: *k as usize,
                iterations: *iterations as usize,
                seed: *seed,
                restarts: *restarts as usize,
                init: match init {
                    KmeansInit::PlusPlus => Init::PlusPlus,
                    KmeansInit::Random => Init::Random,
                },
                min_segment: *min_segment,
            };
            let shares = secure_job(&mut engine, &columns, &bounds, params, &report)
                .await
                .map_err(JobError::engine)?;
            let p = &shares.published;
            let opened: Vec<u8> = p.centres.iter().chain(&p.scales).flat_map(|v| v.to_le_bytes()).collect();
            let what = format!("the mean and standard deviation of {}", features.join(", "));
            cx.reveal(wire::audit::EVERY_NODE.into(), what, &opened);
            if *min_segment > 1 {
                let flags: Vec<u8> = p.suppressed.iter().map(|&s| u8::from(s)).collect();
                let what =
                    format!("which segments are withheld (fewer than {min_segment} records, and one more)");
                cx.reveal(wire::audit::EVERY_NODE.into(), what, &flags);
            }
            (shares.outputs, shares.published, shares.assignment)
        }
    };
    cx.progress("checking every step before the result leaves the node");
    engine.verify().await.map_err(JobError::engine)?;
    // The secret segment of every record stays on this node, for the fairness job.
    let segments = Segments {
        dataset: meta.name.clone(),
        contributions: meta.version(),
        k: u64::from(*k),
        components: cx.own_components(assignment.clone()),
    };
    cx.save_segments(segments).await?;
    if *labels {
        cx.progress("giving each owner the segments of its own records");
        give_labels(cx, &meta, &mut engine, &assignment, *k as usize).await?;
    }
    let components = cx.own_components(outputs);
    let layout = OutputLayout::Kmeans(KmeansOutput {
        features: features.clone(),
        k: *k,
        scaling: match published.scaling {
            Scaling::Standardised => wire::output::Scaling::Standardised,
            Scaling::Clipped => wire::output::Scaling::Clipped,
        },
        centres: published.centres,
        scales: published.scales,
        withheld: published.suppressed,
        wcss: published.wcss,
    });
    Ok(JobOutput { count: meta.rows(), layout, components })
}

/// Opens each owner's rows of the assignment to that owner alone; an owner writes
/// `labels/<job>.csv` in its data directory: the position of each of its shared records (in
/// the order of its ingest, consenting records only) and its segment.
async fn give_labels<'t, T: Transport, E: HonestMajority<'t, T>>(
    cx: &JobContext,
    meta: &DatasetMeta,
    engine: &mut E,
    assignment: &protocol::replicated::RepVec,
    k: usize,
) -> Result<(), JobError> {
    let mut start = 0usize;
    let mut mine = Vec::new();
    for c in &meta.contributions {
        let rows = c.rows as usize;
        let owner = cx.party_of(&c.owner).ok_or(JobError::UnknownOwner)?;
        let slice = protocol::replicated::RepVec {
            comps: assignment.comps.iter().map(|v| v[start * k..(start + rows) * k].to_vec()).collect(),
        };
        let held: Vec<u8> = slice.comps.iter().flat_map(|c| c.iter().flat_map(|v| v.to_le_bytes())).collect();
        let what = format!("the segments of its {rows} records (this node's components)");
        cx.reveal(format!("node {}", c.owner), what, &held);
        if let Some(opened) = engine.reveal_to(owner, &slice).await.map_err(JobError::engine)? {
            mine.extend(protocol::kmeans::labels_from_onehot(&opened, k));
        }
        start += rows;
    }
    if meta.contributions.iter().any(|c| c.owner == cx.node_id()) {
        cx.write_labels(&mine).await?;
    }
    Ok(())
}
