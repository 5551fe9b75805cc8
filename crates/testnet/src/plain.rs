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

/// Count, sum, mean and population variance of each named feature over the consenting
/// records of `files`.
pub fn stats(files: &[&Path], schema: &Schema, features: &[&str]) -> anyhow::Result<Vec<Plain>> {
    let mut count = 0u64;
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); features.len()];
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
            count += 1;
            for (v, &i) in values.iter_mut().zip(&idx) {
                v.push(rec[i].trim().parse::<f64>()?);
            }
        }
    }
    Ok(values
        .into_iter()
        .map(|v| {
            let sum: f64 = v.iter().sum();
            let mean = (count > 0).then(|| sum / count as f64);
            let variance = mean.map(|m| v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / count as f64);
            Plain { count, sum, mean, variance }
        })
        .collect())
}
