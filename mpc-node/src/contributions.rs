//! Replacing and restoring an owner's contribution, on this node and across the cluster.
//!
//! An ingest with `--replace` commits the new contribution on every node with
//! [`MeshRequest::Commit`]`{ replace: true }`; each node keeps the replaced one aside (see
//! `store::replaced`) and audits the replacement. `mpc-node ingest --restore` asks every node
//! whether it would put the kept contribution back ([`MeshRequest::Restore`] with
//! `apply: false`), and only if all say yes asks each to do it. A node honours a restore only
//! for the requesting node's own contributions. Jobs record which dataset version they read
//! (`jobs::context`, through `Store::note_used`), which ends the restorability of what the contributions in it replaced, and
//! [`purge`] deletes every kept contribution that can no longer be restored.

use crate::node::Node;
use crate::store::{Committed, Kept, Replace, StoreError};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use wire::audit::Event;
use wire::control::RestoreReport;
use wire::mesh::MeshRequest;

/// How often kept contributions that can no longer be restored are looked for.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// A restore that did not happen (or not everywhere).
#[derive(Debug, Error)]
pub enum RestoreError {
    /// This node cannot restore (nothing kept, used by a job, too old, corrupt).
    #[error("{0}; nothing was changed on any node")]
    Here(#[from] StoreError),
    /// Another node refused or did not answer when asked whether it could restore.
    #[error("the restore was refused, nothing was changed on any node: {0}")]
    Refused(String),
    /// Every node agreed, but some failed to restore.
    #[error(
        "the previous contribution was put back on some nodes only (failed on {0}); jobs on this \
         dataset fail until you ingest this node's file again with --replace"
    )]
    Partial(String),
}

/// This node's retention period for `dataset`, in milliseconds, if its policy sets one.
fn retention_ms(node: &Node, dataset: &str) -> Option<u64> {
    node.config().rules.as_ref()?.retention_ms(dataset)
}

/// Commits `owner`'s staged contribution on this node (a replacement keeps the owner's
/// previous one aside for this node's `keep_replaced_days`) and audits a replacement.
pub async fn commit(
    node: &Arc<Node>,
    dataset: &str,
    contribution: &str,
    owner: &str,
    replace: bool,
) -> Result<Committed, StoreError> {
    let until = crate::now_ms().saturating_add(node.config().keep_replaced_ms());
    let mode = if replace { Replace::KeepUntil(until) } else { Replace::No };
    let (d, c, o) = (dataset.to_string(), contribution.to_string(), owner.to_string());
    let committed = node.with_store(move |store| store.commit(&d, &c, &o, mode)).await?;
    if let Some(previous) = &committed.replaced {
        node.audit().record(Event::Replaced {
            dataset: dataset.into(),
            owner: owner.into(),
            replaced: previous.id.clone(),
            replaced_rows: previous.rows,
            contribution: committed.entry.id.clone(),
            rows: committed.entry.rows,
            kept_until_ms: until,
        });
        tracing::info!(
            dataset,
            owner,
            replaced = %previous.id,
            replaced_rows = previous.rows,
            contribution = %committed.entry.id,
            rows = committed.entry.rows,
            kept_until = %crate::store::utc(until),
            "a contribution replaced its owner's previous one, kept aside"
        );
    }
    Ok(committed)
}

/// On this node: checks (`apply` false) or carries out (`apply` true) the restore of
/// `owner`'s contribution `restored` in place of `dropped`; a restore is audited.
pub async fn restore_here(
    node: &Arc<Node>,
    owner: &str,
    dataset: &str,
    restored: &str,
    dropped: &str,
    apply: bool,
) -> Result<Kept, StoreError> {
    let retention = retention_ms(node, dataset);
    let (d, o, r, x) = (dataset.to_string(), owner.to_string(), restored.to_string(), dropped.to_string());
    let kept = node
        .with_store(move |store| {
            let (pair, now) = ((r.as_str(), x.as_str()), crate::now_ms());
            if apply {
                store.restore(&d, &o, pair, now, retention)
            } else {
                store.check_restore(&d, &o, pair, now, retention)
            }
        })
        .await?;
    if apply {
        node.audit().record(Event::Restored {
            dataset: dataset.into(),
            owner: owner.into(),
            restored: kept.previous.id.clone(),
            restored_rows: kept.previous.rows,
            dropped: kept.current.clone(),
            dropped_rows: kept.current_rows,
        });
        tracing::info!(dataset, owner, restored, dropped, "put a replaced contribution back");
    }
    Ok(kept)
}

/// The owner's restore: puts back, on every node, the contribution this node's last
/// replacement replaced in `dataset`, once every node said it can.
pub async fn restore(node: Arc<Node>, dataset: &str) -> Result<RestoreReport, RestoreError> {
    let me = node.config().node_id.clone();
    let retention = retention_ms(&node, dataset);
    let (d, o) = (dataset.to_string(), me.clone());
    let kept = node.with_store(move |store| store.restorable(&d, &o, crate::now_ms(), retention)).await?;
    let request = |apply| MeshRequest::Restore {
        dataset: dataset.into(),
        restored: kept.previous.id.clone(),
        dropped: kept.current.clone(),
        apply,
    };
    let peers = node.peers();
    let checks =
        futures_util::future::join_all(peers.iter().map(|&p| node.mesh().call(p, request(false)))).await;
    let refusals: Vec<String> = checks.into_iter().filter_map(Result::err).map(|e| e.to_string()).collect();
    if !refusals.is_empty() {
        return Err(RestoreError::Refused(refusals.join("; ")));
    }
    let mut failed = Vec::new();
    for &p in &peers {
        if let Err(e) = node.mesh().call(p, request(true)).await {
            failed.push(e.to_string());
        }
    }
    if let Err(e) = restore_here(&node, &me, dataset, &kept.previous.id, &kept.current, true).await {
        failed.push(format!("node {me}: {e}"));
    }
    if !failed.is_empty() {
        return Err(RestoreError::Partial(failed.join("; ")));
    }
    Ok(RestoreReport {
        dataset: dataset.into(),
        restored: kept.previous.id,
        restored_rows: kept.previous.rows,
        dropped: kept.current,
        dropped_rows: kept.current_rows,
        nodes: node.members().len() as u16,
    })
}

/// Deletes, every [`PURGE_EVERY`], the kept contributions that can no longer be restored
/// (their time passed, or this node's retention period for their dataset), for ever.
pub async fn purge(node: Arc<Node>) {
    loop {
        tokio::time::sleep(PURGE_EVERY).await;
        let datasets = match node.store().datasets() {
            Ok(list) => list,
            Err(e) => {
                tracing::error!(error = %e, "cannot list datasets to purge replaced contributions");
                continue;
            }
        };
        for meta in datasets {
            let retention = retention_ms(&node, &meta.name);
            let name = meta.name.clone();
            match node.with_store(move |store| store.purge_kept(&name, crate::now_ms(), retention)).await {
                Ok(purged) => {
                    for kept in purged {
                        tracing::info!(
                            dataset = %meta.name,
                            owner = %kept.owner,
                            replaced = %kept.previous.id,
                            "purged a replaced contribution that can no longer be restored"
                        );
                    }
                }
                Err(e) => {
                    tracing::error!(dataset = %meta.name, error = %e, "cannot purge replaced contributions")
                }
            }
        }
    }
}
