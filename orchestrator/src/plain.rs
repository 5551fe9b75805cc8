//! The plaintext mode: the `kmeans` and `fairness` jobs run in the clear over CSV files the
//! user already holds, with the same algorithm, starting centroids and fixed-point arithmetic
//! as the cluster (`protocol::clear`). It never contacts a node. Use it to debug a job on
//! your own data, or to check what the cluster returned.

use crate::{FairnessResult, KmeansResult};
use protocol::kmeans::{Outcome, Params};
use std::path::{Path, PathBuf};
use wire::schema::Schema;

/// Why the plaintext mode cannot run.
#[derive(Debug, thiserror::Error)]
pub enum PlainError {
    /// A file cannot be read or parsed.
    #[error("{file}: {reason}")]
    File {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A cell is unusable.
    #[error("{file}:{line}: column `{column}`: {reason}")]
    Cell {
        /// The file.
        file: PathBuf,
        /// Line number (1 is the header).
        line: u64,
        /// Column name.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// The job itself cannot run.
    #[error("{0}")]
    Job(String),
}

/// Consenting records read from CSV files.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Each record's features, in the order asked for.
    pub rows: Vec<Vec<f64>>,
    /// Each record's file (index into the files read) and position among that file's
    /// consenting records, as a node numbers an owner's records in its labels.
    pub origin: Vec<(usize, usize)>,
    /// Each record's group of the protected column, if one was asked for.
    pub groups: Vec<usize>,
    /// The protected column's levels, in code order.
    pub levels: Vec<String>,
}

/// What to read from the files.
#[derive(Debug, Clone, Default)]
pub struct Columns<'a> {
    /// Numeric features.
    pub features: &'a [String],
    /// Consent column: records that do not say yes are skipped, as at ingest.
    pub consent: Option<&'a str>,
    /// A categorical protected column.
    pub protected: Option<&'a str>,
    /// Its levels in code order (from a schema); otherwise the values seen, sorted.
    pub levels: Option<&'a [String]>,
}

/// Whether a consent cell says yes (read as ingest reads it).
pub fn consents(cell: &str) -> bool {
    wire::schema::parse_consent(cell) == Some(true)
}

