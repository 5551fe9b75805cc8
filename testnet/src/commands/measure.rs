//! `testnet bench-kmeans` and `bench-dp`: whole jobs timed, and the private releases'
//! accuracy measured.

use super::Output;
use crate::views::Measurements;
use anyhow::Result;
use std::path::PathBuf;

/// Times whole k-means jobs (in `dir`, or a temporary directory removed after).
pub async fn kmeans(b: crate::jobbench::KmeansBench, dir: Option<PathBuf>) -> Result<Output> {
    let temp = super::temp_dir()?;
    let dir = dir.unwrap_or_else(|| temp.clone());
    let result = crate::jobbench::kmeans(&dir, &b).await;
    if dir == temp {
        let _ = std::fs::remove_dir_all(&temp);
    }
    let rows = result?;
    Ok(Box::new(Measurements { kind: "bench-kmeans", table: crate::jobbench::table(&b, &rows), runs: rows }))
}

/// Measures the accuracy of the private releases.
pub async fn dp(b: crate::dpbench::DpBench) -> Result<Output> {
    let temp = super::temp_dir()?;
    let result = crate::dpbench::accuracy(&temp, &b).await;
    let _ = std::fs::remove_dir_all(&temp);
    let rows = result?;
    Ok(Box::new(Measurements { kind: "bench-dp", table: crate::dpbench::table(&b, &rows), runs: rows }))
}
