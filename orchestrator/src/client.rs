//! Talking to every node of a cluster: datasets, job submission, status and results.
//!
//! Submission is a vote: every node checks the job on its own and accepts or refuses with a
//! reason. Only if all accept does the orchestrator send the start signal; otherwise it
//! aborts the job everywhere and reports each refusal.

use crate::cluster::{ClusterFile, NodeEntry};
use net::{Identity, NetOptions};
use protocol::bench::BenchOp;
use protocol::sharing::{Component, Layout, reconstruct};
use protocol::stats::{FeatureSummary, summarise, summarise_private};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::Mutex;
use wire::control::{
    BenchJob, BudgetInfo, DatasetInfo, FairnessJob, JobId, JobResultShares, JobSpec, JobState, JobStatusInfo,
    KmeansJob, NodeInfo, NodeStatus, Request, RequestBody, Response, StatsJob,
};
use wire::output::{OutputLayout, Scaling};

/// What went wrong talking to the cluster.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The operator identity cannot be loaded or the endpoint cannot be opened.
    #[error("{0}")]
    Setup(String),
    /// A node cannot be reached or answered with an error.
    #[error("node {node}: {message}")]
    Node {
        /// The node id.
        node: String,
        /// What happened.
        message: String,
    },
    /// Some nodes refused the job; it was aborted everywhere.
    #[error("job refused: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// The nodes' answers do not fit together.
    #[error("inconsistent answers: {0}")]
    Inconsistent(String),
    /// The job failed.
    #[error("job failed: {0}")]
    Failed(String),
}

/// Why a node would not run a job ([`Client::check`]).
#[derive(Debug, Error)]
pub enum NotAccepted {
    /// The node refuses it, for this reason.
    #[error("{0}")]
    Refused(String),
    /// The node could not be asked, or answered something else.
    #[error(transparent)]
    Unanswered(#[from] ClientError),
}

/// A connection manager for one cluster, authenticated as its operator.
pub struct Client {
    cluster: ClusterFile,
    identity: Identity,
    endpoint: quinn::Endpoint,
    conns: Vec<Mutex<Option<quinn::Connection>>>,
    /// Time allowed for each request.
    pub timeout: Duration,
}

/// Connections of dropped clients still being closed (see [`finish_closing`]).
static CLOSING: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> = std::sync::Mutex::new(Vec::new());

/// Longest wait for the nodes to learn that a dropped client's connections are closed.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

impl Drop for Client {
    /// Closes the client's connections: each node frees them at once instead of keeping them
    /// until they time out (a node caps the connections one certificate may have open).
    fn drop(&mut self) {
        self.endpoint.close(0u32.into(), b"done");
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let endpoint = self.endpoint.clone();
            let task = runtime.spawn(async move {
                let _ = tokio::time::timeout(CLOSE_WAIT, endpoint.wait_idle()).await;
            });
            let mut closing = CLOSING.lock().unwrap_or_else(|e| e.into_inner());
            closing.retain(|t| !t.is_finished());
            closing.push(task);
        }
    }
}

/// Waits until the nodes have been told that every dropped client's connections are closed
/// (at most a second). A program calls this before it exits: a connection whose closing
/// never left the machine stays open on the node until its idle timeout.
pub async fn finish_closing() {
    let tasks = std::mem::take(&mut *CLOSING.lock().unwrap_or_else(|e| e.into_inner()));
    for task in tasks {
        let _ = task.await;
    }
}

/// A dataset as the cluster reports it.
#[derive(Debug, Clone)]
pub struct DatasetView {
    /// Dataset name.
    pub name: String,
    /// Numeric features.
    pub features: Vec<String>,
    /// Categorical columns with their levels.
    pub categorical: Vec<(String, Vec<String>)>,
    /// Each owner's record count.
    pub owners: Vec<(String, u64)>,
    /// Total records.
    pub rows: u64,
    /// Nodes that hold shares of it.
    pub nodes: Vec<String>,
}

/// The opened result of a `stats` job.
#[derive(Debug, Clone)]
pub struct StatsResult {
    /// The job.
    pub job: String,
    /// The dataset.
    pub dataset: String,
    /// Records covered.
    pub count: u64,
    /// The differential-privacy budget of the release (the figures are noisy), if any.
    pub epsilon: Option<f64>,
    /// One summary per feature.
    pub features: Vec<(String, FeatureSummary)>,
}

