//! What the nodes report about themselves: datasets, node status, privacy budgets and a job's
//! status on every node. Each listing is one JSON array with an entry per dataset or node; a
//! node that does not answer has `null` figures and its `error`.

use super::{Keyed, Render, to_json};
use crate::client::{ClientError, DatasetView};
use crate::cluster::NodeEntry;
use crate::table;
use serde::Serialize;
use wire::control::{BudgetInfo, JobStatusInfo, NodeStatus};

/// One owner's contribution to a dataset.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerView {
    /// The owner node.
    pub owner: String,
    /// Its records.
    pub records: u64,
}

/// One dataset of `datasets` (`docs/schemas/datasets.schema.json`, an array of these).
#[derive(Debug, Clone, Serialize)]
pub struct DatasetEntry {
    /// Dataset name.
    pub name: String,
    /// Total records.
    pub rows: u64,
    /// Numeric features.
    pub features: Vec<String>,
    /// Categorical columns with their levels, keyed by column.
    pub categorical: Keyed<Vec<String>>,
    /// Each owner's record count.
    pub owners: Vec<OwnerView>,
    /// Nodes that hold shares of it.
    pub nodes: Vec<String>,
}

/// The output of `datasets`.
#[derive(Debug, Clone)]
pub struct Datasets(pub Vec<DatasetView>);

impl Datasets {
    fn grid(&self) -> table::Grid {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|d| {
                let owners: Vec<String> = d.owners.iter().map(|(o, n)| format!("{o} ({n})")).collect();
                let cats: Vec<String> =
                    d.categorical.iter().map(|(c, l)| format!("{c} [{}]", l.join("|"))).collect();
                vec![
                    d.name.clone(),
                    d.rows.to_string(),
                    owners.join(", "),
                    d.features.join(","),
                    cats.join(", "),
                ]
            })
            .collect();
        let names = ["dataset", "records", "owners (records)", "numeric", "categorical"];
        (names.map(String::from).to_vec(), rows)
    }
}

impl Render for Datasets {
    fn table(&self) -> String {
        table::text(&self.grid())
    }
    fn csv(&self) -> String {
        table::csv(&self.grid())
    }
    fn json(&self) -> String {
        let list: Vec<DatasetEntry> = self
            .0
            .iter()
            .map(|d| DatasetEntry {
                name: d.name.clone(),
                rows: d.rows,
                features: d.features.clone(),
                categorical: Keyed(d.categorical.clone()),
                owners: d
                    .owners
                    .iter()
                    .map(|(owner, records)| OwnerView { owner: owner.clone(), records: *records })
                    .collect(),
                nodes: d.nodes.clone(),
            })
            .collect();
        to_json(&list)
    }
}

/// A node's link to another node.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    /// The other node.
    pub node: String,
    /// Round-trip time in microseconds, when the link is up.
    pub rtt_us: Option<u64>,
    /// Why the link is down, when it is.
    pub error: Option<String>,
}

/// A job running on a node.
#[derive(Debug, Clone, Serialize)]
pub struct RunningJobView {
    /// The job.
    pub job: String,
    /// Its kind.
    pub kind: String,
    /// Its progress.
    pub progress: String,
}

/// What an answering node reports of itself.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStateView {
    /// Its party number.
    pub party: u16,
    /// Parties in the cluster.
    pub parties: u16,
    /// Its software version.
    pub version: String,
    /// Its engine's security model (`passive` or `active`).
    pub security: String,
    /// Its datasets' records, keyed by dataset.
    pub datasets: Keyed<u64>,
    /// Its running jobs.
    pub jobs: Vec<RunningJobView>,
    /// Its links to the other nodes.
    pub links: Vec<LinkView>,
}

/// One node of `cluster status` (`docs/schemas/cluster-status.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct NodeEntryView {
    /// Node id.
    pub node: String,
    /// Its address in the cluster file.
    pub address: String,
    /// Whether it answered.
    pub up: bool,
    /// What it reports (`null` when it does not answer).
    pub status: Option<NodeStateView>,
    /// Why it does not answer.
    pub error: Option<String>,
}

/// The output of `cluster status`.
pub struct ClusterStatus {
    /// The nodes of the cluster file.
    pub nodes: Vec<NodeEntry>,
    /// Each node's answer.
    pub statuses: Vec<Result<NodeStatus, ClientError>>,
}

