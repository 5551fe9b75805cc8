//! Retention and erasure.
//!
//! A node's retention period for a dataset governs two things: this node's own shares of the
//! dataset, which it erases once the oldest contribution it holds is that old, and its own
//! company's contribution everywhere, which it then asks every other node to erase (with
//! replicated sharing, the shares left on the others would still reveal the records).
//!
//! A node honours a peer's erase request only where it would erase anyway or where the peer
//! has the right to ask: a contribution, when the peer owns it (a company may always withdraw
//! its own customers' records, whatever this node's policy says); a whole dataset, when this
//! node's own retention period for it has passed. Anything else is refused with the reason,
//! logged, and changes nothing.
//!
//! Every erasure takes with it what this node derived from the erased shares (the jobs'
//! segments, outputs and owners' labels, see [`crate::jobs::Runtime::erase_derived`]) and is recorded
//! in the audit log.

use crate::node::Node;
use crate::store::{DatasetMeta, StoreError};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use wire::mesh::MeshRequest;

/// How often the retention periods are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Why an erase request from a peer was refused.
#[derive(Debug, Error)]
pub enum EraseRefused {
    /// This node keeps the dataset for as long as it likes.
    #[error(
        "node {node}'s policy sets no retention period for `{dataset}`; a node may ask it to erase only a \
         contribution the asking node owns"
    )]
    NoRetention {
        /// This node.
        node: String,
        /// The dataset.
        dataset: String,
    },
    /// This node's retention period has not passed yet.
    #[error(
        "the retention period of node {node}'s policy for `{dataset}` has not passed (about {hours_left:.1} \
         hours left); a node may ask it to erase only a contribution the asking node owns"
    )]
    NotDue {
        /// This node.
        node: String,
        /// The dataset.
        dataset: String,
        /// Time left before this node erases it, in hours.
        hours_left: f64,
    },
    /// The store refused (a contribution of another owner) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `meta`'s oldest contribution on this node is at least `period` ms old at `now_ms`:
/// `Ok(())` if so, otherwise the time left in ms.
fn due(meta: &DatasetMeta, period: u64, now_ms: u64) -> Result<(), u64> {
    let oldest = meta.contributions.iter().map(|c| c.committed_ms).filter(|&t| t > 0).min();
    match oldest {
        Some(oldest) if now_ms.saturating_sub(oldest) >= period => Ok(()),
        Some(oldest) => Err(period - now_ms.saturating_sub(oldest)),
        // No commit time recorded: never due by age.
        None => Err(period),
    }
}

/// This node's retention period for `dataset`, in ms, if its policy sets one.
fn period(node: &Node, dataset: &str) -> Option<u64> {
    node.config().rules.as_ref()?.retention_ms(dataset)
}

