//! `orchestrator plain ...`: a job in the clear over CSV files the operator holds.

use super::Output;
use super::job::KmeansArgs;
use crate::render::results::Segmentation;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

/// A job in the clear.
#[derive(Debug, Subcommand)]
pub enum PlainCommand {
    /// k-means (and, with --protected, the fairness report) over the records of FILES.
    Kmeans {
        /// CSV files, read in order as the cluster orders its owners' contributions.
        #[arg(required = true, value_name = "FILE.csv")]
        files: Vec<PathBuf>,
        #[allow(missing_docs)] // The k-means parameters, documented field by field.
        #[command(flatten)]
        kmeans: KmeansArgs,
        /// Declared ranges, consent column and levels: a node configuration (with --dataset)
        /// or a schema file. Without it, ranges are the data's own.
        #[arg(long, value_name = "FILE.toml")]
        schema: Option<PathBuf>,
        /// The dataset of a node configuration given with --schema.
        #[arg(long, default_value = "customers")]
        dataset: String,
        /// Consent column (default: the schema's); records that do not say yes are skipped.
        #[arg(long)]
        consent: Option<String>,
        /// A categorical protected column: also print the fairness report.
        #[arg(long)]
        protected: Option<String>,
        /// Smallest cell shown in the fairness report.
        #[arg(long, default_value_t = 5)]
        min_cell: u64,
        /// Write each record's segment to this CSV (file, record, segment).
        #[arg(long, value_name = "FILE.csv")]
        labels_out: Option<PathBuf>,
    },
}

/// Runs a plaintext job.
pub fn run(command: PlainCommand) -> Result<Output> {
    let PlainCommand::Kmeans { files, kmeans, schema, dataset, consent, protected, min_cell, labels_out } =
        command;
    let schema = schema.map(|p| crate::plain::load_schema(&p, &dataset)).transpose()?;
    let levels = schema.as_ref().and_then(|s| {
        s.categorical.iter().find(|c| Some(&c.name) == protected.as_ref()).map(|c| c.levels.clone())
    });
    let paths: Vec<&std::path::Path> = files.iter().map(PathBuf::as_path).collect();
    let features = &kmeans.features;
    let columns = crate::plain::Columns {
        features,
        consent: consent.as_deref().or(schema.as_ref().and_then(|s| s.consent.as_deref())),
        protected: protected.as_deref(),
        levels: levels.as_deref(),
    };
    let records = crate::plain::read(&paths, &columns)?;
    let bounds = crate::plain::bounds(schema.as_ref(), features, &records.rows);
    let n = records.rows.len() as u64;
    let (result, labels) = match kmeans.epsilon {
        Some(epsilon) => {
            let (iterations, _, _) = kmeans.resolved(n);
            let p = protocol::kmeans::private::PrivateParams {
                k: kmeans.k as usize,
                iterations: iterations as usize,
                seed: kmeans.seed,
                epsilon,
                min_segment: kmeans.min_segment,
            };
            crate::plain::kmeans_private(&records, features, &bounds, p)?
        }
        None => crate::plain::kmeans(&records, features, &bounds, kmeans.params(n))?,
    };
    let fairness = protected.map(|p| crate::plain::fairness(&records, &labels, &result, &p, min_cell));
    if let Some(out) = labels_out {
        std::fs::write(&out, crate::plain::labels_csv(&paths, &records, &labels))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(Box::new(Segmentation { kmeans: result, fairness }))
}
