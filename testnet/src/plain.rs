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
    let features: Vec<String> = features.iter().map(|f| f.to_string()).collect();
    let columns = orchestrator::plain::Columns {
        features: &features,
        consent: schema.consent.as_deref(),
        ..Default::default()
    };
    Ok(orchestrator::plain::read(files, &columns)?.rows)
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