impl Client {
    /// A client for `cluster`; connections are opened on first use.
    pub fn new(cluster: ClusterFile) -> Result<Self, ClientError> {
        let identity = Identity::load(&cluster.operator.cert, &cluster.operator.key)
            .map_err(|e| ClientError::Setup(format!("operator identity: {e}")))?;
        let endpoint =
            net::client_endpoint(([0, 0, 0, 0], 0).into()).map_err(|e| ClientError::Setup(e.to_string()))?;
        let conns = cluster.nodes.iter().map(|_| Mutex::new(None)).collect();
        Ok(Self { cluster, identity, endpoint, conns, timeout: Duration::from_secs(30) })
    }

    /// The nodes of the cluster file.
    pub fn nodes(&self) -> &[NodeEntry] {
        &self.cluster.nodes
    }

    fn node_err(&self, i: usize, message: impl std::fmt::Display) -> ClientError {
        ClientError::Node { node: self.cluster.nodes[i].id.clone(), message: message.to_string() }
    }

    /// The connection to node `i`, and whether it is one made earlier.
    async fn connection(&self, i: usize) -> Result<(quinn::Connection, bool), ClientError> {
        let mut slot = self.conns[i].lock().await;
        if let Some(c) = slot.as_ref()
            && c.close_reason().is_none()
        {
            return Ok((c.clone(), true));
        }
        let node = &self.cluster.nodes[i];
        let addr = tokio::net::lookup_host(&node.address)
            .await
            .map_err(|e| self.node_err(i, format!("cannot resolve {}: {e}", node.address)))?
            .next()
            .ok_or_else(|| self.node_err(i, format!("{} resolves to no address", node.address)))?;
        let conn =
            net::connect(&self.endpoint, &self.identity, addr, node.fingerprint, &NetOptions::default())
                .await
                .map_err(|e| self.node_err(i, e))?;
        *slot = Some(conn.clone());
        Ok((conn, false))
    }

    /// Sends one request to node `i`. An error answer becomes [`ClientError::Node`].
    ///
    /// A connection made earlier that the node resets (it holds no state of it: the node has
    /// restarted since, and the process that answers now never saw the request) is replaced
    /// by a new one and the request sent once more; any other failure is the answer.
    pub async fn ask(&self, i: usize, body: RequestBody) -> Result<Response, ClientError> {
        let (conn, earlier) = self.connection(i).await?;
        let request = Request::new(body);
        let call = |conn: quinn::Connection| {
            let request = &request;
            async move {
                tokio::time::timeout(self.timeout, net::call(&conn, request, wire::MAX_CONTROL_FRAME)).await
            }
        };
        let mut answer = call(conn).await;
        if earlier && matches!(answer, Ok(Err(net::RpcError::Connection(quinn::ConnectionError::Reset)))) {
            tracing::debug!(node = %self.cluster.nodes[i].id, "the node reset an earlier connection; connecting again");
            let (conn, _) = self.connection(i).await?;
            answer = call(conn).await;
        }
        let answer = answer
            .map_err(|_| self.node_err(i, format!("no answer within {} s", self.timeout.as_secs())))?
            .map_err(|e| self.node_err(i, e))?;
        match answer {
            Response::Error { message, .. } => Err(self.node_err(i, message)),
            other => Ok(other),
        }
    }

    /// Sends the same request to every node at once; answers in cluster order.
    pub async fn ask_all(&self, body: RequestBody) -> Vec<Result<Response, ClientError>> {
        let calls = (0..self.cluster.nodes.len()).map(|i| self.ask(i, body.clone()));
        futures_util::future::join_all(calls).await
    }

