//! Generating a local cluster on disk: keys, node configurations, sample data and the
//! operator's cluster file.
//!
//! ```text
//! DIR/cluster.toml            for the orchestrator (SEGMPC_CLUSTER)
//! DIR/operator/{cert,key}.pem the operator's identity
//! DIR/node-i/node.toml        node i's configuration
//! DIR/node-i/keys/            node i's identity
//! DIR/node-i/customers.csv    node i's own customers (never leaves node i)
//! DIR/node-i/data/            node i's share store
//! DIR/node-i/node.log, .pid   while it runs
//! ```
//!
//! Each `node-i/` directory, each `keys/` and `operator/` directory and the node's data
//! directory have mode 0700; keys, customer files and logs have mode 0600.

use crate::sample;
use anyhow::{Context, Result, bail};
use mpc_node::config::{Config, DatasetConfig, KeyPaths, NetworkConfig, OperatorConfig, PeerConfig};
use net::Identity;
use orchestrator::{ClusterFile, NodeEntry, OperatorIdentity};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of nodes.
    pub nodes: usize,
    /// Sample records per node.
    pub records: usize,
    /// Seed of the sample data.
    pub seed: u64,
    /// The user's own CSV to split across the nodes instead of sample data.
    pub data: Option<crate::byod::UserData>,
    /// The security model every node's engine runs under.
    pub security: protocol::engine::Security,
}

/// Paths of one generated node.
#[derive(Debug, Clone)]
pub struct NodeFiles {
    /// Node id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its configuration file.
    pub config: PathBuf,
    /// Its sample CSV.
    pub csv: PathBuf,
}

/// The generated cluster.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The cluster directory.
    pub dir: PathBuf,
    /// The nodes.
    pub nodes: Vec<NodeFiles>,
    /// The orchestrator's cluster file.
    pub cluster_file: PathBuf,
}

/// The files of the node directories found in `dir` (after [`generate`]).
pub fn existing(dir: &Path) -> Result<Generated> {
    let cluster_file = dir.join("cluster.toml");
    let cluster = ClusterFile::load(&cluster_file)
        .with_context(|| format!("{} is not a testnet directory", dir.display()))?;
    let nodes = cluster.nodes.iter().map(|n| node_files(dir, &n.id)).collect();
    Ok(Generated { dir: dir.to_path_buf(), nodes, cluster_file })
}

fn node_files(dir: &Path, id: &str) -> NodeFiles {
    let d = dir.join(id);
    NodeFiles { id: id.into(), config: d.join("node.toml"), csv: d.join("customers.csv"), dir: d }
}

/// Free UDP ports on 127.0.0.1, all held until every one is chosen.
fn free_ports(n: usize) -> Result<Vec<u16>> {
    let sockets: Vec<UdpSocket> = (0..n).map(|_| UdpSocket::bind("127.0.0.1:0")).collect::<Result<_, _>>()?;
    Ok(sockets.iter().map(|s| s.local_addr().map(|a| a.port())).collect::<Result<_, _>>()?)
}

/// Where the nodes listen and how they reach each other.
#[derive(Debug, Clone)]
pub enum Addressing {
    /// Processes on 127.0.0.1, each on a free UDP port; paths relative to each node's
    /// directory.
    Loopback,
    /// One container per node on a private network: each listens on `port` on every
    /// interface and reaches the others by service name (`node-i`); the host reaches node
    /// `i` on 127.0.0.1 at `host_ports[i]`. Paths are the container's: the node's directory
    /// mounted read-only at [`CONTAINER_CONFIG_DIR`], its data volume at
    /// [`CONTAINER_DATA_DIR`].
    Containers {
        /// The nodes' port inside the network.
        port: u16,
        /// The ports published on the host, one per node.
        host_ports: Vec<u16>,
    },
}

/// Where a container finds its node's directory (configuration, keys, CSV).
pub const CONTAINER_CONFIG_DIR: &str = "/etc/segmpc";
/// Where a container keeps its node's data (a named volume).
pub const CONTAINER_DATA_DIR: &str = "/data";

/// Writes a fresh cluster of node processes on 127.0.0.1 into `dir` (which must not hold one
/// already).
pub fn generate(dir: &Path, plan: &Plan) -> Result<Generated> {
    generate_with(dir, plan, &Addressing::Loopback)
}

