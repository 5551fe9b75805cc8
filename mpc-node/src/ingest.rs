//! The owner's side of an ingest: read the CSV, split every value into components, stage them
//! on every node, then commit everywhere (or abort everywhere).
//!
//! An ingest that would replace this node's contribution to the dataset is refused before
//! anything is sent unless the owner asked for a replacement; the other nodes check the same
//! when staging and committing (see `crate::contributions`).

use crate::node::Node;
use crate::store::{SharesHeader, StoreError};
use protocol::sharing::{Component, split_columns};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;
use std::time::Duration;

/// Times the owner asks a node to commit before it reports a partial ingest.
const COMMIT_ATTEMPTS: usize = 3;
use thiserror::Error;
use wire::control::{IngestReport, ReplacedInfo};
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
    Policy(crate::policy::Refusal),
    /// The ingest would replace this node's contribution, and no replacement was asked for.
    #[error(
        "dataset `{dataset}` already holds {rows} records of this node (contribution {contribution}); \
         this file would replace them with {new_rows} records. Nothing was sent to any node. To \
         replace them, ingest again with --replace: the {rows} records then stay restorable (with \
         --restore) for {keep_days} days, or until a job uses the new ones"
    )]
    WouldReplace {
        /// The dataset.
        dataset: String,
        /// The current contribution.
        contribution: String,
        /// Its records.
        rows: u64,
        /// The records of the file.
        new_rows: u64,
        /// This node's `keep_replaced_days`.
        keep_days: f64,
    },
    /// A node refused or could not store the shares.
    #[error("ingest aborted, nothing was stored: {0}")]
    Aborted(String),
    /// Every node staged the shares but some did not confirm the commit.
    #[error(
        "the contribution was committed on some nodes only (failed on {0}); jobs on this dataset \
         fail until you run this ingest again with --replace, which replaces the contribution \
         everywhere"
    )]
    Partial(String),
}

