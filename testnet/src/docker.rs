//! The testnet in containers: a node image built from nothing (`FROM scratch`, the binary and
//! exactly the shared libraries it links), and a compose project of one container per node on
//! a private network, with a named volume per node, health checks and a restart policy.
//!
//! Only the Docker command line is used (`docker`, and `docker compose` or `docker-compose`,
//! whichever answers); no image is pulled.

use crate::layout::{self, Addressing, CONTAINER_CONFIG_DIR, CONTAINER_DATA_DIR, Generated, Plan};
use crate::sample;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The image tag `image` builds by default.
pub const DEFAULT_IMAGE: &str = "segmpc-node:latest";
/// The user the node runs as inside the image (not root).
pub const NODE_UID: u32 = 10001;
/// Where the binary lives in the image.
const BINARY: &str = "/usr/local/bin/mpc-node";
/// The nodes' port inside the compose network.
pub const NODE_PORT: u16 = 7000;

fn run(cmd: &mut Command) -> Result<Output> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("running {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// Whether a Docker engine answers.
pub fn engine_available() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The compose command of this machine: `docker compose` (the plugin) or `docker-compose`.
pub fn compose_command() -> Result<Vec<String>> {
    let answers = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if answers("docker", &["compose", "version"]) {
        Ok(vec!["docker".into(), "compose".into()])
    } else if answers("docker-compose", &["version"]) {
        Ok(vec!["docker-compose".into()])
    } else {
        bail!("neither `docker compose` nor `docker-compose` answers")
    }
}

/// The shared libraries `binary` links, as `ldd` lists them (absolute paths).
fn linked_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let out = run(Command::new("ldd").arg(binary))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("statically linked") || text.contains("not a dynamic executable") {
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    Ok(libs)
}

/// Builds the node image `tag` from `binary` with no base image: the binary, the shared
/// libraries it links (at their own paths), a passwd entry for the unprivileged user it runs
/// as, an empty `/data` owned by that user, and a health check (`mpc-node health`). With
/// `orchestrator`, that binary goes in too (`/usr/local/bin/orchestrator`), for driving the
/// cluster from a one-shot container.
pub fn build_image(binary: &Path, orchestrator: Option<&Path>, tag: &str) -> Result<()> {
    let context = std::env::temp_dir().join(format!("segmpc-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    let rootfs = context.join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc"))?;
    mpc_node::files::create_dir(&context.join("data"))?;
    let mut libs = linked_libraries(binary)?;
    if let Some(o) = orchestrator {
        libs.extend(linked_libraries(o)?);
        libs.sort();
        libs.dedup();
    }
    for lib in libs {
        let real = lib.canonicalize().with_context(|| format!("resolving {}", lib.display()))?;
        let target = rootfs.join(lib.strip_prefix("/")?);
        std::fs::create_dir_all(target.parent().expect("a library path has a directory"))?;
        std::fs::copy(&real, &target).with_context(|| format!("copying {}", real.display()))?;
    }
    std::fs::write(rootfs.join("etc/passwd"), format!("segmpc:x:{NODE_UID}:{NODE_UID}::/data:{BINARY}\n"))?;
    std::fs::write(rootfs.join("etc/group"), format!("segmpc:x:{NODE_UID}:\n"))?;
    std::fs::write(rootfs.join("etc/nsswitch.conf"), "hosts: files dns\n")?;
    std::fs::copy(binary, context.join("mpc-node"))
        .with_context(|| format!("copying {}", binary.display()))?;
    let bin = rootfs.join("usr/local/bin");
    std::fs::create_dir_all(&bin)?;
    if let Some(o) = orchestrator {
        std::fs::copy(o, bin.join("orchestrator")).with_context(|| format!("copying {}", o.display()))?;
    }
    let dockerfile = format!(
        "FROM scratch\n\
         COPY rootfs/ /\n\
         COPY --chown={NODE_UID}:{NODE_UID} data/ {CONTAINER_DATA_DIR}/\n\
         COPY mpc-node {BINARY}\n\
         USER {NODE_UID}:{NODE_UID}\n\
         VOLUME [\"{CONTAINER_DATA_DIR}\"]\n\
         ENTRYPOINT [\"{BINARY}\"]\n\
         CMD [\"run\", \"--config\", \"{CONTAINER_CONFIG_DIR}/node.toml\"]\n\
         HEALTHCHECK --interval=2s --timeout=5s --start-period=2s --retries=15 \
         CMD [\"{BINARY}\", \"health\", \"--config\", \"{CONTAINER_CONFIG_DIR}/node.toml\"]\n"
    );
    std::fs::write(context.join("Dockerfile"), dockerfile)?;
    let result = run(Command::new("docker").args(["build", "--quiet", "-t", tag]).arg(&context));
    let _ = std::fs::remove_dir_all(&context);
    result.map(|_| ())
}

/// The compose project name of a directory: its name, lower case, letters, digits, `-`, `_`.
fn project_name(dir: &Path) -> String {
    let name: String = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if name.is_empty() { "segmpc".into() } else { name }
}

/// A compose project written by [`write_compose`].
#[derive(Debug, Clone)]
pub struct ComposeProject {
    /// Its files (node directories, the operator's cluster file with the published ports).
    pub generated: Generated,
    /// The compose file.
    pub file: PathBuf,
    /// The project name (containers are `<project>-node-i-1` or `<project>_node-i_1`).
    pub name: String,
}

/// Writes keys, configurations, sample data (or the user's, split) and `compose.yaml` for a
/// cluster of containers into `dir`. Node `i` publishes its UDP port on the host at
/// `host_port + i`; the cluster file addresses the nodes there. One-shot `ingest-node-i`
/// services share each company's file once every node is healthy.
pub fn write_compose(dir: &Path, plan: &Plan, image: &str, host_port: u16) -> Result<ComposeProject> {
    let host_ports: Vec<u16> = (1..=plan.nodes as u16).map(|i| host_port + i).collect();
    let generated = layout::generate_with(
        dir,
        plan,
        &Addressing::Containers { port: NODE_PORT, host_ports: host_ports.clone() },
    )?;
    // The operator in a one-shot container reaches the nodes by service name.
    let mut in_network = orchestrator::ClusterFile::load(&generated.cluster_file)?;
    for node in &mut in_network.nodes {
        node.address = format!("{}:{NODE_PORT}", node.id);
    }
    // Paths as the container sees them, beside the cluster file.
    in_network.operator.cert = "operator/cert.pem".into();
    in_network.operator.key = "operator/key.pem".into();
    std::fs::write(generated.dir.join("cluster-in-network.toml"), toml::to_string_pretty(&in_network)?)?;
    let runs_as = hand_over(&generated)?;
    let health = serde_json::json!({
        "test": ["CMD", BINARY, "health", "--config", format!("{CONTAINER_CONFIG_DIR}/node.toml")],
        "interval": "2s",
        "timeout": "5s",
        "retries": 15,
        "start_period": "2s",
    });
    let mut services = serde_json::Map::new();
    let mut volumes = serde_json::Map::new();
    let all_healthy: serde_json::Map<String, serde_json::Value> = generated
        .nodes
        .iter()
        .map(|n| (n.id.clone(), serde_json::json!({ "condition": "service_healthy" })))
        .collect();
    for (node, port) in generated.nodes.iter().zip(&host_ports) {
        let config_mount = format!("./{}:{CONTAINER_CONFIG_DIR}:ro", node.id);
        let data_mount = match runs_as {
            RunsAs::ImageUser => {
                volumes.insert(format!("{}-data", node.id), serde_json::json!({}));
                format!("{}-data:{CONTAINER_DATA_DIR}", node.id)
            }
            RunsAs::HostUser { .. } => {
                let dir = generated.dir.join("volumes").join(&node.id);
                mpc_node::files::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
                format!("./volumes/{}:{CONTAINER_DATA_DIR}", node.id)
            }
        };
        let mut service = serde_json::json!({
            "image": image,
            "hostname": node.id,
            "command": ["run", "--config", format!("{CONTAINER_CONFIG_DIR}/node.toml")],
            "environment": { "RUST_LOG": "info" },
            "volumes": [config_mount, data_mount],
            "ports": [format!("127.0.0.1:{port}:{NODE_PORT}/udp")],
            "networks": ["segmpc"],
            "restart": "unless-stopped",
            "healthcheck": health,
        });
        runs_as.apply(&mut service);
        services.insert(node.id.clone(), service);
        let mut ingest = serde_json::json!({
            "image": image,
            "command": ["ingest", "--config", format!("{CONTAINER_CONFIG_DIR}/node.toml"), "--dataset", sample::DATASET],
            "volumes": [config_mount],
            "network_mode": format!("service:{}", node.id),
            "depends_on": all_healthy,
            "restart": "no",
        });
        runs_as.apply(&mut ingest);
        services.insert(format!("ingest-{}", node.id), ingest);
    }
    let mut tools = serde_json::json!({
        "image": image,
        "profiles": ["tools"],
        "entrypoint": ["/usr/local/bin/orchestrator", "--cluster", "/etc/segmpc-operator/cluster.toml"],
        "volumes": [
            "./operator:/etc/segmpc-operator/operator:ro",
            "./cluster-in-network.toml:/etc/segmpc-operator/cluster.toml:ro",
        ],
        "networks": ["segmpc"],
    });
    runs_as.apply(&mut tools);
    services.insert("orchestrator".into(), tools);
    let compose = serde_json::json!({
        "services": services,
        "networks": { "segmpc": {} },
        "volumes": volumes,
    });
    let file = generated.dir.join("compose.yaml");
    // JSON is YAML; the comment says how to use it.
    let text = format!(
        "# segmpc test cluster: {} nodes. Start: docker compose -f {} up -d (or docker-compose).\n# The operator's cluster file: {}\n{}\n",
        plan.nodes,
        file.display(),
        generated.cluster_file.display(),
        serde_json::to_string_pretty(&compose)?
    );
    std::fs::write(&file, text)?;
    let name = project_name(&generated.dir);
    Ok(ComposeProject { generated, file, name })
}

/// Which user the containers run as, so that they can read keys that only their owner may
/// read (mode 0600 in directories of mode 0700).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunsAs {
    /// The image's own unprivileged user ([`NODE_UID`]): `testnet` runs as root and hands the
    /// node and operator directories, keys and customer files over to that user.
    ImageUser,
    /// The user who runs `testnet` (not root, so it cannot hand files to another user): the
    /// containers run as that user, and each node's data directory is a directory of that
    /// user's under `DIR/volumes/` instead of a named volume (whose files would belong to
    /// the image's user).
    HostUser {
        /// User id.
        uid: u32,
        /// Group id.
        gid: u32,
    },
}

