//! The command lines as a user types them: `testnet up`, `orchestrator ...`, `testnet down`.

use std::path::Path;
use std::process::{Command, Output};
use testnet::{plain, sample};

const TESTNET: &str = env!("CARGO_BIN_EXE_e2e-testnet");
const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_e2e-orchestrator");

fn run(program: &str, args: &[&str], cluster: &Path) -> Output {
    let out = Command::new(program).args(args).env("SEGMPC_CLUSTER", cluster).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pids(dir: &Path) -> Vec<u32> {
    (1..=3)
        .map(|i| {
            std::fs::read_to_string(dir.join(format!("node-{i}/node.pid"))).unwrap().trim().parse().unwrap()
        })
        .collect()
}

#[test]
fn up_submit_status_result_down() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let cluster = dir.join("cluster.toml");
    let d = dir.to_str().unwrap();
    let up = run(TESTNET, &["up", "--nodes", "3", "--dir", d, "--records", "60", "--seed", "5"], &cluster);
    assert!(String::from_utf8_lossy(&up.stdout).contains("SEGMPC_CLUSTER="));
    let running = pids(&dir);

    let listing = run(ORCHESTRATOR, &["datasets", "--format", "json"], &cluster);
    let datasets: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    assert_eq!(datasets[0]["name"], "customers");
    assert_eq!(datasets[0]["owners"].as_array().unwrap().len(), 3);

    let submit = run(
        ORCHESTRATOR,
        &["job", "submit", "stats", "--dataset", "customers", "--features", "age,visits"],
        &cluster,
    );
    let job = String::from_utf8(submit.stdout).unwrap().trim().to_string();
    assert_eq!(job.len(), 32, "{job}");
    run(ORCHESTRATOR, &["job", "wait", &job], &cluster);
    let status = run(ORCHESTRATOR, &["job", "status", &job], &cluster);
    assert_eq!(
        String::from_utf8_lossy(&status.stdout).matches("done").count(),
        3 * 2,
        "state and progress on each node"
    );
    let result = run(ORCHESTRATOR, &["job", "result", &job, "--format", "json"], &cluster);
    let result: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();

    let csvs: Vec<_> = (1..=3).map(|i| dir.join(format!("node-{i}/customers.csv"))).collect();
    let csv_refs: Vec<&Path> = csvs.iter().map(|p| p.as_path()).collect();
    let reference = plain::stats(&csv_refs, &sample::schema(), &["age", "visits"]).unwrap();
    for (name, p) in ["age", "visits"].iter().zip(&reference) {
        let got = &result["features"][name];
        assert_eq!(got["count"].as_u64().unwrap(), p.count);
        assert!((got["mean"].as_f64().unwrap() - p.mean.unwrap()).abs() <= 1.0 / 131_072.0);
        let (v, pv) = (got["variance"].as_f64().unwrap(), p.variance.unwrap());
        assert!((v - pv).abs() <= 1e-3 * pv.max(1.0), "variance {v} vs {pv}");
    }
    let table = run(ORCHESTRATOR, &["job", "result", &job], &cluster);
    assert!(String::from_utf8_lossy(&table.stdout).contains("visits"));

    // A bad feature is refused with a meaningful exit code and every node's reason.
    let refused = Command::new(ORCHESTRATOR)
        .args(["job", "submit", "stats", "--dataset", "customers", "--features", "shoe_size"])
        .env("SEGMPC_CLUSTER", &cluster)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(orchestrator::cli::EXIT_REFUSED as i32));
    assert_eq!(String::from_utf8_lossy(&refused.stderr).matches("not a numeric feature").count(), 3);

    // A k-means job watched to the end: the bar goes to stderr, the result to stdout, and
    // every node reports all its iterations done.
    let submit = run(
        ORCHESTRATOR,
        &[
            "job",
            "submit",
            "kmeans",
            "--dataset",
            "customers",
            "--features",
            "age,income",
            "--k",
            "2",
            "--iterations",
            "4",
        ],
        &cluster,
    );
    let kmeans = String::from_utf8(submit.stdout).unwrap().trim().to_string();
    let watched = run(ORCHESTRATOR, &["job", "watch", &kmeans], &cluster);
    assert!(String::from_utf8_lossy(&watched.stdout).contains("2 segments of `customers`"));
    let status = run(ORCHESTRATOR, &["job", "status", &kmeans, "--format", "json"], &cluster);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    for node in status.as_array().unwrap() {
        assert_eq!((node["status"]["step"].as_u64(), node["status"]["steps"].as_u64()), (Some(4), Some(4)));
    }

    let down = run(TESTNET, &["down", "--dir", d], &cluster);
    assert_eq!(String::from_utf8_lossy(&down.stderr).matches("stopped").count(), 3);
    for pid in running {
        assert!(!Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid), "node {pid} still runs");
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
}

