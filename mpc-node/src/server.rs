//! What a running node does with its endpoint: accepts connections and hands each to the
//! peer or control protocol by the role of its certificate, and runs the background duties
//! (retention, purging replaced contributions) until the process is told to stop. It sits
//! above [`crate::node`], which only builds and holds the node's parts.

use crate::accept::Connections;
use crate::config::Config;
use crate::node::{Node, Role, StartError};
use std::sync::Arc;

/// Accepts connections until the endpoint is closed; a certificate that already has
/// [`net::limits::MAX_CONNECTIONS_PER_IDENTITY`] connections open gets its next one
/// closed at once.
pub async fn serve(node: Arc<Node>) {
    let connections = Arc::new(Connections::default());
    while let Some(incoming) = node.endpoint().accept().await {
        let (node, connections) = (node.clone(), connections.clone());
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(%remote, error = %e, "connection refused or failed during the handshake");
                    return;
                }
            };
            let Some(fp) = net::peer_fingerprint(&conn) else { return };
            let limit = net::limits::MAX_CONNECTIONS_PER_IDENTITY;
            let Some(_admitted) = connections.admit(fp, limit) else {
                tracing::warn!(
                    fingerprint = %fp,
                    role = ?node.role(fp),
                    %remote,
                    limit,
                    "refused a connection: this certificate already has the most connections allowed"
                );
                conn.close(
                    net::limits::TOO_MANY_CONNECTIONS_CODE.into(),
                    net::limits::TOO_MANY_CONNECTIONS.as_bytes(),
                );
                return;
            };
            match node.role(fp) {
                Some(Role::Peer(p)) => {
                    tracing::debug!(peer = %node.members()[p].id, %remote, "peer connected");
                    crate::peer::serve(node, p, conn).await;
                }
                Some(role) => crate::control::serve(node, role, fp, conn).await,
                None => {
                    tracing::warn!(fingerprint = %fp, %remote, "refused an unknown certificate");
                    conn.close(1u32.into(), b"unknown certificate");
                }
            }
        });
    }
}

/// Runs a node until SIGINT or SIGTERM.
pub async fn run(config: Config) -> Result<(), StartError> {
    let node = Node::start(config)?;
    let serving = tokio::spawn(serve(node.clone()));
    let retention = tokio::spawn(crate::retention::enforce(node.clone()));
    let purge = tokio::spawn(crate::contributions::purge(node.clone()));
    shutdown_signal().await;
    tracing::info!("shutting down");
    node.shutdown();
    serving.abort();
    retention.abort();
    purge.abort();
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("can listen for SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
