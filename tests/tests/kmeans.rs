//! The `kmeans` job over real QUIC, against its plaintext mode on the same CSV files.

mod common;

use protocol::kmeans::{Params, plain_job};
use std::path::Path;
use std::time::Duration;
use testnet::{plain, sample};
use wire::control::JobSpec;

async fn kmeans_matches_plaintext(nodes: usize, records: usize, k: u32) {
    let (_dir, cluster) = common::cluster(nodes, records, 51).await;
    cluster.ingest_all().await.unwrap();
    let features: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let spec = JobSpec::Kmeans {
        dataset: sample::DATASET.into(),
        features: features.iter().map(|f| f.to_string()).collect(),
        k,
        iterations: 6,
        seed: 9,
        restarts: 3,
    };
    let job = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    let secure = cluster.client.kmeans_result(job).await.unwrap().segments;

    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let rows = plain::rows(&csvs, &sample::schema(), &features).unwrap();
    let plain = plain_job(&rows, Params { k: k as usize, iterations: 6, seed: 9, restarts: 3 });
    assert_eq!(secure.sizes, plain.sizes, "segment sizes");
    for (a, b) in secure.centroids_std.iter().zip(&plain.centroids_std) {
        assert!((a - b).abs() < 2e-3, "standardised centroid {a} vs {b}");
    }
    for (j, (a, b)) in secure.centroids.iter().zip(&plain.centroids).enumerate() {
        let std = plain.stds[j % plain.d];
        assert!((a - b).abs() < 2e-3 * std.max(1.0), "centroid {a} vs {b}");
    }
    assert!((secure.wcss - plain.wcss).abs() <= 1e-3 * plain.wcss, "wcss {} vs {}", secure.wcss, plain.wcss);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_segment_like_the_plaintext_mode() {
    kmeans_matches_plaintext(3, 150, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_segment_like_the_plaintext_mode() {
    kmeans_matches_plaintext(5, 40, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kmeans_parameters_fail_before_any_computation() {
    let (_dir, cluster) = common::cluster(3, 5, 52).await;
    cluster.ingest_all().await.unwrap();
    let submit = |k: u32, iterations: u32, features: Vec<&str>| {
        cluster.client.submit(JobSpec::Kmeans {
            dataset: sample::DATASET.into(),
            features: features.into_iter().map(String::from).collect(),
            k,
            iterations,
            seed: 1,
            restarts: 2,
        })
    };
    let err = submit(50, 5, vec!["age"]).await.unwrap_err().to_string();
    assert!(err.contains("larger than the"), "{err}");
    let err = submit(100, 5, vec!["age"]).await.unwrap_err().to_string();
    assert!(err.contains("between 1 and 64"), "{err}");
    let err = submit(2, 5, vec!["shoe_size"]).await.unwrap_err().to_string();
    assert!(err.contains("not a numeric feature"), "{err}");
    let err = submit(2, 5, vec!["gender"]).await.unwrap_err().to_string();
    assert!(err.contains("not a numeric feature"), "{err}");
    let err = submit(2, 0, vec!["age"]).await.unwrap_err().to_string();
    assert!(err.contains("iterations"), "{err}");
    let err = cluster
        .client
        .submit(JobSpec::Kmeans {
            dataset: sample::DATASET.into(),
            features: vec!["age".into()],
            k: 2,
            iterations: 3,
            seed: 1,
            restarts: 0,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("restarts"), "{err}");
}
