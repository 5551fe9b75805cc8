//! Retention: a dataset whose oldest contribution is older than this node's policy allows is
//! erased here, and every other node is asked to erase its shares too (with replicated
//! sharing, the shares left on the others would still reveal the records).

use crate::node::Node;
use std::sync::Arc;
use std::time::Duration;
use wire::mesh::MeshRequest;

/// How often the retention periods are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Checks the retention periods of this node's policy every [`CHECK_EVERY`], for ever.
pub async fn enforce(node: Arc<Node>) {
    let Some(periods) = node.config.rules.as_ref().map(|p| p.retention()).filter(|p| !p.is_empty()) else {
        return;
    };
    loop {
        for (dataset, period) in &periods {
            if expired(&node, dataset, *period).await {
                let reason = "the retention period of this node's policy passed".to_string();
                if let Err(e) = erase(&node, dataset, &reason).await {
                    tracing::error!(%dataset, error = %e, "cannot erase an expired dataset");
                    continue;
                }
                let peers: Vec<usize> = (0..node.members.len()).filter(|&p| p != node.me).collect();
                for p in peers {
                    if let Err(e) = node.mesh.call(p, MeshRequest::Erase { dataset: dataset.clone() }).await {
                        tracing::warn!(%dataset, error = %e, "a node did not confirm the erasure");
                    }
                }
            }
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// Whether `dataset`'s oldest contribution was committed more than `period` ms ago.
async fn expired(node: &Arc<Node>, dataset: &str, period: u64) -> bool {
    let name = dataset.to_string();
    let meta = node.with_store(move |store| store.dataset(&name)).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    match meta {
        Ok(Some(meta)) => meta
            .contributions
            .iter()
            .map(|c| c.committed_ms)
            .filter(|&t| t > 0)
            .min()
            .is_some_and(|oldest| now.saturating_sub(oldest) >= period),
        _ => false,
    }
}

/// Erases this node's shares of `dataset` and records why.
pub async fn erase(node: &Arc<Node>, dataset: &str, reason: &str) -> Result<(), String> {
    let name = dataset.to_string();
    let existed = node.with_store(move |store| store.erase(&name)).await.map_err(|e| e.to_string())?;
    if existed {
        node.audit.record(wire::audit::Event::Erased { dataset: dataset.into(), reason: reason.into() });
        tracing::info!(%dataset, %reason, "erased the dataset's shares");
    }
    Ok(())
}
