//! What other operators see, over real QUIC with two operators: another operator's job shows
//! its kind, state and timing only (in job status and node status), its audit lines only their
//! links (`audit verify` still checks every chain), and the digests of what a job opens are
//! keyed with a secret only the job's nodes share, so that reading the log gives nobody a way to
//! test candidate values; a node's policy can name an auditor, who sees everything there.

mod common;

use orchestrator::Client;
use orchestrator::ClusterFile;
use std::path::PathBuf;
use std::time::Duration;
use testnet::{Cluster, sample};
use wire::audit::Event;
use wire::control::{JobId, JobSpec, KmeansInit, KmeansJob, RequestBody, Response};

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_e2e-orchestrator");

/// Lists a second operator, `name`, on every node (restarting them) and returns its client
/// and cluster file.
async fn second_operator(cluster: &mut Cluster, name: &str) -> (Client, PathBuf) {
    let identity = net::Identity::generate(name).unwrap();
    let dir = cluster.generated.dir.join(name);
    let (cert, key) = identity.write(&dir).unwrap();
    for node in &cluster.generated.nodes {
        let config = std::fs::read_to_string(&node.config).unwrap();
        let entry =
            format!("\n[[operators]]\nname = \"{name}\"\nfingerprint = \"{}\"\n", identity.fingerprint());
        std::fs::write(&node.config, config + &entry).unwrap();
    }
    cluster.restart_all().await.unwrap();
    let mut file = ClusterFile::load(&cluster.generated.cluster_file).unwrap();
    file.operator.name = name.into();
    file.operator.cert = cert;
    file.operator.key = key;
    let path = dir.join("cluster.toml");
    std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
    (Client::new(ClusterFile::load(&path).unwrap()).unwrap(), path)
}

