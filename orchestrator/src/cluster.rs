//! The cluster file: who the operator is, and which nodes to talk to.
//!
//! ```toml
//! [operator]
//! name = "analyst"
//! cert = "keys/operator/cert.pem"
//! key = "keys/operator/key.pem"
//!
//! [[nodes]]
//! id = "node-1"
//! address = "127.0.0.1:7001"
//! fingerprint = "3f0c..."
//! ```
//!
//! Relative paths are resolved against the file's directory.

use net::Fingerprint;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Environment variable naming the cluster file when `--cluster` is not given.
pub const CLUSTER_ENV: &str = "SEGMPC_CLUSTER";

/// A cluster file that cannot be used.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// Cannot read it.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a valid cluster file.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The parsed cluster file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// The operator's identity.
    pub operator: OperatorIdentity,
    /// Every node of the cluster.
    pub nodes: Vec<NodeEntry>,
}

/// The operator's certificate and key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorIdentity {
    /// A name for messages.
    pub name: String,
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// One node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// Node id.
    pub id: String,
    /// UDP address, `host:port`.
    pub address: String,
    /// SHA-256 fingerprint of the node's certificate.
    pub fingerprint: Fingerprint,
}

impl ClusterFile {
    /// Reads and checks a cluster file.
    pub fn load(path: &Path) -> Result<Self, ClusterError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ClusterError::Read { path: path.into(), source })?;
        let invalid = |message: String| ClusterError::Invalid { path: path.into(), message };
        let mut file: ClusterFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for p in [&mut file.operator.cert, &mut file.operator.key] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if file.nodes.is_empty() {
            return Err(invalid("field `nodes`: the cluster lists no node".into()));
        }
        for (i, n) in file.nodes.iter().enumerate() {
            if file.nodes[..i].iter().any(|m| m.id == n.id) {
                return Err(invalid(format!("field `nodes[{i}].id`: node `{}` is listed twice", n.id)));
            }
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_cluster_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster.toml");
        let c = ClusterFile::load(&path).unwrap();
        assert_eq!(c.nodes.len(), 3);
        assert!(c.operator.cert.is_absolute());
    }

    #[test]
    fn a_node_listed_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.toml");
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster.toml"))
                .unwrap()
                .replace("id = \"globex\"", "id = \"acme\"");
        std::fs::write(&path, text).unwrap();
        let err = ClusterFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("nodes[1].id"), "{err}");
    }
}
