//! An ingest never loses data by accident, over real QUIC with three node processes: a file
//! that would share no record, or names a column twice, is refused; a re-ingest replaces the
//! owner's records only with `--replace`, and `--restore` puts the replaced records back until
//! a job uses the new ones or their keep time passes. The owner drives `mpc-node ingest` as
//! typed on the command line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testnet::{Cluster, plain, sample};
use wire::audit::Event;
use wire::control::{JobSpec, StatsJob};

const TESTNET: &str = env!("CARGO_BIN_EXE_e2e-testnet");

/// What the owner of node `i` sees when it runs `mpc-node ingest --config F --dataset
/// customers` followed by `extra`: whether it succeeded, stdout and stderr.
fn owner_runs(cluster: &Cluster, i: usize, extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(TESTNET)
        .args(["node", "ingest", "--config"])
        .arg(&cluster.generated.nodes[i].config)
        .args(["--dataset", sample::DATASET])
        .args(extra)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Every file of every node's data directory, with its content.
fn stores(cluster: &Cluster) -> Vec<Vec<(PathBuf, Vec<u8>)>> {
    cluster
        .generated
        .nodes
        .iter()
        .map(|n| {
            let data = n.dir.join("data");
            common::files_under(&data)
                .into_iter()
                .map(|f| (f.clone(), std::fs::read(data.join(f)).unwrap()))
                .collect()
        })
        .collect()
}

/// Keeps the header and the first `records` records of a CSV.
fn keep_first(csv: &Path, records: usize) {
    let text = std::fs::read_to_string(csv).unwrap();
    let kept: Vec<&str> = text.lines().take(records + 1).collect();
    std::fs::write(csv, kept.join("\n") + "\n").unwrap();
}

/// The 1-based position of `column` in the header of `csv`.
fn column(csv: &Path, column: &str) -> usize {
    let text = std::fs::read_to_string(csv).unwrap();
    text.lines().next().unwrap().split(',').position(|c| c == column).unwrap() + 1
}

/// Records of `owner` in the dataset, as every node lists it.
async fn rows_of(cluster: &Cluster, owner: &str) -> u64 {
    let datasets = cluster.client.datasets().await.unwrap();
    datasets[0].owners.iter().find(|(o, _)| o == owner).map_or(0, |(_, rows)| *rows)
}

/// Each node's audit events about the data (replacements and restores).
async fn data_events(cluster: &Cluster) -> Vec<Vec<Event>> {
    let mut out = Vec::new();
    for log in cluster.client.audit_logs().await {
        let entries = wire::audit::verify(&log.unwrap()).unwrap();
        out.push(
            entries
                .into_iter()
                .map(|e| e.event)
                .filter(|e| matches!(e, Event::Replaced { .. } | Event::Restored { .. }))
                .collect(),
        );
    }
    out
}

/// Runs a stats job on age and income; returns (count, sum) of each.
async fn age_and_income(cluster: &Cluster) -> (wire::control::JobId, Vec<(u64, f64)>) {
    let spec = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "income".into()],
        epsilon: None,
    });
    let job = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let result = cluster.client.stats_result(job).await.unwrap();
    (job, result.features.iter().map(|(_, s)| (s.count, s.sum)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_that_would_share_no_record_is_refused_and_no_node_changes() {
    let (_dir, cluster) = common::cluster(3, 30, 201).await;
    cluster.ingest_all().await.unwrap();
    let before = stores(&cluster);
    let csv = cluster.generated.nodes[0].csv.clone();
    let original = std::fs::read_to_string(&csv).unwrap();

    // The header row only: refused, even when a replacement is asked for.
    keep_first(&csv, 0);
    for extra in [&[][..], &["--replace"]] {
        let (ok, _, stderr) = owner_runs(&cluster, 0, extra);
        assert!(!ok);
        let expected = format!(
            "{}:2:1: the file has a header row but no records; nothing was shared, and what this node \
             shared before is unchanged",
            csv.display()
        );
        assert!(stderr.contains(&expected), "{extra:?}: expected {expected} in: {stderr}");
    }
    // Every record says no in its consent column: refused at the first of them.
    let no_consent: Vec<String> = original
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.to_string() } else { l.replace(",yes", ",no") })
        .collect();
    std::fs::write(&csv, no_consent.join("\n") + "\n").unwrap();
    let (ok, _, stderr) = owner_runs(&cluster, 0, &["--replace"]);
    assert!(!ok);
    let expected =
        format!("{}:2:{}: every record (30) says no in `consent`", csv.display(), column(&csv, "consent"));
    assert!(stderr.contains(&expected), "expected {expected} in: {stderr}");

    assert!(stores(&cluster) == before, "a refused ingest changed a node's data directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_naming_a_column_twice_is_refused_at_line_1_and_that_column() {
    let (_dir, cluster) = common::cluster(3, 20, 202).await;
    let csv = cluster.generated.nodes[1].csv.clone();
    let text = std::fs::read_to_string(&csv).unwrap();
    let region = column(&csv, "region");
    std::fs::write(&csv, text.replacen("region", "age", 1)).unwrap();

    let (ok, _, stderr) = owner_runs(&cluster, 1, &[]);
    assert!(!ok);
    let expected = format!(
        "{}:1:{region}: the header names `age` twice (columns 2 and {region}): rename or remove one of them",
        csv.display()
    );
    assert!(stderr.contains(&expected), "expected {expected} in: {stderr}");
    let listings = cluster.client.ask_all(wire::control::RequestBody::ListDatasets).await;
    assert!(
        listings.iter().all(|l| matches!(l, Ok(wire::control::Response::Datasets(d)) if d.is_empty())),
        "{listings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reingest_without_replace_is_refused_with_both_record_counts_and_changes_nothing() {
    let (_dir, cluster) = common::cluster(3, 40, 203).await;
    let old_rows = cluster.ingest_all().await.unwrap()[0].rows;
    let before = stores(&cluster);
    let csv = cluster.generated.nodes[0].csv.clone();
    keep_first(&csv, 12);
    let new_rows = plain::stats(&[&csv], &sample::schema(), &["age"]).unwrap()[0].count;

    let (ok, stdout, stderr) = owner_runs(&cluster, 0, &[]);
    assert!(!ok && stdout.is_empty(), "{stdout}");
    for expected in [
        format!("dataset `customers` already holds {old_rows} records of this node"),
        format!("this file would replace them with {new_rows} records. Nothing was sent to any node"),
        format!(
            "to replace them, run: mpc-node ingest --config {} --dataset customers --replace",
            cluster.generated.nodes[0].config.display()
        ),
    ] {
        assert!(stderr.contains(&expected), "expected {expected} in: {stderr}");
    }
    assert!(stores(&cluster) == before, "a refused ingest changed a node's data directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_is_audited_everywhere_and_a_restore_brings_the_old_records_back() {
    let (dir, cluster) = common::cluster(3, 40, 204).await;
    let first = cluster.ingest_all().await.unwrap().remove(0);
    let files: Vec<PathBuf> = cluster.generated.nodes.iter().map(|n| n.csv.clone()).collect();
    let old_copy = dir.path().join("node-1-before.csv");
    std::fs::copy(&files[0], &old_copy).unwrap();
    let old_files: Vec<&Path> = vec![&old_copy, &files[1], &files[2]];
    let old = plain::stats(&old_files, &sample::schema(), &["age", "income"]).unwrap();
    keep_first(&files[0], 9);
    let new_rows = plain::stats(&[&files[0]], &sample::schema(), &["age"]).unwrap()[0].count;

    let (ok, stdout, stderr) = owner_runs(&cluster, 0, &["--replace"]);
    assert!(ok, "{stderr}");
    let expected = format!(
        "shared {new_rows} records with 3 nodes (contribution {{}}), replacing its {} records \
         (contribution {})",
        first.rows, first.contribution
    );
    let (start, end) = expected.split_once("{}").unwrap();
    assert!(stdout.contains(start) && stdout.contains(end), "expected {expected} in: {stdout}");
    assert!(stdout.contains("restorable with --restore until"), "{stdout}");
    assert_eq!(rows_of(&cluster, "node-1").await, new_rows);
    for (i, events) in data_events(&cluster).await.into_iter().enumerate() {
        assert!(
            matches!(
                events.as_slice(),
                [Event::Replaced { owner, replaced, replaced_rows, rows, .. }]
                    if owner == "node-1" && *replaced == first.contribution
                        && *replaced_rows == first.rows && *rows == new_rows
            ),
            "node {i}: {events:?}"
        );
    }

    let (ok, stdout, stderr) = owner_runs(&cluster, 0, &["--restore"]);
    assert!(ok, "{stderr}");
    let expected = format!(
        "dataset customers: restored {} records (contribution {}) on 3 nodes; dropped the {new_rows} records",
        first.rows, first.contribution
    );
    assert!(stdout.contains(&expected), "expected {expected} in: {stdout}");
    let datasets = cluster.client.datasets().await.unwrap();
    assert_eq!(datasets[0].nodes.len(), 3, "every node holds the same version");
    assert_eq!(rows_of(&cluster, "node-1").await, first.rows);
    let (_, got) = age_and_income(&cluster).await;
    for ((count, sum), reference) in got.iter().zip(&old) {
        assert_eq!(*count, reference.count);
        assert!((sum - reference.sum).abs() < 1e-3, "sum {sum} vs {}", reference.sum);
    }
    for (i, events) in data_events(&cluster).await.into_iter().enumerate() {
        assert!(
            matches!(
                events.as_slice(),
                [Event::Replaced { .. }, Event::Restored { owner, restored, restored_rows, dropped_rows, .. }]
                    if owner == "node-1" && *restored == first.contribution
                        && *restored_rows == first.rows && *dropped_rows == new_rows
            ),
            "node {i}: {events:?}"
        );
    }
    // Restored once: there is nothing left to restore.
    let (ok, _, stderr) = owner_runs(&cluster, 0, &["--restore"]);
    assert!(!ok && stderr.contains("keeps no contribution that the current one"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_is_refused_once_a_job_has_read_the_new_records() {
    let (_dir, cluster) = common::cluster(3, 40, 205).await;
    cluster.ingest_all().await.unwrap();
    keep_first(&cluster.generated.nodes[0].csv, 9);
    let (ok, _, stderr) = owner_runs(&cluster, 0, &["--replace"]);
    assert!(ok, "{stderr}");
    let new_rows = rows_of(&cluster, "node-1").await;
    let (job, _) = age_and_income(&cluster).await;
    let before = stores(&cluster);

    let (ok, _, stderr) = owner_runs(&cluster, 0, &["--restore"]);
    assert!(!ok);
    for expected in [
        "the previous contribution of node node-1 to dataset `customers` cannot be restored".to_string(),
        format!("job {job} read the current contribution"),
        format!("{new_rows} records"),
        "nothing was changed on any node".to_string(),
    ] {
        assert!(stderr.contains(&expected), "expected {expected} in: {stderr}");
    }
    assert!(stores(&cluster) == before, "a refused restore changed a node's data directory");
    // The replaced shares are gone from every node; only the record of why remains.
    for n in &cluster.generated.nodes {
        let kept = common::files_under(&n.dir.join("data/datasets/customers/replaced"));
        assert!(kept.iter().all(|f| f.extension().is_some_and(|e| e == "json")), "{kept:?}");
        assert_eq!(kept.len(), 1, "{kept:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_is_refused_once_the_keep_time_has_passed() {
    let (_dir, mut cluster) = common::cluster(3, 30, 206).await;
    // Every node keeps replaced records for about 1.7 s.
    for n in &cluster.generated.nodes {
        let config = std::fs::read_to_string(&n.config)
            .unwrap()
            .replace("keep_replaced_days = 7.0", "keep_replaced_days = 0.00002");
        assert!(config.contains("0.00002"), "{config}");
        std::fs::write(&n.config, config).unwrap();
    }
    cluster.restart_all().await.unwrap();
    cluster.ingest_all().await.unwrap();
    keep_first(&cluster.generated.nodes[0].csv, 9);
    let (ok, stdout, stderr) = owner_runs(&cluster, 0, &["--replace"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("restorable with --restore until"), "{stdout}");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let (ok, _, stderr) = owner_runs(&cluster, 0, &["--restore"]);
    assert!(!ok);
    assert!(
        stderr.contains("it was kept for restores until") && stderr.contains("which has passed"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed on any node"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_nodes_refuse_a_replacement_not_marked_as_one() {
    let (_dir, mut cluster) = common::cluster(3, 30, 207).await;
    let first = cluster.ingest_all().await.unwrap().remove(0);
    // node-1 loses its own copy of the dataset's metadata and shares: it no longer knows
    // that it contributed, but the others do.
    cluster.kill(0);
    std::fs::remove_dir_all(cluster.generated.nodes[0].dir.join("data/datasets/customers")).unwrap();
    cluster.restart(0).await.unwrap();
    let peers_before: Vec<_> = stores(&cluster).split_off(1);

    let (ok, _, stderr) = owner_runs(&cluster, 0, &[]);
    assert!(!ok);
    for expected in [
        "ingest aborted, nothing was stored".to_string(),
        format!(
            "node-2: dataset `customers` holds contribution {} ({} records) of node node-1; a contribution \
             that replaces it must be marked as a replacement (mpc-node ingest --replace)",
            first.contribution, first.rows
        ),
    ] {
        assert!(stderr.contains(&expected), "expected {expected} in: {stderr}");
    }
    assert!(stores(&cluster).split_off(1) == peers_before, "a refused ingest changed another node");

    // Marked as a replacement, it replaces node-1's records on the others.
    let (ok, stdout, stderr) = owner_runs(&cluster, 0, &["--replace"]);
    assert!(ok, "{stderr}");
    for i in 1..3 {
        let Ok(wire::control::Response::Datasets(list)) =
            cluster.client.ask(i, wire::control::RequestBody::ListDatasets).await
        else {
            panic!("node {i} did not list its datasets");
        };
        let mine: Vec<_> = list[0].contributions.iter().filter(|c| c.owner == "node-1").collect();
        assert!(
            mine.len() == 1 && stdout.contains(&mine[0].id) && mine[0].id != first.contribution,
            "{mine:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cannot_restore_another_owners_records() {
    let (_dir, cluster) = common::cluster(3, 30, 208).await;
    let first = cluster.ingest_all().await.unwrap().remove(0);
    keep_first(&cluster.generated.nodes[0].csv, 9);
    let replaced = cluster.replace(0, sample::DATASET).await.unwrap();
    let before = stores(&cluster);

    // node-2 asks node-3, over the mesh, to put node-1's replaced records back.
    let keys = cluster.generated.nodes[1].dir.join("keys");
    let node2 = net::Identity::load(&keys.join("cert.pem"), &keys.join("key.pem")).unwrap();
    let target = &cluster.client.nodes()[2];
    let endpoint = net::client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let conn = net::connect(
        &endpoint,
        &node2,
        target.address.parse().unwrap(),
        target.fingerprint,
        &net::NetOptions::default(),
    )
    .await
    .unwrap();
    let request = wire::mesh::MeshHeader {
        version: wire::PROTOCOL_VERSION,
        request: wire::mesh::MeshRequest::Restore {
            dataset: sample::DATASET.into(),
            restored: first.contribution.clone(),
            dropped: replaced.contribution.clone(),
            apply: true,
        },
    };
    let answer: wire::mesh::MeshResponse = net::call(&conn, &request, wire::MAX_CONTROL_FRAME).await.unwrap();
    match answer {
        wire::mesh::MeshResponse::Error { message } => assert!(
            message.starts_with(
                "the previous contribution of node node-2 to dataset `customers` cannot be restored: this \
                 node keeps no contribution that the current one"
            ),
            "{message}"
        ),
        other => panic!("node-3 honoured another owner's restore: {other:?}"),
    }
    assert!(stores(&cluster) == before, "a refused restore changed a node's data directory");
    // node-1's own restore still works.
    let restored = cluster.restore(0, sample::DATASET).await.unwrap();
    assert_eq!((restored.restored, restored.restored_rows), (first.contribution, first.rows));
}
