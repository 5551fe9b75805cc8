//! The `kmeans` and `fairness` jobs over real QUIC, against their plaintext counterparts on
//! the same CSV files.

mod common;

use protocol::kmeans::{Params, plain_job};
use std::path::Path;
use std::time::Duration;
use testnet::{plain, sample};
use wire::control::{FairnessJob, JobSpec, KmeansInit, KmeansJob};

/// The sample features' declared ranges, as the nodes' schema declares them.
fn bounds() -> Vec<(f64, f64)> {
    sample::FEATURES.iter().map(|f| (f.1, f.2)).collect()
}

fn spec(k: u32, iterations: u32, seed: u64, restarts: u32, init: KmeansInit, labels: bool) -> JobSpec {
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: sample::FEATURES.iter().map(|f| f.0.to_string()).collect(),
        k,
        iterations,
        seed,
        restarts,
        init,
        labels,
        min_segment: 0,
        epsilon: None,
    })
}

fn params(k: u32, iterations: u32, seed: u64, restarts: u32, init: KmeansInit) -> Params {
    orchestrator::plain::params(k, iterations, seed, restarts, init, 0)
}

/// Each owner node's labels file of `job`, node after node.
fn owner_labels(dir: &Path, nodes: usize, job: wire::control::JobId) -> Vec<usize> {
    let mut labels = Vec::new();
    for i in 1..=nodes {
        let path = dir.join(format!("node-{i}/data/labels/{job}.csv"));
        let mut r = csv::Reader::from_path(&path).unwrap();
        labels.extend(r.records().map(|rec| rec.unwrap()[1].parse::<usize>().unwrap()));
    }
    labels
}

