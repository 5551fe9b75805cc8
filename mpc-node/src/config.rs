//! The node's configuration file (TOML).
//!
//! Relative paths are resolved against the directory of the configuration file. Every field
//! is documented in `docs/operations.md`; `examples/node.toml` is a complete example.

use net::Fingerprint;
use protocol::fixed::MAX_ABS;
use protocol::sharing::Layout;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;
use wire::schema::Schema;

/// A configuration that cannot be used; every variant names the file.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a configuration (toml names the field and line).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A field has a value the node cannot use.
    #[error("{path}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, as a TOML path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// Configuration of one node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This node's id; unique in the cluster. Nodes are numbered by sorting their ids.
    pub node_id: String,
    /// UDP address the node listens on for peers and operators, for example `0.0.0.0:7000`.
    pub listen: String,
    /// Directory of the share store and job records.
    pub data_dir: PathBuf,
    /// This node's certificate and private key.
    pub identity: KeyPaths,
    /// The other nodes of the cluster.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
    /// Operators allowed to list datasets and run jobs.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// Datasets this node can contribute to, each read from a CSV file of its owner's.
    #[serde(default)]
    pub datasets: Vec<DatasetConfig>,
    /// Timeouts.
    #[serde(default)]
    pub network: NetworkConfig,
    /// A policy file (see `crate::policy`): what this node allows the cluster to compute on
    /// each dataset. Without one, every job its data supports.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// How long a contribution that an ingest with `--replace` replaced stays restorable
    /// (`mpc-node ingest --restore`), in days, unless a job uses the new one before. This
    /// node keeps its shares of it aside until then.
    #[serde(default = "default_keep_replaced_days")]
    pub keep_replaced_days: f64,
    /// Which engine runs the jobs: `passive`, secure against nodes that follow the protocol,
    /// or `active`, where every step is checked so that a minority of nodes that deviates is
    /// caught before anything is released (at a cost: `docs/benchmarks.md`). Every node of a
    /// cluster must set the same; where they differ, each job fails at its first step naming
    /// both settings.
    #[serde(default)]
    pub security: protocol::engine::Security,
    /// Test builds only (the `deviate` feature): deviate from the protocol at one message, to
    /// test that the active engine catches it. Any other build refuses to start with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviate: Option<DeviateConfig>,
    /// The policy read from that file.
    #[serde(skip)]
    pub rules: Option<crate::policy::Policy>,
}

/// Where a test node deviates: in its `nth` operation (from 0) of kind `op` (a message kind's
/// name: `input` (in a job, a node's part of the noise), `mul`, `and`, `dot`, `matmul`,
/// `pivot`, `open`, `open to one` (labels to an owner), `reveal`, `check`, `digest`), counting
/// only those sent within the step `within` if it is set (`truncation`, `comparison`,
/// `conversion`, `argmin`, `division`), it changes the first value it sends as `how` says
/// (`add`, `flip` or `split`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviateConfig {
    /// The kind of message.
    pub op: String,
    /// Which operation of that kind.
    pub nth: u32,
    /// `add` (adds 1), `flip` (flips bit 0) or `split` (only one receiver's copy changes).
    pub how: String,
    /// The step of the protocol whose messages alone count, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
}

impl DeviateConfig {
    /// The deviation it describes, or `None` for a name nobody knows.
    pub fn deviation(&self) -> Option<protocol::replicated::Deviation> {
        use protocol::replicated::Tamper;
        let how = match self.how.as_str() {
            "add" => Tamper::Add(1),
            "flip" => Tamper::Flip(0),
            "split" => Tamper::Split,
            _ => return None,
        };
        let within = match &self.within {
            Some(name) => Some(protocol::replicated::Scope::from_name(name)?),
            None => None,
        };
        Some(protocol::replicated::Deviation {
            op: protocol::message::Op::from_name(&self.op)?,
            nth: self.nth,
            how,
            within,
        })
    }
}

/// Longest `keep_replaced_days`.
pub const MAX_KEEP_REPLACED_DAYS: f64 = 365.0;

fn default_keep_replaced_days() -> f64 {
    7.0
}

/// Paths of a PEM certificate and key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPaths {
    /// The certificate (`mpc-node keygen` writes `cert.pem`).
    pub cert: PathBuf,
    /// The private key (`key.pem`). The environment variable `MPC_NODE_KEY` overrides it.
    pub key: PathBuf,
}

/// Another node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Its node id.
    pub id: String,
    /// Its UDP address, `host:port` (a name is resolved when dialling).
    pub address: String,
    /// SHA-256 fingerprint of its certificate, as `mpc-node keygen` prints it.
    pub fingerprint: Fingerprint,
}

/// An operator (orchestrator user).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// A name for logs.
    pub name: String,
    /// SHA-256 fingerprint of the operator's certificate.
    pub fingerprint: Fingerprint,
}

