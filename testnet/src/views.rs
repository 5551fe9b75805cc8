//! The outputs of the `testnet` commands, rendered through the orchestrator's rendering layer
//! ([`orchestrator::render::Render`]): a table for people and, where a command takes
//! `--json`, one JSON document (`docs/schemas/bench-kmeans.schema.json`,
//! `docs/schemas/bench-dp.schema.json`).

use orchestrator::render::{Render, VERSION, to_json};
use serde::Serialize;
use std::path::PathBuf;

/// A cluster ready for the orchestrator: the line to paste into a shell.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The orchestrator's cluster file.
    pub cluster: PathBuf,
}

impl Render for Exported {
    fn table(&self) -> String {
        format!("export SEGMPC_CLUSTER={}\n", self.cluster.display())
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

/// The nodes `down` stopped (reported on stderr as it goes; nothing on stdout).
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    /// Each node, and whether it was running.
    pub nodes: Vec<(String, bool)>,
}

impl Render for Stopped {
    fn table(&self) -> String {
        String::new()
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

/// Every node's status, as `orchestrator cluster status` shows it; a node that does not
/// answer fails the command after the table.
pub struct NodesAnswer(pub orchestrator::render::cluster::ClusterStatus);

impl Render for NodesAnswer {
    fn table(&self) -> String {
        self.0.table()
    }
    fn json(&self) -> String {
        self.0.json()
    }
    fn failure(&self) -> Option<anyhow::Error> {
        self.0.statuses.iter().any(Result::is_err).then(|| anyhow::anyhow!("some nodes do not answer"))
    }
}

/// A built node image.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    /// Its tag.
    pub tag: String,
    /// The node binary in it.
    pub binary: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Render for Built {
    fn table(&self) -> String {
        format!("built {} from {} ({:.1} MB)\n", self.tag, self.binary.display(), self.bytes as f64 / 1e6)
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

/// One timed run of an engine operation.
#[derive(Debug, Clone, Serialize)]
pub struct EngineRun {
    /// The operation.
    pub op: String,
    /// Its size.
    pub size: u64,
    /// Which run (from 1).
    pub run: usize,
    /// Submission to opened result, seconds.
    pub wall_s: f64,
    /// The slowest node's time from start signal to end, seconds.
    pub node_s: f64,
    /// Most bytes any node sent.
    pub bytes_per_node: u64,
    /// Most rounds of any node.
    pub rounds: u64,
}

/// The output of `testnet bench`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineBench {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Every run.
    pub runs: Vec<EngineRun>,
}

impl Render for EngineBench {
    fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .runs
            .iter()
            .map(|r| {
                vec![
                    r.op.clone(),
                    r.size.to_string(),
                    r.run.to_string(),
                    format!("{:.3}", r.wall_s),
                    format!("{:.3}", r.node_s),
                    format!("{:.2}", r.bytes_per_node as f64 / 1e6),
                    r.rounds.to_string(),
                    "ok".into(),
                ]
            })
            .collect();
        let headers = [
            "op",
            "size",
            "run",
            "wall (s)",
            "node time (s)",
            "MB sent per node",
            "rounds",
            "plaintext check",
        ];
        format!(
            "{} nodes over QUIC on 127.0.0.1; node time = slowest node, start signal to end, all phases\n{}",
            self.nodes,
            orchestrator::table::render(&headers, &rows)
        )
    }
    fn json(&self) -> String {
        to_json(self)
    }
}

/// A benchmark's measurements: its table, and with `--json` one document of every run.
#[derive(Debug, Clone)]
pub struct Measurements<T> {
    /// `bench-kmeans` or `bench-dp`.
    pub kind: &'static str,
    /// The table.
    pub table: String,
    /// The measurements.
    pub runs: Vec<T>,
}

/// The JSON of a benchmark's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct MeasurementsView<'a, T> {
    /// `bench-kmeans` or `bench-dp`.
    pub kind: &'static str,
    /// The shape's version.
    pub version: u32,
    /// The measurements.
    pub runs: &'a [T],
}

impl<T: Serialize> Render for Measurements<T> {
    fn table(&self) -> String {
        self.table.clone()
    }
    fn json(&self) -> String {
        to_json(&MeasurementsView { kind: self.kind, version: VERSION, runs: &self.runs })
    }
}

/// A command whose output went to stdout as it happened (the demo): nothing more to print.
#[derive(Debug, Clone, Serialize)]
pub struct Done;

impl Render for Done {
    fn table(&self) -> String {
        String::new()
    }
    fn json(&self) -> String {
        "{}".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Panics unless `json` validates against `docs/schemas/<name>`.
    fn check(name: &str, json: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas").join(name);
        let value: serde_json::Value = serde_json::from_str(json).expect("one JSON document");
        let (mut schemas, mut compiler) = (boon::Schemas::new(), boon::Compiler::new());
        let url = format!("file://{}", path.canonicalize().unwrap().display());
        let id = compiler.compile(&url, &mut schemas).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        if let Err(e) = schemas.validate(&value, id) {
            panic!("{name} does not validate {json}:\n{e:#}");
        }
    }

    #[test]
    fn the_kmeans_benchmark_is_one_document() {
        let run = crate::jobbench::Measured {
            records: 1000,
            wall_s: 2.5,
            node_s: 2.0,
            bytes_per_node: 10_000,
            rounds: 300,
            plaintext_s: 0.01,
            wcss: 120.0,
            plaintext_wcss: f64::NAN,
            sizes_equal: true,
            data: "blobs.csv".into(),
        };
        let m = Measurements { kind: "bench-kmeans", table: String::new(), runs: vec![run] };
        check("bench-kmeans.schema.json", &m.json());
    }

    #[test]
    fn the_accuracy_benchmark_is_one_document() {
        let a = crate::dpbench::Accuracy {
            epsilon: 1.0,
            mean_error: 0.01,
            std_error: 0.02,
            iterations: 5,
            wcss_ratio: 1.1,
            size_error: 3.0,
            cell_error: 2.0,
            cell_error_max: 7.0,
        };
        let m = Measurements { kind: "bench-dp", table: String::new(), runs: vec![a] };
        check("bench-dp.schema.json", &m.json());
        let wrong = Measurements { kind: "bench-kmeans", table: String::new(), runs: m.runs.clone() };
        assert!(std::panic::catch_unwind(|| check("bench-dp.schema.json", &wrong.json())).is_err());
    }
}