async fn kmeans_matches_plaintext(nodes: usize, records: usize, k: u32, init: KmeansInit) {
    let (dir, cluster) = common::cluster(nodes, records, 51).await;
    cluster.ingest_all().await.unwrap();
    let features: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let job = cluster.client.submit(spec(k, 6, 9, 3, init, true)).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    let secure = cluster.client.kmeans_result(job).await.unwrap().segments;

    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let rows = plain::rows(&csvs, &sample::schema(), &features).unwrap();
    let (plain, plain_labels) = plain_job(&rows, &bounds(), params(k, 6, 9, 3, init)).unwrap();
    // Every record lands in the same segment (segments named by their rank in the result:
    // restarts that reach the same optimum number it differently).
    let labels = owner_labels(dir.path(), nodes, job);
    assert_eq!(secure.ranks(&labels), plain.ranks(&plain_labels), "labels");
    assert_eq!(secure.sizes, plain.sizes, "segment sizes");
    for (a, b) in secure.centroids_std.iter().zip(&plain.centroids_std) {
        assert!((a - b).abs() < 1e-3, "standardised centroid {a} vs {b}");
    }
    for (j, (a, b)) in secure.centroids.iter().zip(&plain.centroids).enumerate() {
        let std = plain.scales[j % plain.d];
        assert!((a - b).abs() < 1e-3 * std.max(1.0), "centroid {a} vs {b}");
    }
    let (a, b) = (secure.wcss.unwrap(), plain.wcss.unwrap());
    assert!((a - b).abs() <= 1e-3 * b, "wcss {a} vs {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_segment_like_the_plaintext_mode() {
    kmeans_matches_plaintext(3, 150, 4, KmeansInit::PlusPlus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_with_random_starts_segment_like_the_plaintext_mode() {
    kmeans_matches_plaintext(3, 60, 5, KmeansInit::Random).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_segment_like_the_plaintext_mode() {
    kmeans_matches_plaintext(5, 40, 4, KmeansInit::PlusPlus).await;
}

/// On the sample data's four planted customer types, k-means++ with k = 4 puts each type in
/// a segment of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planted_segments_are_found() {
    let (dir, cluster) = common::cluster(3, 100, 56).await;
    cluster.ingest_all().await.unwrap();
    let job = cluster.client.submit(spec(4, 10, 1, 5, KmeansInit::PlusPlus, true)).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    let labels = owner_labels(dir.path(), 3, job);
    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let features: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let rows = plain::rows(&csvs, &sample::schema(), &features).unwrap();
    let planted: Vec<usize> = rows.iter().map(|r| sample::planted_segment(r)).collect();
    assert_eq!(planted.len(), labels.len());
    // Each segment is mostly one planted type, and each type has a segment of its own.
    let mut counts = [[0usize; 4]; 4];
    for (&p, &l) in planted.iter().zip(&labels) {
        counts[l][p] += 1;
    }
    let majority: Vec<usize> = counts.iter().map(|c| (0..4).max_by_key(|&t| c[t]).unwrap()).collect();
    let mut types = majority.clone();
    types.sort();
    assert_eq!(types, vec![0, 1, 2, 3], "{counts:?}");
    let agree: usize = counts.iter().zip(&majority).map(|(c, &t)| c[t]).sum();
    assert!(agree as f64 >= 0.95 * labels.len() as f64, "purity {agree}/{}: {counts:?}", labels.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kmeans_parameters_fail_before_any_computation() {
    let (_dir, cluster) = common::cluster(3, 5, 52).await;
    cluster.ingest_all().await.unwrap();
    let submit = |k: u32, iterations: u32, features: Vec<&str>| {
        cluster.client.submit(JobSpec::Kmeans(KmeansJob {
            dataset: sample::DATASET.into(),
            features: features.into_iter().map(String::from).collect(),
            k,
            iterations,
            seed: 1,
            restarts: 2,
            init: KmeansInit::PlusPlus,
            labels: false,
            min_segment: 0,
            epsilon: None,
        }))
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
        .submit(JobSpec::Kmeans(KmeansJob {
            dataset: sample::DATASET.into(),
            features: vec!["age".into()],
            k: 2,
            iterations: 3,
            seed: 1,
            restarts: 0,
            init: KmeansInit::PlusPlus,
            labels: false,
            min_segment: 0,
            epsilon: None,
        }))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("restarts"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fairness_table_equals_the_plaintext_cross_tabulation() {
    fairness_matches_plaintext(3, 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_fairness_table_equals_the_plaintext_cross_tabulation() {
    fairness_matches_plaintext(5, 40).await;
}

async fn fairness_matches_plaintext(nodes: usize, records: usize) {
    let (_dir, cluster) = common::cluster(nodes, records, 53).await;
    cluster.ingest_all().await.unwrap();
    let features: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let segments = cluster.client.submit(spec(4, 5, 2, 2, KmeansInit::PlusPlus, false)).await.unwrap();
    cluster.client.wait(segments, Duration::from_secs(120)).await.unwrap();
    let client = &cluster.client;
    let fairness = |min_cell| async move {
        let spec =
            JobSpec::Fairness(FairnessJob { segments, protected: "gender".into(), min_cell, epsilon: None });
        let job = client.submit(spec).await.unwrap();
        client.wait(job, Duration::from_secs(120)).await.unwrap();
        client.fairness_result(job).await.unwrap().report
    };
    // Every cell (no minimum), and with a minimum of 3 (whole, or withheld whole).
    let report = fairness(0).await;
    let with_minimum = fairness(3).await;
    let secure = cluster.client.kmeans_result(segments).await.unwrap().segments;

    // The plaintext cross-tabulation of the same segmentation and the CSVs' gender column,
    // with the segments numbered as the cluster numbered them (matched by rank).
    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let rows = plain::rows(&csvs, &sample::schema(), &features).unwrap();
    let (plain_segments, labels) =
        plain_job(&rows, &bounds(), params(4, 5, 2, 2, KmeansInit::PlusPlus)).unwrap();
    let labels: Vec<usize> = plain_segments.ranks(&labels).into_iter().map(|r| secure.ids[r]).collect();
    let genders = common::genders(&cluster);
    assert_eq!(genders.len(), labels.len());
    let g = sample::GENDERS.len();
    let mut plain_table = vec![0u64; 4 * g];
    for (&l, &gi) in labels.iter().zip(&genders) {
        plain_table[l * g + gi] += 1;
    }
    // The same table and figures; with the minimum, the same release as the plaintext rule.
    let levels: Vec<String> = sample::GENDERS.iter().map(|s| s.to_string()).collect();
    let released = protocol::fairness::Released::exact(&plain_table, 4, g, 0, &[false; 4]);
    assert_eq!(report, protocol::fairness::report(&released, &levels, 0));
    let totals: Vec<Option<u64>> =
        (0..g).map(|gi| Some(genders.iter().filter(|&&x| x == gi).count() as u64)).collect();
    assert_eq!(report.group_totals, totals);
    let released = protocol::fairness::Released::exact(&plain_table, 4, g, 3, &[false; 4]);
    assert_eq!(with_minimum, protocol::fairness::report(&released, &levels, 3));
    let small = plain_table.iter().any(|&c| c < 3);
    assert_eq!(with_minimum.suppressed_cells, if small { 4 * g + g } else { 0 }, "{with_minimum:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fairness_parameters_are_refused() {
    let (_dir, cluster) = common::cluster(3, 20, 54).await;
    cluster.ingest_all().await.unwrap();
    let spec = JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into()],
        k: 2,
        iterations: 2,
        seed: 1,
        restarts: 1,
        init: KmeansInit::Random,
        labels: false,
        min_segment: 0,
        epsilon: None,
    });
    let segments = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(segments, Duration::from_secs(60)).await.unwrap();
    let submit = |segments, protected: &str| {
        cluster.client.submit(JobSpec::Fairness(FairnessJob {
            segments,
            protected: protected.into(),
            min_cell: 1,
            epsilon: None,
        }))
    };
    let err = submit(segments, "age").await.unwrap_err().to_string();
    assert!(err.contains("not a categorical column"), "{err}");
    let unknown = wire::control::JobId([7; 16]);
    let err = submit(unknown, "gender").await.unwrap_err().to_string();
    assert!(err.contains("has no job"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_owner_receives_the_segments_of_its_own_records() {
    let (dir, cluster) = common::cluster(3, 100, 55).await;
    cluster.ingest_all().await.unwrap();
    let features: Vec<&str> = sample::FEATURES.iter().map(|f| f.0).collect();
    let job = cluster.client.submit(spec(4, 5, 4, 2, KmeansInit::PlusPlus, true)).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    let result = cluster.client.kmeans_result(job).await.unwrap().segments;

    let mut labels = Vec::new();
    for (i, node) in cluster.generated.nodes.iter().enumerate() {
        let path = dir.path().join(format!("node-{}/data/labels/{job}.csv", i + 1));
        let mut r = csv::Reader::from_path(&path).unwrap();
        let own: Vec<usize> = r.records().map(|rec| rec.unwrap()[1].parse().unwrap()).collect();
        let csvs = [node.csv.as_path()];
        assert_eq!(own.len(), plain::rows(&csvs, &sample::schema(), &features).unwrap().len(), "{}", node.id);
        labels.extend(own);
    }
    // The labels agree with the revealed sizes, segment by segment.
    for (id, size) in result.ids.iter().zip(&result.sizes) {
        assert_eq!(labels.iter().filter(|&&l| l == *id).count() as u64, *size);
    }
    // And with the plaintext mode's labels of the same runs.
    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let rows = plain::rows(&csvs, &sample::schema(), &features).unwrap();
    let (plain, plain_labels) =
        plain_job(&rows, &bounds(), params(4, 5, 4, 2, KmeansInit::PlusPlus)).unwrap();
    assert_eq!(result.ranks(&labels), plain.ranks(&plain_labels));
}
