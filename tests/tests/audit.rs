//! The audit log over real QUIC: every node records each job's specification and its own
//! decision, how it ended, and what was revealed to whom with a digest; `orchestrator audit
//! verify` checks every chain and that the nodes agree, and finds a hand-edited line.

mod common;

use std::time::Duration;
use testnet::sample;
use wire::audit::Event;
use wire::control::{JobSpec, KmeansInit, KmeansJob, StatsJob};

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_e2e-orchestrator");

fn verify(cluster: &testnet::Cluster) -> (Option<i32>, String) {
    let out = std::process::Command::new(ORCHESTRATOR)
        .args(["audit", "verify"])
        .env("SEGMPC_CLUSTER", &cluster.generated.cluster_file)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_keeps_a_verifiable_log_and_an_edited_line_is_found() {
    let (_dir, mut cluster) = common::cluster(3, 60, 81).await;
    cluster.ingest_all().await.unwrap();
    let kmeans = JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "visits".into()],
        k: 3,
        iterations: 3,
        seed: 1,
        restarts: 1,
        init: KmeansInit::PlusPlus,
        labels: true,
        min_segment: 0,
        epsilon: None,
    });
    let job = cluster.client.submit(kmeans).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    cluster.client.kmeans_result(job).await.unwrap();
    let refused = JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["gender".into()],
        k: 3,
        iterations: 3,
        seed: 1,
        restarts: 1,
        init: KmeansInit::PlusPlus,
        labels: false,
        min_segment: 0,
        epsilon: None,
    });
    cluster.client.submit(refused).await.unwrap_err();

    // Each log verifies and tells the story of the job on that node.
    let logs = cluster.client.audit_logs().await;
    for (i, log) in logs.iter().enumerate() {
        let entries = wire::audit::verify(log.as_ref().unwrap()).unwrap();
        let about: Vec<&Event> =
            entries.iter().map(|e| &e.event).filter(|e| e.job() == job.to_string()).collect();
        assert!(matches!(about[0], Event::Submitted { accepted: true, .. }), "node {i}: {about:?}");
        assert!(about.iter().any(|e| matches!(e, Event::Revealed { to, .. } if to == "every node")));
        // Every owner's labels, and the operator's result.
        for owner in ["node-1", "node-2", "node-3"] {
            assert!(
                about
                    .iter()
                    .any(|e| matches!(e, Event::Revealed { to, .. } if to == &format!("node {owner}")))
            );
        }
        assert!(about.iter().any(|e| matches!(e, Event::Ended { state, .. } if state == "done")));
        assert!(about.iter().any(|e| matches!(e, Event::Revealed { to, .. } if to.starts_with("operator "))));
        assert!(entries.iter().any(|e| matches!(&e.event, Event::Submitted { accepted: false, reason: Some(r), .. } if r.contains("gender"))));
    }
    let (code, out) = verify(&cluster);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("every log verifies"), "{out}");

    // A restarted node goes on with its chain.
    cluster.restart(0).await.unwrap();
    let stats = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into()],
        epsilon: None,
    });
    let again = cluster.client.submit(stats).await.unwrap();
    cluster.client.wait(again, Duration::from_secs(60)).await.unwrap();
    assert_eq!(verify(&cluster).0, Some(0));

    // Edit one line of node-2's log by hand: verification fails there, at that line.
    let path = cluster.generated.nodes[1].dir.join("data/audit.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"accepted\":true", "\"accepted\":false", 1);
    assert_ne!(edited, text);
    let line = text.lines().position(|l| l.contains("\"accepted\":true")).unwrap() + 1;
    std::fs::write(&path, edited).unwrap();
    let (code, out) = verify(&cluster);
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains(&format!("node-2: DOES NOT VERIFY: line {line}: the entry does not match its hash")),
        "{out}"
    );
    assert!(out.contains("node-1:") && out.contains("chain intact"), "{out}");

    // Delete a line of node-3's log: found at the position of the gap.
    let path = cluster.generated.nodes[2].dir.join("data/audit.log");
    let lines: Vec<String> = std::fs::read_to_string(&path).unwrap().lines().map(String::from).collect();
    let kept: Vec<&String> = lines.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| l).collect();
    std::fs::write(&path, kept.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let (_, out) = verify(&cluster);
    assert!(out.contains("node-3: DOES NOT VERIFY: line 2: does not follow"), "{out}");
}
