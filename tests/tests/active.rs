//! The actively secure engine over real QUIC: a cluster set to `security = "active"` segments
//! like a passive one, a node set to the other model is refused with the reason, and a node
//! that deviates from the protocol at any kind of message makes the job fail on every node,
//! naming the detection, before anything is opened, after which the cluster serves the next
//! job.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};
use testnet::Cluster;
use testnet::layout::Plan;
use testnet::sample;
use wire::control::{JobId, JobSpec, JobState, KmeansInit, KmeansJob};

async fn cluster(nodes: usize, security: protocol::engine::Security) -> (tempfile::TempDir, Cluster) {
    let dir = tempfile::tempdir().unwrap();
    let plan = Plan { nodes, records: 40, seed: 17, data: None, security };
    let cluster = Cluster::up(dir.path(), &plan, common::node_command()).await.unwrap();
    cluster.ingest_all().await.unwrap();
    (dir, cluster)
}

fn job(labels: bool, epsilon: Option<f64>) -> JobSpec {
    let (restarts, init) = KmeansJob::default_starts(epsilon.is_some());
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "income".into()],
        k: 3,
        iterations: if epsilon.is_some() { 2 } else { 3 },
        seed: 5,
        restarts: if epsilon.is_some() { restarts } else { 1 },
        init: if epsilon.is_some() { init } else { KmeansInit::PlusPlus },
        labels,
        min_segment: 0,
        epsilon,
    })
}

/// Sets (or clears) node `i`'s deviation and restarts it.
async fn deviate(cluster: &mut Cluster, i: usize, deviation: Option<(&str, u32, &str)>) {
    let path = cluster.generated.nodes[i].config.clone();
    let config = std::fs::read_to_string(&path).unwrap();
    let kept = config.split("\n[deviate]").next().unwrap().to_string();
    let config = match deviation {
        Some((op, nth, how)) => format!("{kept}\n[deviate]\nop = \"{op}\"\nnth = {nth}\nhow = \"{how}\"\n"),
        None => kept,
    };
    std::fs::write(&path, config).unwrap();
    cluster.restart(i).await.unwrap();
}

/// Waits until `job` has failed on every node; returns their reasons.
async fn failed_everywhere(cluster: &Cluster, job: JobId) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let statuses = cluster.client.status(job).await;
        let states: Vec<_> = statuses.iter().map(|s| s.as_ref().ok()).collect();
        assert!(
            !states.iter().any(|s| s.is_some_and(|s| s.state == JobState::Done)),
            "the job finished: {statuses:?}"
        );
        if states.iter().all(|s| s.is_some_and(|s| s.state == JobState::Failed)) {
            return states.iter().map(|s| s.and_then(|s| s.reason.clone()).unwrap_or_default()).collect();
        }
        assert!(Instant::now() < deadline, "still running: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn labels_written(dir: &Path, nodes: usize, job: JobId) -> bool {
    (1..=nodes).any(|i| dir.join(format!("node-{i}/data/labels/{job}.csv")).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_cluster_segments_like_a_passive_one_and_records_its_model() {
    let (_p, passive) = cluster(3, protocol::engine::Security::Passive).await;
    let (_a, active) = cluster(3, protocol::engine::Security::Active).await;
    let mut results = Vec::new();
    for c in [&passive, &active] {
        let id = c.client.submit(job(false, None)).await.unwrap();
        c.client.wait(id, Duration::from_secs(120)).await.unwrap();
        results.push(c.client.kmeans_result(id).await.unwrap().segments);
    }
    assert_eq!(results[0].sizes, results[1].sizes, "segment sizes");
    for (a, b) in results[0].centroids.iter().zip(&results[1].centroids) {
        assert!((a - b).abs() <= 1e-3 * a.abs().max(1.0), "centroid {a} vs {b}");
    }
    // Every node says which engine ran the job, in its status and its audit log.
    for status in active.client.node_statuses().await {
        assert_eq!(status.unwrap().info.security, "active");
    }
    for log in active.client.audit_logs().await {
        assert!(log.unwrap().contains("\"security\":\"active\""));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_under_the_other_model_makes_every_job_fail_naming_both() {
    let (dir, mut cluster) = cluster(3, protocol::engine::Security::Active).await;
    let path = cluster.generated.nodes[2].config.clone();
    let config =
        std::fs::read_to_string(&path).unwrap().replace("security = \"active\"", "security = \"passive\"");
    std::fs::write(&path, config).unwrap();
    cluster.restart(2).await.unwrap();
    let id = cluster.client.submit(job(true, None)).await.unwrap();
    let reasons = failed_everywhere(&cluster, id).await;
    assert!(reasons.iter().any(|r| r.contains("must set the same `security`")), "{reasons:?}");
    assert!(!labels_written(dir.path(), 3, id));
}

/// Every kind of message a node sends in a job, changed by one node: the job fails on every
/// node with a detected deviation, no owner gets labels, the audit log records the failure,
/// and the next job (the node honest again) succeeds.
async fn deviations_are_caught(nodes: usize) {
    let (dir, mut cluster) = cluster(nodes, protocol::engine::Security::Active).await;
    let points: [(&str, u32, &str, bool); 10] = [
        ("mul", 3, "add", false),
        ("and", 7, "flip", false),
        ("matmul", 0, "add", false),
        ("open", 2, "flip", false),
        ("open to one", 0, "flip", false),
        ("reveal", 0, "add", false),
        ("check", 1, "add", false),
        ("digest", 0, "flip", false),
        ("mul", 1, "split", false),
        ("input", 0, "split", true),
    ];
    for (k, (op, nth, how, private)) in points.iter().enumerate() {
        // Party 1 owns records; another node sends it its labels.
        let cheater = if *op == "open to one" { 2 } else { k % nodes };
        deviate(&mut cluster, cheater, Some((op, *nth, how))).await;
        let epsilon = private.then_some(4.0);
        let id = cluster.client.submit(job(epsilon.is_none(), epsilon)).await.unwrap();
        let reasons = failed_everywhere(&cluster, id).await;
        let caught =
            |r: &String| r.contains("deviation from the protocol was detected") || r.contains("reports:");
        assert!(
            reasons
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != cheater)
                .all(|(_, r)| caught(r) || r.contains("failed on node")),
            "{nodes} nodes, {op} {nth} {how} by node {cheater}: {reasons:?}"
        );
        assert!(reasons.iter().any(caught), "{nodes} nodes, {op}: {reasons:?}");
        assert!(!labels_written(dir.path(), nodes, id), "{op}: labels were written");
        deviate(&mut cluster, cheater, None).await;
    }
    let logs = cluster.client.audit_logs().await;
    assert!(logs.iter().all(|l| l.as_ref().unwrap().contains("deviation from the protocol was detected")));
    let id = cluster.client.submit(job(true, None)).await.unwrap();
    cluster.client.wait(id, Duration::from_secs(120)).await.unwrap();
    assert!(labels_written(dir.path(), nodes, id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_catch_a_deviation_at_every_kind_of_message() {
    deviations_are_caught(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_catch_a_deviation_at_every_kind_of_message() {
    deviations_are_caught(5).await;
}
