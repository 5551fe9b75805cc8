//! What a node does with the streams its peers open: staged ingest data, commits, aborts and
//! job channels.

use crate::node::Node;
use crate::store::SharesHeader;
use protocol::sharing::Component;
use std::sync::Arc;
use wire::control::JobId;
use wire::mesh::{ContributionHeader, DataFrame, MeshHeader, MeshRequest, MeshResponse};
use wire::{read_frame, write_frame};

/// Largest contribution accepted, in records.
const MAX_ROWS: u64 = 50_000_000;

/// Serves the streams of peer `party` until the connection closes.
pub async fn serve(node: Arc<Node>, party: usize, conn: quinn::Connection) {
    while let Ok((mut tx, mut rx)) = conn.accept_bi().await {
        let node = node.clone();
        tokio::spawn(async move {
            let answer = match read_frame::<_, MeshHeader>(&mut rx, wire::MAX_CONTROL_FRAME).await {
                Err(e) => MeshResponse::Error { message: format!("bad request: {e}") },
                Ok(h) if h.version != wire::PROTOCOL_VERSION => MeshResponse::Error {
                    message: format!("protocol version {} is not {}", h.version, wire::PROTOCOL_VERSION),
                },
                Ok(MeshHeader { request: MeshRequest::JobChannel { job, from }, .. }) => {
                    return open_channel(&node, party, job, from, tx, rx).await;
                }
                Ok(h) => match handle(&node, party, h.request, &mut rx).await {
                    Ok(()) => MeshResponse::Ok,
                    Err(message) => {
                        tracing::warn!(peer = %node.members[party].id, %message, "refused a peer request");
                        MeshResponse::Error { message }
                    }
                },
            };
            let _ = write_frame(&mut tx, &answer).await;
            let _ = tx.finish();
        });
    }
}

/// Accepts a job channel from `party`: acknowledges it and hands the stream to the job.
async fn open_channel(
    node: &Node,
    party: usize,
    job: JobId,
    from: u16,
    mut tx: quinn::SendStream,
    rx: quinn::RecvStream,
) {
    let refusal = if from as usize != party {
        Some(format!("node {} cannot speak for party {from}", node.members[party].id))
    } else if !node.jobs.knows(&job) {
        Some(format!("node {} has no job {job}", node.config.node_id))
    } else {
        None
    };
    let answer = match &refusal {
        Some(message) => {
            tracing::warn!(%job, peer = %node.members[party].id, %message, "refused a job channel");
            MeshResponse::Error { message: message.clone() }
        }
        None => MeshResponse::Ok,
    };
    if write_frame(&mut tx, &answer).await.is_ok() && refusal.is_none() {
        node.inbox.deliver(job, party, rx);
    }
    let _ = tx.finish();
}

async fn handle(
    node: &Node,
    party: usize,
    request: MeshRequest,
    rx: &mut quinn::RecvStream,
) -> Result<(), String> {
    let peer = &node.members[party].id;
    match request {
        MeshRequest::Prepare(header) => {
            if &header.owner != peer {
                return Err(format!("node {peer} cannot contribute on behalf of {}", header.owner));
            }
            let columns = receive(node, &header, rx).await?;
            let shares_header = SharesHeader {
                dataset: header.dataset,
                contribution: header.contribution,
                owner: header.owner,
                rows: header.rows,
                schema: header.schema,
                components: header.components,
            };
            node.store.stage(&shares_header, &columns).map_err(|e| e.to_string())?;
            tracing::info!(dataset = %shares_header.dataset, owner = %peer, rows = shares_header.rows, "staged a contribution");
            Ok(())
        }
        MeshRequest::Commit { dataset, contribution } => {
            let meta = node.store.commit(&dataset, &contribution).map_err(|e| e.to_string())?;
            if &meta.owner != peer {
                tracing::warn!(%dataset, owner = %meta.owner, by = %peer, "a commit came from another node than the owner");
            }
            tracing::info!(%dataset, owner = %meta.owner, rows = meta.rows, "committed a contribution");
            Ok(())
        }
        MeshRequest::Abort { dataset, contribution } => {
            node.store.abort(&dataset, &contribution).map_err(|e| e.to_string())
        }
        MeshRequest::JobChannel { .. } => Err("a job channel cannot be handled here".into()),
    }
}

/// Reads the share data of a contribution, checking it covers exactly what the header says.
async fn receive(
    node: &Node,
    header: &ContributionHeader,
    rx: &mut quinn::RecvStream,
) -> Result<Vec<Vec<Component>>, String> {
    let expected: Vec<u16> = node.layout.held_by(node.me).iter().map(|&c| c as u16).collect();
    if header.components != expected {
        return Err(format!("expected components {expected:?} for this node, got {:?}", header.components));
    }
    if header.rows > MAX_ROWS {
        return Err(format!("{} records exceed the limit of {MAX_ROWS}", header.rows));
    }
    header.schema.check()?;
    node.store.check_schema(&header.dataset, &header.schema).map_err(|e| e.to_string())?;
    let width = header.schema.shared_columns().len();
    let rows = header.rows as usize;
    let mut columns: Vec<Vec<Component>> = header
        .components
        .iter()
        .map(|&id| (0..width).map(|_| Component { id, values: Vec::with_capacity(rows) }).collect())
        .collect();
    loop {
        match read_frame::<_, DataFrame>(rx, wire::MAX_DATA_FRAME).await.map_err(|e| e.to_string())? {
            DataFrame::End => break,
            DataFrame::Chunk { component, column, offset, values } => {
                let ci = header.components.iter().position(|&c| c == component);
                let target = ci.and_then(|ci| columns[ci].get_mut(column as usize));
                let Some(target) = target else {
                    return Err(format!("chunk for unknown component {component} or column {column}"));
                };
                if offset != target.values.len() as u64 || target.values.len() + values.0.len() > rows {
                    return Err(format!(
                        "chunk at offset {offset} of column {column} is out of order or too long"
                    ));
                }
                target.values.extend_from_slice(&values.0);
            }
        }
    }
    if columns.iter().flatten().any(|c| c.values.len() != rows) {
        return Err("the share data ended before every column was complete".into());
    }
    Ok(columns)
}
