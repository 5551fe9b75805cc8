//! Starting and stopping the node processes of a generated cluster.

use crate::layout::NodeFiles;
use anyhow::{Context, Result, bail};
use orchestrator::{Client, ClusterFile};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start a node process: `program args... --config FILE`.
#[derive(Debug, Clone)]
pub struct NodeCommand {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before `--config`.
    pub args: Vec<String>,
}

impl NodeCommand {
    /// This executable's hidden `node` subcommand (it embeds the node daemon), so that the
    /// nodes always run the same build as the testnet that starts them.
    pub fn current_exe() -> Result<Self> {
        Ok(Self { program: std::env::current_exe()?, args: vec!["node".into()] })
    }
}

/// Starts node `files` in the background; its output goes to `node.log` and its pid to
/// `node.pid` in its directory.
pub fn spawn(cmd: &NodeCommand, files: &NodeFiles) -> Result<Child> {
    let log_path = files.dir.join("node.log");
    let log =
        mpc_node::files::open_append(&log_path).with_context(|| format!("opening {}", log_path.display()))?;
    let child = Command::new(&cmd.program)
        .args(&cmd.args)
        .arg("--config")
        .arg(&files.config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .spawn()
        .with_context(|| format!("starting {}", cmd.program.display()))?;
    std::fs::write(files.dir.join("node.pid"), child.id().to_string())?;
    Ok(child)
}

/// The last lines of a node's log, for error messages.
pub fn log_tail(files: &NodeFiles, lines: usize) -> String {
    let text = std::fs::read_to_string(files.dir.join("node.log")).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits until every node of `cluster_file` answers a ping, or one of the `watched` processes
/// exits.
pub async fn wait_ready(
    cluster_file: &Path,
    watched: &mut [(&NodeFiles, &mut Child)],
    limit: Duration,
) -> Result<Client> {
    let client = Client::new(ClusterFile::load(cluster_file)?)?;
    let start = Instant::now();
    loop {
        for (files, child) in watched.iter_mut() {
            if let Some(status) = child.try_wait()? {
                bail!("node {} exited ({status}) during start:\n{}", files.id, log_tail(files, 20));
            }
        }
        let pings = client.ping().await;
        if pings.iter().all(Result::is_ok) {
            return Ok(client);
        }
        if start.elapsed() > limit {
            let down: Vec<String> =
                pings.into_iter().filter_map(Result::err).map(|e| e.to_string()).collect();
            bail!("nodes not ready after {} s: {}", limit.as_secs(), down.join("; "));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the node whose pid file is in `dir` (SIGTERM, then SIGKILL after `grace`).
/// Returns whether a process was running.
pub fn stop_pid_file(dir: &Path, grace: Duration) -> Result<bool> {
    let pid_file = dir.join("node.pid");
    let Ok(text) = std::fs::read_to_string(&pid_file) else { return Ok(false) };
    let pid: u32 = text.trim().parse().with_context(|| format!("{} holds no pid", pid_file.display()))?;
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
            .unwrap_or(false)
    };
    let was_running = alive(pid);
    if was_running {
        signal(pid, "TERM");
        let start = Instant::now();
        while alive(pid) && start.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(50));
        }
        if alive(pid) {
            signal(pid, "KILL");
        }
    }
    let _ = std::fs::remove_file(&pid_file);
    Ok(was_running)
}

/// Sends a signal with the system's `kill`.
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status();
}
