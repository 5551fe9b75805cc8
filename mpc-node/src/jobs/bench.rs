//! Running a `bench` job on this node: agree, set up the engine's seeds, run the workload of
//! `protocol::bench` on random sharings, and keep the samples to open.

use super::{JobOutput, own_components, start_engine};
use crate::node::Node;
use protocol::Transport;
use protocol::bench::{BenchOp, MATMUL_WIDTH};
use std::sync::Arc;
use wire::control::{JobId, JobSpec};
use wire::output::{BenchOutput, OutputLayout};

/// Largest number of secret values a benchmark may create per operand.
const MAX_VALUES: u64 = 20_000_000;

/// Checks a benchmark's parameters before voting.
pub fn check(op: &str, size: u64) -> Result<(), String> {
    let op: BenchOp = op.parse()?;
    let values = match op {
        BenchOp::Mul | BenchOp::Compare => size,
        BenchOp::Matmul | BenchOp::Argmin => size.saturating_mul(MATMUL_WIDTH as u64),
        BenchOp::Kmeans => {
            size.saturating_mul((protocol::bench::KMEANS_D * protocol::bench::KMEANS_K) as u64)
        }
    };
    if size == 0 || values > MAX_VALUES {
        return Err(format!(
            "a {} benchmark takes a size from 1 to {MAX_VALUES} values per operand",
            op.name()
        ));
    }
    Ok(())
}

/// Runs the benchmark and returns this node's components of the samples.
pub async fn run<T: Transport>(
    node: Arc<Node>,
    job: JobId,
    spec: &JobSpec,
    op: &str,
    size: u64,
    channel: &T,
) -> Result<JobOutput, String> {
    let op: BenchOp = op.parse()?;
    let mut engine = start_engine(&node, job, spec, None, channel).await?;
    node.jobs.progress(job, &format!("running {} of size {size}", op.name()));
    let samples = protocol::bench::run(&mut engine, op, size as usize).await.map_err(|e| e.to_string())?;
    let components = own_components(&node, samples);
    Ok(JobOutput {
        count: size,
        layout: OutputLayout::Bench(BenchOutput { op: op.name().to_string() }),
        components,
    })
}
