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

/// Where a node deviates: message kind, which one, the change, and the step it must be sent
/// in (if any).
type Point<'a> = (&'a str, u32, &'a str, Option<&'a str>);

/// Sets (or clears) node `i`'s deviation and restarts it.
async fn deviate(cluster: &mut Cluster, i: usize, deviation: Option<Point<'_>>) {
    let path = cluster.generated.nodes[i].config.clone();
    let config = std::fs::read_to_string(&path).unwrap();
    let kept = config.split("\n[deviate]").next().unwrap().to_string();
    let config = match deviation {
        Some((op, nth, how, within)) => {
            let within = within.map(|w| format!("within = \"{w}\"\n")).unwrap_or_default();
            format!("{kept}\n[deviate]\nop = \"{op}\"\nnth = {nth}\nhow = \"{how}\"\n{within}")
        }
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

/// Every kind of message a node sends in a job, and every step made of several, changed by
/// one node: the job fails on every node with a detected deviation, no owner gets labels, the
/// audit log records the failure, and the next job (the node honest again) succeeds.
async fn deviations_are_caught(nodes: usize) {
    let (dir, mut cluster) = cluster(nodes, protocol::engine::Security::Active).await;
    // (point, whether the job is a private one)
    let points: [(Point, bool); 16] = [
        // A resharing message of a product, an AND, a matrix product; one receiver's copy only.
        (("mul", 3, "add", None), false),
        (("and", 7, "flip", None), false),
        (("matmul", 0, "add", None), false),
        (("mul", 1, "split", None), false),
        // An opening inside the job, a checked release, a label sent to its owner.
        (("open", 2, "flip", None), false),
        (("reveal", 0, "add", None), false),
        (("open to one", 0, "flip", None), false),
        // The check's own messages.
        (("check", 1, "add", None), false),
        (("digest", 0, "flip", None), false),
        // A node's part of the noise, different for two holders of a component.
        (("input", 0, "split", None), true),
        // Within a step: a truncation's preparation and its opening, a comparison's adder,
        // a conversion of bits, an argmin's selection, a division.
        (("and", 0, "flip", Some("truncation")), false),
        (("open", 0, "add", Some("truncation")), false),
        (("and", 2, "flip", Some("comparison")), false),
        (("mul", 0, "add", Some("conversion")), false),
        (("mul", 1, "split", Some("argmin")), false),
        (("mul", 3, "add", Some("division")), false),
    ];
    for (k, (point, private)) in points.iter().enumerate() {
        let (op, nth, how, _) = point;
        // Party 1 owns records; another node sends it its labels.
        let cheater = if *op == "open to one" { 2 } else { k % nodes };
        deviate(&mut cluster, cheater, Some(*point)).await;
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
    // An owner that sent two holders of a component different values at ingest: node 1's
    // stored copy of its first component differs from the other holders' in one record (its
    // file and the file's digest in the dataset's metadata are as the owner sent them).
    let datasets = dir.path().join("node-1/data/datasets");
    let files = share_files(&datasets);
    assert!(!files.is_empty());
    let mut originals = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let meta_path = file.with_file_name("dataset.json");
        let meta = std::fs::read_to_string(&meta_path).unwrap();
        let changed = change_first_record(&bytes);
        let new_meta = meta.replace(&wire::audit::digest(&bytes), &wire::audit::digest(&changed));
        assert_ne!(meta, new_meta, "the metadata names the file's digest");
        std::fs::write(file, changed).unwrap();
        std::fs::write(&meta_path, new_meta).unwrap();
        originals.push((file.clone(), bytes, meta_path, meta));
    }
    cluster.restart(0).await.unwrap();
    let id = cluster.client.submit(job(true, None)).await.unwrap();
    let reasons = failed_everywhere(&cluster, id).await;
    assert!(
        reasons.iter().any(|r| r.contains("sent inconsistent shares")),
        "{nodes} nodes, ingest: {reasons:?}"
    );
    assert!(!labels_written(dir.path(), nodes, id), "ingest: labels were written");
    // In reverse: the dataset's contributions share one metadata file.
    for (file, bytes, meta_path, meta) in originals.iter().rev() {
        std::fs::write(file, bytes).unwrap();
        std::fs::write(meta_path, meta).unwrap();
    }
    cluster.restart(0).await.unwrap();
    let logs = cluster.client.audit_logs().await;
    assert!(logs.iter().all(|l| l.as_ref().unwrap().contains("deviation from the protocol was detected")));
    let id = cluster.client.submit(job(true, None)).await.unwrap();
    cluster.client.wait(id, Duration::from_secs(120)).await.unwrap();
    assert!(labels_written(dir.path(), nodes, id));
}

/// The committed share files under `dir`.
fn share_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(share_files(&path));
        } else if path.extension().is_some_and(|e| e == "shares") {
            out.push(path);
        }
    }
    out
}

/// A share file (magic, header length, JSON header, values column by column, SHA-256 of all
/// that) with the first record of every column of its first component changed by 1, and its
/// checksum made right again: what a node would store had the owner sent it other values
/// than the other holders of that component.
fn change_first_record(bytes: &[u8]) -> Vec<u8> {
    let head_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[12..12 + head_len]).unwrap();
    let rows = header["rows"].as_u64().unwrap() as usize;
    let columns = header["schema"]["features"].as_array().unwrap().len()
        + header["schema"]["categorical"].as_array().map_or(0, Vec::len);
    let mut body = bytes[..bytes.len() - 32].to_vec();
    for c in 0..columns {
        let at = 12 + head_len + c * rows * 8;
        body[at] ^= 1;
    }
    let digest = wire::audit::digest(&body);
    let raw: Vec<u8> =
        (0..digest.len()).step_by(2).map(|i| u8::from_str_radix(&digest[i..i + 2], 16).unwrap()).collect();
    body.extend(raw);
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_catch_a_deviation_at_every_kind_of_message() {
    deviations_are_caught(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_catch_a_deviation_at_every_kind_of_message() {
    deviations_are_caught(5).await;
}
