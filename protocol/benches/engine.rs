//! Criterion benchmarks of the honest-majority engine: three parties in one process over the
//! in-memory transport, each run including the seed agreement. The same workloads between
//! node processes over QUIC: `testnet bench`.

use criterion::{Criterion, criterion_group, criterion_main};
use protocol::bench::{BenchOp, run};
use protocol::replicated::Replicated;
use protocol::transport::memory::mesh;
use protocol::{Engine, Transport};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// What the three parties run.
#[derive(Clone, Copy)]
enum Work {
    /// A workload of `protocol::bench`.
    Op(BenchOp),
    /// Truncation by 16 bits, preparation included.
    Trunc,
}

/// Runs `work` of `size` as each of three parties, with a fresh engine (seed agreement
/// included).
fn three_parties(rt: &tokio::runtime::Runtime, work: Work, size: usize) {
    rt.block_on(async {
        let tasks: Vec<_> = mesh(3)
            .into_iter()
            .map(|t| {
                tokio::spawn(async move {
                    let mut rng = ChaCha20Rng::seed_from_u64(t.party() as u64);
                    let mut engine = Replicated::setup(&t, &mut rng).await.expect("setup");
                    match work {
                        Work::Op(op) => drop(run(&mut engine, op, size).await.expect("workload")),
                        Work::Trunc => {
                            let x = engine.random(size);
                            drop(engine.trunc(&x, 16).await.expect("trunc"));
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("party");
        }
    });
}

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let mut group = c.benchmark_group("3 parties in memory");
    group.sample_size(10);
    group.bench_function("mul 1,000,000", |b| {
        b.iter(|| three_parties(&rt, Work::Op(BenchOp::Mul), 1_000_000))
    });
    group.bench_function("matmul 100,000x8 by 8x8", |b| {
        b.iter(|| three_parties(&rt, Work::Op(BenchOp::Matmul), 100_000))
    });
    group.bench_function("compare 100,000", |b| {
        b.iter(|| three_parties(&rt, Work::Op(BenchOp::Compare), 100_000))
    });
    group.bench_function("argmin 10,000x8", |b| {
        b.iter(|| three_parties(&rt, Work::Op(BenchOp::Argmin), 10_000))
    });
    group.bench_function("kmeans 1,000 x 4, k = 5, 10 iterations", |b| {
        b.iter(|| three_parties(&rt, Work::Op(BenchOp::Kmeans), 1_000))
    });
    group.bench_function("trunc 100,000", |b| b.iter(|| three_parties(&rt, Work::Trunc, 100_000)));
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
