//! The control API: what operators and the node's owner may ask, one request per stream.

use crate::jobs;
use crate::node::{Node, Role};
use net::Fingerprint;
use std::sync::Arc;
use wire::U64s;
use wire::control::{
    ContributionInfo, DatasetInfo, ErrorKind, JobResultShares, JobState, NodeInfo, NodeStatus, PeerLink,
    Request, RequestBody, Response, WireComponent,
};

/// Serves the control streams of one operator or owner connection (requests read as
/// [`crate::accept::requests`] says).
pub async fn serve(node: Arc<Node>, role: Role, fp: Fingerprint, conn: quinn::Connection) {
    let deadline = node.request_deadline();
    crate::accept::requests(
        &conn,
        deadline,
        move |request: Result<Request, crate::accept::BadRequest>, tx, _rx| {
            let (node, role) = (node.clone(), role.clone());
            async move {
                let answer = match request {
                    Err(bad) => error(ErrorKind::BadRequest, bad.to_string()),
                    Ok(r) if r.version != wire::PROTOCOL_VERSION => error(
                        ErrorKind::Version,
                        format!(
                            "protocol version {} is not this node's {}",
                            r.version,
                            wire::PROTOCOL_VERSION
                        ),
                    ),
                    Ok(r) => handle(node, &role, fp, r.body).await,
                };
                crate::accept::reply(tx, &answer, deadline).await;
            }
        },
    )
    .await;
}

fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
    Response::Error { kind, message: message.into() }
}

async fn handle(node: Arc<Node>, role: &Role, fp: Fingerprint, body: RequestBody) -> Response {
    let operator = matches!(role, Role::Operator(_));
    match body {
        RequestBody::Ping => Response::Pong(info(&node)),
        RequestBody::Ingest { dataset, replace } => {
            if *role != Role::Owner {
                return error(ErrorKind::Forbidden, "only the node's owner can ingest its data");
            }
            match crate::ingest::ingest(node, &dataset, replace).await {
                Ok(report) => Response::Ingested(report),
                Err(e @ crate::ingest::IngestError::WouldReplace { .. }) => {
                    error(ErrorKind::Conflict, e.to_string())
                }
                Err(e) => error(ErrorKind::Failed, e.to_string()),
            }
        }
        RequestBody::Restore { dataset } => {
            if *role != Role::Owner {
                return error(ErrorKind::Forbidden, "only the node's owner can restore its data");
            }
            match crate::contributions::restore(node, &dataset).await {
                Ok(report) => Response::Restored(report),
                Err(e) => error(ErrorKind::Failed, e.to_string()),
            }
        }
        _ if !operator => error(ErrorKind::Forbidden, "this request is for operators"),
        RequestBody::ListDatasets => match node.store().datasets() {
            Ok(list) => Response::Datasets(
                list.into_iter()
                    .map(|d| DatasetInfo {
                        name: d.name,
                        schema: d.schema,
                        contributions: d
                            .contributions
                            .into_iter()
                            .map(|c| ContributionInfo { id: c.id, owner: c.owner, rows: c.rows })
                            .collect(),
                    })
                    .collect(),
            ),
            Err(e) => error(ErrorKind::Failed, e.to_string()),
        },
        RequestBody::SubmitJob { job, spec } => match node.jobs().submit(job, spec, fp).await {
            Ok(()) => Response::Vote { accept: true, reason: None },
            Err(reason) => Response::Vote { accept: false, reason: Some(reason.to_string()) },
        },
        RequestBody::StartJob { job } => match node.jobs().start(job, fp).await {
            Ok(()) => Response::Ack,
            Err(e) => error(ErrorKind::BadRequest, e.to_string()),
        },
        RequestBody::AbortJob { job, reason } => match node.jobs().abort(job, &reason, fp).await {
            Ok(()) => Response::Ack,
            Err(e) => error(ErrorKind::BadRequest, e.to_string()),
        },
        RequestBody::JobStatus { job } => match node.jobs().jobs().get(&job) {
            Some(r) if sees_all(&node, role, fp, &r) => Response::Status(r.status()),
            Some(r) => Response::Status(r.summary()),
            None => error(ErrorKind::NotFound, format!("node {} has no job {job}", node.config().node_id)),
        },
        RequestBody::JobResult { job } => match node.jobs().jobs().get(&job) {
            None => error(ErrorKind::NotFound, format!("node {} has no job {job}", node.config().node_id)),
            Some(r) if r.submitter != fp => {
                error(ErrorKind::Forbidden, "only the operator that submitted a job can read its result")
            }
            Some(r) if r.erased.is_some() => error(
                ErrorKind::Failed,
                format!(
                    "the output of job {job} is gone from node {}: {}",
                    node.config().node_id,
                    r.erased.unwrap_or_default()
                ),
            ),
            Some(r) => match (r.state, r.output) {
                (JobState::Done, Some(out)) => {
                    let sent: Vec<u8> = out
                        .components
                        .iter()
                        .flat_map(|c| c.values.iter().flat_map(|v| v.to_le_bytes()))
                        .collect();
                    let what = format!("this node's components of {}", out.layout.names().join(", "));
                    node.jobs().reveal(job, format!("operator {fp}"), what, &sent);
                    Response::Result(JobResultShares {
                        job,
                        party: node.me() as u16,
                        parties: node.members().len() as u16,
                        count: out.count,
                        layout: out.layout,
                        components: out
                            .components
                            .into_iter()
                            .map(|c| WireComponent { id: c.id, values: U64s(c.values) })
                            .collect(),
                    })
                }
                (state, _) => error(
                    ErrorKind::Failed,
                    format!(
                        "job {job} is {state} on node {}{}",
                        node.config().node_id,
                        r.reason.map(|r| format!(": {r}")).unwrap_or_default()
                    ),
                ),
            },
        },
        RequestBody::NodeStatus => Response::NodeStatus(node_status(&node, role, fp).await),
        RequestBody::CheckJob { spec } => match node.jobs().dry_run(&spec, fp) {
            Ok(()) => Response::Vote { accept: true, reason: None },
            Err(reason) => Response::Vote { accept: false, reason: Some(reason.to_string()) },
        },
        RequestBody::AuditLog { from } => match node.audit().lines(from, wire::control::AUDIT_PAGE) {
            Ok((lines, more)) => {
                let lines = lines.into_iter().map(|l| served_line(&node, role, fp, l)).collect();
                Response::AuditLines { lines, more }
            }
            Err(e) => error(ErrorKind::Failed, format!("reading the audit log: {e}")),
        },
        RequestBody::PrivacyBudget => Response::PrivacyBudget(budgets(&node)),
    }
}