    /// Sends the same request to every node at once and takes out of each answer what
    /// `take` finds in it (another answer is an error naming the node).
    async fn each<T>(
        &self,
        body: RequestBody,
        take: fn(&Response) -> Option<T>,
    ) -> Vec<Result<T, ClientError>> {
        self.ask_all(body)
            .await
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.and_then(|r| take(&r).ok_or_else(|| self.node_err(i, format!("unexpected answer {r:?}"))))
            })
            .collect()
    }

    /// Pings every node.
    pub async fn ping(&self) -> Vec<Result<NodeInfo, ClientError>> {
        self.each(RequestBody::Ping, |r| match r {
            Response::Pong(info) => Some(info.clone()),
            _ => None,
        })
        .await
    }

    /// Every node's whole audit log, as stored (fetched page by page).
    pub async fn audit_logs(&self) -> Vec<Result<String, ClientError>> {
        let fetch = |i: usize| async move {
            let mut text = String::new();
            let mut from = 0u64;
            loop {
                match self.ask(i, RequestBody::AuditLog { from }).await? {
                    Response::AuditLines { lines, more } => {
                        from += lines.len() as u64;
                        for l in lines {
                            text.push_str(&l);
                            text.push('\n');
                        }
                        if !more {
                            return Ok(text);
                        }
                    }
                    other => return Err(self.node_err(i, format!("unexpected answer {other:?}"))),
                }
            }
        };
        futures_util::future::join_all((0..self.cluster.nodes.len()).map(fetch)).await
    }

    /// The operator's name in the cluster file.
    pub fn operator(&self) -> &str {
        &self.cluster.operator.name
    }

    /// How every node would vote on `spec` (its data and its policy); nothing starts.
    pub async fn check(&self, spec: &JobSpec) -> Vec<Result<(), NotAccepted>> {
        self.ask_all(RequestBody::CheckJob { spec: spec.clone() })
            .await
            .into_iter()
            .enumerate()
            .map(|(i, r)| match r {
                Ok(Response::Vote { accept: true, .. }) => Ok(()),
                Ok(Response::Vote { accept: false, reason }) => {
                    Err(NotAccepted::Refused(reason.unwrap_or_default()))
                }
                Ok(other) => Err(self.node_err(i, format!("unexpected answer {other:?}")).into()),
                Err(e) => Err(e.into()),
            })
            .collect()
    }

    /// Every node's privacy-budget ledger.
    pub async fn budgets(&self) -> Vec<Result<Vec<BudgetInfo>, ClientError>> {
        self.each(RequestBody::PrivacyBudget, |r| match r {
            Response::PrivacyBudget(list) => Some(list.clone()),
            _ => None,
        })
        .await
    }

    /// Every node's status (datasets, active jobs, links to the others probed now).
    pub async fn node_statuses(&self) -> Vec<Result<NodeStatus, ClientError>> {
        self.each(RequestBody::NodeStatus, |r| match r {
            Response::NodeStatus(status) => Some(status.clone()),
            _ => None,
        })
        .await
    }

    /// The datasets of the cluster, merged over nodes (which must agree).
    pub async fn datasets(&self) -> Result<Vec<DatasetView>, ClientError> {
        let mut views: Vec<(DatasetInfo, Vec<String>)> = Vec::new();
        for (i, answer) in self.ask_all(RequestBody::ListDatasets).await.into_iter().enumerate() {
            let Response::Datasets(list) = answer? else {
                return Err(self.node_err(i, "unexpected answer to a dataset listing"));
            };
            let node = self.cluster.nodes[i].id.clone();
            for d in list {
                match views.iter_mut().find(|(v, _)| v.name == d.name) {
                    Some((v, nodes)) => {
                        if v.contributions != d.contributions || v.schema != d.schema {
                            return Err(ClientError::Inconsistent(format!(
                                "nodes {} and {node} hold different versions of dataset `{}`",
                                nodes[0], d.name
                            )));
                        }
                        nodes.push(node.clone());
                    }
                    None => views.push((d, vec![node.clone()])),
                }
            }
        }
        Ok(views
            .into_iter()
            .map(|(d, nodes)| DatasetView {
                rows: d.rows(),
                name: d.name,
                features: d.schema.features.iter().map(|f| f.name.clone()).collect(),
                categorical: d
                    .schema
                    .categorical
                    .iter()
                    .map(|c| (c.name.clone(), c.levels.clone()))
                    .collect(),
                owners: d.contributions.iter().map(|c| (c.owner.clone(), c.rows)).collect(),
                nodes,
            })
            .collect())
    }

    /// Submits a job to every node and starts it if all accept. Returns its id.
    pub async fn submit(&self, spec: JobSpec) -> Result<JobId, ClientError> {
        let job = JobId(rand::random());
        let votes = self.ask_all(RequestBody::SubmitJob { job, spec }).await;
        let mut refusals = Vec::new();
        for (i, v) in votes.into_iter().enumerate() {
            match v {
                Ok(Response::Vote { accept: true, .. }) => {}
                Ok(Response::Vote { accept: false, reason }) => {
                    refusals.push(format!("{}: {}", self.cluster.nodes[i].id, reason.unwrap_or_default()))
                }
                Ok(other) => {
                    refusals.push(format!("{}: unexpected answer {other:?}", self.cluster.nodes[i].id))
                }
                Err(e) => refusals.push(e.to_string()),
            }
        }
        if !refusals.is_empty() {
            self.abort(job, &format!("refused by {}", refusals.join("; "))).await;
            return Err(ClientError::Refused(refusals));
        }
        let starts = self.ask_all(RequestBody::StartJob { job }).await;
        let failures: Vec<String> =
            starts.into_iter().filter_map(Result::err).map(|e| e.to_string()).collect();
        if !failures.is_empty() {
            self.abort(job, &format!("could not start on every node: {}", failures.join("; "))).await;
            return Err(ClientError::Failed(failures.join("; ")));
        }
        Ok(job)
    }

    async fn abort(&self, job: JobId, reason: &str) {
        for (i, r) in
            self.ask_all(RequestBody::AbortJob { job, reason: reason.into() }).await.into_iter().enumerate()
        {
            if let Err(e) = r {
                tracing::debug!(node = %self.cluster.nodes[i].id, error = %e, "abort not delivered");
            }
        }
    }

    /// The job's status on every node, in cluster order.
    pub async fn status(&self, job: JobId) -> Vec<Result<JobStatusInfo, ClientError>> {
        self.each(RequestBody::JobStatus { job }, |r| match r {
            Response::Status(s) => Some(s.clone()),
            _ => None,
        })
        .await
    }

    /// Polls until the job is done on every node, or failed on any; returns the final states.
    pub async fn wait(&self, job: JobId, limit: Duration) -> Result<Vec<JobStatusInfo>, ClientError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let states = self.status(job).await;
            let mut all_done = true;
            let mut infos = Vec::new();
            for s in states {
                let s = s?;
                if s.state == JobState::Failed {
                    return Err(ClientError::Failed(s.reason.unwrap_or_else(|| "no reason given".into())));
                }
                all_done &= s.state == JobState::Done;
                infos.push(s);
            }
            if all_done {
                return Ok(infos);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Failed(format!("not finished after {} s", limit.as_secs())));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Fetches every node's components of a finished job's outputs and opens them.
    pub async fn open(&self, job: JobId) -> Result<Opened, ClientError> {
        let statuses: Vec<JobStatusInfo> = self.status(job).await.into_iter().collect::<Result<_, _>>()?;
        let spec = statuses
            .first()
            .ok_or_else(|| ClientError::Setup("the cluster lists no node".into()))?
            .spec
            .clone()
            .ok_or_else(|| ClientError::Setup(format!("job {job} was submitted by another operator")))?;
        let mut shares: Vec<JobResultShares> = Vec::new();
        for (i, r) in self.ask_all(RequestBody::JobResult { job }).await.into_iter().enumerate() {
            match r? {
                Response::Result(s) => shares.push(s),
                other => return Err(self.node_err(i, format!("unexpected answer {other:?}"))),
            }
        }
        let first = shares.first().ok_or_else(|| ClientError::Setup("the cluster lists no node".into()))?;
        let (count, layout, parties) = (first.count, first.layout.clone(), first.parties as usize);
        if shares.iter().any(|s| s.count != count || s.layout != layout || s.parties as usize != parties) {
            return Err(ClientError::Inconsistent("nodes report different record counts or outputs".into()));
        }
        let sharing =
            Layout::honest_majority(parties).map_err(|e| ClientError::Inconsistent(e.to_string()))?;
        let parts: Vec<(usize, Vec<Component>)> = shares
            .into_iter()
            .map(|s| {
                let components = s.components.into_iter().map(|c| Component { id: c.id, values: c.values.0 });
                (s.party as usize, components.collect())
            })
            .collect();
        let values = reconstruct(&sharing, &parts).map_err(|e| ClientError::Inconsistent(e.to_string()))?;
        Ok(Opened { job, spec, count, layout, values, statuses })
    }

    /// Opens a finished job's result and interprets it according to its kind.
    pub async fn result(&self, job: JobId) -> Result<JobResult, ClientError> {
        let opened = self.open(job).await?;
        match opened.spec {
            JobSpec::Stats(_) => interpret_stats(opened).map(JobResult::Stats),
            JobSpec::Bench(_) => self.interpret_bench(opened).map(JobResult::Bench),
            JobSpec::Kmeans(_) => interpret_kmeans(opened).map(JobResult::Kmeans),
            JobSpec::Fairness(_) => interpret_fairness(opened).map(JobResult::Fairness),
        }
    }

    /// Opens the result of a `fairness` job.
    pub async fn fairness_result(&self, job: JobId) -> Result<FairnessResult, ClientError> {
        interpret_fairness(self.open(job).await?)
    }

    /// Opens the result of a `kmeans` job.
    pub async fn kmeans_result(&self, job: JobId) -> Result<KmeansResult, ClientError> {
        interpret_kmeans(self.open(job).await?)
    }

    /// Opens the result of a `stats` job.
    pub async fn stats_result(&self, job: JobId) -> Result<StatsResult, ClientError> {
        interpret_stats(self.open(job).await?)
    }

    /// Opens the samples of a `bench` job, checks them against plaintext, and reports each
    /// node's time and traffic.
    pub async fn bench_result(&self, job: JobId) -> Result<BenchResult, ClientError> {
        self.interpret_bench(self.open(job).await?)
    }

    fn interpret_bench(&self, opened: Opened) -> Result<BenchResult, ClientError> {
        let job = opened.job;
        let JobSpec::Bench(BenchJob { op, size }) = &opened.spec else {
            return Err(ClientError::Setup(format!("job {job} is a {} job, not bench", opened.spec.kind())));
        };
        let parsed: BenchOp =
            op.parse().map_err(|e: protocol::bench::BenchError| ClientError::Inconsistent(e.to_string()))?;
        protocol::bench::check(parsed, *size as usize, &opened.values)
            .map_err(|e| ClientError::Inconsistent(format!("the benchmark's result is wrong: {e}")))?;
        Ok(BenchResult {
            job: job.to_string(),
            op: op.clone(),
            size: *size,
            nodes: self
                .nodes()
                .iter()
                .zip(&opened.statuses)
                .map(|(n, s)| NodeTraffic {
                    node: n.id.clone(),
                    elapsed_ms: s.elapsed_ms,
                    bytes_sent: s.bytes_sent,
                    rounds: s.rounds,
                })
                .collect(),
        })
    }
}

