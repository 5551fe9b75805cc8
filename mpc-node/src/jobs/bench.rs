//! Running a `bench` job on this node: agree, set up the engine's seeds, run the workload of
//! `protocol::bench` on random sharings, and keep the samples to open.

use super::context::JobContext;
use super::{JobError, JobOutput};
use protocol::Transport;
use protocol::bench::{BenchOp, MATMUL_WIDTH};
use protocol::replicated::HonestMajority;
use wire::control::JobSpec;
use wire::output::{BenchOutput, OutputLayout};

/// Largest number of secret values a benchmark may create per operand.
const MAX_VALUES: u64 = 20_000_000;

/// Checks a benchmark's parameters before voting.
pub fn check(op: &str, size: u64) -> Result<(), JobError> {
    let op: BenchOp = op.parse().map_err(JobError::BenchOp)?;
    let values = match op {
        BenchOp::Mul | BenchOp::Compare => size,
        BenchOp::Matmul | BenchOp::Argmin => size.saturating_mul(MATMUL_WIDTH as u64),
        BenchOp::Kmeans => {
            size.saturating_mul((protocol::bench::KMEANS_D * protocol::bench::KMEANS_K) as u64)
        }
    };
    if size == 0 || values > MAX_VALUES {
        return Err(JobError::BenchSize { op: op.name(), max: MAX_VALUES });
    }
    Ok(())
}

/// Runs the benchmark and returns this node's components of the samples.
pub async fn run<'t, T: Transport, E: HonestMajority<'t, T>>(
    cx: &JobContext,
    spec: &JobSpec,
    op: &str,
    size: u64,
    channel: &'t T,
) -> Result<JobOutput, JobError> {
    let op: BenchOp = op.parse().map_err(JobError::BenchOp)?;
    let mut engine: E = cx.start_engine(spec, None, channel).await?;
    cx.progress(&format!("running {} of size {size}", op.name()));
    let samples = protocol::bench::run(&mut engine, op, size as usize).await.map_err(JobError::engine)?;
    engine.verify().await.map_err(JobError::engine)?;
    let components = cx.own_components(samples);
    Ok(JobOutput {
        count: size,
        layout: OutputLayout::Bench(BenchOutput { op: op.name().to_string() }),
        components,
    })
}