/// Whether `role` (with certificate `fp`) sees every detail of the job `record`: its
/// submitter does, and so do the auditors this node's policy names.
fn sees_all(node: &Node, role: &Role, fp: Fingerprint, record: &jobs::JobRecord) -> bool {
    record.submitter == fp || is_auditor(node, role)
}

/// Whether this node's policy names `role` an auditor.
fn is_auditor(node: &Node, role: &Role) -> bool {
    match (role, &node.config().rules) {
        (Role::Operator(name), Some(policy)) => policy.auditors.iter().any(|a| a == name),
        _ => false,
    }
}

/// A stored audit line as `role` may read it: whole, or only its links when it is about a
/// job another operator submitted (or a job this node has no record of). A line this node
/// cannot read is not served to a non-auditor at all: a placeholder stands in its place, and
/// the break shows in `audit verify`.
fn served_line(node: &Node, role: &Role, fp: Fingerprint, raw: String) -> String {
    if is_auditor(node, role) {
        return raw;
    }
    let Ok(line) = serde_json::from_str::<wire::audit::Line>(&raw) else {
        return "(a line this node cannot read, withheld)".into();
    };
    let job = line.entry.event.job();
    let own = job.is_empty()
        || job
            .parse::<wire::control::JobId>()
            .ok()
            .and_then(|id| node.jobs().jobs().get(&id))
            .is_some_and(|r| r.submitter == fp);
    if own {
        raw
    } else {
        serde_json::to_string(&wire::audit::Served::withhold(&line)).expect("audit lines serialise")
    }
}

/// Who the node is, its datasets and active jobs, and its links to the others, probed now
/// (all at once, each within the request timeout).
async fn node_status(node: &Arc<Node>, role: &Role, fp: Fingerprint) -> NodeStatus {
    let datasets = match node.store().datasets() {
        Ok(list) => list.iter().map(|d| (d.name.clone(), d.rows())).collect(),
        Err(e) => vec![(format!("(unreadable: {e})"), 0)],
    };
    let peers = node.peers();
    let probes = futures_util::future::join_all(peers.iter().map(|&p| node.mesh().probe(p))).await;
    let links = peers
        .iter()
        .zip(probes)
        .map(|(&p, probe)| PeerLink {
            node: node.members()[p].id.clone(),
            rtt_us: probe.as_ref().ok().map(|rtt| rtt.as_micros() as u64),
            error: probe.err().map(|e| e.reason),
        })
        .collect();
    let jobs = node.jobs().jobs().active(|r| sees_all(node, role, fp, r));
    NodeStatus { info: info(node), datasets, jobs, links }
}

/// This node's ledger: every dataset it holds or has charged, with its policy's budget.
fn budgets(node: &Node) -> Vec<wire::control::BudgetInfo> {
    let mut names = node.ledger().datasets();
    names.extend(node.store().datasets().unwrap_or_default().into_iter().map(|d| d.name));
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|dataset| {
            let (spent, jobs) = node.ledger().spent(&dataset);
            let rules = node.config().rules.as_ref();
            wire::control::BudgetInfo {
                budget: rules.and_then(|p| p.budget(&dataset)),
                requires_epsilon: rules.is_some_and(|p| p.requires_epsilon(&dataset)),
                dataset,
                spent,
                jobs,
            }
        })
        .collect()
}

/// Who the node is.
fn info(node: &Node) -> NodeInfo {
    NodeInfo {
        node_id: node.config().node_id.clone(),
        party: node.me() as u16,
        parties: node.members().len() as u16,
        version: env!("CARGO_PKG_VERSION").into(),
        security: node.config().security.to_string(),
    }
}