/// The interpreted result of a job.
#[derive(Debug, Clone)]
pub enum JobResult {
    /// Of a `stats` job.
    Stats(StatsResult),
    /// Of a `bench` job.
    Bench(BenchResult),
    /// Of a `kmeans` job.
    Kmeans(KmeansResult),
    /// Of a `fairness` job.
    Fairness(FairnessResult),
}

/// The opened result of a `fairness` job.
#[derive(Debug, Clone)]
pub struct FairnessResult {
    /// The job.
    pub job: String,
    /// The `kmeans` job whose segments were examined.
    pub segments_job: String,
    /// The protected column.
    pub protected: String,
    /// The differential-privacy budget of the table (its cells are noisy), if any.
    pub epsilon: Option<f64>,
    /// The segment-by-group table and the metrics.
    pub report: protocol::fairness::Report,
}

fn interpret_fairness(opened: Opened) -> Result<FairnessResult, ClientError> {
    let JobSpec::Fairness(FairnessJob { segments, protected, min_cell, epsilon }) = &opened.spec else {
        return Err(ClientError::Setup(format!(
            "job {} is a {} job, not fairness",
            opened.job,
            opened.spec.kind()
        )));
    };
    let bad = || ClientError::Inconsistent("the opened fairness table has the wrong shape".into());
    let OutputLayout::Fairness(layout) = &opened.layout else { return Err(bad()) };
    let (k, g) = (layout.segments as usize, layout.groups.len());
    let released =
        protocol::fairness::Released::from_opened(&opened.values, &layout.withheld, k, g).ok_or_else(bad)?;
    Ok(FairnessResult {
        job: opened.job.to_string(),
        segments_job: segments.to_string(),
        protected: protected.clone(),
        epsilon: *epsilon,
        report: protocol::fairness::report(&released, &layout.groups, *min_cell),
    })
}

