//! Shared helpers: start a cluster of real node processes over QUIC on loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use testnet::Cluster;
use testnet::launch::NodeCommand;
use testnet::layout::Plan;

/// The node command of the build under test.
pub fn node_command() -> NodeCommand {
    NodeCommand { program: PathBuf::from(env!("CARGO_BIN_EXE_e2e-testnet")), args: vec!["node".into()] }
}

/// A started cluster in a fresh temporary directory (kept alive by the returned guard).
pub async fn cluster(nodes: usize, records: usize, seed: u64) -> (tempfile::TempDir, Cluster) {
    let dir = tempfile::tempdir().unwrap();
    let cluster =
        Cluster::up(dir.path(), &Plan { nodes, records, seed, data: None }, node_command()).await.unwrap();
    (dir, cluster)
}

/// Gives node `i` a policy and restarts it.
pub async fn set_policy(cluster: &mut Cluster, i: usize, policy: &str) {
    let files = cluster.generated.nodes[i].clone();
    std::fs::write(files.dir.join("policy.toml"), policy).unwrap();
    let config = std::fs::read_to_string(&files.config).unwrap();
    if !config.starts_with("policy =") {
        std::fs::write(&files.config, format!("policy = \"policy.toml\"\n{config}")).unwrap();
    }
    cluster.restart(i).await.unwrap();
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
