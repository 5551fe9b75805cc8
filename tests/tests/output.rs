//! Output scripts can trust: every `orchestrator` command run with `--format json` against a
//! real cluster prints exactly one JSON document on stdout, and it validates against the
//! command's schema in `docs/schemas/`; a command that fails prints nothing on stdout.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TESTNET: &str = env!("CARGO_BIN_EXE_e2e-testnet");
const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_e2e-orchestrator");

/// The schemas, compiled from their files (references between them resolve to files beside).
struct Schemas {
    compiler: boon::Compiler,
    schemas: boon::Schemas,
}

impl Schemas {
    fn new() -> Self {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        Self { compiler, schemas: boon::Schemas::new() }
    }

    /// Panics unless `value` validates against `docs/schemas/<name>`.
    fn check(&mut self, name: &str, value: &Value) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas").join(name);
        let url = format!("file://{}", path.canonicalize().unwrap().display());
        let id = self.compiler.compile(&url, &mut self.schemas).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        if let Err(e) = self.schemas.validate(value, id) {
            panic!("{name} does not validate {value}:\n{e:#}");
        }
    }
}

fn orchestrator(args: &[&str], cluster: &Path) -> Output {
    Command::new(ORCHESTRATOR).args(args).env("SEGMPC_CLUSTER", cluster).output().unwrap()
}

/// Exactly one JSON document in `stdout`.
fn one_document(stdout: &[u8]) -> Value {
    let mut documents = serde_json::Deserializer::from_slice(stdout).into_iter::<Value>();
    let first = documents.next().expect("a JSON document").expect("valid JSON");
    assert!(documents.next().is_none(), "more than one document: {}", String::from_utf8_lossy(stdout));
    first
}

/// Runs `orchestrator --format json ARGS`, which must succeed, and checks its stdout against
/// the schema `schema`.
fn json(schemas: &mut Schemas, schema: &str, args: &[&str], cluster: &Path) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = orchestrator(&all, cluster);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let value = one_document(&out.stdout);
    schemas.check(schema, &value);
    value
}

