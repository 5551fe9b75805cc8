//! Every release fails closed: the attacks of a hostile operator, rerun over real QUIC on a
//! fresh cluster through the orchestrator's command line. A budget far too small or far too
//! large for the noise sampler is refused before anything is charged or opened; a lone small
//! segment cannot be recovered from the other segments and the feature means; exact fairness
//! releases at two minimums, on the same segmentation or on an identical one, give nothing away
//! together.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Output;
use testnet::{Cluster, sample};

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_e2e-orchestrator");

/// `orchestrator ARGS` against the cluster.
fn orchestrator(cluster: &Cluster, args: &[&str]) -> Output {
    std::process::Command::new(ORCHESTRATOR)
        .args(args)
        .env("SEGMPC_CLUSTER", &cluster.generated.cluster_file)
        .output()
        .unwrap()
}

/// Submits a job with the command line, waits for it and returns its result as JSON.
fn submit_and_read(cluster: &Cluster, args: &[&str]) -> (String, Value) {
    let mut all = vec!["job", "submit"];
    all.extend_from_slice(args);
    let out = orchestrator(cluster, &all);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let job = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let waited = orchestrator(cluster, &["job", "wait", &job]);
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));
    let out = orchestrator(cluster, &["job", "result", &job, "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (job, serde_json::from_slice(&out.stdout).unwrap())
}

/// A submission every node should refuse: exit status 3 and the refusals on stderr.
fn refused(cluster: &Cluster, args: &[&str]) -> String {
    let mut all = vec!["job", "submit"];
    all.extend_from_slice(args);
    let out = orchestrator(cluster, &all);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{args:?} was not refused: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_outside_the_samplers_range_is_refused_before_anything_is_charged() {
    let (_dir, mut cluster) = common::cluster(3, 60, 111).await;
    cluster.ingest_all().await.unwrap();
    // node-2's company: a budget of 2 (so exact jobs are refused); node-3's: private jobs
    // only, without a budget; node-1's: at most epsilon 3 per job.
    common::set_policy(&mut cluster, 1, "[[datasets]]\nname = \"customers\"\nepsilon_budget = 2.0\n").await;
    common::set_policy(&mut cluster, 2, "[[datasets]]\nname = \"customers\"\nrequire_epsilon = true\n").await;
    common::set_policy(&mut cluster, 0, "[[datasets]]\nname = \"customers\"\nmax_epsilon = 3.0\n").await;

    // A tiny budget on a wide range: the sum of income would need noise far wider than the
    // sampler draws exactly (it used to release the exact sum). Every node refuses.
    let text = refused(
        &cluster,
        &["stats", "--dataset", "customers", "--features", "income", "--epsilon", "0.000001"],
    );
    for node in ["node-1:", "node-2:", "node-3:"] {
        assert!(text.contains(node), "{text}");
    }
    assert!(text.contains("the sum of `income`") && text.contains("wider than"), "{text}");
    let features = "age,income";
    let text = refused(
        &cluster,
        &["kmeans", "--dataset", "customers", "--features", features, "--k", "3", "--epsilon", "1e-20"],
    );
    assert!(text.contains("differential privacy") && text.contains("wider than"), "{text}");
    // Far too large: no noise at all would be drawn.
    let text =
        refused(&cluster, &["stats", "--dataset", "customers", "--features", "age", "--epsilon", "1e300"]);
    assert!(text.contains("narrower than") && text.contains("lower epsilon"), "{text}");
    // A private segmentation inside every policy, then private fairness jobs on it.
    let (segmentation, _) = submit_and_read(
        &cluster,
        &["kmeans", "--dataset", "customers", "--features", features, "--k", "3", "--epsilon", "1"],
    );
    for epsilon in ["1e-20", "1e300"] {
        let text = refused(
            &cluster,
            &["fairness", "--segments", &segmentation, "--protected", "gender", "--epsilon", epsilon],
        );
        assert!(text.contains("each cell of the table"), "{epsilon}: {text}");
    }
    // node-1's ceiling (and node-2's remaining budget of 1) refuse epsilon 4.
    let text = refused(&cluster, &["stats", "--dataset", "customers", "--features", "age", "--epsilon", "4"]);
    assert!(text.contains("node-1:") && text.contains("at most epsilon 3 per job"), "{text}");
    assert!(text.contains("node-2:") && text.contains("would exceed") && !text.contains("node-3:"), "{text}");

    // Only the private segmentation was charged, on every node, and audited once.
    for (i, ledger) in cluster.client.budgets().await.into_iter().enumerate() {
        let line = ledger.unwrap().into_iter().find(|b| b.dataset == sample::DATASET).unwrap();
        assert!(line.jobs == 1 && (line.spent - 1.0).abs() < 1e-12, "node {i}: {line:?}");
    }
    for log in cluster.client.audit_logs().await {
        let entries = wire::audit::verify(&log.unwrap()).unwrap();
        let charges = entries.iter().filter(|e| matches!(e.event, wire::audit::Event::Spent { .. })).count();
        assert_eq!(charges, 1);
    }
}

/// The records of node `i`'s sample file, in order, with consent.
fn consenting_rows(path: &Path) -> usize {
    let mut r = csv::Reader::from_path(path).unwrap();
    let consent = r.headers().unwrap().iter().position(|h| h == "consent").unwrap();
    r.records().filter(|rec| &rec.as_ref().unwrap()[consent] == "yes").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_small_segment_cannot_be_recovered_from_the_other_releases() {
    let (_dir, cluster) = common::cluster(3, 100, 112).await;
    // One customer far from everyone else: the best segmentation gives it a segment of its own.
    let csv = cluster.generated.nodes[0].csv.clone();
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, format!("{text}x-outlier,100,1000000,600,10000,200,north,female,yes\n")).unwrap();
    cluster.ingest_all().await.unwrap();
    let (job, result) = submit_and_read(
        &cluster,
        &[
            "kmeans",
            "--dataset",
            "customers",
            "--features",
            "age,income",
            "--k",
            "3",
            "--min-segment",
            "5",
            "--labels",
        ],
    );
    // The owner's labels show the outlier alone in its segment (the scenario of the attack).
    let labels: Vec<Vec<usize>> = cluster
        .generated
        .nodes
        .iter()
        .map(|n| {
            let mut r = csv::Reader::from_path(n.dir.join(format!("data/labels/{job}.csv"))).unwrap();
            r.records().map(|rec| rec.unwrap()[1].parse().unwrap()).collect()
        })
        .collect();
    assert_eq!(labels[0].len(), consenting_rows(&csv));
    let outlier = *labels[0].last().unwrap();
    let alone = labels.iter().flatten().filter(|&&l| l == outlier).count();
    assert_eq!(alone, 1, "the outlier does not have a segment of its own");

    // What the operator received: two segments withheld, no WCSS.
    let s = result["segments"].as_array().unwrap();
    let suppressed: Vec<bool> = s.iter().map(|s| s["withheld"].as_bool().unwrap()).collect();
    assert_eq!(suppressed.iter().filter(|&&x| x).count(), 2, "{result}");
    assert!(
        s.iter().filter(|s| s["withheld"] == true).all(|s| s["size"].is_null() && s["centroid"].is_null())
    );
    assert!(result["wcss"].is_null(), "{result}");
    // The attack: the withheld size is the count less the released sizes, and its centroid
    // the total (count times the exact means, or an exact stats job's sums) less the released
    // segments' sums, over that size.
    let count = result["count"].as_f64().unwrap();
    let sizes: Vec<f64> = s.iter().map(|s| s["size"].as_f64().unwrap_or(0.0)).collect();
    let features = ["age", "income"];
    let centroids: Vec<f64> =
        s.iter().flat_map(|s| features.map(|f| s["centroid"][f].as_f64().unwrap_or(0.0))).collect();
    let means: Vec<f64> = features.iter().map(|f| result["centres"][f].as_f64().unwrap()).collect();
    let (_, stats) =
        submit_and_read(&cluster, &["stats", "--dataset", "customers", "--features", "age,income"]);
    let sums: Vec<f64> = features.iter().map(|f| stats["features"][f]["sum"].as_f64().unwrap()).collect();
    let released: Vec<usize> = (0..3).filter(|&j| !suppressed[j]).collect();
    let size = count - released.iter().map(|&j| sizes[j]).sum::<f64>();
    assert!(size >= 5.0, "the remainder is {size} records: a segment below the minimum");
    for (f, total) in [means[0] * count, means[1] * count].into_iter().zip(&sums).enumerate() {
        assert!((total.0 - total.1).abs() < 1.0, "means and sums agree");
        let rest = released.iter().map(|&j| sizes[j] * centroids[j * 2 + f]).sum::<f64>();
        let recovered = (total.0 - rest) / size;
        let record = [100.0, 1_000_000.0][f];
        assert!(
            (recovered - record).abs() > 0.2 * record,
            "feature {f}: the remainder's centroid {recovered} gives the record {record} away"
        );
    }
}

/// The values of a fairness result's table and totals, `None` where withheld.
fn table_values(result: &Value) -> Vec<Option<u64>> {
    let mut values: Vec<Option<u64>> = result["segments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["counts"].as_object().unwrap().values().map(Value::as_u64).collect::<Vec<_>>())
        .collect();
    values.extend(result["group_totals"].as_object().unwrap().values().map(Value::as_u64));
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_fairness_releases_at_two_minimums_give_nothing_away_together() {
    let (_dir, cluster) = common::cluster(3, 200, 113).await;
    cluster.ingest_all().await.unwrap();
    let kmeans = ["kmeans", "--dataset", "customers", "--features", "age,income", "--k", "2", "--seed", "2"];
    // The same segmentation twice (exact k-means is deterministic: the same segments under two
    // job ids), each with fairness releases at two minimums.
    let (first, a) = submit_and_read(&cluster, &kmeans);
    let (second, b) = submit_and_read(&cluster, &kmeans);
    let sizes =
        |r: &Value| r["segments"].as_array().unwrap().iter().map(|s| s["size"].clone()).collect::<Vec<_>>();
    assert_eq!(sizes(&a), sizes(&b));
    let release = |segments: &str, min: u64| {
        let min = min.to_string();
        let args = ["fairness", "--segments", segments, "--protected", "gender", "--min-cell", &min];
        table_values(&submit_and_read(&cluster, &args).1)
    };
    // Without a minimum the whole table is shown; its smallest value `m` decides the two
    // minimums that straddle it, the way the operator chose 10 and 16 around a cell.
    let table: Vec<u64> = release(&first, 0).into_iter().map(|v| v.expect("nothing withheld at 0")).collect();
    let m = *table.iter().min().unwrap();
    for segments in [&first, &second] {
        // At `m` nothing is small: the whole table, the same as without a minimum.
        assert_eq!(release(segments, m), table.iter().map(|&v| Some(v)).collect::<Vec<_>>(), "at {m}");
        // At `m + 1` one value is small: nothing at all, so that the two releases together show
        // no more than the first, and in particular not which value was small.
        let above = release(segments, m + 1);
        assert!(above.iter().all(Option::is_none), "a partial table at {}: {above:?}", m + 1);
    }
    // A private segmentation's table is released only with noise: its exact cells would give
    // the segments' exact sizes (and a withheld one's by subtraction).
    let private =
        ["kmeans", "--dataset", "customers", "--features", "age,income", "--k", "3", "--epsilon", "2"];
    let (segments, _) = submit_and_read(&cluster, &private);
    let text = refused(
        &cluster,
        &["fairness", "--segments", &segments, "--protected", "gender", "--min-cell", "10"],
    );
    assert!(text.contains("needs --epsilon too"), "{text}");
}
