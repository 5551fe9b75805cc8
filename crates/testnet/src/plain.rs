//! The plaintext reference: the same statistics computed in the clear over CSV files the user
//! holds, for checking the cluster's answers.

use std::path::Path;
use wire::schema::Schema;

/// Count, sum and mean of each named feature over the consenting records of `files`.
pub fn stats(
    files: &[&Path],
    schema: &Schema,
    features: &[&str],
) -> anyhow::Result<Vec<(u64, f64, Option<f64>)>> {
    let mut count = 0u64;
    let mut sums = vec![0.0f64; features.len()];
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
            for (s, &i) in sums.iter_mut().zip(&idx) {
                *s += rec[i].trim().parse::<f64>()?;
            }
        }
    }
    Ok(sums.into_iter().map(|s| (count, s, (count > 0).then(|| s / count as f64))).collect())
}