#[test]
fn every_command_prints_one_document_that_its_schema_describes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let cluster = dir.join("cluster.toml");
    let d = dir.to_str().unwrap();
    let up = Command::new(TESTNET)
        .args(["up", "--nodes", "3", "--dir", d, "--records", "60", "--seed", "9"])
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let mut s = Schemas::new();

    let keys = tmp.path().join("operator");
    let keygen = json(&mut s, "keygen.schema.json", &["keygen", "--out", keys.to_str().unwrap()], &cluster);
    assert!(Path::new(keygen["cert"].as_str().unwrap()).exists());
    let datasets = json(&mut s, "datasets.schema.json", &["datasets"], &cluster);
    assert_eq!(datasets[0]["categorical"]["gender"].as_array().unwrap().len(), 3);
    let nodes = json(&mut s, "cluster-status.schema.json", &["cluster", "status"], &cluster);
    assert!(nodes.as_array().unwrap().iter().all(|n| n["up"] == true), "{nodes}");
    json(&mut s, "budget.schema.json", &["budget"], &cluster);
    let explained = json(
        &mut s,
        "job-explain.schema.json",
        &["job", "explain", "stats", "--dataset", "customers", "--features", "age", "--epsilon", "1"],
        &cluster,
    );
    assert_eq!(explained["budget"]["dataset"], "customers");

    // A job submitted, waited for, followed and read.
    let stats = ["job", "submit", "stats", "--dataset", "customers", "--features", "age,income"];
    let submitted = json(&mut s, "job-submit.schema.json", &stats, &cluster);
    assert_eq!(submitted.as_object().unwrap().len(), 1, "only the id: {submitted}");
    let job = submitted["job"].as_str().unwrap().to_string();
    json(&mut s, "job-wait.schema.json", &["job", "wait", &job], &cluster);
    let status = json(&mut s, "job-status.schema.json", &["job", "status", &job], &cluster);
    assert!(status.as_array().unwrap().iter().all(|n| n["status"]["state"] == "done"), "{status}");
    let result = json(&mut s, "result.schema.json", &["job", "result", &job], &cluster);
    s.check("stats.schema.json", &result);
    assert_eq!(result["features"]["income"]["count"], result["count"]);

    // Every kind of result, with --wait: one document holding the id and the result.
    let kmeans = [
        "job",
        "submit",
        "kmeans",
        "--dataset",
        "customers",
        "--features",
        "age,income",
        "--k",
        "3",
        "--iterations",
        "3",
        "--min-segment",
        "20",
        "--wait",
    ];
    let segmented = json(&mut s, "job-submit.schema.json", &kmeans, &cluster);
    s.check("kmeans.schema.json", &segmented["result"]);
    let segments = segmented["job"].as_str().unwrap().to_string();
    assert_eq!(segmented["result"]["job"], segments.as_str());
    let watched = json(&mut s, "result.schema.json", &["job", "watch", &segments], &cluster);
    assert_eq!(watched, segmented["result"]);
    let fairness = ["job", "submit", "fairness", "--segments", &segments, "--protected", "gender", "--wait"];
    let fair = json(&mut s, "job-submit.schema.json", &fairness, &cluster);
    s.check("fairness.schema.json", &fair["result"]);
    let bench = ["job", "submit", "bench", "--op", "mul", "--size", "1000", "--wait"];
    let timed = json(&mut s, "job-submit.schema.json", &bench, &cluster);
    s.check("bench.schema.json", &timed["result"]);

    // The report, and the segmentation document beside it.
    let out = tmp.path().join("report");
    let fair_job = fair["job"].as_str().unwrap();
    let report =
        json(&mut s, "report.schema.json", &["report", fair_job, "--out", out.to_str().unwrap()], &cluster);
    let written = std::fs::read(report["result"].as_str().unwrap()).unwrap();
    s.check("segmentation.schema.json", &one_document(&written));
    let verified = json(&mut s, "audit-verify.schema.json", &["audit", "verify"], &cluster);
    assert_eq!(verified["ok"], true);

    // The plaintext mode over the nodes' own files: one document for both results.
    let csvs: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("node-{i}/customers.csv"))).collect();
    let schema = dir.join("node-1/node.toml");
    let mut plain = vec!["plain", "kmeans"];
    plain.extend(csvs.iter().map(|p| p.to_str().unwrap()));
    plain.extend(["--features", "age,income", "--k", "3", "--schema", schema.to_str().unwrap()]);
    plain.extend(["--protected", "gender"]);
    let both = json(&mut s, "segmentation.schema.json", &plain, &cluster);
    assert!(both["fairness"].is_object(), "{both}");

    // A command that fails prints nothing on stdout; its message is on stderr.
    let refused = orchestrator(
        &["--format", "json", "job", "submit", "stats", "--dataset", "customers", "--features", "shoe_size"],
        &cluster,
    );
    assert_eq!(refused.status.code(), Some(orchestrator::cli::EXIT_REFUSED as i32));
    assert!(refused.stdout.is_empty(), "{}", String::from_utf8_lossy(&refused.stdout));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a numeric feature"));
    let unknown = orchestrator(&["--format", "json", "job", "result", &"ab".repeat(16)], &cluster);
    assert!(!unknown.status.success());
    assert!(unknown.stdout.is_empty(), "{}", String::from_utf8_lossy(&unknown.stdout));
    // A refusal that `job explain` reports is its output: printed whole, then exit 3.
    let explained = orchestrator(
        &["--format", "json", "job", "explain", "stats", "--dataset", "customers", "--features", "shoe_size"],
        &cluster,
    );
    assert_eq!(explained.status.code(), Some(orchestrator::cli::EXIT_REFUSED as i32));
    let verdicts = one_document(&explained.stdout);
    s.check("job-explain.schema.json", &verdicts);
    assert!(verdicts["nodes"].as_array().unwrap().iter().all(|n| n["accepts"] == false));

    let down = Command::new(TESTNET).args(["down", "--dir", d]).output().unwrap();
    assert!(down.status.success());
}
