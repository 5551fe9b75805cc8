//! The outputs of the commands that are not results or listings: `keygen`, `job submit`,
//! `job wait`, `job explain`, `audit verify` and `report`.

use super::results::ResultView;
use super::{Render, to_json};
use crate::client::{ClientError, JobResult};
use crate::table;
use serde::Serialize;
use std::path::PathBuf;

/// The output of `keygen` (`docs/schemas/keygen.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Keygen {
    /// The certificate's SHA-256 fingerprint, to list in each node's `[[operators]]`.
    pub fingerprint: String,
    /// The certificate file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
}

impl Render for Keygen {
    fn table(&self) -> String {
        format!("{}\n", self.fingerprint)
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

/// The output of `job submit`: the job's id and, with `--wait`, its result.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The job.
    pub job: String,
    /// Its result, when the command waited for it.
    pub result: Option<JobResult>,
}

/// The JSON of `job submit` (`docs/schemas/job-submit.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct SubmittedView {
    /// The job.
    pub job: String,
    /// Its result (only with `--wait`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultView>,
}

impl Render for Submitted {
    fn table(&self) -> String {
        let result = self.result.as_ref().map(Render::table).unwrap_or_default();
        format!("{}\n{result}", self.job)
    }
    fn csv(&self) -> String {
        let result = self.result.as_ref().map(Render::csv).unwrap_or_default();
        format!("{}\n{result}", self.job)
    }
    fn json(&self) -> String {
        to_json(&SubmittedView { job: self.job.clone(), result: self.result.as_ref().map(Into::into) })
    }
}

/// The output of `job wait` (`docs/schemas/job-wait.schema.json`): the job is done on every
/// node (otherwise the command fails).
#[derive(Debug, Clone, Serialize)]
pub struct Waited {
    /// The job.
    pub job: String,
    /// Always `done`.
    pub state: &'static str,
}

impl Render for Waited {
    fn table(&self) -> String {
        "done\n".into()
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

/// Who learns what from a job.
#[derive(Debug, Clone, Serialize)]
pub struct RevealView {
    /// Who.
    pub to: String,
    /// What.
    pub what: String,
}

/// A node's verdict on a job.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictView {
    /// Node id.
    pub node: String,
    /// Whether it would take part.
    pub accepts: bool,
    /// Why not.
    pub reason: Option<String>,
    /// The security model of its engine (`passive`, `active`), if it answered.
    pub security: Option<String>,
}

/// A node's ledger line for the dataset a private job would charge.
#[derive(Debug, Clone, Serialize)]
pub struct SpendView {
    /// Node id.
    pub node: String,
    /// Whether it answered.
    pub known: bool,
    /// Epsilon spent on the dataset so far.
    pub spent: Option<f64>,
    /// Its budget (`null`: none, or not known).
    pub budget: Option<f64>,
    /// What would be left after the job (`null`: no budget, or not known).
    pub left_after: Option<f64>,
}

/// What a private job would spend.
#[derive(Debug, Clone, Serialize)]
pub struct SpendingView {
    /// The dataset charged.
    pub dataset: String,
    /// The job's epsilon.
    pub epsilon: f64,
    /// Each node's ledger.
    pub nodes: Vec<SpendView>,
}

/// The output of `job explain` (`docs/schemas/job-explain.schema.json`). A node that would
/// refuse makes the command exit with status 3 after printing it.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    /// The job's kind.
    pub kind: String,
    /// Who would learn what.
    pub reveals: Vec<RevealView>,
    /// Each node's verdict.
    pub nodes: Vec<VerdictView>,
    /// For a private job, what it would spend.
    pub budget: Option<SpendingView>,
}

impl Render for Explained {
    fn table(&self) -> String {
        let mut out = format!("a {} job would reveal:\n", self.kind);
        for r in &self.reveals {
            out.push_str(&format!("  to {}: {}\n", r.to, r.what));
        }
        let rows: Vec<Vec<String>> = self
            .nodes
            .iter()
            .map(|v| {
                let security = v.security.clone().unwrap_or_else(|| "?".into());
                match &v.reason {
                    None if v.accepts => vec![v.node.clone(), security, "takes part".into(), String::new()],
                    reason => {
                        vec![v.node.clone(), security, "refuses".into(), reason.clone().unwrap_or_default()]
                    }
                }
            })
            .collect();
        out.push_str(&table::render(&["node", "security", "verdict", "reason"], &rows));
        if let Some(b) = &self.budget {
            out.push_str(&format!(
                "privacy budget of `{}` (this job spends epsilon {}):\n",
                b.dataset, b.epsilon
            ));
            let rows: Vec<Vec<String>> = b
                .nodes
                .iter()
                .map(|n| match n.spent {
                    Some(spent) if n.known => vec![
                        n.node.clone(),
                        format!("{spent}"),
                        n.budget.map_or("none".into(), |v| format!("{v}")),
                        n.left_after.map_or("-".into(), |v| format!("{v}")),
                    ],
                    _ => vec![n.node.clone(), "?".into(), "?".into(), "?".into()],
                })
                .collect();
            out.push_str(&table::render(&["node", "spent", "budget", "left after this job"], &rows));
        }
        out
    }
    fn json(&self) -> String {
        to_json(self)
    }
    fn failure(&self) -> Option<anyhow::Error> {
        let mut refusals: Vec<String> = self
            .nodes
            .iter()
            .filter(|v| !v.accepts)
            .map(|v| format!("{}: {}", v.node, v.reason.clone().unwrap_or_default()))
            .collect();
        let mut models: Vec<&str> = self.nodes.iter().filter_map(|v| v.security.as_deref()).collect();
        models.sort_unstable();
        models.dedup();
        if models.len() > 1 {
            refusals.push(format!(
                "the nodes run different security models ({}): the job would fail at its first step",
                models.join(", ")
            ));
        }
        (!refusals.is_empty()).then(|| ClientError::Refused(refusals).into())
    }
}

