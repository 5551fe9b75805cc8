//! The owner's side of an ingest: read the CSV, split every value into components, stage them
//! on every node, then commit everywhere (or abort everywhere).

use crate::node::Node;
use crate::store::SharesHeader;
use protocol::sharing::{Component, split_columns};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;
use std::time::Duration;

/// Times the owner asks a node to commit before it reports a partial ingest.
const COMMIT_ATTEMPTS: usize = 3;
use thiserror::Error;
use wire::control::IngestReport;
use wire::mesh::{ContributionHeader, DataFrame, MeshHeader, MeshRequest, MeshResponse};
use wire::{U64s, read_frame, write_frame};

/// An ingest that did not happen; nothing was committed on any node.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The dataset is not in this node's configuration.
    #[error("dataset `{0}` is not configured on this node")]
    UnknownDataset(String),
    /// The CSV is invalid.
    #[error(transparent)]
    Csv(#[from] crate::csv_input::CsvError),
    /// This node's policy does not allow sharing a column of the schema.
    #[error("this node's policy refuses the ingest, nothing was shared: {0}")]
    Policy(String),
    /// A node refused or could not store the shares.
    #[error("ingest aborted, nothing was stored: {0}")]
    Aborted(String),
    /// Every node staged the shares but some did not confirm the commit.
    #[error(
        "the contribution was committed on some nodes only (failed on {0}); jobs on this dataset \
         fail until you run this ingest again, which replaces the contribution everywhere"
    )]
    Partial(String),
}

/// Ingests the configured CSV of `dataset` and shares it with every node.
pub async fn ingest(node: Arc<Node>, dataset: &str) -> Result<IngestReport, IngestError> {
    let config =
        node.config.dataset(dataset).ok_or_else(|| IngestError::UnknownDataset(dataset.into()))?.clone();
    node.store.check_schema(dataset, &config.schema).map_err(|e| IngestError::Aborted(e.to_string()))?;
    // Minimisation: no column leaves this node unless its policy lets jobs use it.
    if let Some(policy) = &node.config.rules {
        policy.check_shared(dataset, &config.schema).map_err(IngestError::Policy)?;
    }
    let (path, schema, layout) = (config.csv.clone(), config.schema.clone(), node.layout.clone());
    // Reading, encoding and splitting are CPU and disk work: keep them off the async workers.
    let (table, contribution, shared) = tokio::task::spawn_blocking(move || {
        let table = crate::csv_input::read_table(&path, &schema)?;
        let mut rng = ChaCha20Rng::try_from_rng(&mut rand::rngs::SysRng)
            .map_err(|e| IngestError::Aborted(format!("no OS randomness: {e}")))?;
        let contribution = hex::encode(rand::RngExt::random::<[u8; 16]>(&mut rng));
        let shared = split_columns(&table.columns, &layout, &mut rng);
        Ok::<_, IngestError>((table, contribution, shared))
    })
    .await
    .map_err(|e| IngestError::Aborted(e.to_string()))??;
    let header = ContributionHeader {
        dataset: dataset.into(),
        contribution: contribution.clone(),
        owner: node.config.node_id.clone(),
        schema: config.schema.clone(),
        rows: table.rows,
        components: Vec::new(),
    };
    tracing::info!(
        dataset,
        contribution,
        rows = table.rows,
        skipped = table.skipped_no_consent,
        "sharing a contribution"
    );

    let shared = Arc::new(shared);
    let mut tasks = tokio::task::JoinSet::new();
    for party in 0..node.layout.parties() {
        let (node, shared, mut header) = (node.clone(), shared.clone(), header.clone());
        header.components = node.layout.held_by(party).iter().map(|&c| c as u16).collect();
        tasks.spawn(async move {
            let columns: Vec<Vec<Component>> =
                header.components.iter().map(|&c| shared[c as usize].clone()).collect();
            let result = if party == node.me {
                stage_locally(&node, &header, columns).await.map(|()| 0)
            } else {
                send(&node, party, &header, &columns).await
            };
            (party, result)
        });
    }
    let mut failures = Vec::new();
    let mut bytes_sent = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(bytes))) => bytes_sent += bytes,
            Ok((party, Err(e))) => failures.push(format!("{}: {e}", node.members[party].id)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !failures.is_empty() {
        failures.sort();
        for party in 0..node.layout.parties() {
            if let Err(e) = decide(&node, party, dataset, &contribution, false).await {
                tracing::warn!(node = %node.members[party].id, error = %e, "could not drop staged shares (dropped after a day)");
            }
        }
        return Err(IngestError::Aborted(failures.join("; ")));
    }
    // Every node staged: the decision is commit. A node that does not answer is asked again
    // (a commit is idempotent, and a staged contribution survives a restart).
    let mut failed = Vec::new();
    for party in 0..node.layout.parties() {
        let mut outcome = decide(&node, party, dataset, &contribution, true).await;
        for attempt in 1..COMMIT_ATTEMPTS {
            if outcome.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500 * attempt as u64)).await;
            outcome = decide(&node, party, dataset, &contribution, true).await;
        }
        if let Err(e) = outcome {
            failed.push(format!("{}: {e}", node.members[party].id));
        }
    }
    if !failed.is_empty() {
        return Err(IngestError::Partial(failed.join("; ")));
    }
    tracing::info!(dataset, contribution, "contribution committed on every node");
    Ok(IngestReport {
        dataset: dataset.into(),
        contribution,
        rows: table.rows,
        skipped_no_consent: table.skipped_no_consent,
        nodes: node.layout.parties() as u16,
        bytes_sent,
    })
}

