//! Per-node policies over real QUIC: a job outside one node's policy is refused by that node,
//! with its reason, and never starts; jobs inside every policy run.

mod common;

use std::time::Duration;
use testnet::sample;
use wire::control::{FairnessJob, JobSpec, KmeansInit, KmeansJob, StatsJob};

fn kmeans(features: &[&str], restarts: u32, labels: bool) -> JobSpec {
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: features.iter().map(|f| f.to_string()).collect(),
        k: 3,
        iterations: 3,
        seed: 1,
        restarts,
        init: KmeansInit::PlusPlus,
        labels,
        min_segment: 0,
        epsilon: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_outside_one_nodes_policy_is_refused_by_that_node_with_its_reason() {
    let (_dir, mut cluster) = common::cluster(3, 60, 71).await;
    cluster.ingest_all().await.unwrap();
    // node-2's company allows only some columns, few restarts, no labels, cells of 10 or more.
    common::set_policy(&mut cluster, 1, "[[datasets]]\nname = \"customers\"\njobs = [\"kmeans\", \"fairness\"]\nfeatures = [\"age\", \"income\", \"visits\"]\n\
         protected = [\"gender\"]\nmin_cell = 10\nmax_restarts = 3\nlabels = false\n").await;

    // `explain` shows what would be revealed and each node's verdict, and starts nothing.
    let verdicts = cluster.client.check(&kmeans(&["age"], 5, true)).await;
    assert!(verdicts[0].is_ok() && verdicts[2].is_ok(), "{verdicts:?}");
    assert!(verdicts[1].as_ref().unwrap_err().to_string().contains("at most 3 restarts"), "{verdicts:?}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_e2e-orchestrator"))
        .args(["job", "explain", "kmeans", "--dataset", "customers", "--features", "age,visits", "--k", "3"])
        .args(["--restarts", "2", "--labels"])
        .env("SEGMPC_CLUSTER", &cluster.generated.cluster_file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("to every node: each of `age`, `visits`'s mean and standard deviation"), "{text}");
    assert!(text.contains("to each owner node: the segment of each of its own records"), "{text}");
    assert!(text.contains("refuses") && text.contains("per-record labels"), "{text}");
    let statuses = cluster.client.node_statuses().await;
    assert!(statuses.iter().all(|s| s.as_ref().unwrap().jobs.is_empty()), "explain started nothing");

    let refused = |spec: JobSpec| {
        let client = &cluster.client;
        async move { client.submit(spec).await.unwrap_err().to_string() }
    };
    for (spec, reason) in [
        (kmeans(&["age", "tenure_months"], 1, false), "does not allow feature `tenure_months`"),
        (kmeans(&["age"], 5, false), "at most 3 restarts"),
        (kmeans(&["age"], 1, true), "per-record labels"),
        (
            JobSpec::Stats(StatsJob {
                dataset: sample::DATASET.into(),
                features: vec!["age".into()],
                epsilon: None,
            }),
            "stats jobs",
        ),
    ] {
        let err = refused(spec).await;
        assert!(err.contains("node-2:") && err.contains(reason), "{err}");
        assert!(!err.contains("node-1:") && !err.contains("node-3:"), "only node-2 refuses: {err}");
    }
    // Inside the policy: runs; its fairness by an allowed column with big enough cells runs too.
    let job = cluster.client.submit(kmeans(&["age", "visits"], 2, false)).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let fairness = |protected: &str, min_cell| {
        JobSpec::Fairness(FairnessJob { segments: job, protected: protected.into(), min_cell, epsilon: None })
    };
    let err = refused(fairness("region", 10)).await;
    assert!(err.contains("node-2:") && err.contains("`region`"), "{err}");
    let err = refused(fairness("gender", 5)).await;
    assert!(err.contains("at least 10"), "{err}");
    let ok = cluster.client.submit(fairness("gender", 10)).await.unwrap();
    cluster.client.wait(ok, Duration::from_secs(60)).await.unwrap();

    // A broken policy file stops the node with the file and the problem.
    let policy = "[[datasets]]\nname = \"customers\"\njobs = [\"export\"]\n";
    let err = common::policy_stops_the_node(&mut cluster, 1, policy);
    assert!(err.contains("policy") && err.contains("unknown job kind `export`"), "{err}");
}