/// Ingests the configured CSV of `dataset` and shares it with every node; with `replace`, it
/// replaces this node's current contribution, if any (which is otherwise refused).
pub async fn ingest(node: Arc<Node>, dataset: &str, replace: bool) -> Result<IngestReport, IngestError> {
    let config =
        node.config().dataset(dataset).ok_or_else(|| IngestError::UnknownDataset(dataset.into()))?.clone();
    node.store().check_schema(dataset, &config.schema).map_err(|e| IngestError::Aborted(e.to_string()))?;
    // Minimisation: no column leaves this node unless its policy lets jobs use it.
    if let Some(policy) = &node.config().rules {
        policy.check_shared(dataset, &config.schema).map_err(IngestError::Policy)?;
    }
    let (path, schema, layout) = (config.csv.clone(), config.schema.clone(), node.layout().clone());
    // Reading, encoding and splitting are CPU and disk work: keep them off the async workers.
    let table = tokio::task::spawn_blocking(move || crate::csv_input::read_table(&path, &schema))
        .await
        .map_err(|e| IngestError::Aborted(e.to_string()))??;
    // This node knows the dataset's contributions: refuse a replacement nobody asked for
    // before anything is split or leaves it.
    let current = node
        .store()
        .dataset(dataset)
        .map_err(|e| IngestError::Aborted(e.to_string()))?
        .and_then(|m| m.contributions.into_iter().find(|c| c.owner == node.config().node_id));
    if let Some(c) = &current
        && !replace
    {
        return Err(IngestError::WouldReplace {
            dataset: dataset.into(),
            contribution: c.id.clone(),
            rows: c.rows,
            new_rows: table.rows,
            keep_days: node.config().keep_replaced_days,
        });
    }
    let (table, contribution, shared) = tokio::task::spawn_blocking(move || {
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
        owner: node.config().node_id.clone(),
        schema: config.schema.clone(),
        rows: table.rows,
        components: Vec::new(),
        replace,
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
    for party in 0..node.layout().parties() {
        let (node, shared, mut header) = (node.clone(), shared.clone(), header.clone());
        header.components = node.layout().held_by(party).iter().map(|&c| c as u16).collect();
        tasks.spawn(async move {
            let columns: Vec<Vec<Component>> =
                header.components.iter().map(|&c| shared[c as usize].clone()).collect();
            let result = if party == node.me() {
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
            Ok((party, Err(e))) => failures.push(format!("{}: {e}", node.members()[party].id)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !failures.is_empty() {
        failures.sort();
        for party in 0..node.layout().parties() {
            if let Err(e) = decide(&node, party, dataset, &contribution, None).await {
                tracing::warn!(node = %node.members()[party].id, error = %e, "could not drop staged shares (dropped after a day)");
            }
        }
        return Err(IngestError::Aborted(failures.join("; ")));
    }
    // Every node staged: the decision is commit. A node that does not answer is asked again
    // (a commit is idempotent, and a staged contribution survives a restart).
    let mut failed = Vec::new();
    for party in 0..node.layout().parties() {
        let mut outcome = decide(&node, party, dataset, &contribution, Some(replace)).await;
        for attempt in 1..COMMIT_ATTEMPTS {
            if outcome.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500 * attempt as u64)).await;
            outcome = decide(&node, party, dataset, &contribution, Some(replace)).await;
        }
        if let Err(e) = outcome {
            failed.push(format!("{}: {e}", node.members()[party].id));
        }
    }
    if !failed.is_empty() {
        return Err(IngestError::Partial(failed.join("; ")));
    }
    tracing::info!(dataset, contribution, "contribution committed on every node");
    let kept_from = crate::now_ms();
    Ok(IngestReport {
        dataset: dataset.into(),
        contribution,
        rows: table.rows,
        skipped_no_consent: table.skipped_no_consent,
        nodes: node.layout().parties() as u16,
        bytes_sent,
        replaced: current.map(|c| ReplacedInfo {
            contribution: c.id,
            rows: c.rows,
            keep_until_ms: kept_from.saturating_add(node.config().keep_replaced_ms()),
        }),
    })
}

/// Why one node did not stage, commit or abort a contribution (the caller names the node).
#[derive(Debug, Error)]
pub enum PartyError {
    /// This node's own store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The peer could not be reached or refused the request.
    #[error("{}", .0.reason)]
    Mesh(crate::mesh::MeshError),
    /// The peer refused the contribution.
    #[error("{0}")]
    Refused(String),
    /// The connection to the peer failed.
    #[error(transparent)]
    Connection(#[from] quinn::ConnectionError),
    /// A frame could not be written or read.
    #[error(transparent)]
    Frame(#[from] wire::FrameError),
    /// The stream was closed under the sender.
    #[error(transparent)]
    Closed(#[from] quinn::ClosedStream),
    /// The peer did not answer in time.
    #[error("no answer within {0} s")]
    NoAnswer(u64),
}

/// Commits (`Some(replace)`) or aborts (`None`) the contribution on `party`.
async fn decide(
    node: &Arc<Node>,
    party: usize,
    dataset: &str,
    contribution: &str,
    commit: Option<bool>,
) -> Result<(), PartyError> {
    let (d, c, owner) = (dataset.to_string(), contribution.to_string(), node.config().node_id.clone());
    if party == node.me() {
        return Ok(match commit {
            Some(replace) => crate::contributions::commit(node, &d, &c, &owner, replace).await.map(|_| ()),
            None => node.with_store(move |store| store.abort(&d, &c, &owner)).await,
        }?);
    }
    let request = match commit {
        Some(replace) => MeshRequest::Commit { dataset: d, contribution: c, replace },
        None => MeshRequest::Abort { dataset: d, contribution: c },
    };
    node.mesh().call(party, request).await.map_err(PartyError::Mesh)
}

async fn stage_locally(
    node: &Arc<Node>,
    header: &ContributionHeader,
    columns: Vec<Vec<Component>>,
) -> Result<(), PartyError> {
    let header = SharesHeader::from(header.clone());
    Ok(node.with_store(move |store| store.stage(&header, &columns)).await?)
}

/// Streams the components `party` holds; returns the share bytes sent. A node that refuses
/// the contribution (its schema, a replacement not asked for) answers before the data ends
/// and stops reading: its answer is the error, not the interrupted write.
async fn send(
    node: &Node,
    party: usize,
    header: &ContributionHeader,
    columns: &[Vec<Component>],
) -> Result<u64, PartyError> {
    let conn = node.mesh().connection(party).await.map_err(PartyError::Mesh)?;
    let (mut tx, mut rx) = conn.open_bi().await?;
    let streamed = async {
        let head =
            MeshHeader { version: wire::PROTOCOL_VERSION, request: MeshRequest::Prepare(header.clone()) };
        write_frame(&mut tx, &head).await?;
        for cols in columns {
            for (j, col) in cols.iter().enumerate() {
                for (k, chunk) in col.values.chunks(wire::CHUNK_VALUES).enumerate() {
                    let frame = DataFrame::Chunk {
                        component: col.id,
                        column: j as u32,
                        offset: (k * wire::CHUNK_VALUES) as u64,
                        values: U64s(chunk.to_vec()),
                    };
                    write_frame(&mut tx, &frame).await?;
                }
            }
        }
        write_frame(&mut tx, &DataFrame::End).await?;
        tx.finish()?;
        Ok::<(), PartyError>(())
    }
    .await;
    let reply =
        tokio::time::timeout(node.mesh().request_timeout(), read_frame(&mut rx, wire::MAX_CONTROL_FRAME))
            .await;
    match reply {
        Ok(Ok(MeshResponse::Error { message })) => Err(PartyError::Refused(message)),
        Ok(Ok(MeshResponse::Ok)) => {
            streamed.map(|()| columns.iter().flatten().map(|c| 8 * c.values.len() as u64).sum())
        }
        Ok(Err(e)) => Err(streamed.err().unwrap_or(e.into())),
        Err(_) => {
            Err(streamed.err().unwrap_or(PartyError::NoAnswer(node.mesh().request_timeout().as_secs())))
        }
    }
}