impl Render for ClusterStatus {
    fn table(&self) -> String {
        table::text(&table::cluster_grid(&self.nodes, &self.statuses))
    }
    fn csv(&self) -> String {
        table::csv(&table::cluster_grid(&self.nodes, &self.statuses))
    }
    fn json(&self) -> String {
        let list: Vec<NodeEntryView> = self
            .nodes
            .iter()
            .zip(&self.statuses)
            .map(|(n, s)| {
                let status = s.as_ref().ok().map(|s| NodeStateView {
                    party: s.info.party,
                    parties: s.info.parties,
                    version: s.info.version.clone(),
                    security: s.info.security.clone(),
                    datasets: Keyed(s.datasets.clone()),
                    jobs: s
                        .jobs
                        .iter()
                        .map(|(job, kind, progress)| RunningJobView {
                            job: job.clone(),
                            kind: kind.clone(),
                            progress: progress.clone(),
                        })
                        .collect(),
                    links: s
                        .links
                        .iter()
                        .map(|l| LinkView { node: l.node.clone(), rtt_us: l.rtt_us, error: l.error.clone() })
                        .collect(),
                });
                NodeEntryView {
                    node: n.id.clone(),
                    address: n.address.clone(),
                    up: status.is_some(),
                    status,
                    error: s.as_ref().err().map(ToString::to_string),
                }
            })
            .collect();
        to_json(&list)
    }
}

/// One line of a node's privacy-budget ledger.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerView {
    /// The dataset.
    pub dataset: String,
    /// Epsilon spent on it.
    pub spent: f64,
    /// The budget its policy sets (`null`: none).
    pub budget: Option<f64>,
    /// What is left of the budget (`null` without one).
    pub left: Option<f64>,
    /// Whether its policy takes private jobs only.
    pub requires_epsilon: bool,
    /// Private jobs charged.
    pub jobs: u64,
}

impl From<&BudgetInfo> for LedgerView {
    fn from(b: &BudgetInfo) -> Self {
        Self {
            dataset: b.dataset.clone(),
            spent: b.spent,
            budget: b.budget,
            left: b.budget.map(|v| (v - b.spent).max(0.0)),
            requires_epsilon: b.requires_epsilon,
            jobs: b.jobs,
        }
    }
}

/// One node of `budget` (`docs/schemas/budget.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct NodeLedgerView {
    /// Node id.
    pub node: String,
    /// Its ledger, one line per dataset (`null` when it does not answer).
    pub datasets: Option<Vec<LedgerView>>,
    /// Why it does not answer.
    pub error: Option<String>,
}

/// The output of `budget`.
pub struct Budgets {
    /// The nodes of the cluster file.
    pub nodes: Vec<NodeEntry>,
    /// Each node's ledger.
    pub ledgers: Vec<Result<Vec<BudgetInfo>, ClientError>>,
}

impl Render for Budgets {
    fn table(&self) -> String {
        table::text(&table::budget_grid(&self.nodes, &self.ledgers))
    }
    fn csv(&self) -> String {
        table::csv(&table::budget_grid(&self.nodes, &self.ledgers))
    }
    fn json(&self) -> String {
        let list: Vec<NodeLedgerView> = self
            .nodes
            .iter()
            .zip(&self.ledgers)
            .map(|(n, l)| NodeLedgerView {
                node: n.id.clone(),
                datasets: l.as_ref().ok().map(|l| l.iter().map(LedgerView::from).collect()),
                error: l.as_ref().err().map(ToString::to_string),
            })
            .collect();
        to_json(&list)
    }
}

/// A job as one node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct JobStateView {
    /// The job's kind.
    pub kind: String,
    /// `submitted`, `running`, `done` or `failed`.
    pub state: String,
    /// What it is doing.
    pub progress: String,
    /// Steps done.
    pub step: u64,
    /// Steps in all.
    pub steps: u64,
    /// Protocol bytes sent to the other nodes.
    pub bytes_sent: u64,
    /// Communication rounds.
    pub rounds: u64,
    /// Time since the start signal.
    pub elapsed_ms: u64,
    /// Why it failed.
    pub reason: Option<String>,
    /// The job's specification as submitted (`null` when the node does not show it).
    pub spec: Option<serde_json::Value>,
}

impl From<&JobStatusInfo> for JobStateView {
    fn from(s: &JobStatusInfo) -> Self {
        Self {
            kind: s.kind.clone(),
            state: s.state.to_string(),
            progress: s.progress.clone(),
            step: s.step,
            steps: s.steps,
            bytes_sent: s.bytes_sent,
            rounds: s.rounds,
            elapsed_ms: s.elapsed_ms,
            reason: s.reason.clone(),
            spec: s
                .spec
                .as_ref()
                .map(|spec| serde_json::to_value(spec).expect("a job specification serialises")),
        }
    }
}

/// One node of `job status` (`docs/schemas/job-status.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct NodeJobView {
    /// Node id.
    pub node: String,
    /// The job there (`null` when the node does not answer).
    pub status: Option<JobStateView>,
    /// Why it does not answer.
    pub error: Option<String>,
}

