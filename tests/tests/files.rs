//! The files a node and the testnet write are their user's alone, whatever the umask: data
//! directories 0700, shares, metadata, job records, segments, labels, audit log 0600; a key
//! that others may read stops a node (and the orchestrator) with the command that fixes it; a
//! data directory opened up by hand is closed again at start.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testnet::Cluster;
use testnet::launch::NodeCommand;
use testnet::layout::Plan;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `dir` and every directory and file under it.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        out.push(path);
    }
    out
}

/// Node processes started under `umask 000`, so that only the node's own choice of modes
/// stands between its files and other users.
fn under_open_umask() -> NodeCommand {
    let node = common::node_command();
    let mut args =
        vec!["-c".into(), "umask 000; exec \"$0\" \"$@\"".into(), node.program.display().to_string()];
    args.extend(node.args);
    NodeCommand { program: "sh".into(), args }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_nodes_write_under_an_open_umask_is_their_users_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let plan =
        Plan { nodes: 3, records: 60, seed: 91, data: None, security: protocol::engine::Security::Passive };
    let cluster = Cluster::up(tmp.path(), &plan, under_open_umask()).await.unwrap();
    for node in &cluster.generated.nodes {
        let pid = std::fs::read_to_string(node.dir.join("node.pid")).unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
        assert!(status.lines().any(|l| l == "Umask:\t0000"), "{} does not run under umask 000", node.id);
    }
    cluster.ingest_all().await.unwrap();
    let job = cluster.client.submit(common::kmeans_with_labels(&["age", "visits"])).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    cluster.client.kmeans_result(job).await.unwrap();

    for node in &cluster.generated.nodes {
        let data = node.dir.join("data");
        let all = tree(&data);
        for name in [
            "audit.log".to_string(),
            "datasets/customers/dataset.json".into(),
            format!("jobs/{job}.json"),
            format!("jobs/{job}.segments"),
            format!("labels/{job}.csv"),
        ] {
            assert!(all.contains(&data.join(&name)), "{}: {name} was not written", node.id);
        }
        assert_eq!(all.iter().filter(|p| p.extension().is_some_and(|e| e == "shares")).count(), 3);
        for path in all {
            let want = if path.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&path), want, "{} has mode {:04o}", path.display(), mode(&path));
        }
        // What testnet wrote for the node.
        for (path, want) in [
            (node.dir.clone(), 0o700),
            (node.dir.join("keys"), 0o700),
            (node.dir.join("keys/key.pem"), 0o600),
            (node.csv.clone(), 0o600),
            (node.dir.join("node.log"), 0o600),
        ] {
            assert_eq!(mode(&path), want, "{} has mode {:04o}", path.display(), mode(&path));
        }
    }
    let operator = cluster.generated.dir.join("operator");
    assert_eq!((mode(&operator), mode(&operator.join("key.pem"))), (0o700, 0o600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_others_can_read_is_refused_and_an_opened_data_directory_is_closed_again() {
    let (_dir, mut cluster) = common::cluster(3, 30, 93).await;
    cluster.ingest_all().await.unwrap();
    let node = cluster.generated.nodes[0].clone();
    let key = node.dir.join("keys/key.pem");

    // A node whose key its group may read does not start, and says how to fix it.
    set_mode(&key, 0o640);
    let err = cluster.restart(0).await.unwrap_err().to_string();
    let fix = format!("restrict it with `chmod 600 {}`", key.display());
    assert!(err.contains("(mode 0640)") && err.contains(&fix), "{err}");

    // The operator's key: the orchestrator refuses it the same way, and contacts no node.
    let operator_key = cluster.generated.dir.join("operator/key.pem");
    set_mode(&operator_key, 0o644);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_e2e-orchestrator"))
        .args(["--cluster", cluster.generated.cluster_file.to_str().unwrap(), "datasets"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the orchestrator used a key others can read");
    assert!(
        stderr.contains("(mode 0644)")
            && stderr.contains(&format!("restrict it with `chmod 600 {}`", operator_key.display())),
        "{stderr}"
    );
    set_mode(&operator_key, 0o600);

    // Someone opened the data directory up; the node closes it again at start, and says so.
    set_mode(&key, 0o600);
    let data = node.dir.join("data");
    set_mode(&data, 0o755);
    let dataset = data.join("datasets/customers");
    let shares = tree(&dataset).into_iter().find(|p| p.extension().is_some_and(|e| e == "shares")).unwrap();
    set_mode(&shares, 0o644);
    set_mode(&dataset, 0o777);
    set_mode(&data.join("datasets/customers/dataset.json"), 0o666);
    cluster.restart(0).await.unwrap();
    for path in tree(&data) {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{} has mode {:04o}", path.display(), mode(&path));
    }
    assert!(
        common::node_log(&cluster, 0)
            .contains("took group and other access away from files in the data directory"),
        "the node did not say it restricted its data directory"
    );
    let datasets = cluster.client.datasets().await.unwrap();
    assert_eq!(datasets[0].owners.len(), 3, "the data survived");
}