/// A dataset this node owns records of.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Dataset name, shared by all owners that contribute to it (letters, digits, `-`, `_`).
    pub name: String,
    /// The owner's CSV file with a header row. It never leaves this node.
    pub csv: PathBuf,
    /// Its columns.
    pub schema: Schema,
}

/// Timeouts of the mesh.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// A peer silent for this long is considered gone (QUIC idle timeout), in seconds.
    pub idle_timeout_secs: u64,
    /// Longest wait for one protocol message during a job, in seconds.
    pub job_timeout_secs: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self { idle_timeout_secs: 10, job_timeout_secs: 60 }
    }
}

/// A node of the cluster, as every node numbers them.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Node id.
    pub id: String,
    /// Address (`None` for this node).
    pub address: Option<String>,
    /// Certificate fingerprint.
    pub fingerprint: Fingerprint,
}

impl Config {
    /// Reads, parses and checks a configuration file; relative paths become absolute.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config: Config = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.resolve_paths(&base);
        if let Ok(key) = std::env::var("MPC_NODE_KEY") {
            config.identity.key = key.into();
        }
        config.check().map_err(|(field, message)| ConfigError::Invalid {
            path: path.into(),
            field,
            message,
        })?;
        if let Some(file) = &config.policy {
            let invalid =
                |message| ConfigError::Invalid { path: path.into(), field: "policy".into(), message };
            let policy = crate::policy::Policy::load(file).map_err(|e| invalid(e.to_string()))?;
            if let Some(name) =
                policy.auditors.iter().find(|a| !config.operators.iter().any(|o| &o.name == *a))
            {
                return Err(invalid(format!(
                    "{}: auditors: `{name}` is not an operator of this node's configuration",
                    file.display()
                )));
            }
            config.rules = Some(policy);
        }
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        abs(&mut self.data_dir);
        if let Some(p) = &mut self.policy {
            abs(p);
        }
        abs(&mut self.identity.cert);
        abs(&mut self.identity.key);
        for d in &mut self.datasets {
            abs(&mut d.csv);
        }
    }

    /// Checks the values; on error returns the field and the problem.
    fn check(&self) -> Result<(), (String, String)> {
        let bad = |field: String, message: String| Err((field, message));
        if let Some(d) = &self.deviate {
            if !cfg!(feature = "deviate") {
                return bad(
                    "deviate".into(),
                    "this build cannot deviate from the protocol (a test build's setting)".into(),
                );
            }
            if d.deviation().is_none() {
                let within = d.within.as_deref().map(|w| format!(" or step `{w}`")).unwrap_or_default();
                return bad(
                    "deviate".into(),
                    format!("no message kind `{}`, change `{}`{within}", d.op, d.how),
                );
            }
        }
        if !valid_name(&self.node_id) {
            return bad(
                "node_id".into(),
                format!("`{}` must be 1-64 letters, digits, `-` or `_`", self.node_id),
            );
        }
        let mut ids = vec![self.node_id.as_str()];
        for (i, p) in self.peers.iter().enumerate() {
            if !valid_name(&p.id) {
                return bad(
                    format!("peers[{i}].id"),
                    format!("`{}` must be 1-64 letters, digits, `-` or `_`", p.id),
                );
            }
            if ids.contains(&p.id.as_str()) {
                return bad(format!("peers[{i}].id"), format!("node id `{}` appears twice", p.id));
            }
            ids.push(&p.id);
            if !p.address.contains(':') {
                return bad(format!("peers[{i}].address"), format!("`{}` is not host:port", p.address));
            }
        }
        if let Err(e) = Layout::honest_majority(ids.len()) {
            return bad("peers".into(), format!("{e} (this node and {} peers)", self.peers.len()));
        }
        let mut fps: Vec<Fingerprint> = self.peers.iter().map(|p| p.fingerprint).collect();
        for (i, o) in self.operators.iter().enumerate() {
            if fps.contains(&o.fingerprint) {
                return bad(
                    format!("operators[{i}].fingerprint"),
                    "also listed for a peer or another operator".into(),
                );
            }
            fps.push(o.fingerprint);
        }
        if fps[..self.peers.len()].iter().enumerate().any(|(i, f)| fps[..i].contains(f)) {
            return bad("peers".into(), "two peers have the same fingerprint".into());
        }
        let mut names = Vec::new();
        for (i, d) in self.datasets.iter().enumerate() {
            if !valid_name(&d.name) {
                return bad(
                    format!("datasets[{i}].name"),
                    format!("`{}` must be 1-64 letters, digits, `-` or `_`", d.name),
                );
            }
            if names.contains(&&d.name) {
                return bad(format!("datasets[{i}].name"), format!("dataset `{}` appears twice", d.name));
            }
            names.push(&d.name);
            d.schema.check().map_err(|m| (format!("datasets[{i}].schema"), m.to_string()))?;
            for (j, f) in d.schema.features.iter().enumerate() {
                for (what, v) in [("min", f.min), ("max", f.max)] {
                    if let Some(v) = v
                        && (v.is_nan() || v.abs() > MAX_ABS)
                    {
                        return bad(
                            format!("datasets[{i}].schema.features[{j}].{what}"),
                            format!("{v} is outside the fixed-point range +/-{MAX_ABS}"),
                        );
                    }
                }
            }
        }
        for (field, v) in [
            ("idle_timeout_secs", self.network.idle_timeout_secs),
            ("job_timeout_secs", self.network.job_timeout_secs),
        ] {
            if !(1..=86_400).contains(&v) {
                return bad(format!("network.{field}"), format!("{v} is not between 1 and 86400 seconds"));
            }
        }
        if !(0.0..=MAX_KEEP_REPLACED_DAYS).contains(&self.keep_replaced_days) {
            return bad(
                "keep_replaced_days".into(),
                format!("{} is not between 0 and {MAX_KEEP_REPLACED_DAYS} days", self.keep_replaced_days),
            );
        }
        Ok(())
    }

    /// How long a replaced contribution stays restorable, in milliseconds.
    pub fn keep_replaced_ms(&self) -> u64 {
        (self.keep_replaced_days * 86_400_000.0) as u64
    }

    /// All nodes, this one included, sorted by id: index = party number.
    pub fn members(&self, own_fingerprint: Fingerprint) -> Vec<Member> {
        let mut all: Vec<Member> = self
            .peers
            .iter()
            .map(|p| Member {
                id: p.id.clone(),
                address: Some(p.address.clone()),
                fingerprint: p.fingerprint,
            })
            .collect();
        all.push(Member { id: self.node_id.clone(), address: None, fingerprint: own_fingerprint });
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The configured dataset `name`.
    pub fn dataset(&self, name: &str) -> Option<&DatasetConfig> {
        self.datasets.iter().find(|d| d.name == name)
    }
}