impl RunsAs {
    /// Sets the `user` of a compose service that runs as the host user.
    fn apply(self, service: &mut serde_json::Value) {
        if let RunsAs::HostUser { uid, gid } = self {
            service["user"] = serde_json::json!(format!("{uid}:{gid}"));
        }
    }
}

/// Hands what the containers read (each node's directory, keys and customers, the operator's
/// key) to the image's user when this process may (root); otherwise the containers will run
/// as this process's user, who owns them already.
fn hand_over(generated: &Generated) -> Result<RunsAs> {
    use std::os::unix::fs::MetadataExt;
    let mut private: Vec<PathBuf> = Vec::new();
    for node in &generated.nodes {
        private.extend([
            node.dir.clone(),
            node.dir.join("keys"),
            node.dir.join("keys/key.pem"),
            node.csv.clone(),
        ]);
    }
    private.extend([generated.dir.join("operator"), generated.dir.join("operator/key.pem")]);
    // A file this process has just created tells which user it runs as.
    let meta = std::fs::metadata(generated.dir.join("operator/key.pem"))?;
    if meta.uid() != 0 {
        return Ok(RunsAs::HostUser { uid: meta.uid(), gid: meta.gid() });
    }
    for path in &private {
        std::os::unix::fs::chown(path, Some(NODE_UID), Some(NODE_UID))
            .with_context(|| format!("handing {} to the container user {NODE_UID}", path.display()))?;
    }
    Ok(RunsAs::ImageUser)
}