/// Some audit logs did not verify.
#[derive(Debug, thiserror::Error)]
#[error("{0} problem(s) in the audit logs")]
pub struct AuditFailed(pub usize);

/// One node's audit log as checked.
#[derive(Debug, Clone, Serialize)]
pub struct LogView {
    /// Node id.
    pub node: String,
    /// Whether its hash chain is intact.
    pub verifies: bool,
    /// Entries shown to this operator (`null` when the log does not verify).
    pub entries: Option<usize>,
    /// Entries about other operators' jobs: links checked, contents withheld.
    pub withheld: Option<usize>,
    /// What does not verify, with the line.
    pub problem: Option<String>,
}

/// The output of `audit verify` (`docs/schemas/audit-verify.schema.json`). A problem makes the
/// command exit with status 5 after printing it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Whether every log verifies and the nodes agree on every job.
    pub ok: bool,
    /// Each node's log.
    pub nodes: Vec<LogView>,
    /// Where the nodes recorded different specifications of a job.
    pub disagreements: Vec<String>,
}

impl AuditReport {
    fn problems(&self) -> usize {
        self.nodes.iter().filter(|n| !n.verifies).count() + self.disagreements.len()
    }
}

impl Render for AuditReport {
    fn table(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            match (&n.problem, n.entries) {
                (None, Some(entries)) => {
                    let others = match n.withheld.unwrap_or(0) {
                        0 => String::new(),
                        w => format!(
                            " ({w} more about other operators' jobs: links checked, contents withheld)"
                        ),
                    };
                    out.push_str(&format!("{}: {entries} entries{others}, chain intact\n", n.node));
                }
                (problem, _) => out.push_str(&format!(
                    "{}: DOES NOT VERIFY: {}\n",
                    n.node,
                    problem.clone().unwrap_or_default()
                )),
            }
        }
        for d in &self.disagreements {
            out.push_str(&format!("DISAGREEMENT: {d}\n"));
        }
        if self.ok {
            out.push_str("every log verifies and the nodes agree on every job\n");
        }
        out
    }
    fn json(&self) -> String {
        to_json(self)
    }
    fn failure(&self) -> Option<anyhow::Error> {
        (!self.ok).then(|| AuditFailed(self.problems()).into())
    }
}

/// The output of `report` (`docs/schemas/report.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Reported {
    /// The HTML page.
    pub report: PathBuf,
    /// The JSON of the results beside it (a `segmentation` document).
    pub result: PathBuf,
}

impl Render for Reported {
    fn table(&self) -> String {
        format!("{}\n", self.report.display())
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::results::samples;
    use crate::render::schema::check;

    #[test]
    fn keygen_validates() {
        let k = Keygen { fingerprint: "ab".repeat(32), cert: "op/cert.pem".into(), key: "op/key.pem".into() };
        check("keygen.schema.json", &k.json());
    }

    #[test]
    fn a_submission_is_one_document_with_or_without_its_result() {
        let alone = Submitted { job: "11".repeat(16), result: None };
        check("job-submit.schema.json", &alone.json());
        assert_eq!(alone.json(), format!("{{\"job\":\"{}\"}}", "11".repeat(16)));
        for result in [
            JobResult::Stats(samples::stats()),
            JobResult::Kmeans(samples::kmeans()),
            JobResult::Fairness(samples::fairness()),
            JobResult::Bench(samples::bench()),
        ] {
            let waited = Submitted { job: "11".repeat(16), result: Some(result) };
            check("job-submit.schema.json", &waited.json());
        }
    }

    #[test]
    fn a_wait_validates() {
        check("job-wait.schema.json", &Waited { job: "11".repeat(16), state: "done" }.json());
    }

    #[test]
    fn an_explanation_validates_and_a_refusal_fails_the_command() {
        let e = Explained {
            kind: "stats".into(),
            reveals: vec![RevealView { to: "you".into(), what: "sums".into() }],
            nodes: vec![
                VerdictView {
                    node: "node-1".into(),
                    accepts: true,
                    reason: None,
                    security: Some("active".into()),
                },
                VerdictView {
                    node: "node-2".into(),
                    accepts: false,
                    reason: Some("no".into()),
                    security: Some("active".into()),
                },
            ],
            budget: Some(SpendingView {
                dataset: "customers".into(),
                epsilon: 1.0,
                nodes: vec![SpendView {
                    node: "node-1".into(),
                    known: true,
                    spent: Some(0.5),
                    budget: None,
                    left_after: None,
                }],
            }),
        };
        check("job-explain.schema.json", &e.json());
        assert!(e.failure().is_some());
    }

    #[test]
    fn an_audit_report_validates_and_a_problem_fails_the_command() {
        let a = AuditReport {
            ok: false,
            nodes: vec![
                LogView {
                    node: "node-1".into(),
                    verifies: true,
                    entries: Some(4),
                    withheld: Some(0),
                    problem: None,
                },
                LogView {
                    node: "node-2".into(),
                    verifies: false,
                    entries: None,
                    withheld: None,
                    problem: Some("line 3: broken link".into()),
                },
            ],
            disagreements: vec![],
        };
        check("audit-verify.schema.json", &a.json());
        assert_eq!(a.failure().unwrap().downcast_ref::<AuditFailed>().map(|f| f.0), Some(1));
    }

    #[test]
    fn a_report_validates() {
        let r = Reported { report: "out/report.html".into(), result: "out/result.json".into() };
        check("report.schema.json", &r.json());
    }
}
