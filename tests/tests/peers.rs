//! Requests a node sends another unprompted, over real QUIC with its own certificate: the
//! receiver honours an erasure only of the sender's own contribution or of a dataset its own
//! policy says is due, and a job-failed notice only for a job in progress there.

mod common;

use std::time::Duration;
use testnet::{Cluster, sample};
use wire::audit::Event;
use wire::control::{FairnessJob, JobId, JobSpec, JobState, RequestBody, Response, StatsJob};
use wire::mesh::{MeshRequest, MeshResponse};

fn stats() -> JobSpec {
    JobSpec::Stats(StatsJob { dataset: sample::DATASET.into(), features: vec!["age".into()], epsilon: None })
}

/// The contributions to the sample dataset node `i` holds, as (id, owner).
async fn contributions(cluster: &Cluster, i: usize) -> Vec<(String, String)> {
    match cluster.client.ask(i, RequestBody::ListDatasets).await.unwrap() {
        Response::Datasets(list) => list
            .into_iter()
            .filter(|d| d.name == sample::DATASET)
            .flat_map(|d| d.contributions)
            .map(|c| (c.id, c.owner))
            .collect(),
        other => panic!("unexpected answer {other:?}"),
    }
}

fn refusal(answer: MeshResponse) -> String {
    match answer {
        MeshResponse::Error { message } => message,
        MeshResponse::Ok => panic!("the request was honoured"),
    }
}