impl ComposeProject {
    /// Reads a project written earlier into `dir`.
    pub fn existing(dir: &Path) -> Result<Self> {
        let file = dir.join("compose.yaml");
        if !file.exists() {
            bail!("{} holds no compose.yaml; write one with `testnet compose`", dir.display());
        }
        let generated = layout::existing(dir)?;
        let name = project_name(&generated.dir);
        Ok(ComposeProject { generated, file, name })
    }

    /// Runs `compose -p <name> -f compose.yaml <args>`.
    pub fn compose(&self, args: &[&str]) -> Result<Output> {
        let command = compose_command()?;
        let mut cmd = Command::new(&command[0]);
        cmd.args(&command[1..]).arg("-p").arg(&self.name).arg("-f").arg(&self.file).args(args);
        run(&mut cmd)
    }

    /// The container id of a service.
    pub fn container(&self, service: &str) -> Result<String> {
        let out = self.compose(&["ps", "-q", service])?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if id.is_empty() {
            bail!("service {service} has no container");
        }
        Ok(id)
    }

    /// Runs `docker <args...> <container of service>`.
    pub fn docker(&self, args: &[&str], service: &str) -> Result<Output> {
        let id = self.container(service)?;
        run(Command::new("docker").args(args).arg(id))
    }

    /// The project's network name.
    pub fn network(&self) -> String {
        format!("{}_segmpc", self.name)
    }
}