/// The opened result of a `kmeans` job.
#[derive(Debug, Clone)]
pub struct KmeansResult {
    /// The job.
    pub job: String,
    /// The dataset.
    pub dataset: String,
    /// Records segmented.
    pub count: u64,
    /// Features, in centroid order.
    pub features: Vec<String>,
    /// The differential-privacy budget of the job (DPLloyd), if any.
    pub epsilon: Option<f64>,
    /// Segments below this size are suppressed.
    pub min_segment: u64,
    /// Centroids, sizes, WCSS, the scaling, and the suppressed segments.
    pub segments: protocol::kmeans::Outcome,
}

fn interpret_kmeans(opened: Opened) -> Result<KmeansResult, ClientError> {
    let JobSpec::Kmeans(KmeansJob { dataset, features, epsilon, min_segment, .. }) = &opened.spec else {
        return Err(ClientError::Setup(format!(
            "job {} is a {} job, not kmeans",
            opened.job,
            opened.spec.kind()
        )));
    };
    let d = features.len();
    let bad = || ClientError::Inconsistent("the opened k-means result has the wrong shape".into());
    let OutputLayout::Kmeans(layout) = &opened.layout else { return Err(bad()) };
    if layout.features != *features {
        return Err(bad());
    }
    let published = protocol::kmeans::Published {
        scaling: match layout.scaling {
            Scaling::Standardised => protocol::kmeans::Scaling::Standardised,
            Scaling::Clipped => protocol::kmeans::Scaling::Clipped,
        },
        centres: layout.centres.clone(),
        scales: layout.scales.clone(),
        suppressed: layout.withheld.clone(),
        wcss: layout.wcss,
    };
    let segments =
        protocol::kmeans::outcome(layout.k as usize, d, &opened.values, &published).ok_or_else(bad)?;
    Ok(KmeansResult {
        job: opened.job.to_string(),
        dataset: dataset.clone(),
        count: opened.count,
        features: features.clone(),
        epsilon: *epsilon,
        min_segment: *min_segment,
        segments,
    })
}

