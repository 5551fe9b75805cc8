//! Running a `stats` job on this node: agree with the others, then add up the components this
//! node holds. The mathematics is in `protocol::stats`.

use super::{JobOutput, view_digest};
use crate::node::Node;
use protocol::Transport;
use protocol::stats::{ColumnShares, local_sums};
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
    node.jobs.progress(job, "agreeing on the job with every node");
    protocol::agree::agree(channel, view_digest(&node, job, spec, Some(&meta)))
        .await
        .map_err(|e| e.to_string())?;

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
    for c in node.layout.held_by(node.me) {
        if !sums.iter().any(|s| s.id as usize == c) {
            sums.push(protocol::sharing::Component { id: c as u16, values: vec![0; features.len()] });
        }
    }
    sums.sort_by_key(|s| s.id);
    Ok(JobOutput { count: meta.rows(), outputs: features.clone(), components: sums })
}