/// Starts a project, waits until every node answers the operator and every company's data
/// is ingested.
pub async fn up(project: &ComposeProject) -> Result<orchestrator::Client> {
    project.compose(&["up", "-d"])?;
    ready(project).await
}

/// Waits until every node of a started project answers the operator and every company's
/// data is ingested (at most 120 s).
pub async fn ready(project: &ComposeProject) -> Result<orchestrator::Client> {
    let client =
        orchestrator::Client::new(orchestrator::ClusterFile::load(&project.generated.cluster_file)?)?;
    let nodes = project.generated.nodes.len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let ready = client.ping().await.iter().all(Result::is_ok);
        let ingested = ready
            && client
                .datasets()
                .await
                .is_ok_and(|list| list.iter().any(|d| d.name == sample::DATASET && d.owners.len() == nodes));
        if ingested {
            return Ok(client);
        }
        if std::time::Instant::now() > deadline {
            let logs = project
                .compose(&["logs", "--tail", "20"])
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
            bail!("the containers were not ready with their data after 120 s:\n{}", logs.unwrap_or_default());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn a_compose_project_keeps_keys_private_and_readable_by_the_containers() {
        let tmp = tempfile::tempdir().unwrap();
        let plan =
            Plan { nodes: 3, records: 5, seed: 1, data: None, security: protocol::engine::Security::Passive };
        let project = write_compose(&tmp.path().join("c"), &plan, "segmpc-node:test", 30_000).unwrap();
        let text = std::fs::read_to_string(&project.file).unwrap();
        let json: String = text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        let compose: serde_json::Value = serde_json::from_str(&json).unwrap();
        let me = std::fs::metadata(tmp.path()).unwrap();
        let owner = if me.uid() == 0 { NODE_UID } else { me.uid() };
        let mut private = vec![(project.generated.dir.join("operator"), 0o700)];
        private.push((project.generated.dir.join("operator/key.pem"), 0o600));
        for node in &project.generated.nodes {
            private.push((node.dir.clone(), 0o700));
            private.push((node.dir.join("keys"), 0o700));
            private.push((node.dir.join("keys/key.pem"), 0o600));
            private.push((node.csv.clone(), 0o600));
            let service = &compose["services"][&node.id];
            if me.uid() == 0 {
                assert!(service.get("user").is_none(), "{service}");
                assert_eq!(service["volumes"][1], format!("{}-data:{CONTAINER_DATA_DIR}", node.id));
            } else {
                assert_eq!(service["user"], format!("{}:{}", me.uid(), me.gid()));
                assert_eq!(service["volumes"][1], format!("./volumes/{}:{CONTAINER_DATA_DIR}", node.id));
            }
        }
        for (path, mode) in private {
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(meta.permissions().mode() & 0o7777, mode, "{}", path.display());
            assert_eq!(meta.uid(), owner, "{} is not the containers' user's", path.display());
        }
    }
}
