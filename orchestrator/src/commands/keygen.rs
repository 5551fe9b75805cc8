//! `orchestrator keygen`: the operator's key and certificate.

use super::Output;
use crate::render::commands::Keygen;
use anyhow::Result;
use std::path::Path;

/// Generates an identity named `name` into `out`.
pub fn run(out: &Path, name: &str) -> Result<Output> {
    let identity = net::Identity::generate(name)?;
    let (cert, key) = identity.write(out)?;
    eprintln!("wrote {} and {}", cert.display(), key.display());
    Ok(Box::new(Keygen { fingerprint: identity.fingerprint().to_string(), cert, key }))
}
