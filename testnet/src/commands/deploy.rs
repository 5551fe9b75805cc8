//! `testnet image` and `compose`: the node image and a compose project of it.

use super::Output;
use crate::layout::Plan;
use crate::views::{Built, Exported};
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Builds the node image `tag` from `binary` (and the orchestrator's, when there is one).
pub fn image(binary: Option<PathBuf>, orchestrator: Option<PathBuf>, tag: &str) -> Result<Output> {
    let binary = match binary {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name("mpc-node"),
    };
    if !binary.exists() {
        bail!("{} does not exist; run `cargo build --release` first or pass --binary", binary.display());
    }
    let orchestrator = match orchestrator {
        Some(o) => Some(o),
        None => Some(binary.with_file_name("orchestrator")).filter(|o| o.exists()),
    };
    crate::docker::build_image(&binary, orchestrator.as_deref(), tag)?;
    let out = std::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Size}}", tag])
        .output()?;
    let bytes: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0.0);
    Ok(Box::new(Built { tag: tag.to_string(), binary, bytes: bytes as u64 }))
}

/// Writes a compose project into `dir` and, with `up`, starts it.
pub async fn compose(dir: &Path, plan: &Plan, image: &str, host_port: u16, up: bool) -> Result<Output> {
    let project = crate::docker::write_compose(dir, plan, image, host_port)?;
    eprintln!("wrote {}", project.file.display());
    if up {
        crate::docker::up(&project).await?;
    } else {
        eprintln!("start it with: docker compose -f {} up -d", project.file.display());
    }
    Ok(Box::new(Exported { cluster: project.generated.cluster_file.clone() }))
}
