//! Ingest over real QUIC: malformed files, schema mismatches, restarts.

mod common;

use std::time::Duration;
use testnet::sample;
use wire::control::{JobSpec, StatsJob};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_csv_names_file_line_and_column_and_stores_nothing() {
    let (dir, cluster) = common::cluster(3, 50, 31).await;
    cluster.ingest(0, sample::DATASET).await.unwrap();
    let before: Vec<_> =
        (1..=3).map(|i| common::files_under(&dir.path().join(format!("node-{i}/data")))).collect();

    // Corrupt line 7 of node-2's file: the income column (3rd) gets a word.
    let csv = &cluster.generated.nodes[1].csv;
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[6].split(',').collect();
    fields[2] = "lots";
    lines[6] = fields.join(",");
    std::fs::write(csv, lines.join("\n") + "\n").unwrap();

    let err = cluster.ingest(1, sample::DATASET).await.unwrap_err().to_string();
    let expected = format!("{}:7:3", csv.display());
    assert!(err.contains(&expected), "expected {expected} in: {err}");
    assert!(err.contains("income"), "{err}");

    let after: Vec<_> =
        (1..=3).map(|i| common::files_under(&dir.path().join(format!("node-{i}/data")))).collect();
    assert_eq!(before, after, "a failed ingest changed the stores");
    let datasets = cluster.client.datasets().await.unwrap();
    assert_eq!(datasets[0].owners.len(), 1, "{datasets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contribution_with_other_columns_is_refused_naming_them() {
    let (_dir, mut cluster) = common::cluster(3, 20, 32).await;
    cluster.ingest(0, sample::DATASET).await.unwrap();
    // node-3 declares `visits` as `visit_count` in its own schema (and CSV header).
    let node = cluster.generated.nodes[2].clone();
    let config = std::fs::read_to_string(&node.config).unwrap().replace("\"visits\"", "\"visit_count\"");
    std::fs::write(&node.config, config).unwrap();
    let csv = std::fs::read_to_string(&node.csv).unwrap().replacen("visits", "visit_count", 1);
    std::fs::write(&node.csv, csv).unwrap();
    cluster.restart(2).await.unwrap();

    let err = cluster.ingest(2, sample::DATASET).await.unwrap_err().to_string();
    assert!(
        err.contains("`visits` is missing") && err.contains("`visit_count` is not in the dataset"),
        "{err}"
    );
    let datasets = cluster.client.datasets().await.unwrap();
    assert_eq!(datasets[0].owners.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_its_shares_and_results() {
    let (_dir, mut cluster) = common::cluster(3, 80, 33).await;
    cluster.ingest_all().await.unwrap();
    let spec = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "monthly_spend".into()],
        epsilon: None,
    });
    let first = cluster.client.submit(spec.clone()).await.unwrap();
    cluster.client.wait(first, Duration::from_secs(60)).await.unwrap();
    let before = cluster.client.stats_result(first).await.unwrap();

    cluster.kill(1);
    cluster.restart(1).await.unwrap();

    let datasets = cluster.client.datasets().await.unwrap();
    assert_eq!(datasets[0].nodes.len(), 3);
    let again = cluster.client.stats_result(first).await.unwrap();
    assert_eq!(again.features[0].1, before.features[0].1, "a finished result was lost");
    let second = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(second, Duration::from_secs(60)).await.unwrap();
    let after = cluster.client.stats_result(second).await.unwrap();
    // Sums and means are exact; variances use randomised rounding, so they agree within the
    // documented tolerance.
    for (((_, a), (_, b)), (_, _, max)) in
        before.features.iter().zip(&after.features).zip([sample::FEATURES[0], sample::FEATURES[3]])
    {
        assert_eq!((a.count, a.sum, a.mean), (b.count, b.sum, b.mean));
        let tol = protocol::stats::variance_tolerance(a.count, max);
        assert!((a.variance.unwrap() - b.variance.unwrap()).abs() <= 2.0 * tol);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_with_a_node_down_fails_with_its_name_and_reingest_replaces() {
    let (_dir, mut cluster) = common::cluster(3, 40, 34).await;
    cluster.ingest_all().await.unwrap();
    // Re-ingesting with --replace replaces the owner's contribution instead of adding to it.
    let rows = cluster.client.datasets().await.unwrap()[0].rows;
    cluster.replace(0, sample::DATASET).await.unwrap();
    assert_eq!(cluster.client.datasets().await.unwrap()[0].rows, rows);

    cluster.kill(2);
    let spec = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into()],
        epsilon: None,
    });
    let err = cluster.client.submit(spec).await.unwrap_err().to_string();
    assert!(err.contains("node-3"), "{err}");
    // Ingest while a node is down fails and stores nothing anywhere.
    let err = cluster.replace(0, sample::DATASET).await.unwrap_err().to_string();
    assert!(err.contains("node-3") && err.contains("nothing was stored"), "{err}");
}