/// Checks the retention periods of this node's policy every [`CHECK_EVERY`], for ever.
pub async fn enforce(node: Arc<Node>) {
    let Some(periods) = node.config().rules.as_ref().map(|p| p.retention()).filter(|p| !p.is_empty()) else {
        return;
    };
    loop {
        for (dataset, period) in &periods {
            let name = dataset.clone();
            let meta = match node.with_store(move |store| store.dataset(&name)).await {
                Ok(Some(meta)) => meta,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(%dataset, error = %e, "cannot read a dataset to check its retention");
                    continue;
                }
            };
            if due(&meta, *period, crate::now_ms()).is_ok() {
                let reason = "the retention period of this node's policy passed";
                if let Err(e) = expire(&node, &meta, reason).await {
                    tracing::error!(%dataset, error = %e, "cannot erase an expired dataset");
                }
            }
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// This node's retention period for `meta` passed: erases every share of it here, then asks
/// every other node to erase the contributions this node's company owns.
async fn expire(node: &Arc<Node>, meta: &DatasetMeta, reason: &str) -> Result<(), StoreError> {
    erase(node, &meta.name, None, reason).await?;
    withdraw(node, meta).await;
    Ok(())
}

/// Asks every other node to erase the contributions to `meta` this node's company owns.
async fn withdraw(node: &Arc<Node>, meta: &DatasetMeta) {
    let own = meta.contributions.iter().filter(|c| c.owner == node.config().node_id);
    let peers = node.peers();
    for contribution in own.map(|c| c.id.clone()) {
        for &p in &peers {
            let request =
                MeshRequest::Erase { dataset: meta.name.clone(), contribution: Some(contribution.clone()) };
            match node.mesh().call(p, request).await {
                Ok(()) => tracing::info!(dataset = %meta.name, %contribution, peer = %node.members()[p].id,
                    "a node erased this node's contribution"),
                Err(e) => tracing::warn!(dataset = %meta.name, %contribution, error = %e,
                    "a node did not confirm the erasure of this node's contribution"),
            }
        }
    }
}

/// Handles a peer's request to erase `contribution` of `dataset` (or, with none, the whole
/// dataset): carries it out where the rules in the module documentation allow, and refuses
/// it otherwise, with nothing changed.
pub async fn requested(
    node: &Arc<Node>,
    peer: &str,
    dataset: &str,
    contribution: Option<String>,
) -> Result<(), EraseRefused> {
    match contribution {
        Some(contribution) => {
            let reason = format!("node {peer} withdrew its contribution `{contribution}`");
            erase(node, dataset, Some((&contribution, peer)), &reason).await?;
            Ok(())
        }
        None => {
            let name = dataset.to_string();
            let Some(meta) = node.with_store(move |store| store.dataset(&name)).await? else { return Ok(()) };
            let refused = |left: u64| EraseRefused::NotDue {
                node: node.config().node_id.clone(),
                dataset: dataset.into(),
                hours_left: left as f64 / 3_600_000.0,
            };
            let period = period(node, dataset).ok_or_else(|| EraseRefused::NoRetention {
                node: node.config().node_id.clone(),
                dataset: dataset.into(),
            })?;
            due(&meta, period, crate::now_ms()).map_err(refused)?;
            let reason = format!("node {peer} asked, and the retention period of this node's policy passed");
            erase(node, dataset, None, &reason).await?;
            // Ask the others to erase this node's contribution without keeping the peer waiting.
            let node = node.clone();
            tokio::spawn(async move { withdraw(&node, &meta).await });
            Ok(())
        }
    }
}

/// Erases this node's shares of `dataset` (only `contribution` of its owner when given, else
/// every share) and everything derived from them here, and records it in the audit log.
/// Returns whether there was anything to erase.
pub async fn erase(
    node: &Arc<Node>,
    dataset: &str,
    contribution: Option<(&str, &str)>,
    reason: &str,
) -> Result<bool, StoreError> {
    let name = dataset.to_string();
    let erased = match contribution {
        Some((id, owner)) => {
            let (id, owner) = (id.to_string(), owner.to_string());
            node.with_store(move |store| store.erase_contribution(&name, &id, &owner)).await?
        }
        None => node.with_store(move |store| store.erase(&name)).await?,
    };
    if !erased {
        tracing::info!(%dataset, ?contribution, "nothing to erase");
        return Ok(false);
    }
    // The shares are gone: the erasure is recorded whatever happens to the derived files.
    let derived = node.jobs().erase_derived(dataset, reason).await;
    let jobs = derived.touched;
    node.audit().record(wire::audit::Event::Erased {
        dataset: dataset.into(),
        contribution: contribution.map(|(id, _)| id.to_string()),
        reason: reason.into(),
        jobs: jobs.iter().map(ToString::to_string).collect(),
    });
    if let Some(e) = derived.failed {
        return Err(e);
    }
    tracing::info!(%dataset, ?contribution, %reason, jobs = jobs.len(), "erased shares and what derived from them");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ContributionMeta;

    fn meta(commits: &[u64]) -> DatasetMeta {
        DatasetMeta {
            name: "d".into(),
            schema: wire::schema::Schema { features: vec![], categorical: vec![], consent: None },
            contributions: commits
                .iter()
                .enumerate()
                .map(|(i, &t)| ContributionMeta {
                    id: format!("c{i}"),
                    owner: format!("n{i}"),
                    rows: 1,
                    sha256: String::new(),
                    committed_ms: t,
                })
                .collect(),
        }
    }

    #[test]
    fn a_dataset_is_due_once_its_oldest_contribution_is_as_old_as_the_period() {
        assert_eq!(due(&meta(&[1_000, 5_000]), 3_000, 4_000), Ok(()));
        assert_eq!(due(&meta(&[1_000, 5_000]), 3_000, 3_999), Err(1));
        assert_eq!(due(&meta(&[0, 2_000]), 3_000, 4_000), Err(1_000), "an unknown commit time is skipped");
        assert_eq!(due(&meta(&[0]), 3_000, 9_000), Err(3_000), "no commit time: never due by age");
        assert_eq!(due(&meta(&[]), 3_000, 9_000), Err(3_000));
    }
}