/// Commits (or aborts) the contribution on `party`.
async fn decide(
    node: &Arc<Node>,
    party: usize,
    dataset: &str,
    contribution: &str,
    commit: bool,
) -> Result<(), String> {
    let (d, c, owner) = (dataset.to_string(), contribution.to_string(), node.config.node_id.clone());
    if party == node.me {
        return node
            .with_store(move |store| {
                if commit { store.commit(&d, &c, &owner).map(|_| ()) } else { store.abort(&d, &c, &owner) }
            })
            .await
            .map_err(|e| e.to_string());
    }
    let request = if commit {
        MeshRequest::Commit { dataset: d, contribution: c }
    } else {
        MeshRequest::Abort { dataset: d, contribution: c }
    };
    node.mesh.call(party, request).await.map_err(|e| e.reason)
}

async fn stage_locally(
    node: &Arc<Node>,
    header: &ContributionHeader,
    columns: Vec<Vec<Component>>,
) -> Result<(), String> {
    let header = SharesHeader::from(header.clone());
    node.with_store(move |store| store.stage(&header, &columns)).await.map_err(|e| e.to_string())
}

/// Streams the components `party` holds; returns the share bytes sent.
async fn send(
    node: &Node,
    party: usize,
    header: &ContributionHeader,
    columns: &[Vec<Component>],
) -> Result<u64, String> {
    let conn = node.mesh.connection(party).await.map_err(|e| e.reason)?;
    let (mut tx, mut rx) = conn.open_bi().await.map_err(|e| e.to_string())?;
    let head = MeshHeader { version: wire::PROTOCOL_VERSION, request: MeshRequest::Prepare(header.clone()) };
    write_frame(&mut tx, &head).await.map_err(|e| e.to_string())?;
    for cols in columns {
        for (j, col) in cols.iter().enumerate() {
            for (k, chunk) in col.values.chunks(wire::CHUNK_VALUES).enumerate() {
                let frame = DataFrame::Chunk {
                    component: col.id,
                    column: j as u32,
                    offset: (k * wire::CHUNK_VALUES) as u64,
                    values: U64s(chunk.to_vec()),
                };
                write_frame(&mut tx, &frame).await.map_err(|e| e.to_string())?;
            }
        }
    }
    write_frame(&mut tx, &DataFrame::End).await.map_err(|e| e.to_string())?;
    tx.finish().map_err(|e| e.to_string())?;
    let reply =
        tokio::time::timeout(node.mesh.request_timeout(), read_frame(&mut rx, wire::MAX_CONTROL_FRAME))
            .await
            .map_err(|_| format!("no answer within {} s", node.mesh.request_timeout().as_secs()))?;
    match reply.map_err(|e| e.to_string())? {
        MeshResponse::Ok => Ok(columns.iter().flatten().map(|c| 8 * c.values.len() as u64).sum()),
        MeshResponse::Error { message } => Err(message),
    }
}
