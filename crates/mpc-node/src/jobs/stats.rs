//! Running a `stats` job on this node: agree with the others, add up the components this node
//! holds (sums), and compute the scaled sums of squares on shares with the engine (variance).
//! The mathematics is in `protocol::stats`.

use super::{JobOutput, start_engine};
use crate::node::Node;
use protocol::Transport;
use protocol::fixed;
use protocol::replicated::RepVec;
use protocol::sharing::Component;
use protocol::stats::{ColumnShares, local_sums, scaled_moments, variance_scale};
use std::sync::Arc;
use wire::control::{JobId, JobSpec};

/// Computes this node's components of the feature sums.
pub async fn run<T: Transport>(
    node: Arc<Node>,
    job: JobId,
    spec: &JobSpec,
    channel: &T,
) -> Result<JobOutput, String> {
    let JobSpec::Stats { dataset, features } = spec else { return Err("not a stats job".into()) };
    let meta = node
        .store
        .dataset(dataset)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no dataset `{dataset}`"))?;
    let mut engine = start_engine(&node, job, spec, Some(&meta), channel).await?;

    // The dataset may have grown since the vote: check the bounds on what was agreed.
    super::check_stats(&meta, features)?;
    node.jobs.progress(job, "summing shares");
    let columns: Vec<usize> = features
        .iter()
        .map(|f| meta.schema.feature_index(f).ok_or_else(|| format!("`{f}` is not a numeric feature")))
        .collect::<Result<_, _>>()?;
    let store_node = node.clone();
    let contributions = meta.contributions.clone();
    let dataset_name = dataset.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        contributions.iter().map(|c| store_node.store.load(&dataset_name, c)).collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let parts = loaded.iter().flat_map(|shares| {
        shares.header.components.iter().enumerate().map(|(i, &component)| ColumnShares {
            component,
            columns: columns.iter().map(|&j| shares.columns[i][j].values.as_slice()).collect(),
        })
    });
    let mut sums = local_sums(parts);
    let held = node.layout.held_by(node.me);
    for &c in &held {
        if !sums.iter().any(|s| s.id as usize == c) {
            sums.push(Component { id: c as u16, values: vec![0; features.len()] });
        }
    }
    sums.sort_by_key(|s| s.id);

    node.jobs.progress(job, "computing variances on shares");
    // Every record of each feature, as this node's share (components in `held` order).
    let feature_columns: Vec<RepVec> = columns
        .iter()
        .map(|&j| RepVec {
            comps: (0..held.len())
                .map(|i| loaded.iter().flat_map(|s| s.columns[i][j].values.iter().copied()).collect())
                .collect(),
        })
        .collect();
    let count = meta.rows();
    let scales: Vec<u32> = columns
        .iter()
        .map(|&j| {
            let f = &meta.schema.features[j];
            let bound = f.min.unwrap_or(-fixed::MAX_ABS).abs().max(f.max.unwrap_or(fixed::MAX_ABS).abs());
            variance_scale(count, bound)
        })
        .collect();
    let moments = scaled_moments(&mut engine, &feature_columns, &scales).await.map_err(|e| e.to_string())?;
    let components = sums
        .into_iter()
        .zip(moments.comps)
        .map(|(mut s, m)| {
            s.values.extend(m);
            s
        })
        .collect();
    Ok(JobOutput {
        count,
        outputs: features.clone(),
        params: scales.into_iter().map(u64::from).collect(),
        components,
    })
}
