//! What a node does with the streams its peers open: staged ingest data, commits, aborts and
//! job channels.

use crate::node::Node;
use crate::store::SharesHeader;
use protocol::sharing::Component;
use std::sync::Arc;
use wire::control::JobId;
use wire::mesh::{ContributionHeader, DataFrame, MeshHeader, MeshRequest, MeshResponse};
use wire::{read_frame, write_frame};

/// Why a node refuses a peer's request; the text is sent back to the peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// A node sent a contribution in another company's name.
    #[error("node {peer} cannot contribute on behalf of {owner}")]
    NotOwner {
        /// The sender.
        peer: String,
        /// The owner it named.
        owner: String,
    },
    /// A job channel header on a request stream.
    #[error("a job channel cannot be handled here")]
    JobChannel,
    /// The contribution is not for this node's components.
    #[error("expected components {expected:?} for this node, got {got:?}")]
    Components {
        /// This node's components.
        expected: Vec<u16>,
        /// The header's.
        got: Vec<u16>,
    },
    /// Too many records.
    #[error("{rows} records exceed the limit of {MAX_ROWS}")]
    TooManyRows {
        /// Records announced.
        rows: u64,
    },
    /// Too many columns.
    #[error("{width} columns exceed the limit of {MAX_COLUMNS}")]
    TooManyColumns {
        /// Columns announced.
        width: usize,
    },
    /// The schema is invalid.
    #[error("{0}")]
    Schema(wire::schema::SchemaError),
    /// The sender stalled.
    #[error("no share data for {0} s")]
    Stalled(u64),
    /// A frame could not be read.
    #[error("{0}")]
    Frame(#[from] wire::FrameError),
    /// A chunk names a component or column not in the header.
    #[error("chunk for unknown component {component} or column {column}")]
    UnknownChunk {
        /// Its component.
        component: u16,
        /// Its column.
        column: u32,
    },
    /// A chunk is out of order or too long.
    #[error("chunk at offset {offset} of column {column} is out of order or too long")]
    BadChunk {
        /// Its offset.
        offset: u64,
        /// Its column.
        column: u32,
    },
    /// The data ended early.
    #[error("the share data ended before every column was complete")]
    Incomplete,
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// An erase request was refused.
    #[error(transparent)]
    Erase(#[from] crate::retention::EraseRefused),
    /// A job failure notice was refused.
    #[error(transparent)]
    Job(#[from] crate::jobs::JobError),
}

/// Largest contribution accepted, in records.
const MAX_ROWS: u64 = 50_000_000;
/// Largest number of shared columns accepted in a contribution.
const MAX_COLUMNS: usize = 1024;

/// Serves the streams of peer `party` until the connection closes (headers read as
/// [`crate::accept::requests`] says).
pub async fn serve(node: Arc<Node>, party: usize, conn: quinn::Connection) {
    let deadline = node.request_deadline();
    crate::accept::requests(&conn, deadline, move |header: Result<MeshHeader, crate::accept::BadRequest>, tx, mut rx| {
        let node = node.clone();
        async move {
            let answer = match header {
                Err(bad) => MeshResponse::Error { message: bad.to_string() },
                Ok(h) if h.version != wire::PROTOCOL_VERSION => MeshResponse::Error {
                    message: format!("protocol version {} is not {}", h.version, wire::PROTOCOL_VERSION),
                },
                Ok(MeshHeader { request: MeshRequest::JobChannel { job, from }, .. }) => {
                    return open_channel(&node, party, job, from, tx, rx).await;
                }
                Ok(h) => match handle(&node, party, h.request, &mut rx).await {
                    Ok(()) => MeshResponse::Ok,
                    Err(e) => {
                        let message = e.to_string();
                        tracing::warn!(peer = %node.members()[party].id, %message, "refused a peer request");
                        MeshResponse::Error { message }
                    }
                },
            };
            crate::accept::reply(tx, &answer, deadline).await;
        }
    })
    .await;
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
        Some(format!("node {} cannot speak for party {from}", node.members()[party].id))
    } else if !node.jobs().jobs().accepts_channels(&job) {
        Some(format!("node {} has no job {job} in progress", node.config().node_id))
    } else {
        None
    };
    let answer = match &refusal {
        Some(message) => {
            tracing::warn!(%job, peer = %node.members()[party].id, %message, "refused a job channel");
            MeshResponse::Error { message: message.clone() }
        }
        None => MeshResponse::Ok,
    };
    let sent = write_frame(&mut tx, &answer).await.is_ok();
    let _ = tx.finish();
    match refusal {
        None if sent => node.jobs().inbox().deliver(job, party, rx),
        _ => {
            let mut rx = rx;
            let _ = rx.stop(1u32.into());
        }
    }
}

async fn handle(
    node: &Arc<Node>,
    party: usize,
    request: MeshRequest,
    rx: &mut quinn::RecvStream,
) -> Result<(), PeerError> {
    let peer = node.members()[party].id.clone();
    match request {
        MeshRequest::Prepare(header) => {
            if header.owner != peer {
                return Err(PeerError::NotOwner { peer, owner: header.owner });
            }
            let columns = receive(node, &header, rx).await?;
            let (dataset, rows) = (header.dataset.clone(), header.rows);
            let header = SharesHeader::from(header);
            node.with_store(move |store| store.stage(&header, &columns)).await?;
            tracing::info!(%dataset, owner = %peer, rows, "staged a contribution");
            Ok(())
        }
        MeshRequest::Commit { dataset, contribution, replace } => {
            let committed =
                crate::contributions::commit(node, &dataset, &contribution, &peer, replace).await?;
            tracing::info!(%dataset, owner = %peer, rows = committed.entry.rows, "committed a contribution");
            Ok(())
        }
        MeshRequest::Restore { dataset, restored, dropped, apply } => {
            // Only the sender's own contributions: the store looks up `peer`'s.
            crate::contributions::restore_here(node, &peer, &dataset, &restored, &dropped, apply).await?;
            Ok(())
        }
        MeshRequest::Abort { dataset, contribution } => {
            Ok(node.with_store(move |store| store.abort(&dataset, &contribution, &peer)).await?)
        }
        MeshRequest::JobChannel { .. } => Err(PeerError::JobChannel),
        MeshRequest::Ping => Ok(()),
        MeshRequest::Erase { dataset, contribution } => {
            Ok(crate::retention::requested(node, &peer, &dataset, contribution).await?)
        }
        MeshRequest::JobFailed { job, reason } => {
            Ok(node.jobs().failed_elsewhere(job, party, &reason).await?)
        }
    }
}

/// Reads the share data of a contribution, checking it covers exactly what the header says.
async fn receive(
    node: &Arc<Node>,
    header: &ContributionHeader,
    rx: &mut quinn::RecvStream,
) -> Result<Vec<Vec<Component>>, PeerError> {
    let expected: Vec<u16> = node.layout().held_by(node.me()).iter().map(|&c| c as u16).collect();
    if header.components != expected {
        return Err(PeerError::Components { expected, got: header.components.clone() });
    }
    if header.rows > MAX_ROWS {
        return Err(PeerError::TooManyRows { rows: header.rows });
    }
    header.schema.check().map_err(PeerError::Schema)?;
    node.store().check_schema(&header.dataset, &header.schema)?;
    if !header.replace {
        node.store().check_not_replacing(&header.dataset, &header.owner)?;
    }
    let width = header.schema.shared_columns().len();
    if width > MAX_COLUMNS {
        return Err(PeerError::TooManyColumns { width });
    }
    let rows = header.rows as usize;
    // Memory grows with the data actually received, never with what the header announces.
    let mut columns: Vec<Vec<Component>> = header
        .components
        .iter()
        .map(|&id| (0..width).map(|_| Component { id, values: Vec::new() }).collect())
        .collect();
    loop {
        // A sender that stalls for a whole job timeout has given up; its stream is dropped.
        let frame =
            tokio::time::timeout(node.job_timeout(), read_frame::<_, DataFrame>(rx, wire::MAX_DATA_FRAME))
                .await
                .map_err(|_| PeerError::Stalled(node.job_timeout().as_secs()))?;
        match frame? {
            DataFrame::End => break,
            DataFrame::Chunk { component, column, offset, values } => {
                let ci = header.components.iter().position(|&c| c == component);
                let target = ci.and_then(|ci| columns[ci].get_mut(column as usize));
                let Some(target) = target else {
                    return Err(PeerError::UnknownChunk { component, column });
                };
                if offset != target.values.len() as u64 || target.values.len() + values.0.len() > rows {
                    return Err(PeerError::BadChunk { offset, column });
                }
                target.values.extend_from_slice(&values.0);
            }
        }
    }
    if columns.iter().flatten().any(|c| c.values.len() != rows) {
        return Err(PeerError::Incomplete);
    }
    Ok(columns)
}
