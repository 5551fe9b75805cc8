//! Differential privacy, budgets, suppression and minimisation over real QUIC: the noise of
//! the releases has the documented spread (a statistical test over many jobs), a node's
//! ledger refuses the job that would overspend its budget and still does after a restart,
//! small cells and segments are withheld before the operator can open them, the private
//! k-means and fairness jobs compute what their plaintext counterparts compute, and an
//! ingest shares only the columns its node's policy allows.

mod common;

use protocol::fixed::{SCALE, encode};
use std::path::Path;
use std::time::Duration;
use testnet::{Cluster, plain, sample};
use wire::control::{FairnessJob, JobSpec, KmeansInit, KmeansJob, StatsJob};

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_e2e-orchestrator");

fn features() -> Vec<String> {
    sample::FEATURES.iter().map(|f| f.0.to_string()).collect()
}

fn stats(epsilon: Option<f64>) -> JobSpec {
    JobSpec::Stats(StatsJob { dataset: sample::DATASET.into(), features: features(), epsilon })
}

fn kmeans(
    k: u32,
    iterations: u32,
    restarts: u32,
    init: KmeansInit,
    min_segment: u64,
    epsilon: Option<f64>,
) -> JobSpec {
    JobSpec::Kmeans(KmeansJob {
        dataset: sample::DATASET.into(),
        features: features(),
        k,
        iterations,
        seed: 3,
        restarts,
        init,
        labels: true,
        min_segment,
        epsilon,
    })
}

async fn run(cluster: &Cluster, spec: JobSpec) -> wire::control::JobId {
    let job = cluster.client.submit(spec).await.unwrap();
    cluster.client.wait(job, Duration::from_secs(120)).await.unwrap();
    job
}

fn csvs(cluster: &Cluster) -> Vec<&Path> {
    cluster.generated.nodes.iter().map(|n| n.csv.as_path()).collect()
}

/// The documented standard deviation of the total noise of a private stats job's release
/// with L1 sensitivity `units` (in `2^-16`) and budget `epsilon`, among 3 nodes: every node
/// draws `NB(1/2, a) - NB(1/2, a)` with `a = exp(-epsilon / units)`, so the total has
/// variance `3/2 * 2a / (1 - a)^2` (written out here, not taken from the code under test).
fn documented_sd(epsilon: f64, units: f64) -> f64 {
    let a = (-epsilon / units).exp();
    (1.5 * 2.0 * a / ((1.0 - a) * (1.0 - a))).sqrt()
}

/// The sensitivities of a stats job's sums and sums of squares, as `docs/privacy.md` states
/// them: a sum moves by the feature's range (plus a unit of encoding); a sum of squares of
/// values scaled down by `2^s` by the spread of their squares over the range widened by a
/// unit (plus two units of truncation).
fn documented_units((lo, hi): (f64, f64), s: u32) -> (f64, f64) {
    let unit = 1.0 / SCALE;
    let (a, b) = (lo / 2f64.powi(s as i32) - unit, hi / 2f64.powi(s as i32) + unit);
    let spread =
        a.abs().max(b.abs()).powi(2) - if a <= 0.0 && b >= 0.0 { 0.0 } else { a.abs().min(b.abs()).powi(2) };
    (((hi - lo) * SCALE).ceil() + 1.0, (spread * SCALE).ceil() + 2.0)
}

/// Standardised draws of the limit of the documented noise, `Gamma(3/2) - Gamma(3/2)` (at the
/// scales of these releases the discrete noise is this distribution to within a part in
/// 10^5), drawn here with rand_distr's own Gamma, sorted.
fn gamma_difference(len: usize) -> Vec<f64> {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let gamma = rand_distr::Gamma::new(1.5, 1.0).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(96);
    let mut out: Vec<f64> =
        (0..len).map(|_| (gamma.sample(&mut rng) - gamma.sample(&mut rng)) / 3f64.sqrt()).collect();
    out.sort_by(f64::total_cmp);
    out
}