/// The erasures in node `i`'s verified audit log.
async fn erasures(cluster: &Cluster, i: usize) -> Vec<Event> {
    let log = cluster.client.audit_logs().await.remove(i).unwrap();
    let entries = wire::audit::verify(&log).unwrap();
    entries.into_iter().map(|e| e.event).filter(|e| matches!(e, Event::Erased { .. })).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_can_neither_erase_data_that_is_not_due_or_not_its_own_nor_fail_a_finished_job() {
    let (_dir, mut cluster) = common::cluster(3, 30, 81).await;
    // node-1 keeps the dataset 30 days; node-3 has no policy, so no retention period.
    common::set_policy(&mut cluster, 0, "[[datasets]]\nname = \"customers\"\nretention_days = 30\n").await;
    cluster.ingest_all().await.unwrap();
    let job = cluster.client.submit(common::kmeans_with_labels(&["age", "income"])).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let data = |i: usize| cluster.generated.nodes[i].dir.join("data");
    let before = [common::contents_under(&data(0)), common::contents_under(&data(2))];
    let node3s = contributions(&cluster, 0).await.into_iter().find(|(_, o)| o == "node-3").unwrap().0;

    // node-2 asks node-1, then node-3, to erase the whole dataset.
    let whole = || MeshRequest::Erase { dataset: sample::DATASET.into(), contribution: None };
    let err = refusal(common::ask_as_peer(&cluster, 1, 0, whole()).await);
    assert!(
        err.starts_with(
            "the retention period of node node-1's policy for `customers` has not passed (about 7"
        ) && err.contains("hours left); a node may ask it to erase only a contribution the asking node owns"),
        "{err}"
    );
    let err = refusal(common::ask_as_peer(&cluster, 1, 2, whole()).await);
    assert_eq!(
        err,
        "node node-3's policy sets no retention period for `customers`; a node may ask it to erase only a \
         contribution the asking node owns"
    );
    // node-2 asks node-1 to erase node-3's contribution.
    let other = MeshRequest::Erase { dataset: sample::DATASET.into(), contribution: Some(node3s.clone()) };
    let err = refusal(common::ask_as_peer(&cluster, 1, 0, other).await);
    assert_eq!(
        err,
        format!(
            "contribution `{node3s}` of dataset `customers` belongs to node node-3: node node-2 may erase only its own"
        )
    );
    // node-2 says a job that does not exist, and one that finished, failed.
    let unknown = JobId([7; 16]);
    let err = refusal(
        common::ask_as_peer(&cluster, 1, 0, MeshRequest::JobFailed { job: unknown, reason: "forged".into() })
            .await,
    );
    assert_eq!(err, format!("node node-1 has no job {unknown}"));
    let err = refusal(
        common::ask_as_peer(&cluster, 1, 2, MeshRequest::JobFailed { job, reason: "forged".into() }).await,
    );
    assert_eq!(err, format!("job {job} is already done on node node-3"));

    // Nothing changed: every file (shares, segments, labels, job records, audit log) is as it
    // was, the job is done everywhere and its result opens.
    assert!(before[0] == common::contents_under(&data(0)), "node-1's data changed");
    assert!(before[1] == common::contents_under(&data(2)), "node-3's data changed");
    assert!(before[0].keys().any(|p| p.ends_with(format!("{job}.segments"))), "{:?}", before[0].keys());
    assert!(before[0].keys().any(|p| p.ends_with(format!("labels/{job}.csv"))), "{:?}", before[0].keys());
    for s in cluster.client.status(job).await {
        assert_eq!(s.unwrap().state, JobState::Done);
    }
    assert_eq!(
        cluster.client.kmeans_result(job).await.unwrap().count,
        common::genders(&cluster).len() as u64
    );
    let log = common::node_log(&cluster, 0);
    assert!(log.contains("refused a peer request") && log.contains("may erase only its own"), "{log}");
    // The dataset still serves jobs.
    let again = cluster.client.submit(stats()).await.unwrap();
    cluster.client.wait(again, Duration::from_secs(60)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_withdrawing_its_own_contribution_erases_it_and_what_was_derived_from_it() {
    let (_dir, cluster) = common::cluster(3, 30, 82).await;
    cluster.ingest_all().await.unwrap();
    let job = cluster.client.submit(common::kmeans_with_labels(&["age", "income"])).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let data = cluster.generated.nodes[0].dir.join("data");
    let segments = data.join(format!("jobs/{job}.segments"));
    let labels = data.join(format!("labels/{job}.csv"));
    assert!(segments.exists() && labels.exists());
    let node2s = contributions(&cluster, 0).await.into_iter().find(|(_, o)| o == "node-2").unwrap().0;
    let shares = data.join(format!("datasets/customers/{node2s}.shares"));
    assert!(shares.exists());

    // node-2 withdraws its contribution from node-1.
    let withdraw =
        || MeshRequest::Erase { dataset: sample::DATASET.into(), contribution: Some(node2s.clone()) };
    assert_eq!(common::ask_as_peer(&cluster, 1, 0, withdraw()).await, MeshResponse::Ok);

    let owners: Vec<String> = contributions(&cluster, 0).await.into_iter().map(|(_, o)| o).collect();
    assert_eq!(owners, ["node-1", "node-3"]);
    assert!(!shares.exists() && !segments.exists() && !labels.exists());
    // node-3 was not asked: it keeps everything.
    let node3 = cluster.generated.nodes[2].dir.join("data");
    assert!(
        node3.join(format!("jobs/{job}.segments")).exists()
            && node3.join(format!("labels/{job}.csv")).exists()
    );
    assert_eq!(contributions(&cluster, 2).await.len(), 3);
    // The audit log says what went, and the job's record why its output is gone.
    let expected = Event::Erased {
        dataset: sample::DATASET.into(),
        contribution: Some(node2s.clone()),
        reason: format!("node node-2 withdrew its contribution `{node2s}`"),
        jobs: vec![job.to_string()],
    };
    assert_eq!(erasures(&cluster, 0).await, vec![expected.clone()]);
    let err = cluster.client.kmeans_result(job).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "the output of job {job} is gone from node node-1: shares of `customers` were erased (node node-2 \
             withdrew its contribution `{node2s}`)"
        )),
        "{err}"
    );
    // A fairness job on the erased segments is refused by node-1, with the reason.
    let fairness = JobSpec::Fairness(FairnessJob {
        segments: job,
        protected: "gender".into(),
        min_cell: 0,
        epsilon: None,
    });
    let err = cluster.client.submit(fairness).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("node-1: the segments of job {job} are gone (shares of `customers`")),
        "{err}"
    );
    assert!(!err.contains("node-2:") && !err.contains("node-3:"), "{err}");
    // A job on the dataset fails: node-1 no longer computes on the records the others hold.
    let stats = cluster.client.submit(stats()).await.unwrap();
    let err = cluster.client.wait(stats, Duration::from_secs(60)).await.unwrap_err().to_string();
    assert!(err.contains("computes on a different view of the job"), "{err}");
    // Asking again finds nothing to erase, and records nothing.
    assert_eq!(common::ask_as_peer(&cluster, 1, 0, withdraw()).await, MeshResponse::Ok);
    assert_eq!(erasures(&cluster, 0).await, vec![expected]);
}