/// Writes a fresh cluster into `dir` (which must not hold one already), addressed as given.
pub fn generate_with(dir: &Path, plan: &Plan, addressing: &Addressing) -> Result<Generated> {
    if plan.nodes < 3 {
        bail!("the honest-majority model needs at least 3 nodes, got {}", plan.nodes);
    }
    if dir.join("cluster.toml").exists() {
        bail!(
            "{} already holds a cluster; run `testnet down --dir {0}` and remove it, or pick another --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let operator = Identity::generate("operator")?;
    operator.write(&dir.join("operator"))?;
    // Per node: where it listens, where its peers dial it, where the operator dials it.
    let (listen, peer_address, host_address): (Vec<String>, Vec<String>, Vec<String>) = match addressing {
        Addressing::Loopback => {
            let ports = free_ports(plan.nodes)?;
            let local: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
            (local.clone(), local.clone(), local)
        }
        Addressing::Containers { port, host_ports } => {
            if host_ports.len() != plan.nodes {
                bail!("{} host ports for {} nodes", host_ports.len(), plan.nodes);
            }
            (
                vec![format!("0.0.0.0:{port}"); plan.nodes],
                (1..=plan.nodes).map(|i| format!("node-{i}:{port}")).collect(),
                host_ports.iter().map(|p| format!("127.0.0.1:{p}")).collect(),
            )
        }
    };
    // Paths as the node sees them.
    let (data_dir, keys, csv) = match addressing {
        Addressing::Loopback => ("data".to_string(), "keys".to_string(), "customers.csv".to_string()),
        Addressing::Containers { .. } => (
            CONTAINER_DATA_DIR.to_string(),
            format!("{CONTAINER_CONFIG_DIR}/keys"),
            format!("{CONTAINER_CONFIG_DIR}/customers.csv"),
        ),
    };
    let files: Vec<NodeFiles> = (1..=plan.nodes).map(|i| node_files(&dir, &format!("node-{i}"))).collect();
    let identities: Vec<Identity> =
        files.iter().map(|f| Identity::generate(&f.id)).collect::<Result<_, _>>()?;
    let user = plan.data.as_ref().map(|d| crate::byod::split(d, plan.nodes)).transpose()?;
    let schema = user.as_ref().map_or_else(sample::schema, |(s, _)| s.clone());
    for (i, (f, id)) in files.iter().zip(&identities).enumerate() {
        // A company's directory holds its key and its customers: its user's alone.
        mpc_node::files::create_dir(&f.dir).with_context(|| format!("creating {}", f.dir.display()))?;
        id.write(&f.dir.join("keys"))?;
        match &user {
            Some((schema, parts)) => {
                crate::byod::write_part(&f.csv, schema, parts.get(i).map_or(&[][..], Vec::as_slice))?
            }
            None => sample::write_customers(
                &f.csv,
                plan.records,
                plan.seed.wrapping_add(i as u64),
                &format!("{}-", f.id),
            )
            .with_context(|| format!("writing {}", f.csv.display()))?,
        }
        {
            use std::os::unix::fs::PermissionsExt;
            let private = std::fs::Permissions::from_mode(mpc_node::files::FILE_MODE);
            std::fs::set_permissions(&f.csv, private)
                .with_context(|| format!("restricting {}", f.csv.display()))?;
        }
        let config = Config {
            node_id: f.id.clone(),
            listen: listen[i].clone(),
            data_dir: data_dir.clone().into(),
            identity: KeyPaths {
                cert: format!("{keys}/cert.pem").into(),
                key: format!("{keys}/key.pem").into(),
            },
            peers: files
                .iter()
                .zip(&identities)
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, (g, gid))| PeerConfig {
                    id: g.id.clone(),
                    address: peer_address[j].clone(),
                    fingerprint: gid.fingerprint(),
                })
                .collect(),
            operators: vec![OperatorConfig { name: "operator".into(), fingerprint: operator.fingerprint() }],
            datasets: vec![DatasetConfig {
                name: sample::DATASET.into(),
                csv: csv.clone().into(),
                schema: schema.clone(),
            }],
            network: NetworkConfig::default(),
            policy: None,
            keep_replaced_days: 7.0,
            security: plan.security,
            deviate: None,
            rules: None,
        };
        std::fs::write(&f.config, toml::to_string_pretty(&config)?)?;
    }
    let cluster = ClusterFile {
        operator: OperatorIdentity {
            name: "operator".into(),
            cert: "operator/cert.pem".into(),
            key: "operator/key.pem".into(),
        },
        nodes: files
            .iter()
            .zip(&identities)
            .enumerate()
            .map(|(i, (f, id))| NodeEntry {
                id: f.id.clone(),
                address: host_address[i].clone(),
                fingerprint: id.fingerprint(),
            })
            .collect(),
    };
    let cluster_file = dir.join("cluster.toml");
    std::fs::write(&cluster_file, toml::to_string_pretty(&cluster)?)?;
    Ok(Generated { dir, nodes: files, cluster_file })
}