#[test]
fn bring_your_own_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let cluster = dir.join("cluster.toml");
    let data = tmp.path().join("mine.csv");
    let mut text = String::from("id,spend,visits,region\n");
    for i in 0..90 {
        let (spend, visits) = [(100.0, 5.0), (800.0, 30.0), (2500.0, 12.0)][i % 3];
        let region = ["north", "south"][i % 2];
        text.push_str(&format!("c{i},{},{},{region}\n", spend + (i % 7) as f64, visits + (i % 5) as f64));
    }
    std::fs::write(&data, text).unwrap();
    let d = dir.to_str().unwrap();
    let args = [
        "up",
        "--dir",
        d,
        "--data",
        data.to_str().unwrap(),
        "--features",
        "spend,visits",
        "--protected",
        "region",
    ];
    run(TESTNET, &args, &cluster);

    let listing = run(ORCHESTRATOR, &["datasets", "--format", "json"], &cluster);
    let datasets: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    assert_eq!(datasets[0]["rows"], 90);
    assert_eq!(datasets[0]["owners"].as_array().unwrap().len(), 3);

    let args = [
        "job",
        "submit",
        "kmeans",
        "--dataset",
        "customers",
        "--features",
        "spend,visits",
        "--k",
        "3",
        "--wait",
    ];
    let kmeans = run(ORCHESTRATOR, &args, &cluster);
    let out = String::from_utf8_lossy(&kmeans.stdout).to_string();
    assert!(out.contains("3 segments of `customers` over 90 records"), "{out}");
    // The three planted groups of 30 are found.
    assert_eq!(out.matches("  30  ").count(), 3, "{out}");
    let job = out.lines().next().unwrap().trim().to_string();
    let fair = run(
        ORCHESTRATOR,
        &["job", "submit", "fairness", "--segments", &job, "--protected", "region", "--wait"],
        &cluster,
    );
    assert!(String::from_utf8_lossy(&fair.stdout).contains("chi-square"));
    let fair_job = String::from_utf8_lossy(&fair.stdout).lines().next().unwrap().trim().to_string();
    // The results as CSV, and the HTML report with its JSON.
    let csv_out = run(ORCHESTRATOR, &["job", "result", &job, "--format", "csv"], &cluster);
    let mut reader = csv::Reader::from_reader(&csv_out.stdout[..]);
    assert_eq!(
        reader.headers().unwrap().iter().take(4).collect::<Vec<_>>(),
        ["segment", "size", "spend", "visits"]
    );
    let sizes: u64 = reader.records().map(|r| r.unwrap()[1].parse::<u64>().unwrap()).sum();
    assert_eq!(sizes, 90);
    let report_dir = tmp.path().join("report");
    run(ORCHESTRATOR, &["report", &fair_job, "--out", report_dir.to_str().unwrap()], &cluster);
    let html = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 3, "segment sizes, centroid profiles, group shares");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(json["kmeans"]["count"], 90);
    assert_eq!(json["fairness"]["protected"], "region");
    run(TESTNET, &["down", "--dir", d], &cluster);

    // A non-numeric feature is refused with file, line and column, before anything starts.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "spend,visits\n1,2\n3,x\n").unwrap();
    let other = tmp.path().join("other");
    let out = Command::new(TESTNET)
        .args([
            "up",
            "--dir",
            other.to_str().unwrap(),
            "--data",
            bad.to_str().unwrap(),
            "--features",
            "spend,visits",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.csv:3:2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `orchestrator plain kmeans` over the nodes' own CSVs gives what the cluster gives: the same
/// sizes and WCSS, and every owner's labels record for record.
#[test]
fn the_plaintext_command_reproduces_the_cluster_record_for_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let cluster = dir.join("cluster.toml");
    let d = dir.to_str().unwrap();
    run(TESTNET, &["up", "--nodes", "3", "--dir", d, "--records", "120", "--seed", "8"], &cluster);
    let features = sample::FEATURES.iter().map(|f| f.0).collect::<Vec<_>>().join(",");
    let common =
        ["--features", features.as_str(), "--k", "4", "--iterations", "6", "--seed", "3", "--format", "json"];
    let mut submit = vec!["job", "submit", "kmeans", "--dataset", "customers", "--labels", "--wait"];
    submit.extend(common);
    let out = run(ORCHESTRATOR, &submit, &cluster);
    let submitted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = submitted["job"].as_str().unwrap().to_string();
    let secure = &submitted["result"];
    run(TESTNET, &["down", "--dir", d], &cluster);

    let csvs: Vec<String> =
        (1..=3).map(|i| dir.join(format!("node-{i}/customers.csv")).display().to_string()).collect();
    let labels_out = tmp.path().join("labels.csv");
    let schema = dir.join("node-1/node.toml");
    let mut args: Vec<&str> = vec!["plain", "kmeans"];
    args.extend(csvs.iter().map(String::as_str));
    args.extend(common);
    args.extend(["--schema", schema.to_str().unwrap(), "--labels-out", labels_out.to_str().unwrap()]);
    args.extend(["--protected", "gender", "--min-cell", "0"]);
    let out = Command::new(ORCHESTRATOR).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let segmentation: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (plain, fairness) = (&segmentation["kmeans"], &segmentation["fairness"]);
    let column = |result: &serde_json::Value, field: &str| -> Vec<serde_json::Value> {
        result["segments"].as_array().unwrap().iter().map(|s| s[field].clone()).collect()
    };
    assert_eq!(column(plain, "size"), column(secure, "size"));
    // Segments by their rank in the result (restarts that reach the same optimum number it
    // differently).
    let rank = |result: &serde_json::Value, label: &str| {
        let ids = column(result, "id");
        let label: u64 = label.parse().unwrap();
        ids.iter().position(|id| id.as_u64() == Some(label)).unwrap()
    };
    let (a, b) = (plain["wcss"].as_f64().unwrap(), secure["wcss"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-3 * b, "wcss {a} vs {b}");
    assert_eq!(
        fairness["group_totals"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        plain["count"].as_u64().unwrap()
    );

    // Every owner's labels file equals the plaintext labels of its own CSV.
    let mut reader = csv::Reader::from_path(&labels_out).unwrap();
    let plain_labels: Vec<(String, String, String)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].to_string(), r[1].to_string(), r[2].to_string()))
        .collect();
    for (i, csv_path) in csvs.iter().enumerate() {
        let own = dir.join(format!("node-{}/data/labels/{job}.csv", i + 1));
        let mut reader = csv::Reader::from_path(&own).unwrap();
        let secure_labels: Vec<(String, usize)> =
            reader.records().map(|r| r.unwrap()).map(|r| (r[0].to_string(), rank(secure, &r[1]))).collect();
        let expected: Vec<(String, usize)> = plain_labels
            .iter()
            .filter(|l| &l.0 == csv_path)
            .map(|l| (l.1.clone(), rank(plain, &l.2)))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(secure_labels, expected, "node-{}", i + 1);
    }
}
