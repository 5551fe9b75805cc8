//! Fault drills: a node lost mid-job (killed, stopped, cut off the network, paused) makes the
//! job fail on every node with a reason, within the configured bound, and loses nothing; the
//! node comes back with its shares and the same job then gives the same result; a whole
//! cluster restarted keeps its datasets and finished results.
//!
//! The process drills run everywhere; the container drills need a Docker engine: where none
//! answers when the tests are built they are ignored (counted as skipped, with the reason),
//! and where it stops answering later they say so and return.

mod common;

use orchestrator::Client;
use std::time::{Duration, Instant};
use testnet::sample;
use wire::control::{JobId, JobSpec, JobState, KmeansInit, KmeansJob};

/// A job that runs for many seconds on this machine.
fn long_job() -> JobSpec {
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "income".into(), "visits".into()],
        k: 8,
        iterations: 100,
        seed: 1,
        restarts: 20,
        init: KmeansInit::PlusPlus,
        labels: false,
        min_segment: 0,
        epsilon: None,
    })
}

/// A short job whose result the drills compare before and after.
fn short_job() -> JobSpec {
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: vec!["age".into(), "income".into(), "visits".into()],
        k: 4,
        iterations: 5,
        seed: 3,
        restarts: 1,
        init: KmeansInit::PlusPlus,
        labels: false,
        min_segment: 0,
        epsilon: None,
    })
}

