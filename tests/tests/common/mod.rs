//! Shared helpers: start a cluster of real node processes over QUIC on loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use testnet::Cluster;
use testnet::launch::NodeCommand;
use testnet::layout::Plan;
use wire::control::KmeansJob;

/// The node command of the build under test.
pub fn node_command() -> NodeCommand {
    NodeCommand { program: PathBuf::from(env!("CARGO_BIN_EXE_e2e-testnet")), args: vec!["node".into()] }
}

/// A started cluster in a fresh temporary directory (kept alive by the returned guard).
pub async fn cluster(nodes: usize, records: usize, seed: u64) -> (tempfile::TempDir, Cluster) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::up(
        dir.path(),
        &Plan { nodes, records, seed, data: None, security: protocol::engine::Security::Passive },
        node_command(),
    )
    .await
    .unwrap();
    (dir, cluster)
}

/// A small exact k-means job on the sample dataset whose owners receive their labels.
pub fn kmeans_with_labels(features: &[&str]) -> wire::control::JobSpec {
    wire::control::JobSpec::Kmeans(KmeansJob {
        dataset: testnet::sample::DATASET.into(),
        features: features.iter().map(|f| f.to_string()).collect(),
        k: 2,
        iterations: 2,
        seed: 1,
        restarts: 1,
        init: wire::control::KmeansInit::PlusPlus,
        labels: true,
        min_segment: 0,
        epsilon: None,
    })
}

/// Writes `policy` as node `i`'s policy, stops the node and starts it again by hand: the
/// start must fail; returns what it printed on stderr.
pub fn policy_stops_the_node(cluster: &mut Cluster, i: usize, policy: &str) -> String {
    let files = install_policy(cluster, i, policy);
    cluster.kill(i);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_e2e-testnet"))
        .args(["node", "--config"])
        .arg(&files.config)
        .output()
        .unwrap();
    assert!(!out.status.success(), "node {i} started with the policy {policy:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Gives node `i` a policy and restarts it.
pub async fn set_policy(cluster: &mut Cluster, i: usize, policy: &str) {
    install_policy(cluster, i, policy);
    cluster.restart(i).await.unwrap();
}

/// Writes `policy` as node `i`'s policy file and names it in its configuration (once).
fn install_policy(cluster: &Cluster, i: usize, policy: &str) -> testnet::layout::NodeFiles {
    let files = cluster.generated.nodes[i].clone();
    std::fs::write(files.dir.join("policy.toml"), policy).unwrap();
    let config = std::fs::read_to_string(&files.config).unwrap();
    if !config.starts_with("policy =") {
        std::fs::write(&files.config, format!("policy = \"policy.toml\"\n{config}")).unwrap();
    }
    files
}

/// Every file under `dir`, recursively, relative to it.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Contents of a node's log.
pub fn node_log(cluster: &Cluster, i: usize) -> String {
    std::fs::read_to_string(cluster.generated.nodes[i].dir.join("node.log")).unwrap_or_default()
}

/// The `gender` level of every consenting record of the cluster's sample CSVs, owner after
/// owner (the order of the nodes' shares and of the owners' labels files).
pub fn genders(cluster: &Cluster) -> Vec<usize> {
    let mut genders = Vec::new();
    for n in &cluster.generated.nodes {
        let mut r = csv::Reader::from_path(&n.csv).unwrap();
        let headers = r.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (gender, consent) = (col("gender"), col("consent"));
        for rec in r.records() {
            let rec = rec.unwrap();
            if &rec[consent] == "yes" {
                genders.push(testnet::sample::GENDERS.iter().position(|g| *g == &rec[gender]).unwrap());
            }
        }
    }
    genders
}

/// Sends one mesh request to node `to` as node `from` would, unprompted: over a connection of
/// its own made with `from`'s certificate and key from the cluster's generated directory.
/// Returns the node's answer.
pub async fn ask_as_peer(
    cluster: &Cluster,
    from: usize,
    to: usize,
    request: wire::mesh::MeshRequest,
) -> wire::mesh::MeshResponse {
    let keys = cluster.generated.nodes[from].dir.join("keys");
    let identity = net::Identity::load(&keys.join("cert.pem"), &keys.join("key.pem")).unwrap();
    let target = cluster.client.nodes().iter().find(|n| n.id == cluster.generated.nodes[to].id).unwrap();
    let endpoint = net::client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let options = net::NetOptions::default();
    let conn =
        net::connect(&endpoint, &identity, target.address.parse().unwrap(), target.fingerprint, &options)
            .await
            .unwrap();
    let header = wire::mesh::MeshHeader { version: wire::PROTOCOL_VERSION, request };
    let call = net::call(&conn, &header, wire::MAX_CONTROL_FRAME);
    tokio::time::timeout(std::time::Duration::from_secs(20), call).await.unwrap().unwrap()
}

/// Every file under `dir` with its contents.
pub fn contents_under(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    files_under(dir).into_iter().map(|p| (p.clone(), std::fs::read(dir.join(p)).unwrap())).collect()
}
