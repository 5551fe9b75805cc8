//! Running a `stats` job on this node: agree with the others, add up the components this node
//! holds (sums), and compute the scaled sums of squares on shares with the engine (variance);
//! with an epsilon, the sums and sums of squares get noise that every node draws a part of.
//! The mathematics is in `protocol::stats`.

use super::{JobOutput, dataset_meta, feature_bounds, feature_columns, own_components, start_engine};
use crate::node::Node;
use protocol::Engine;
use protocol::Transport;
use protocol::stats::{noise_plan, private_moments, scaled_moments};
use std::sync::Arc;
use wire::control::{JobId, JobSpec, StatsJob};
use wire::output::{OutputLayout, StatsOutput};

/// Computes this node's components of the feature sums, scaled sums and sums of squares.
pub async fn run<T: Transport>(
    node: Arc<Node>,
    job: JobId,
    spec: &JobSpec,
    channel: &T,
) -> Result<JobOutput, String> {
    let JobSpec::Stats(StatsJob { dataset, features, epsilon }) = spec else {
        return Err("not a stats job".into());
    };
    let meta = dataset_meta(&node, dataset)?;
    let mut engine = start_engine(&node, job, spec, Some(&meta), channel).await?;
    // The dataset may have grown since the vote: check the bounds on what was agreed.
    super::check_stats(&meta, features)?;
    let columns = feature_columns(&node, &meta, features).await?;
    let count = meta.rows();
    let ranges = feature_bounds(&meta, features);
    let (released, scales) = match epsilon {
        Some(epsilon) => {
            node.jobs.progress(job, "summing shares, with noise drawn by every node");
            let mut rng = super::os_rng()?;
            let who = protocol::dp::NoiseParties::cluster(node.members.len());
            let plan = noise_plan(count, &ranges, *epsilon, who.parties).map_err(|e| e.to_string())?;
            let released = private_moments(&mut engine, &mut rng, &columns, &ranges, &plan, who)
                .await
                .map_err(|e| e.to_string())?;
            (released, plan.scales)
        }
        None => {
            node.jobs.progress(job, "summing shares and computing variances on shares");
            let magnitudes: Vec<f64> = ranges.iter().map(|(lo, hi)| lo.abs().max(hi.abs())).collect();
            // Sums are local; the scaled sums and sums of squares need the engine.
            let sums = engine.sums(&columns);
            let (moments, scales) =
                scaled_moments(&mut engine, &columns, &magnitudes).await.map_err(|e| e.to_string())?;
            (engine.concat(&[&sums, &moments]), scales)
        }
    };
    Ok(JobOutput {
        count,
        layout: OutputLayout::Stats(StatsOutput { features: features.clone(), variance_scales: scales }),
        components: own_components(&node, released),
    })
}