/// The Kolmogorov-Smirnov distance between the samples `z` and the sorted `reference`.
fn ks_distance(z: &mut [f64], reference: &[f64]) -> f64 {
    z.sort_by(f64::total_cmp);
    let n = z.len() as f64;
    z.iter()
        .enumerate()
        .map(|(i, v)| {
            let below = reference.partition_point(|r| r < v) as f64 / reference.len() as f64;
            (below - i as f64 / n).abs().max((below - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_releases_carry_noise_of_the_documented_distribution() {
    // 30 features: each job releases 60 noisy values.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wide.csv");
    let f = 30;
    sample::write_blobs(&data, 90, f, 3, 91).unwrap();
    let names: Vec<String> = (1..=f).map(|j| format!("f{j}")).collect();
    let user = testnet::byod::UserData { file: data, features: names.clone(), protected: None };
    let plan = testnet::layout::Plan {
        nodes: 3,
        records: 90,
        seed: 91,
        data: Some(user),
        security: protocol::engine::Security::Passive,
    };
    let cluster = Cluster::up(&dir.path().join("net"), &plan, common::node_command()).await.unwrap();
    cluster.ingest_all().await.unwrap();
    let schema =
        orchestrator::plain::load_schema(&cluster.generated.nodes[0].config, sample::DATASET).unwrap();
    let ranges: Vec<(f64, f64)> = schema.features.iter().map(|c| (c.min.unwrap(), c.max.unwrap())).collect();
    let rows =
        plain::rows(&csvs(&cluster), &schema, &names.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    let reference = gamma_difference(200_000);
    let reference_abs = reference.iter().map(|v| v.abs()).sum::<f64>() / reference.len() as f64;
    let reference_abs_sd = (reference.iter().map(|v| (v.abs() - reference_abs).powi(2)).sum::<f64>()
        / reference.len() as f64)
        .sqrt();
    // Two budgets 8 times apart: the noise must follow each one's documented scale.
    for epsilon in [0.5, 4.0] {
        let mut z = Vec::new();
        for _ in 0..20 {
            let spec = JobSpec::Stats(StatsJob {
                dataset: sample::DATASET.into(),
                features: names.clone(),
                epsilon: Some(epsilon),
            });
            let job = run(&cluster, spec).await;
            let opened = cluster.client.open(job).await.unwrap();
            let wire::output::OutputLayout::Stats(layout) = &opened.layout else {
                panic!("{:?}", opened.layout)
            };
            for (j, &range) in ranges.iter().enumerate() {
                let s = layout.variance_scales[j];
                let exact_sum = rows.iter().fold(0u64, |a, r| a.wrapping_add(encode(r[j]).unwrap()));
                let exact_squares =
                    rows.iter().map(|r| (r[j] / 2f64.powi(s as i32)).powi(2)).sum::<f64>() * SCALE;
                let noise = [
                    opened.values[j].wrapping_sub(exact_sum) as i64 as f64,
                    opened.values[f + j] as i64 as f64 - exact_squares,
                ];
                let (sum_units, square_units) = documented_units(range, s);
                let each = epsilon / (2 * f) as f64;
                for (n, units) in noise.into_iter().zip([sum_units, square_units]) {
                    assert!(n != 0.0, "a released value equals the exact one");
                    z.push(n / documented_sd(each, units));
                }
            }
        }
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let abs = z.iter().map(|v| v.abs()).sum::<f64>() / n;
        // Each within four standard errors: the mean's (1/sqrt(n)) and the mean absolute
        // value's (a scale statistic that heavy tails do not upset).
        assert!(mean.abs() < 4.0 / n.sqrt(), "epsilon {epsilon}: mean {mean} over {n} values");
        let tolerance = 4.0 * reference_abs_sd / n.sqrt();
        assert!(
            (abs - reference_abs).abs() < tolerance,
            "epsilon {epsilon}: mean |z| {abs}, documented {reference_abs}"
        );
        // The shape: the critical Kolmogorov-Smirnov distance at the 0.1% level is 1.95 / sqrt(n).
        let ks = ks_distance(&mut z, &reference);
        assert!(ks < 1.95 / n.sqrt(), "epsilon {epsilon}: KS distance {ks} over {n} values");
        eprintln!();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_refuses_the_job_that_would_overspend_even_after_a_restart() {
    let (_dir, mut cluster) = common::cluster(3, 40, 92).await;
    cluster.ingest_all().await.unwrap();
    common::set_policy(&mut cluster, 1, "[[datasets]]\nname = \"customers\"\nepsilon_budget = 1.5\n").await;
    // The budget requires differential privacy.
    let err = refusal(&cluster, stats(None)).await;
    assert!(err.contains("node-2:") && err.contains("--epsilon") && !err.contains("node-1:"), "{err}");
    run(&cluster, stats(Some(1.0))).await;
    let err = refusal(&cluster, stats(Some(1.0))).await;
    assert!(err.contains("node-2:") && err.contains("would exceed"), "{err}");
    assert!(!err.contains("node-1:") && !err.contains("node-3:"), "only node-2 has a budget: {err}");

    cluster.restart(1).await.unwrap();
    let err = refusal(&cluster, stats(Some(0.6))).await;
    assert!(err.contains("node-2:") && err.contains("1 is spent"), "after a restart: {err}");
    run(&cluster, stats(Some(0.5))).await;
    let err = refusal(&cluster, stats(Some(0.1))).await;
    assert!(err.contains("would exceed"), "{err}");

    // Every node's ledger, and the operator's view of it.
    let ledgers = cluster.client.budgets().await;
    for (i, l) in ledgers.iter().enumerate() {
        let line = l.as_ref().unwrap().iter().find(|b| b.dataset == sample::DATASET).unwrap().clone();
        assert!((line.spent - 1.5).abs() < 1e-12 && line.jobs == 2, "node {i}: {line:?}");
        assert_eq!(line.budget, if i == 1 { Some(1.5) } else { None });
    }
    let out = std::process::Command::new(ORCHESTRATOR)
        .arg("budget")
        .env("SEGMPC_CLUSTER", &cluster.generated.cluster_file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("node-2") && l.contains("1.5") && l.contains(" 0 ")),
        "{text}"
    );
    // explain shows what is left and who refuses.
    let out = std::process::Command::new(ORCHESTRATOR)
        .args(["job", "explain", "stats", "--dataset", "customers", "--features", "age", "--epsilon", "0.2"])
        .env("SEGMPC_CLUSTER", &cluster.generated.cluster_file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("privacy budget of `customers` (this job spends epsilon 0.2)"), "{text}");
    assert!(text.contains("discrete Laplace noise") && text.contains("would exceed"), "{text}");

    // Each charge is in every node's audit log, and the logs agree.
    for log in cluster.client.audit_logs().await {
        let entries = wire::audit::verify(&log.unwrap()).unwrap();
        let spent: Vec<f64> = entries
            .iter()
            .filter_map(|e| match &e.event {
                wire::audit::Event::Spent { epsilon, .. } => Some(*epsilon),
                _ => None,
            })
            .collect();
        assert_eq!(spent, vec![1.0, 0.5]);
    }
    let out = std::process::Command::new(ORCHESTRATOR)
        .args(["audit", "verify"])
        .env("SEGMPC_CLUSTER", &cluster.generated.cluster_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

async fn refusal(cluster: &Cluster, spec: JobSpec) -> String {
    cluster.client.submit(spec).await.unwrap_err().to_string()
}

/// The plaintext table of `labels` (one per consenting record, in the owners' order) by gender.
fn gender_table(cluster: &Cluster, labels: &[usize], k: usize) -> Vec<u64> {
    let genders = common::genders(cluster);
    assert_eq!(genders.len(), labels.len());
    let g = sample::GENDERS.len();
    let mut table = vec![0u64; k * g];
    for (&l, &gi) in labels.iter().zip(&genders) {
        table[l * g + gi] += 1;
    }
    table
}

/// Each owner node's labels file of `job`, node after node.
fn owner_labels(cluster: &Cluster, job: wire::control::JobId) -> Vec<usize> {
    let mut labels = Vec::new();
    for n in &cluster.generated.nodes {
        let mut r = csv::Reader::from_path(n.dir.join(format!("data/labels/{job}.csv"))).unwrap();
        labels.extend(r.records().map(|rec| rec.unwrap()[1].parse::<usize>().unwrap()));
    }
    labels
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_kmeans_and_fairness_compute_what_the_plaintext_computes() {
    let (_dir, cluster) = common::cluster(3, 100, 93).await;
    cluster.ingest_all().await.unwrap();
    // Refused before anything runs: restarts, k-means++ seeding, and a private fairness job
    // on an exact segmentation.
    let err = cluster.client.submit(kmeans(3, 4, 5, KmeansInit::Random, 0, Some(1.0))).await.unwrap_err();
    assert!(err.to_string().contains("--restarts 1 --init random"), "{err}");
    let err = cluster.client.submit(kmeans(3, 4, 1, KmeansInit::PlusPlus, 0, Some(1.0))).await.unwrap_err();
    assert!(err.to_string().contains("--restarts 1 --init random"), "{err}");
    let exact = run(&cluster, kmeans(3, 4, 1, KmeansInit::Random, 0, None)).await;
    let spec = JobSpec::Fairness(FairnessJob {
        segments: exact,
        protected: "gender".into(),
        min_cell: 0,
        epsilon: Some(1.0),
    });
    let err = cluster.client.submit(spec).await.unwrap_err();
    assert!(err.to_string().contains("exact segmentation"), "{err}");

    // A large budget: the noise is tiny, and the released centroids define the segments.
    let job = run(&cluster, kmeans(3, 5, 1, KmeansInit::Random, 0, Some(200.0))).await;
    let result = cluster.client.kmeans_result(job).await.unwrap();
    let s = &result.segments;
    assert_eq!(s.scaling, protocol::kmeans::Scaling::Clipped);
    assert_eq!(s.wcss, None, "a private job releases no WCSS");
    assert!(s.centroids_std.iter().all(|c| c.abs() <= 1.0), "{s:?}");
    let total: u64 = s.sizes.iter().sum();
    assert!(total.abs_diff(result.count) <= 3, "noisy sizes {:?} of {} records", s.sizes, result.count);
    // Every owner's labels are its records' nearest released centroids, in the job's scaled
    // and clipped space.
    let names = features();
    let rows = plain::rows(
        &csvs(&cluster),
        &sample::schema(),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .unwrap();
    let labels = owner_labels(&cluster, job);
    let d = names.len();
    let mut centroid_of = vec![vec![0.0; d]; s.k];
    for (j, &id) in s.ids.iter().enumerate() {
        centroid_of[id] = s.centroids_std[j * d..(j + 1) * d].to_vec();
    }
    for (row, &label) in rows.iter().zip(&labels) {
        let z: Vec<f64> = row
            .iter()
            .enumerate()
            .map(|(j, x)| ((x - s.centres[j]) / s.scales[j]).clamp(-1.0, 1.0))
            .collect();
        let dist = |c: &[f64]| c.iter().zip(&z).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
        let best = (0..s.k).fold(0, |b, j| if dist(&centroid_of[j]) < dist(&centroid_of[b]) { j } else { b });
        assert!(
            best == label || (dist(&centroid_of[best]) - dist(&centroid_of[label])).abs() < 1e-3,
            "record {row:?}: segment {label}, nearest {best}"
        );
    }
    // The private fairness job: the plaintext table of those labels, plus noise that a budget
    // of 40 (the largest the sampler resolves for a cell) makes 0 with overwhelming
    // probability (each cell is nonzero with probability 4e-9).
    let spec = JobSpec::Fairness(FairnessJob {
        segments: job,
        protected: "gender".into(),
        min_cell: 0,
        epsilon: Some(40.0),
    });
    let fairness = run(&cluster, spec).await;
    let report = cluster.client.fairness_result(fairness).await.unwrap();
    assert_eq!(report.epsilon, Some(40.0));
    let table = gender_table(&cluster, &labels, s.k);
    let released = protocol::fairness::Released::exact(&table, s.k, sample::GENDERS.len(), 0, &[false; 3]);
    let levels: Vec<String> = sample::GENDERS.iter().map(|g| g.to_string()).collect();
    assert_eq!(report.report, protocol::fairness::report(&released, &levels, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_cells_and_segments_are_withheld_before_the_operator_opens_them() {
    let (_dir, cluster) = common::cluster(3, 60, 94).await;
    cluster.ingest_all().await.unwrap();
    // With 180 records in 8 segments, a minimum of 25 suppresses some of them.
    let job = run(&cluster, kmeans(8, 4, 2, KmeansInit::PlusPlus, 25, None)).await;
    let opened = cluster.client.open(job).await.unwrap();
    let result = cluster.client.kmeans_result(job).await.unwrap();
    let s = &result.segments;
    let labels = owner_labels(&cluster, job);
    let (k, d) = (8usize, features().len());
    let mut hidden = vec![false; k];
    let mut small = vec![false; k];
    let mut withheld_records = 0;
    for (&id, &suppressed) in s.ids.iter().zip(&s.suppressed) {
        hidden[id] = suppressed;
        let size = labels.iter().filter(|&&l| l == id).count() as u64;
        small[id] = size < 25;
        assert!(suppressed || !small[id], "segment {id} of {size} records is released");
        if suppressed {
            // What the operator received for it: zeros, not the values.
            assert!(opened.values[id * d..(id + 1) * d].iter().all(|&v| v == 0));
            assert_eq!(opened.values[k * d + id], 0);
            withheld_records += size;
        }
    }
    // The small segments and the first other one (complementary suppression), and no WCSS.
    assert_eq!(hidden, protocol::kmeans::complement(&small), "{s:?}");
    assert!(withheld_records >= 25 && s.suppressed.iter().any(|&x| !x), "{s:?}");
    assert_eq!(s.wcss, None);
    // The fairness job withholds the values below 10 with their rectangles, and the suppressed
    // segments' rows, on shares, as the plaintext rule does.
    let spec = JobSpec::Fairness(FairnessJob {
        segments: job,
        protected: "gender".into(),
        min_cell: 10,
        epsilon: None,
    });
    let fairness = run(&cluster, spec).await;
    let opened = cluster.client.open(fairness).await.unwrap();
    let report = cluster.client.fairness_result(fairness).await.unwrap().report;
    let g = sample::GENDERS.len();
    let table = gender_table(&cluster, &labels, k);
    let released = protocol::fairness::Released::exact(&table, k, g, 10, &hidden);
    let levels: Vec<String> = sample::GENDERS.iter().map(|g| g.to_string()).collect();
    assert_eq!(report, protocol::fairness::report(&released, &levels, 10));
    let withheld: Vec<usize> = (0..k * g).filter(|&i| released.cells[i].is_none()).collect();
    assert!(withheld.iter().any(|&i| table[i] > 0), "no non-zero cell was withheld");
    for &i in &withheld {
        assert_eq!(opened.values[i], 0, "cell {i} ({} records) reached the operator", table[i]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingest_shares_only_the_columns_its_policy_allows() {
    let (_dir, mut cluster) = common::cluster(3, 20, 95).await;
    // node-1's company lets jobs use two features only: its ingest of the five-feature schema
    // is refused, naming a column, and nothing is stored anywhere.
    common::set_policy(
        &mut cluster,
        0,
        "[[datasets]]\nname = \"customers\"\nfeatures = [\"age\", \"income\"]\nprotected = [\"gender\", \"region\"]\n",
    )
    .await;
    let err = cluster.ingest(0, sample::DATASET).await.unwrap_err().to_string();
    assert!(
        err.contains("policy") && err.contains("`tenure_months`") && err.contains("nothing was shared"),
        "{err}"
    );
    let listings = cluster.client.ask_all(wire::control::RequestBody::ListDatasets).await;
    assert!(
        listings.iter().all(|l| matches!(l, Ok(wire::control::Response::Datasets(d)) if d.is_empty())),
        "{listings:?}"
    );
    // Allowing every column of the schema lets it share.
    common::set_policy(&mut cluster, 0, "[[datasets]]\nname = \"customers\"\n").await;
    cluster.ingest(0, sample::DATASET).await.unwrap();
}