/// Waits until `job` has failed on every node of `survivors` (indices), within `limit`; returns
/// their reasons. Fails if one finishes it or still runs it at the limit.
async fn failed_everywhere(client: &Client, job: JobId, survivors: &[usize], limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    loop {
        let statuses = client.status(job).await;
        let mine: Vec<_> = survivors.iter().map(|&i| statuses[i].as_ref().ok()).collect();
        if mine.iter().all(|s| s.is_some_and(|s| s.state == JobState::Failed)) {
            return mine.iter().map(|s| s.and_then(|s| s.reason.clone()).unwrap_or_default()).collect();
        }
        assert!(!mine.iter().any(|s| s.is_some_and(|s| s.state == JobState::Done)), "the job finished");
        assert!(Instant::now() < deadline, "still running after {limit:?}: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs the short job and returns its segment sizes and WCSS.
async fn short_result(client: &Client) -> (Vec<u64>, f64) {
    let job = client.submit(short_job()).await.unwrap();
    client.wait(job, Duration::from_secs(120)).await.unwrap();
    let r = client.kmeans_result(job).await.unwrap().segments;
    (r.sizes, r.wcss.expect("an exact job releases its WCSS"))
}

fn same(a: &(Vec<u64>, f64), b: &(Vec<u64>, f64)) {
    assert_eq!(a.0, b.0, "segment sizes");
    // Truncations round at random: two runs agree to a few units of 2^-16 per value.
    assert!((a.1 - b.1).abs() <= 1e-4 * a.1.max(1.0), "wcss {} vs {}", a.1, b.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_job_fails_it_everywhere_and_comes_back_intact() {
    let (_dir, mut cluster) = common::cluster(3, 300, 61).await;
    cluster.ingest_all().await.unwrap();
    let before = short_result(&cluster.client).await;
    let job = cluster.client.submit(long_job()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The status shows the running job on every node and every link up.
    for status in cluster.client.node_statuses().await {
        let status = status.unwrap();
        assert!(
            status.jobs.iter().any(|(id, kind, _)| *id == job.to_string() && kind == "kmeans"),
            "{status:?}"
        );
        assert_eq!(status.datasets, vec![(sample::DATASET.to_string(), status.datasets[0].1)]);
        assert!(status.links.iter().all(|l| l.rtt_us.is_some()), "{status:?}");
    }
    cluster.kill(1); // SIGKILL, as a crash
    let started = Instant::now();
    // The others see the link down at once, and the node itself does not answer.
    let statuses = cluster.client.node_statuses().await;
    assert!(statuses[1].is_err());
    let link = statuses[0].as_ref().unwrap().links.iter().find(|l| l.node == "node-2").unwrap().clone();
    assert!(link.rtt_us.is_none() && link.error.is_some(), "{link:?}");
    let reasons = failed_everywhere(&cluster.client, job, &[0, 2], Duration::from_secs(60)).await;
    assert!(reasons.iter().all(|r| r.contains("node-2")), "{reasons:?}");
    eprintln!("failed on the survivors {:?} after the kill: {reasons:?}", started.elapsed());
    cluster.restart(1).await.unwrap();
    // The restarted node marked the job failed too; its shares are intact: same result.
    let status = cluster.client.status(job).await;
    assert_eq!(status[1].as_ref().unwrap().state, JobState::Failed);
    same(&before, &short_result(&cluster.client).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_node_fails_the_job_and_a_restarted_cluster_keeps_everything() {
    let (_dir, mut cluster) = common::cluster(3, 300, 63).await;
    cluster.ingest_all().await.unwrap();
    let reference = cluster.client.submit(short_job()).await.unwrap();
    cluster.client.wait(reference, Duration::from_secs(60)).await.unwrap();
    let r = cluster.client.kmeans_result(reference).await.unwrap().segments;
    let before = (r.sizes, r.wcss.expect("WCSS"));

    // SIGSTOP a node past the idle timeout, then SIGCONT: the job fails everywhere.
    let job = cluster.client.submit(long_job()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid: u32 = std::fs::read_to_string(cluster.generated.nodes[2].dir.join("node.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    testnet::launch::signal(pid, "STOP");
    let reasons = failed_everywhere(&cluster.client, job, &[0, 1], Duration::from_secs(60)).await;
    testnet::launch::signal(pid, "CONT");
    assert!(reasons.iter().all(|r| r.contains("node-3")), "{reasons:?}");
    failed_everywhere(&cluster.client, job, &[2], Duration::from_secs(60)).await;
    same(&before, &short_result(&cluster.client).await);

    // Every node restarted: datasets and finished results are still there.
    cluster.restart_all().await.unwrap();
    let rows: u64 = cluster.client.datasets().await.unwrap()[0].rows;
    assert!(rows > 0);
    let kept = cluster.client.kmeans_result(reference).await.unwrap().segments;
    same(&before, &(kept.sizes, kept.wcss.expect("WCSS")));
}

mod containers {
    use super::*;
    use testnet::docker::{self, ComposeProject};
    use testnet::layout::Plan;

    /// Removes the project's containers, volumes and image at the end, whatever happened.
    struct Cleanup(ComposeProject, String);

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = self.0.compose(&["down", "-v", "--remove-orphans"]);
            let _ = std::process::Command::new("docker").args(["rmi", "-f", &self.1]).output();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(no_docker, ignore = "no Docker engine answered when the tests were built")]
    async fn container_drills_stop_cut_off_pause_and_restart() {
        if !docker::engine_available() {
            eprintln!("SKIPPED: no Docker engine answers here; the container drills did not run");
            return;
        }
        let tag = format!("segmpc-node:drill-{}", std::process::id());
        let orchestrator = std::path::Path::new(env!("CARGO_BIN_EXE_e2e-orchestrator"));
        docker::build_image(
            std::path::Path::new(env!("CARGO_BIN_EXE_e2e-testnet")),
            Some(orchestrator),
            &tag,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan {
            nodes: 3,
            records: 300,
            seed: 62,
            data: None,
            security: protocol::engine::Security::Passive,
        };
        let base = 20_000 + (std::process::id() % 20_000) as u16;
        let project = docker::write_compose(
            &dir.path().join(format!("drill{}", std::process::id())),
            &plan,
            &tag,
            base,
        )
        .unwrap();
        let cleanup = Cleanup(project.clone(), tag.clone());
        let client = docker::up(&project).await.unwrap();
        let before = short_result(&client).await;
        // The operator in a one-shot container on the cluster's network sees the same cluster.
        let listing =
            project.compose(&["run", "--rm", "orchestrator", "--format", "json", "datasets"]).unwrap();
        let datasets: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
        assert_eq!(datasets[0]["owners"].as_array().unwrap().len(), 3, "{datasets}");
        let reference = client.submit(short_job()).await.unwrap();
        client.wait(reference, Duration::from_secs(60)).await.unwrap();

        // (a) stop a node's container mid-job; (b) start it again.
        let job = client.submit(long_job()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        project.docker(&["stop", "-t", "1"], "node-2").unwrap();
        let reasons = failed_everywhere(&client, job, &[0, 2], Duration::from_secs(60)).await;
        assert!(reasons.iter().all(|r| r.contains("node-2")), "stop: {reasons:?}");
        project.docker(&["start"], "node-2").unwrap();
        let client = docker::ready(&project).await.unwrap();
        same(&before, &short_result(&client).await);

        // (c) cut a node off the network mid-job; reconnect: the cluster heals, nothing restarts.
        let job = client.submit(long_job()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let network = project.network();
        project.docker(&["network", "disconnect", &network], "node-3").unwrap();
        let reasons = failed_everywhere(&client, job, &[0, 1], Duration::from_secs(60)).await;
        assert!(reasons.iter().all(|r| r.contains("node-3")), "disconnect: {reasons:?}");
        project.docker(&["network", "connect", &network], "node-3").unwrap();
        let client = docker::ready(&project).await.unwrap();
        same(&before, &short_result(&client).await);

        // (d) pause a node past the idle timeout.
        let job = client.submit(long_job()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        project.docker(&["pause"], "node-1").unwrap();
        let reasons = failed_everywhere(&client, job, &[1, 2], Duration::from_secs(60)).await;
        project.docker(&["unpause"], "node-1").unwrap();
        assert!(reasons.iter().all(|r| r.contains("node-1")), "pause: {reasons:?}");
        let client = docker::ready(&project).await.unwrap();
        same(&before, &short_result(&client).await);

        // (e) restart the whole cluster: datasets and finished results are still there.
        project.compose(&["restart", "node-1", "node-2", "node-3"]).unwrap();
        let client = docker::ready(&project).await.unwrap();
        let kept = client.kmeans_result(reference).await.unwrap().segments;
        same(&before, &(kept.sizes, kept.wcss.expect("WCSS")));
        drop(cleanup);
    }
}