/// The output of `job status`.
pub struct JobStatuses {
    /// The nodes of the cluster file.
    pub nodes: Vec<NodeEntry>,
    /// Each node's answer.
    pub statuses: Vec<Result<JobStatusInfo, ClientError>>,
}

impl JobStatuses {
    fn grid(&self) -> table::Grid {
        let rows: Vec<Vec<String>> = self
            .statuses
            .iter()
            .zip(&self.nodes)
            .map(|(s, n)| match s {
                Ok(s) => vec![
                    n.id.clone(),
                    s.state.to_string(),
                    s.progress.clone(),
                    s.bytes_sent.to_string(),
                    s.rounds.to_string(),
                    s.reason.clone().unwrap_or_default(),
                ],
                Err(e) => {
                    vec![n.id.clone(), "unknown".into(), String::new(), "-".into(), "-".into(), e.to_string()]
                }
            })
            .collect();
        let names = ["node", "state", "progress", "bytes sent", "rounds", "reason"];
        (names.map(String::from).to_vec(), rows)
    }
}

impl Render for JobStatuses {
    fn table(&self) -> String {
        table::text(&self.grid())
    }
    fn csv(&self) -> String {
        table::csv(&self.grid())
    }
    fn json(&self) -> String {
        let list: Vec<NodeJobView> = self
            .nodes
            .iter()
            .zip(&self.statuses)
            .map(|(n, s)| NodeJobView {
                node: n.id.clone(),
                status: s.as_ref().ok().map(JobStateView::from),
                error: s.as_ref().err().map(ToString::to_string),
            })
            .collect();
        to_json(&list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::schema::check;
    use wire::control::{JobId, JobSpec, JobState, NodeInfo, PeerLink, StatsJob};

    fn nodes() -> Vec<NodeEntry> {
        (1..=2)
            .map(|i| NodeEntry {
                id: format!("node-{i}"),
                address: format!("127.0.0.1:{}", 7000 + i),
                fingerprint: net::Fingerprint([i as u8; 32]),
            })
            .collect()
    }

    fn down() -> ClientError {
        ClientError::Node { node: "node-2".into(), message: "no answer within 30 s".into() }
    }

    #[test]
    fn datasets_validate() {
        let d = DatasetView {
            name: "customers".into(),
            features: vec!["age".into()],
            categorical: vec![("gender".into(), vec!["f".into(), "m".into()])],
            owners: vec![("node-1".into(), 20), ("node-2".into(), 25)],
            rows: 45,
            nodes: vec!["node-1".into(), "node-2".into()],
        };
        let json = Datasets(vec![d]).json();
        check("datasets.schema.json", &json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["categorical"]["gender"][1], "m");
        assert_eq!(v[0]["owners"][1]["records"], 25);
    }

    #[test]
    fn a_cluster_status_validates_with_a_node_down() {
        let up = NodeStatus {
            info: NodeInfo {
                node_id: "node-1".into(),
                party: 0,
                parties: 2,
                version: "0.1.0".into(),
                security: "active".into(),
            },
            datasets: vec![("customers".into(), 20)],
            jobs: vec![("ab".into(), "stats".into(), "running".into())],
            links: vec![PeerLink { node: "node-2".into(), rtt_us: None, error: Some("timeout".into()) }],
        };
        let json = ClusterStatus { nodes: nodes(), statuses: vec![Ok(up), Err(down())] }.json();
        check("cluster-status.schema.json", &json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["status"]["datasets"]["customers"], 20);
        assert_eq!(v[1]["up"], false);
    }

    #[test]
    fn budgets_validate() {
        let b = BudgetInfo {
            dataset: "customers".into(),
            spent: 1.5,
            budget: Some(4.0),
            requires_epsilon: false,
            jobs: 2,
        };
        let json = Budgets { nodes: nodes(), ledgers: vec![Ok(vec![b]), Err(down())] }.json();
        check("budget.schema.json", &json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["datasets"][0]["left"], 2.5);
    }

    #[test]
    fn a_job_status_validates() {
        let spec = JobSpec::Stats(StatsJob {
            dataset: "customers".into(),
            features: vec!["age".into()],
            epsilon: None,
        });
        let s = JobStatusInfo {
            job: JobId([7; 16]),
            kind: "stats".into(),
            spec: Some(spec),
            state: JobState::Done,
            reason: None,
            progress: "done".into(),
            bytes_sent: 10,
            rounds: 2,
            elapsed_ms: 5,
            step: 1,
            steps: 1,
        };
        let json = JobStatuses { nodes: nodes(), statuses: vec![Ok(s), Err(down())] }.json();
        check("job-status.schema.json", &json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["status"]["state"], "done");
    }
}
