//! `testnet bench`: engine operations timed between node processes over QUIC.

use super::Output;
use crate::Cluster;
use crate::launch::NodeCommand;
use crate::layout::Plan;
use crate::views::{EngineBench, EngineRun};
use anyhow::Result;
use std::time::{Duration, Instant};
use wire::control::{BenchJob, JobSpec};

/// Starts a cluster of `nodes` under `security` and times each of `ops` `repeat` times.
pub async fn run(
    nodes: usize,
    ops: &[String],
    size: Option<u64>,
    repeat: usize,
    security: protocol::engine::Security,
) -> Result<Output> {
    let temp = super::temp_dir()?;
    eprintln!("{nodes} nodes, {security} security");
    let result = measure(&temp, nodes, ops, size, repeat, security).await;
    let _ = std::fs::remove_dir_all(&temp);
    Ok(Box::new(EngineBench { nodes, runs: result? }))
}

async fn measure(
    dir: &std::path::Path,
    nodes: usize,
    ops: &[String],
    size: Option<u64>,
    repeat: usize,
    security: protocol::engine::Security,
) -> Result<Vec<EngineRun>> {
    let plan = Plan { nodes, records: 1, seed: 1, data: None, security };
    let cluster = Cluster::up(dir, &plan, NodeCommand::current_exe()?).await?;
    let mut runs = Vec::new();
    for op in ops {
        let parsed: protocol::bench::BenchOp = op.parse().map_err(anyhow::Error::msg)?;
        let size = size.unwrap_or(match parsed {
            protocol::bench::BenchOp::Mul => 1_000_000,
            protocol::bench::BenchOp::Kmeans => 10_000,
            _ => 100_000,
        });
        for run in 1..=repeat {
            let t = Instant::now();
            let job = cluster.client.submit(JobSpec::Bench(BenchJob { op: op.clone(), size })).await?;
            cluster.client.wait(job, Duration::from_secs(3600)).await?;
            let wall = t.elapsed();
            let result = cluster.client.bench_result(job).await?;
            runs.push(EngineRun {
                op: op.clone(),
                size,
                run,
                wall_s: wall.as_secs_f64(),
                node_s: result.nodes.iter().map(|n| n.elapsed_ms).max().unwrap_or(0) as f64 / 1e3,
                bytes_per_node: result.nodes.iter().map(|n| n.bytes_sent).max().unwrap_or(0),
                rounds: result.nodes.iter().map(|n| n.rounds).max().unwrap_or(0),
            });
        }
    }
    drop(cluster);
    Ok(runs)
}
