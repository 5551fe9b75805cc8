//! What a listed operator or peer can make a node hold: connections beyond the cap of one
//! certificate are closed with a reason, a connection gets a fixed number of streams, a stream
//! that announces a large request and sends nothing costs the node almost nothing and is
//! answered with an error after the request deadline, and meanwhile the node answers real
//! jobs correctly with bounded memory.

mod common;

use net::limits::{
    MAX_CONNECTIONS_PER_IDENTITY, MAX_STREAMS_PER_CONNECTION, TOO_MANY_CONNECTIONS, TOO_MANY_CONNECTIONS_CODE,
};
use net::{Identity, NetOptions, RpcError};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use testnet::{Cluster, plain, sample};
use wire::control::{ErrorKind, JobSpec, Request, RequestBody, Response, StatsJob};
use wire::mesh::{MeshHeader, MeshRequest, MeshResponse};

/// A field of `/proc/<pid>/status` in kibibytes (`VmRSS`, `VmHWM`).
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn node_pid(cluster: &Cluster, i: usize) -> u32 {
    let file = cluster.generated.nodes[i].dir.join("node.pid");
    std::fs::read_to_string(file).unwrap().trim().parse().unwrap()
}

fn identity(dir: &Path) -> Identity {
    Identity::load(&dir.join("cert.pem"), &dir.join("key.pem")).unwrap()
}

/// Who dials: an operator speaks the control protocol, a peer the mesh protocol.
#[derive(Clone, Copy)]
enum As {
    Operator,
    Peer,
}

/// Dials node 0 of `cluster` with `key`; returns the connection if the node admits it, or the
/// close it sent (in TLS 1.3 the node decides after the handshake, so a ping tells which).
async fn dial(
    cluster: &Cluster,
    endpoint: &quinn::Endpoint,
    key: &Identity,
    who: As,
) -> Result<quinn::Connection, quinn::ApplicationClose> {
    let node = &cluster.client.nodes()[0];
    let addr: SocketAddr = node.address.parse().unwrap();
    let conn = net::connect(endpoint, key, addr, node.fingerprint, &NetOptions::default()).await.unwrap();
    let limit = wire::MAX_CONTROL_FRAME;
    let ping = async {
        match who {
            As::Operator => net::call::<_, Response>(&conn, &Request::new(RequestBody::Ping), limit)
                .await
                .map(|answer| assert!(matches!(answer, Response::Pong(_)), "{answer:?}")),
            As::Peer => {
                let header = MeshHeader { version: wire::PROTOCOL_VERSION, request: MeshRequest::Ping };
                net::call::<_, MeshResponse>(&conn, &header, limit)
                    .await
                    .map(|answer| assert_eq!(answer, MeshResponse::Ok))
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), ping).await.expect("no answer within 5 s") {
        Ok(()) => Ok(conn),
        Err(RpcError::Connection(quinn::ConnectionError::ApplicationClosed(close))) => Err(close),
        Err(e) => panic!("ping: {e}"),
    }
}

/// Dials `n` connections one after another.
async fn dial_many(
    cluster: &Cluster,
    endpoint: &quinn::Endpoint,
    key: &Identity,
    who: As,
    n: usize,
) -> Vec<Result<quinn::Connection, quinn::ApplicationClose>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(dial(cluster, endpoint, key, who).await);
    }
    out
}

