//! Bring your own data: split a CSV the user holds across the testnet's nodes, as if each
//! company held a part of it, with a schema inferred from the file.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use wire::schema::{CategoricalColumn, NumericColumn, Schema};

/// A user's CSV and the columns to use.
#[derive(Debug, Clone)]
pub struct UserData {
    /// The CSV file (header row required).
    pub file: PathBuf,
    /// Numeric columns to segment on.
    pub features: Vec<String>,
    /// A categorical protected column, if any.
    pub protected: Option<String>,
}

/// The inferred schema and the rows (selected columns, in schema order) split into `parts`
/// contiguous chunks. Numeric ranges are the data's own minimum and maximum; the protected
/// column's levels are its distinct values, sorted.
pub fn split(data: &UserData, parts: usize) -> Result<(Schema, Vec<Vec<Vec<String>>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(&data.file)
        .with_context(|| format!("reading {}", data.file.display()))?;
    let headers = reader.headers()?.clone();
    let find = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column `{name}` (columns: {})",
                data.file.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let feature_idx: Vec<usize> = data.features.iter().map(|f| find(f)).collect::<Result<_>>()?;
    let protected_idx = data.protected.as_deref().map(find).transpose()?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); feature_idx.len()];
    let mut levels: Vec<String> = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", data.file.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut row = Vec::with_capacity(feature_idx.len() + 1);
        for (k, &i) in feature_idx.iter().enumerate() {
            let raw = &record[i];
            let v: f64 = raw.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}:{line}:{}: `{}`: `{raw}` is not a number",
                    data.file.display(),
                    i + 1,
                    data.features[k]
                )
            })?;
            ranges[k] = (ranges[k].0.min(v), ranges[k].1.max(v));
            row.push(raw.to_string());
        }
        if let Some(i) = protected_idx {
            let level = record[i].to_string();
            if !levels.contains(&level) {
                levels.push(level.clone());
            }
            row.push(level);
        }
        rows.push(row);
    }
    if rows.len() < parts {
        bail!("{} has {} records, fewer than the {parts} nodes", data.file.display(), rows.len());
    }
    levels.sort();
    let schema = Schema {
        features: data
            .features
            .iter()
            .zip(&ranges)
            .map(|(name, &(lo, hi))| NumericColumn { name: name.clone(), min: Some(lo), max: Some(hi) })
            .collect(),
        categorical: data
            .protected
            .iter()
            .map(|name| CategoricalColumn { name: name.clone(), levels: levels.clone() })
            .collect(),
        consent: None,
    };
    let per = rows.len().div_ceil(parts);
    let chunks = rows.chunks(per).map(<[Vec<String>]>::to_vec).collect::<Vec<_>>();
    Ok((schema, chunks))
}

/// Writes one node's part with a header row.
pub fn write_part(path: &Path, schema: &Schema, rows: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(schema.shared_columns())?;
    for row in rows {
        w.write_record(row)?;
    }
    w.flush()?;
    Ok(())
}