/// Reads the consenting records of `files`.
pub fn read(files: &[&Path], columns: &Columns<'_>) -> Result<Records, PlainError> {
    let mut out = Records::default();
    let mut raw_groups: Vec<String> = Vec::new();
    for (f, file) in files.iter().enumerate() {
        let fail = |reason: String| PlainError::File { file: file.to_path_buf(), reason };
        let mut reader = csv::Reader::from_path(file).map_err(|e| fail(e.to_string()))?;
        let headers = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
        let find = |name: &str| {
            headers.iter().position(|h| h.trim() == name).ok_or_else(|| fail(format!("no column `{name}`")))
        };
        let idx: Vec<usize> = columns.features.iter().map(|c| find(c)).collect::<Result<_, _>>()?;
        let consent = columns.consent.map(find).transpose()?;
        let protected = columns.protected.map(find).transpose()?;
        let mut own = 0;
        for record in reader.records() {
            let record = record.map_err(|e| fail(e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            if consent.is_some_and(|c| !consents(&record[c])) {
                continue;
            }
            let mut row = Vec::with_capacity(idx.len());
            for (&i, name) in idx.iter().zip(columns.features) {
                let cell = record[i].trim();
                let v =
                    cell.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| PlainError::Cell {
                        file: file.to_path_buf(),
                        line,
                        column: name.clone(),
                        reason: format!("`{cell}` is not a number"),
                    })?;
                row.push(v);
            }
            if let Some(p) = protected {
                raw_groups.push(record[p].trim().to_string());
            }
            out.rows.push(row);
            out.origin.push((f, own));
            own += 1;
        }
    }
    if let Some(name) = columns.protected {
        out.levels = match columns.levels {
            Some(levels) => levels.to_vec(),
            None => {
                let mut seen = raw_groups.clone();
                seen.sort();
                seen.dedup();
                seen
            }
        };
        out.groups = raw_groups
            .iter()
            .map(|g| {
                out.levels
                    .iter()
                    .position(|l| l == g)
                    .ok_or_else(|| PlainError::Job(format!("`{g}` is not a declared level of `{name}`")))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(out)
}

/// A dataset's schema from a TOML file: either a node configuration (its `[[datasets]]` entry
/// named `dataset`) or a schema on its own (`[[features]]`, `[[categorical]]`, `consent`).
pub fn load_schema(path: &Path, dataset: &str) -> Result<Schema, PlainError> {
    let fail = |reason: String| PlainError::File { file: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let value: toml::Value = toml::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let schema = match value.get("datasets").and_then(|d| d.as_array()) {
        Some(list) => list
            .iter()
            .find(|d| d.get("name").and_then(|n| n.as_str()) == Some(dataset))
            .and_then(|d| d.get("schema"))
            .ok_or_else(|| fail(format!("no dataset `{dataset}`")))?
            .clone(),
        None => value,
    };
    let schema: Schema = schema.try_into().map_err(|e: toml::de::Error| fail(e.to_string()))?;
    schema.check().map_err(|e| fail(e.to_string()))?;
    Ok(schema)
}

/// Each feature's range: the declared one from `schema` where it has one (as the cluster
/// uses), else the smallest and largest value in the records.
pub fn bounds(schema: Option<&Schema>, features: &[String], rows: &[Vec<f64>]) -> Vec<(f64, f64)> {
    features
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let declared = schema.and_then(|s| s.features.iter().find(|f| &f.name == name));
            let seen = rows
                .iter()
                .map(|r| r[j])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let lo = declared.and_then(|f| f.min).unwrap_or(if seen.0.is_finite() { seen.0 } else { 0.0 });
            let hi = declared.and_then(|f| f.max).unwrap_or(if seen.1.is_finite() { seen.1 } else { 0.0 });
            (lo, hi)
        })
        .collect()
}

/// A k-means job's parameters as the protocol takes them.
pub fn params(
    k: u32,
    iterations: u32,
    seed: u64,
    restarts: u32,
    init: wire::control::KmeansInit,
    min_segment: u64,
) -> Params {
    let init = match init {
        wire::control::KmeansInit::PlusPlus => protocol::kmeans::Init::PlusPlus,
        wire::control::KmeansInit::Random => protocol::kmeans::Init::Random,
    };
    Params {
        k: k as usize,
        iterations: iterations as usize,
        seed,
        restarts: restarts as usize,
        init,
        min_segment,
    }
}

/// The k-means job in the plaintext mode: the outcome as the cluster would reveal it, and the
/// segment of every record (numbered as the result's segment ids).
pub fn kmeans(
    records: &Records,
    features: &[String],
    bounds: &[(f64, f64)],
    p: Params,
) -> Result<(KmeansResult, Vec<usize>), PlainError> {
    if p.k == 0 || p.k > records.rows.len() {
        return Err(PlainError::Job(format!("k = {} does not fit {} records", p.k, records.rows.len())));
    }
    let (segments, labels): (Outcome, Vec<usize>) =
        protocol::kmeans::plain_job(&records.rows, bounds, p).map_err(|e| PlainError::Job(e.to_string()))?;
    Ok((result(records, features, None, p.min_segment, segments), labels))
}

/// The private k-means job (DPLloyd) in the plaintext mode, with central noise from the
/// operating system's generator: what accuracy to expect of the cluster at this epsilon.
pub fn kmeans_private(
    records: &Records,
    features: &[String],
    bounds: &[(f64, f64)],
    p: protocol::kmeans::private::PrivateParams,
) -> Result<(KmeansResult, Vec<usize>), PlainError> {
    use rand::SeedableRng;
    if p.k == 0 || p.k > records.rows.len() {
        return Err(PlainError::Job(format!("k = {} does not fit {} records", p.k, records.rows.len())));
    }
    let mut rng = rand_chacha::ChaCha20Rng::try_from_rng(&mut rand::rngs::SysRng)
        .map_err(|e| PlainError::Job(format!("no OS randomness: {e}")))?;
    let (segments, labels) = protocol::kmeans::plain_private_job(&records.rows, bounds, p, &mut rng)
        .map_err(|e| PlainError::Job(e.to_string()))?;
    Ok((result(records, features, Some(p.epsilon), p.min_segment, segments), labels))
}

fn result(
    records: &Records,
    features: &[String],
    epsilon: Option<f64>,
    min_segment: u64,
    segments: Outcome,
) -> KmeansResult {
    KmeansResult {
        job: "plaintext".into(),
        dataset: "local files".into(),
        count: records.rows.len() as u64,
        features: features.to_vec(),
        epsilon,
        min_segment,
        segments,
    }
}

/// The exact fairness report of plaintext segments against the records' groups, with the
/// cells the cluster would withhold withheld (the segmentation's suppressed segments whole).
pub fn fairness(
    records: &Records,
    labels: &[usize],
    segmentation: &KmeansResult,
    protected: &str,
    min_cell: u64,
) -> FairnessResult {
    let (k, g) = (segmentation.segments.k, records.levels.len());
    let mut table = vec![0u64; k * g];
    for (&l, &group) in labels.iter().zip(&records.groups) {
        table[l * g + group] += 1;
    }
    let s = &segmentation.segments;
    let mut hidden = vec![false; k];
    for (&id, &suppressed) in s.ids.iter().zip(&s.suppressed) {
        hidden[id] = suppressed;
    }
    let released = protocol::fairness::Released::exact(&table, k, g, min_cell, &hidden);
    FairnessResult {
        job: "plaintext".into(),
        segments_job: "plaintext".into(),
        protected: protected.to_string(),
        epsilon: None,
        report: protocol::fairness::report(&released, &records.levels, min_cell),
    }
}

/// The labels CSV: each record's file, its position among that file's consenting records (as
/// an owner node numbers them) and its segment.
pub fn labels_csv(files: &[&Path], records: &Records, labels: &[usize]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut write = |row: [String; 3]| w.write_record(&row).expect("writing to memory");
    write(["file".into(), "record".into(), "segment".into()]);
    for (&(f, i), s) in records.origin.iter().zip(labels) {
        write([files[f].display().to_string(), i.to_string(), s.to_string()]);
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 cells")
}
