//! The `stats` job over real node processes on QUIC, against the plaintext of the CSVs.

mod common;

use std::path::Path;
use std::time::Duration;
use testnet::{plain, sample};
use wire::control::{JobSpec, StatsJob};

async fn stats_matches_plaintext(nodes: usize, records: usize, seed: u64) {
    let (_dir, cluster) = common::cluster(nodes, records, seed).await;
    let reports = cluster.ingest_all().await.unwrap();
    assert_eq!(reports.len(), nodes);

    let datasets = cluster.client.datasets().await.unwrap();
    assert_eq!(datasets.len(), 1);
    assert_eq!(datasets[0].nodes.len(), nodes, "every node holds shares");
    assert_eq!(datasets[0].owners.len(), nodes, "every node contributed");
    assert_eq!(datasets[0].rows, reports.iter().map(|r| r.rows).sum::<u64>());

    let features: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let spec = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: features.iter().map(|s| s.to_string()).collect(),
        epsilon: None,
    });
    let job = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let result = cluster.client.stats_result(job).await.unwrap();

    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let reference = plain::stats(&csvs, &sample::schema(), &features).unwrap();
    let bound = 1.0 / 131_072.0; // 2^-17: one rounding of each input
    for (((name, got), p), (_, _, max)) in result.features.iter().zip(&reference).zip(sample::FEATURES) {
        assert_eq!(got.count, p.count, "{name}: count");
        let (mean, got_mean) = (p.mean.unwrap(), got.mean.unwrap());
        assert!((got_mean - mean).abs() <= bound, "{name}: mean {got_mean} vs plaintext {mean}");
        assert!(
            (got.sum - p.sum).abs() <= bound * p.count as f64,
            "{name}: sum {} vs plaintext {}",
            got.sum,
            p.sum
        );
        let tol = protocol::stats::variance_tolerance(p.count, max);
        let (var, got_var) = (p.variance.unwrap(), got.variance.unwrap());
        assert!(
            (got_var - var).abs() <= tol,
            "{name}: variance {got_var} vs plaintext {var} (tolerance {tol})"
        );
        assert!((got.std_dev.unwrap() - var.sqrt()).abs() <= tol.sqrt(), "{name}: std dev");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_compute_the_plaintext_statistics() {
    stats_matches_plaintext(3, 400, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_compute_the_plaintext_statistics() {
    stats_matches_plaintext(5, 150, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_record_owners_and_a_job_on_one_feature() {
    let (_dir, cluster) = common::cluster(3, 1, 13).await;
    cluster.ingest_all().await.unwrap();
    let job = cluster
        .client
        .submit(JobSpec::Stats(StatsJob {
            dataset: sample::DATASET.into(),
            features: vec!["income".into()],
            epsilon: None,
        }))
        .await
        .unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let result = cluster.client.stats_result(job).await.unwrap();
    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let reference = plain::stats(&csvs, &sample::schema(), &["income"]).unwrap();
    assert_eq!(result.features[0].1.count, reference[0].count);
    assert!((result.features[0].1.sum - reference[0].sum).abs() < 1e-4);
    let tol = protocol::stats::variance_tolerance(reference[0].count, 1_000_000.0);
    assert!((result.features[0].1.variance.unwrap() - reference[0].variance.unwrap()).abs() <= tol);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_are_refused_by_every_node_with_a_reason() {
    let (_dir, cluster) = common::cluster(3, 20, 14).await;
    cluster.ingest_all().await.unwrap();
    let cases = [
        (
            JobSpec::Stats(StatsJob { dataset: "nope".into(), features: vec!["age".into()], epsilon: None }),
            "dataset `nope` does not exist",
        ),
        (
            JobSpec::Stats(StatsJob {
                dataset: sample::DATASET.into(),
                features: vec!["gender".into()],
                epsilon: None,
            }),
            "not a numeric feature",
        ),
        (
            JobSpec::Stats(StatsJob { dataset: sample::DATASET.into(), features: vec![], epsilon: None }),
            "no feature",
        ),
    ];
    for (spec, reason) in cases {
        let err = cluster.client.submit(spec).await.unwrap_err().to_string();
        assert!(err.contains(reason), "{err}");
        for node in &cluster.generated.nodes {
            assert!(err.contains(&node.id), "refusal of {} missing from: {err}", node.id);
        }
    }
}
