//! `orchestrator audit verify`: every node's audit log checked.

use super::Output;
use crate::client::Client;
use crate::render::commands::{AuditReport, LogView};
use anyhow::Result;
use clap::Subcommand;

/// The nodes' audit logs.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Fetch every node's audit log, check each hash chain, and check that the nodes recorded
    /// the same specification for every job; any edited, deleted or reordered line is
    /// reported with its position. Exit 5 when something does not verify.
    Verify,
}

/// Runs an audit command.
pub async fn run(command: AuditCommand, client: &Client) -> Result<Output> {
    let AuditCommand::Verify = command;
    let logs = client.audit_logs().await;
    let mut nodes = Vec::new();
    let mut verified = Vec::new();
    for (node, log) in client.nodes().iter().zip(logs) {
        let checked = log.map_err(|e| e.to_string()).and_then(|text| {
            wire::audit::verify_served(&text).map_err(|(line, why)| format!("line {line}: {why}"))
        });
        match checked {
            Ok((entries, withheld)) => {
                nodes.push(LogView {
                    node: node.id.clone(),
                    verifies: true,
                    entries: Some(entries.len()),
                    withheld: Some(withheld),
                    problem: None,
                });
                verified.push((node.id.clone(), entries));
            }
            Err(why) => nodes.push(LogView {
                node: node.id.clone(),
                verifies: false,
                entries: None,
                withheld: None,
                problem: Some(why),
            }),
        }
    }
    let disagreements = wire::audit::disagreements(&verified);
    let ok = disagreements.is_empty() && nodes.iter().all(|n| n.verifies);
    Ok(Box::new(AuditReport { ok, nodes, disagreements }))
}
