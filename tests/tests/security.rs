//! Authentication and authorisation over real QUIC: unlisted certificates, the wrong
//! operator, the owner-only ingest.

mod common;

use net::{Identity, NetOptions};
use std::time::Duration;
use testnet::sample;
use wire::control::{JobSpec, Request, RequestBody, Response, StatsJob};

async fn ask_as(
    identity: &Identity,
    cluster: &testnet::Cluster,
    node: usize,
    body: RequestBody,
) -> Result<Response, String> {
    let entry = &cluster.client.nodes()[node];
    let endpoint = net::client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let conn = net::connect(
        &endpoint,
        identity,
        entry.address.parse().unwrap(),
        entry.fingerprint,
        &NetOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let request = Request::new(body);
    tokio::time::timeout(Duration::from_secs(10), net::call(&conn, &request, wire::MAX_CONTROL_FRAME))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_certificate_is_refused_and_logged_with_its_fingerprint() {
    let (_dir, cluster) = common::cluster(3, 10, 21).await;
    let rogue = Identity::generate("rogue").unwrap();
    for body in [RequestBody::Ping, RequestBody::ListDatasets] {
        let answer = ask_as(&rogue, &cluster, 0, body).await;
        assert!(answer.is_err(), "a rogue certificate got an answer: {answer:?}");
    }
    // A rogue node presenting a peer's stolen certificate without its key cannot connect
    // either: rustls checks the handshake signature. (A certificate alone is public.)
    let log = common::node_log(&cluster, 0);
    assert!(
        log.contains(&rogue.fingerprint().to_string()),
        "refusal not logged with the fingerprint:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_impersonated_by_another_key_is_not_dialled() {
    let (dir, mut cluster) = common::cluster(3, 10, 22).await;
    // Replace node-3's key by a fresh one: its peers have the old fingerprint pinned.
    cluster.kill(2);
    let keys = dir.path().join("node-3/keys");
    std::fs::remove_dir_all(&keys).unwrap();
    Identity::generate("impostor").unwrap().write(&keys).unwrap();
    cluster.ready_timeout = std::time::Duration::from_secs(5);
    let err = cluster.restart(2).await.unwrap_err().to_string();
    assert!(err.contains("node-3") && err.contains("invalid peer certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_submitting_operator_reads_a_result_and_only_the_owner_ingests() {
    let (dir, cluster) = common::cluster(3, 30, 23).await;
    cluster.ingest_all().await.unwrap();
    let job = cluster
        .client
        .submit(JobSpec::Stats(StatsJob {
            dataset: sample::DATASET.into(),
            features: vec!["age".into()],
            epsilon: None,
        }))
        .await
        .unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();

    // Node-2's identity is known to node-1 as a peer, not as an operator.
    let peer =
        Identity::load(&dir.path().join("node-2/keys/cert.pem"), &dir.path().join("node-2/keys/key.pem"))
            .unwrap();
    // Its connection speaks only the mesh protocol, so the control request gets no result.
    match ask_as(&peer, &cluster, 0, RequestBody::JobResult { job }).await {
        Err(_) | Ok(Response::Error { .. }) => {}
        Ok(other) => panic!("a peer got an answer to a control request: {other:?}"),
    }
    // The operator cannot make a node ingest.
    let operator =
        Identity::load(&dir.path().join("operator/cert.pem"), &dir.path().join("operator/key.pem")).unwrap();
    match ask_as(
        &operator,
        &cluster,
        0,
        RequestBody::Ingest { dataset: sample::DATASET.into(), replace: true },
    )
    .await
    .unwrap()
    {
        Response::Error { message, .. } => assert!(message.contains("owner"), "{message}"),
        other => panic!("operator ingest was not refused: {other:?}"),
    }
    // Nor restore an owner's replaced records.
    match ask_as(&operator, &cluster, 0, RequestBody::Restore { dataset: sample::DATASET.into() })
        .await
        .unwrap()
    {
        Response::Error { message, .. } => {
            assert_eq!(message, "only the node's owner can restore its data")
        }
        other => panic!("operator restore was not refused: {other:?}"),
    }
    // The operator that submitted reads it.
    assert!(cluster.client.stats_result(job).await.is_ok());
}