fn kmeans(min_segment: u64) -> JobSpec {
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "income".into(), "visits".into()],
        k: 6,
        iterations: 4,
        seed: 9,
        restarts: 2,
        init: KmeansInit::PlusPlus,
        labels: false,
        min_segment,
        epsilon: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_operators_jobs_show_their_kind_state_and_timing_only() {
    let (_dir, mut cluster) = common::cluster(3, 60, 121).await;
    cluster.ingest_all().await.unwrap();
    let (analyst, analyst_file) = second_operator(&mut cluster, "analyst").await;

    // The operator's segmentation withholds small segments; the flags are opened to the nodes.
    let job = cluster.client.submit(kmeans(25)).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let result = cluster.client.kmeans_result(job).await.unwrap();
    let withheld: Vec<bool> = result.segments.suppressed.clone();
    assert!(withheld.iter().any(|&w| w), "{:?}", result.segments);

    // The analyst sees the job's kind, state and timing, not its parameters or progress.
    for status in analyst.status(job).await {
        let s = status.unwrap();
        assert_eq!(
            (s.kind.as_str(), s.spec.as_ref(), s.state),
            ("kmeans", None, wire::control::JobState::Done)
        );
        assert_eq!((s.bytes_sent, s.rounds, s.step, s.steps, s.reason), (0, 0, 0, 0, None));
        assert_eq!(s.progress, "done");
    }
    for status in cluster.client.status(job).await {
        assert_eq!(status.unwrap().spec, Some(kmeans(25)), "its submitter sees it all");
    }
    assert!(analyst.kmeans_result(job).await.is_err());

    // A job waiting to start: node status shows the analyst its state only.
    let waiting = JobId([0x5a; 16]);
    for answer in cluster.client.ask_all(RequestBody::SubmitJob { job: waiting, spec: kmeans(0) }).await {
        assert!(matches!(answer.unwrap(), Response::Vote { accept: true, .. }));
    }
    let shown = |statuses: Vec<Result<wire::control::NodeStatus, orchestrator::ClientError>>| {
        statuses.into_iter().map(|s| s.unwrap().jobs).collect::<Vec<_>>()
    };
    for jobs in shown(analyst.node_statuses().await) {
        assert_eq!(jobs, vec![(waiting.to_string(), "kmeans".to_string(), "submitted".to_string())]);
    }
    for jobs in shown(cluster.client.node_statuses().await) {
        assert_eq!(jobs[0].2, "waiting for every node to accept");
    }
    for answer in cluster.client.ask_all(RequestBody::AbortJob { job: waiting, reason: "test".into() }).await
    {
        answer.unwrap();
    }

    // The analyst's audit verify checks every chain, with the operator's lines withheld.
    let out = std::process::Command::new(ORCHESTRATOR)
        .args(["audit", "verify"])
        .env("SEGMPC_CLUSTER", &analyst_file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("about other operators' jobs: links checked"), "{text}");
    let served = analyst.audit_logs().await;
    for log in &served {
        let (entries, hidden) = wire::audit::verify_served(log.as_ref().unwrap()).unwrap();
        assert!(hidden >= 4, "{hidden} lines withheld");
        assert!(entries.iter().all(|e| e.event.job() != job.to_string()), "a line of the job was shown");
    }
    // A withheld line's hash cannot be matched by guessing its entry: even the true event,
    // time and position (as the operator's own log has them) give another hash without the
    // line's salt, which the analyst never sees.
    let own = cluster.client.audit_logs().await.remove(0).unwrap();
    let submitted = own
        .lines()
        .map(|l| serde_json::from_str::<wire::audit::Line>(l).unwrap())
        .find(|l| matches!(&l.entry.event, Event::Submitted { job: j, .. } if *j == job.to_string()))
        .unwrap();
    let withheld = served[0].as_ref().unwrap().lines().nth(submitted.entry.seq as usize).unwrap().to_string();
    assert!(withheld.contains(&submitted.hash) && !withheld.contains("submitted"), "{withheld}");
    let mut guess = submitted.entry.clone();
    guess.salt = None;
    assert_ne!(wire::audit::hash(&guess), submitted.hash);

    // The operator reads its own lines: the digest of the opened flags is the same on every
    // node, and no candidate flag pattern has it (a plain SHA-256 would give it away).
    let mut digests = Vec::new();
    for log in cluster.client.audit_logs().await {
        let entries = wire::audit::verify(&log.unwrap()).unwrap();
        digests.extend(entries.into_iter().filter_map(|e| match e.event {
            Event::Revealed { job: j, what, digest, .. }
                if j == job.to_string() && what.contains("withheld") =>
            {
                Some(digest)
            }
            _ => None,
        }));
    }
    assert_eq!(digests.len(), 3);
    assert!(digests.iter().all(|d| d == &digests[0]), "the nodes' digests differ: {digests:?}");
    let candidates =
        (0u32..1 << 6).map(|bits| (0..6).map(|j| u8::from(bits >> j & 1 == 1)).collect::<Vec<u8>>());
    for flags in candidates {
        assert_ne!(wire::audit::digest(&flags), digests[0], "the flags {flags:?} were found by trying");
    }

    // node-1's policy names the analyst an auditor: there, and only there, it sees everything.
    common::set_policy(&mut cluster, 0, "auditors = [\"analyst\"]\n[[datasets]]\nname = \"customers\"\n")
        .await;
    let statuses = analyst.status(job).await;
    assert_eq!(statuses[0].as_ref().unwrap().spec, Some(kmeans(25)));
    assert!(statuses[1].as_ref().unwrap().spec.is_none() && statuses[2].as_ref().unwrap().spec.is_none());
    let logs = analyst.audit_logs().await;
    assert_eq!(wire::audit::verify_served(logs[0].as_ref().unwrap()).unwrap().1, 0);
    assert!(wire::audit::verify_served(logs[1].as_ref().unwrap()).unwrap().1 > 0);
    // An auditor a node's configuration does not list stops the node with the reason.
    let err = common::policy_stops_the_node(&mut cluster, 1, "auditors = [\"nobody\"]\n");
    assert!(err.contains("`nobody` is not an operator"), "{err}");
}