/// Opens streams on `conn` until no more can be opened; each announces a frame of `announce`
/// bytes (the first one `u32::MAX`, which the node refuses at once) and sends nothing more.
async fn silent_streams(
    conn: &quinn::Connection,
    announce: u32,
) -> Vec<(quinn::SendStream, quinn::RecvStream)> {
    let mut streams = Vec::new();
    while let Ok(opened) = tokio::time::timeout(Duration::from_millis(500), conn.open_bi()).await {
        let (mut tx, rx) = opened.unwrap();
        let len = if streams.is_empty() { u32::MAX } else { announce };
        tx.write_all(&len.to_le_bytes()).await.unwrap();
        streams.push((tx, rx));
    }
    streams
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_streams_and_surplus_connections_leave_a_node_answering_jobs_with_bounded_memory() {
    let (_dir, cluster) = common::cluster(3, 300, 81).await;
    cluster.ingest_all().await.unwrap();
    let pid = node_pid(&cluster, 0);
    let peak_before = memory_kib(pid, "VmHWM");
    let operator = identity(&cluster.generated.dir.join("operator"));
    let peer = identity(&cluster.generated.nodes[1].dir.join("keys"));
    let endpoint = net::client_endpoint(([0, 0, 0, 0], 0).into()).unwrap();

    // The operator: the cluster's client holds one connection to node 0 already; the node
    // admits the others up to the cap and closes the rest with the reason.
    let (admitted, refused): (Vec<_>, Vec<_>) =
        dial_many(&cluster, &endpoint, &operator, As::Operator, MAX_CONNECTIONS_PER_IDENTITY + 1)
            .await
            .into_iter()
            .partition(Result::is_ok);
    let admitted: Vec<quinn::Connection> = admitted.into_iter().map(Result::unwrap).collect();
    let refused: Vec<quinn::ApplicationClose> = refused.into_iter().map(|r| r.unwrap_err()).collect();
    assert_eq!(admitted.len(), MAX_CONNECTIONS_PER_IDENTITY - 1, "operator connections admitted");
    assert_eq!(refused.len(), 2, "operator connections refused");
    for close in &refused {
        assert_eq!(close.error_code, TOO_MANY_CONNECTIONS_CODE.into());
        assert_eq!(std::str::from_utf8(&close.reason).unwrap(), TOO_MANY_CONNECTIONS);
    }
    // A peer's certificate (node 1's key): two more connections beside its node's own.
    let peers: Vec<quinn::Connection> =
        dial_many(&cluster, &endpoint, &peer, As::Peer, 2).await.into_iter().map(Result::unwrap).collect();

    // Every admitted connection opens as many streams as it may, each announcing a frame of
    // the largest request size and sending nothing more; no unidirectional stream at all.
    let started = Instant::now();
    let mut held = Vec::new();
    for conn in admitted.iter().chain(&peers) {
        let streams = silent_streams(conn, wire::MAX_CONTROL_FRAME as u32).await;
        // The ping used one of the connection's first streams; QUIC hands freed streams back
        // in batches (an eighth of the limit), so that one is not available again yet.
        assert_eq!(streams.len() + 1, MAX_STREAMS_PER_CONNECTION as usize, "streams on one connection");
        held.push(streams);
    }
    let uni = tokio::time::timeout(Duration::from_millis(300), admitted[0].open_uni()).await;
    assert!(uni.is_err(), "a unidirectional stream was opened");

    // The oversized announcement is refused at once, naming the limit.
    let (_, rx) = &mut held[0][0];
    let answer: Response = wire::read_frame(rx, wire::MAX_CONTROL_FRAME).await.unwrap();
    assert_eq!(
        answer,
        Response::Error {
            kind: ErrorKind::BadRequest,
            message: format!(
                "bad request: frame of {} bytes exceeds the limit of {} bytes",
                u32::MAX,
                wire::MAX_CONTROL_FRAME
            ),
        }
    );

    // Meanwhile a real job runs on the cluster and its result is the plaintext's.
    let features: Vec<String> = sample::FEATURES.iter().map(|f| f.0.to_string()).collect();
    let spec = JobSpec::Stats(StatsJob {
        dataset: sample::DATASET.into(),
        features: features.clone(),
        epsilon: None,
    });
    let job = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(60)).await.unwrap();
    let result = cluster.client.stats_result(job).await.unwrap();
    let csvs: Vec<&Path> = cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect();
    let names: Vec<&str> = features.iter().map(String::as_str).collect();
    let reference = plain::stats(&csvs, &sample::schema(), &names).unwrap();
    for ((name, got), p) in result.features.iter().zip(&reference) {
        assert_eq!(got.count, p.count, "{name}: count");
        assert!(
            (got.sum - p.sum).abs() <= p.count as f64 / 131_072.0,
            "{name}: sum {} vs {}",
            got.sum,
            p.sum
        );
    }

    // What all of this made node 0 hold: streams announcing 288 MiB between them, and the job.
    let grown_kib = memory_kib(pid, "VmHWM").saturating_sub(peak_before);
    assert!(grown_kib < 16 * 1024, "node 0's peak memory grew by {grown_kib} KiB");

    // A silent stream is answered once the request deadline (the idle timeout) passes.
    let deadline = mpc_node::config::NetworkConfig::default().idle_timeout_secs;
    let expected = format!("bad request: no complete request within {deadline} s");
    let (_, rx) = &mut held[0][1];
    let answer: Response = wire::read_frame(rx, wire::MAX_CONTROL_FRAME).await.unwrap();
    assert_eq!(answer, Response::Error { kind: ErrorKind::BadRequest, message: expected.clone() });
    let (_, rx) = &mut held.last_mut().unwrap()[1];
    let answer: MeshResponse = wire::read_frame(rx, wire::MAX_CONTROL_FRAME).await.unwrap();
    assert_eq!(answer, MeshResponse::Error { message: expected });
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(deadline - 1), "answered after {waited:?}");
    assert!(waited < Duration::from_secs(deadline + 10), "answered after {waited:?}");

    // Closed connections free their places.
    for conn in admitted.iter().chain(&peers) {
        conn.close(0u32.into(), b"done");
    }
    drop(held);
    let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    let again = net::client_endpoint(([0, 0, 0, 0], 0).into()).unwrap();
    let fresh = dial_many(&cluster, &again, &operator, As::Operator, MAX_CONNECTIONS_PER_IDENTITY - 1).await;
    assert!(fresh.iter().all(Result::is_ok), "closed connections still counted: {fresh:?}");
    assert!(cluster.client.ping().await.iter().all(Result::is_ok));
    let log = common::node_log(&cluster, 0);
    assert!(
        log.contains("refused a connection: this certificate already has the most connections allowed"),
        "the refusal is not in node 0's log"
    );
}