/// Names used in paths and ids: 1-64 ASCII letters, digits, `-` or `_`.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const FP2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn base() -> String {
        format!(
            r#"
node_id = "a"
listen = "127.0.0.1:7000"
data_dir = "data"
[identity]
cert = "keys/cert.pem"
key = "keys/key.pem"
[[peers]]
id = "b"
address = "127.0.0.1:7001"
fingerprint = "{FP1}"
[[peers]]
id = "c"
address = "127.0.0.1:7002"
fingerprint = "{FP2}"
[[datasets]]
name = "customers"
csv = "customers.csv"
[datasets.schema]
features = [{{ name = "age", min = 18, max = 100 }}]
categorical = [{{ name = "group", levels = ["x", "y"] }}]
consent = "consent"
"#
        )
    }

    #[test]
    fn a_valid_file_loads_with_absolute_paths() {
        let (dir, path) = write(&base());
        let c = Config::load(&path).unwrap();
        assert_eq!(c.data_dir, dir.path().join("data"));
        assert_eq!(c.datasets[0].csv, dir.path().join("customers.csv"));
        assert_eq!(c.keep_replaced_ms(), 7 * 86_400_000, "a replaced contribution is kept 7 days");
        let members = c.members(Fingerprint([9; 32]));
        assert_eq!(members.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let cases = [
            (base().replace("\"b\"", "\"a\""), "peers[0].id"),
            (base().replace(FP2, "zz"), "fingerprint"),
            (base().replace("unknown", "x") + "\nsurprise = 1\n", "surprise"),
            (base().replace("min = 18, max = 100", "min = -1e12"), "features[0].min"),
            (base().replace("\"y\"", "\"x\""), "datasets[0].schema"),
            (base().replace("node_id = \"a\"", "node_id = \"a/b\""), "node_id"),
            (format!("keep_replaced_days = -1\n{}", base()), "keep_replaced_days"),
            (format!("keep_replaced_days = nan\n{}", base()), "keep_replaced_days"),
        ];
        for (text, field) in cases {
            let (_dir, path) = write(&text);
            let err = Config::load(&path).unwrap_err().to_string();
            assert!(err.contains("node.toml") && err.contains(field), "expected `{field}` in: {err}");
        }
    }

    #[test]
    fn the_example_configuration_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/node.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.members(Fingerprint([0; 32])).len(), 3);
        assert_eq!(c.datasets[0].schema.features.len(), 3);
        let policy = crate::policy::Policy::load(&path.with_file_name("policy.toml")).unwrap();
        assert_eq!(policy.datasets[0].min_cell, 10);
        assert_eq!(policy.budget("customers"), Some(10.0));
        assert_eq!(policy.check_shared("customers", &c.datasets[0].schema), Ok(()));
    }

    #[test]
    fn two_nodes_are_not_an_honest_majority() {
        let text = base();
        let cut = text.find("[[peers]]\nid = \"c\"").unwrap();
        let end = text.find("[[datasets]]").unwrap();
        let (_dir, path) = write(&format!("{}{}", &text[..cut], &text[end..]));
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("`peers`") && err.contains("at least 3"), "{err}");
    }
}
