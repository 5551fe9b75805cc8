//! Running a `stats` job on this node: agree with the others, add up the components this node
//! holds (sums), and compute the scaled sums of squares on shares with the engine (variance);
//! with an epsilon, the sums and sums of squares get noise that every node draws a part of.
//! The mathematics is in `protocol::stats`.

use super::checks::{check_stats, feature_bounds};
use super::context::JobContext;
use super::{JobError, JobOutput};
use protocol::Transport;
use protocol::replicated::HonestMajority;
use protocol::stats::{noise_plan, private_moments, scaled_moments};
use wire::control::{JobSpec, StatsJob};
use wire::output::{OutputLayout, StatsOutput};

/// Computes this node's components of the feature sums, scaled sums and sums of squares.
/// (`spec` is the whole specification, which the nodes agree on; `job` its stats part.)
pub async fn run<'t, T: Transport, E: HonestMajority<'t, T>>(
    cx: &JobContext,
    spec: &JobSpec,
    job: &StatsJob,
    channel: &'t T,
) -> Result<JobOutput, JobError> {
    let StatsJob { dataset, features, epsilon } = job;
    let meta = cx.view().dataset(dataset)?;
    let mut engine: E = cx.start_engine(spec, Some(&meta), channel).await?;
    // The dataset may have grown since the vote: check the bounds on what was agreed.
    check_stats(&meta, features)?;
    let columns = cx.feature_columns(&meta, features).await?;
    for column in &columns {
        engine.bind(column);
    }
    let count = meta.rows();
    let ranges = feature_bounds(&meta, features);
    let (released, scales) = match epsilon {
        Some(epsilon) => {
            cx.progress("summing shares, with noise drawn by every node");
            let mut rng = cx.rng()?;
            let who = protocol::dp::NoiseParties::cluster(cx.parties());
            let plan = noise_plan(count, &ranges, *epsilon, who.parties).map_err(JobError::engine)?;
            let released = private_moments(&mut engine, &mut rng, &columns, &ranges, &plan, who)
                .await
                .map_err(JobError::engine)?;
            (released, plan.scales)
        }
        None => {
            cx.progress("summing shares and computing variances on shares");
            let magnitudes: Vec<f64> = ranges.iter().map(|(lo, hi)| lo.abs().max(hi.abs())).collect();
            // Sums are local; the scaled sums and sums of squares need the engine.
            let sums = engine.sums(&columns);
            let (moments, scales) =
                scaled_moments(&mut engine, &columns, &magnitudes).await.map_err(JobError::engine)?;
            (engine.concat(&[&sums, &moments]), scales)
        }
    };
    cx.progress("checking every step before the result leaves the node");
    engine.verify().await.map_err(JobError::engine)?;
    Ok(JobOutput {
        count,
        layout: OutputLayout::Stats(StatsOutput { features: features.clone(), variance_scales: scales }),
        components: cx.own_components(released),
    })
}