fn interpret_stats(opened: Opened) -> Result<StatsResult, ClientError> {
    let job = opened.job;
    let JobSpec::Stats(StatsJob { dataset, epsilon, .. }) = &opened.spec else {
        return Err(ClientError::Setup(format!("job {job} is a {} job, not stats", opened.spec.kind())));
    };
    let bad = || ClientError::Inconsistent("the opened result has the wrong length".into());
    let OutputLayout::Stats(layout) = opened.layout else { return Err(bad()) };
    let f = layout.features.len();
    let per_feature = if epsilon.is_some() { 2 } else { 3 };
    if opened.values.len() != per_feature * f || layout.variance_scales.len() != f {
        return Err(bad());
    }
    let scales = layout.variance_scales;
    let summaries = match epsilon {
        Some(_) => summarise_private(opened.count, &opened.values, &scales),
        None => {
            let (sums, moments) = opened.values.split_at(f);
            summarise(opened.count, sums, Some((moments, &scales)))
        }
    };
    Ok(StatsResult {
        job: job.to_string(),
        dataset: dataset.clone(),
        count: opened.count,
        epsilon: *epsilon,
        features: layout.features.into_iter().zip(summaries).collect(),
    })
}

/// The opened outputs of a job.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The job.
    pub job: JobId,
    /// What it computed.
    pub spec: JobSpec,
    /// Records (or size) covered.
    pub count: u64,
    /// How to read the opened values.
    pub layout: OutputLayout,
    /// The opened values.
    pub values: Vec<u64>,
    /// Every node's final status, in cluster order.
    pub statuses: Vec<JobStatusInfo>,
}

/// One node's share of the work of a job.
#[derive(Debug, Clone)]
pub struct NodeTraffic {
    /// Node id.
    pub node: String,
    /// Time from the start signal to the end on that node.
    pub elapsed_ms: u64,
    /// Protocol bytes it sent to the other nodes.
    pub bytes_sent: u64,
    /// Communication rounds.
    pub rounds: u64,
}

/// A checked benchmark.
#[derive(Debug, Clone)]
pub struct BenchResult {
    /// The job.
    pub job: String,
    /// The workload.
    pub op: String,
    /// Its size.
    pub size: u64,
    /// Per node time and traffic.
    pub nodes: Vec<NodeTraffic>,
}
