//! Criterion benchmarks of the honest-majority engine: three parties in one process over the
//! in-memory transport, each run including the seed agreement. The same workloads between
//! node processes over QUIC: `testnet bench`. Also the actively secure engine's checks of
//! products and comparisons, and one product in each extension its checks compute in.

use criterion::{Criterion, criterion_group, criterion_main};
use protocol::active::Active;
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
    /// The actively secure engine's products (or, if `true`, comparisons), then its checks.
    Checked(bool),
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
                    if let Work::Checked(compare) = work {
                        let mut engine = Active::setup(&t, &mut rng).await.expect("setup");
                        let (x, y) = (engine.random(size), engine.random(size));
                        if compare {
                            drop(engine.less_than(&x, &y).await.expect("comparison"));
                        } else {
                            drop(engine.mul(&x, &y).await.expect("products"));
                        }
                        engine.verify().await.expect("checks pass");
                        return;
                    }
                    let mut engine = Replicated::setup(&t, &mut rng).await.expect("setup");
                    match work {
                        Work::Op(op) => drop(run(&mut engine, op, size).await.expect("workload")),
                        Work::Trunc => {
                            let x = engine.random(size);
                            drop(engine.trunc(&x, 16).await.expect("trunc"));
                        }
                        Work::Checked(_) => unreachable!("checked above"),
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

/// The actively secure engine's checks: three parties in memory compute products (or
/// comparisons) and check them, seed agreement included.
fn active_checks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
    let mut group = c.benchmark_group("active checks, 3 parties in memory");
    group.sample_size(10);
    group.bench_function("65,536 products", |b| b.iter(|| three_parties(&rt, Work::Checked(false), 1 << 16)));
    group
        .bench_function("4,096 comparisons", |b| b.iter(|| three_parties(&rt, Work::Checked(true), 1 << 12)));
    group.finish();
}

/// One multiplication in each extension the active engine's checks compute in.
fn extensions(c: &mut Criterion) {
    use protocol::active::ext::{Ext, Gf, Gr};
    let x = Gr(std::array::from_fn(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    let y = Gr(std::array::from_fn(|i| (i as u64 + 7).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)));
    let (g, h) = (Gf(0x1234_5678_9abc_def0), Gf(0x0fed_cba9_8765_4321));
    let mut group = c.benchmark_group("extensions");
    group.bench_function("GR(2^64, 64) product", |b| b.iter(|| std::hint::black_box(x).mul(y)));
    group.bench_function("GF(2^64) product", |b| b.iter(|| std::hint::black_box(g).mul(h)));
    group.finish();
}

criterion_group!(benches, engine, active_checks, extensions);
criterion_main!(benches);
