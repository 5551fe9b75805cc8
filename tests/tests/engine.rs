//! The honest-majority engine between real node processes over QUIC: random sharings,
//! products, matrix products, comparisons and argmins, with sampled results checked against
//! plaintext.

mod common;

use std::time::Duration;
use wire::control::{BenchJob, JobSpec, StatsJob};

async fn bench_checks(nodes: usize, op: &str, size: u64) {
    let (_dir, cluster) = common::cluster(nodes, 1, 41).await;
    let job = cluster.client.submit(JobSpec::Bench(BenchJob { op: op.into(), size })).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    // `bench_result` opens the samples and fails unless they match plaintext arithmetic.
    let result = cluster.client.bench_result(job).await.unwrap();
    assert_eq!(result.nodes.len(), nodes);
    let t = (nodes - 1) / 2;
    if op == "mul" || op == "matmul" {
        for n in &result.nodes {
            // Agreement (32 B to each peer), seeds (a 32 B public key to each peer, plus seeds
            // drawn for sets of more than two holders), one reshare round.
            assert_eq!(n.rounds, 3, "{n:?}");
        }
        let outputs = if op == "mul" { size } else { size * 8 };
        let reshare = outputs * 8 * (nodes - t - 1) as u64;
        assert!(
            result.nodes.iter().all(|n| n.bytes_sent >= reshare && n.bytes_sent < reshare + 4096),
            "{result:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_between_three_nodes_match_plaintext() {
    bench_checks(3, "mul", 100_000).await;
    bench_checks(3, "matmul", 1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_between_five_nodes_match_plaintext() {
    bench_checks(5, "mul", 10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparisons_and_argmins_match_plaintext_for_three_and_five_nodes() {
    bench_checks(3, "compare", 5_000).await;
    bench_checks(3, "argmin", 1_000).await;
    bench_checks(5, "compare", 1_000).await;
    bench_checks(5, "argmin", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_benchmark_is_refused() {
    let (_dir, cluster) = common::cluster(3, 1, 42).await;
    let err = cluster
        .client
        .submit(JobSpec::Bench(BenchJob { op: "sort".into(), size: 10 }))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown benchmark"), "{err}");
    let err = cluster
        .client
        .submit(JobSpec::Bench(BenchJob { op: "mul".into(), size: 0 }))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("size from 1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jobs_run_at_once_on_the_same_mesh() {
    let (_dir, cluster) = common::cluster(3, 30, 43).await;
    cluster.ingest_all().await.unwrap();
    // Submitted back to back: both run concurrently over separate streams of the same
    // connections.
    let first =
        cluster.client.submit(JobSpec::Bench(BenchJob { op: "compare".into(), size: 20_000 })).await.unwrap();
    let second =
        cluster.client.submit(JobSpec::Bench(BenchJob { op: "mul".into(), size: 200_000 })).await.unwrap();
    let third = cluster
        .client
        .submit(JobSpec::Stats(StatsJob {
            dataset: testnet::sample::DATASET.into(),
            features: vec!["age".into()],
            epsilon: None,
        }))
        .await
        .unwrap();
    for job in [first, second, third] {
        cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    }
    cluster.client.bench_result(first).await.unwrap();
    cluster.client.bench_result(second).await.unwrap();
    assert!(cluster.client.stats_result(third).await.unwrap().features[0].1.mean.is_some());
}
