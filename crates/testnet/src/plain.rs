//! The plaintext reference: the same statistics computed in the clear over CSV files the user
//! holds, for checking the cluster's answers.

use std::path::Path;
use wire::schema::Schema;

/// Plaintext statistics of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Plain {
    /// Records.
    pub count: u64,
    /// Sum.
    pub sum: f64,
    /// Mean (none without records).
    pub mean: Option<f64>,
    /// Population variance (none without records).
    pub variance: Option<f64>,
}

/// The consenting records of `files`, each as the values of the named features.
pub fn rows(files: &[&Path], schema: &Schema, features: &[&str]) -> anyhow::Result<Vec<Vec<f64>>> {
    let mut out = Vec::new();
    for file in files {
        let mut r = csv::Reader::from_path(file)?;
        let headers = r.headers()?.clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let idx: Vec<usize> = features
            .iter()
            .map(|f| col(f).ok_or_else(|| anyhow::anyhow!("{}: no column {f}", file.display())))
            .collect::<Result<_, _>>()?;
        let consent = schema.consent.as_deref().and_then(col);
        for rec in r.records() {
            let rec = rec?;
            if let Some(c) = consent
                && !matches!(rec[c].trim().to_ascii_lowercase().as_str(), "yes" | "y" | "true" | "1")
            {
                continue;
            }
            out.push(idx.iter().map(|&i| rec[i].trim().parse::<f64>()).collect::<Result<_, _>>()?);
        }
    }
    Ok(out)
}

/// Count, sum, mean and population variance of each named feature over the consenting
/// records of `files`.
pub fn stats(files: &[&Path], schema: &Schema, features: &[&str]) -> anyhow::Result<Vec<Plain>> {
    let rows = rows(files, schema, features)?;
    let count = rows.len() as u64;
    Ok((0..features.len())
        .map(|j| {
            let sum: f64 = rows.iter().map(|r| r[j]).sum();
            let mean = (count > 0).then(|| sum / count as f64);
            let variance =
                mean.map(|m| rows.iter().map(|r| (r[j] - m) * (r[j] - m)).sum::<f64>() / count as f64);
            Plain { count, sum, mean, variance }
        })
        .collect())
}