/// A retention period in one node's policy erases that node's shares of the dataset, and its
/// company's records on every other node, each time with what was derived from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_period_erases_its_nodes_shares_and_its_companys_records_everywhere() {
    let (_dir, mut cluster) = common::cluster(3, 30, 72).await;
    cluster.ingest_all().await.unwrap();
    // Before the period passes: a segmentation whose owners receive their labels.
    let job = cluster.client.submit(kmeans(&["age", "income"], 1, true)).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let dirs: Vec<_> = cluster.generated.nodes.iter().map(|n| n.dir.join("data")).collect();
    let data = |i: usize| dirs[i].clone();
    for i in 0..3 {
        assert!(data(i).join(format!("jobs/{job}.segments")).exists(), "node {i}");
        assert!(data(i).join(format!("labels/{job}.csv")).exists(), "node {i}");
    }
    let owners = |answer: &Result<wire::control::Response, _>| match answer {
        Ok(wire::control::Response::Datasets(d)) => {
            d.iter().flat_map(|d| d.contributions.iter().map(|c| (c.id.clone(), c.owner.clone()))).collect()
        }
        other => panic!("unexpected answer {other:?}"),
    };
    let listing = cluster.client.ask_all(wire::control::RequestBody::ListDatasets).await;
    let node2s: Vec<(String, String)> = owners(&listing[0]);
    let node2s = node2s.into_iter().find(|(_, o)| o == "node-2").unwrap().0;
    // About 4 seconds.
    common::set_policy(&mut cluster, 1, "[[datasets]]\nname = \"customers\"\nretention_days = 0.00005\n")
        .await;
    // node-2 erases its shares of everyone's records; node-1 and node-3 erase node-2's.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listings = cluster.client.ask_all(wire::control::RequestBody::ListDatasets).await;
        let left: Vec<Vec<String>> =
            listings.iter().map(|l| owners(l).into_iter().map(|(_, o)| o).collect()).collect();
        // A listing changes when the shares go; what derived from them goes just after, and
        // the audit entry is written last.
        let mut recorded = true;
        for log in cluster.client.audit_logs().await {
            let entries = wire::audit::verify(&log.unwrap()).unwrap();
            recorded &= entries.iter().any(|e| matches!(e.event, wire::audit::Event::Erased { .. }));
        }
        if left == [vec!["node-1", "node-3"], vec![], vec!["node-1", "node-3"]] && recorded {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not erased as expected: {left:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(!data(1).join("datasets/customers").exists());
    for i in [0, 2] {
        assert!(!data(i).join(format!("datasets/customers/{node2s}.shares")).exists(), "node {i}");
    }
    // Everything derived from the erased shares went with them, on every node, and each node
    // recorded what it erased and why.
    for i in 0..3 {
        assert!(!data(i).join(format!("jobs/{job}.segments")).exists(), "node {i}");
        assert!(!data(i).join(format!("labels/{job}.csv")).exists(), "node {i}");
    }
    for (i, log) in cluster.client.audit_logs().await.into_iter().enumerate() {
        let entries = wire::audit::verify(&log.unwrap()).unwrap();
        let erased: Vec<wire::audit::Event> = entries
            .into_iter()
            .map(|e| e.event)
            .filter(|e| matches!(e, wire::audit::Event::Erased { .. }))
            .collect();
        let expected = match i {
            1 => wire::audit::Event::Erased {
                dataset: "customers".into(),
                contribution: None,
                reason: "the retention period of this node's policy passed".into(),
                jobs: vec![job.to_string()],
            },
            _ => wire::audit::Event::Erased {
                dataset: "customers".into(),
                contribution: Some(node2s.clone()),
                reason: format!("node node-2 withdrew its contribution `{node2s}`"),
                jobs: vec![job.to_string()],
            },
        };
        assert_eq!(erased, vec![expected], "node {i}");
    }
    let err = cluster.client.kmeans_result(job).await.unwrap_err().to_string();
    assert!(err.contains(&format!("the output of job {job} is gone from node")), "{err}");
    let stats = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into()],
        epsilon: None,
    });
    let err = cluster.client.submit(stats).await.unwrap_err().to_string();
    assert!(err.contains("node-2: dataset `customers` does not exist on node node-2"), "{err}");
    assert!(!err.contains("node-1:") && !err.contains("node-3:"), "{err}");
}

/// A record whose consent column says no never contributes: the results are the same with and
/// without it, and differ once it says yes; only its owner learns how many were dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_consenting_record_never_contributes() {
    let (_dir, cluster) = common::cluster(3, 40, 73).await;
    cluster.ingest_all().await.unwrap();
    let features = vec!["age".to_string(), "income".to_string()];
    let stats = || async {
        let spec = JobSpec::Stats(StatsJob {
            dataset: sample::DATASET.into(),
            features: features.clone(),
            epsilon: None,
        });
        let job = cluster.client.submit(spec).await.unwrap();
        cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
        let r = cluster.client.stats_result(job).await.unwrap();
        r.features.iter().map(|(_, s)| (s.count, s.sum)).collect::<Vec<_>>()
    };
    let before = stats().await;
    let csv = cluster.generated.nodes[0].csv.clone();
    let original = std::fs::read_to_string(&csv).unwrap();
    let extreme = |consent: &str| format!("{original}x-1,99,990000,500,9000,150,north,female,{consent}\n");
    std::fs::write(&csv, extreme("no")).unwrap();
    let report = cluster.replace(0, sample::DATASET).await.unwrap();
    let skipped = report.skipped_no_consent;
    assert_eq!(stats().await, before, "a record without consent changed the result");
    std::fs::write(&csv, extreme("yes")).unwrap();
    let report = cluster.replace(0, sample::DATASET).await.unwrap();
    assert_eq!(report.skipped_no_consent, skipped - 1);
    let after = stats().await;
    assert_eq!(after[0].0, before[0].0 + 1);
    assert!((after[1].1 - before[1].1 - 990_000.0).abs() < 1e-3, "{after:?} vs {before:?}");
}
