//! The share store: every node's components of every contribution, durably on disk.
//!
//! Layout under the data directory:
//!
//! ```text
//! datasets/<name>/dataset.json          schema and the list of contributions (with digests)
//! datasets/<name>/<contribution>.shares the components this node holds of one contribution
//! staging/<name>--<contribution>.shares received but not yet committed (cleared at start)
//! jobs/<job id>.json                    job records and output shares
//! ```
//!
//! A `.shares` file is `SEGSHR01`, a 4-byte header length, a JSON header, the values of each
//! held component and column (little-endian `u64`, component-major, then column-major), and a
//! SHA-256 of everything before it. Every file is written to a temporary name, synced,
//! renamed over the target and the directory synced, so a crash leaves the old or the new
//! version, never a torn one; a file whose checksum fails is reported, never used.

use crate::config::valid_name;
use protocol::sharing::Component;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use thiserror::Error;
use wire::schema::Schema;

const MAGIC: &[u8; 8] = b"SEGSHR01";
const MAX_HEADER: usize = 1 << 20;

/// A store operation that failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is damaged (checksum, size or header).
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A contribution whose columns differ from its dataset's.
    #[error("contribution to dataset `{dataset}` does not match its schema: {}", differences.join("; "))]
    SchemaMismatch {
        /// The dataset.
        dataset: String,
        /// One line per differing column.
        differences: Vec<String>,
    },
    /// A request that cannot be carried out on the data as it is.
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// What the store knows of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Dataset name.
    pub name: String,
    /// Its columns.
    pub schema: Schema,
    /// One entry per owner.
    pub contributions: Vec<ContributionMeta>,
}

impl DatasetMeta {
    /// Total number of records.
    pub fn rows(&self) -> u64 {
        self.contributions.iter().map(|c| c.rows).sum()
    }
}

/// One committed contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionMeta {
    /// Its id.
    pub id: String,
    /// The owner node.
    pub owner: String,
    /// Number of records.
    pub rows: u64,
    /// SHA-256 of its `.shares` file, hex.
    pub sha256: String,
}

/// The header of a `.shares` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharesHeader {
    /// Dataset name.
    pub dataset: String,
    /// Contribution id.
    pub contribution: String,
    /// Owner node id.
    pub owner: String,
    /// Number of records.
    pub rows: u64,
    /// Columns, in storage order.
    pub schema: Schema,
    /// The components held, in file order.
    pub components: Vec<u16>,
}

/// The content of a `.shares` file: `columns[i][j]` is component `header.components[i]` of
/// column `j`.
pub struct Shares {
    /// What the file holds.
    pub header: SharesHeader,
    /// Values per held component and column.
    pub columns: Vec<Vec<Component>>,
}

/// The on-disk store of one node.
pub struct Store {
    root: PathBuf,
    /// Serialises changes to dataset metadata.
    lock: Mutex<()>,
}

impl Store {
    /// Opens (creating) the store under `root` and drops uncommitted staging files.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        for dir in ["datasets", "staging", "jobs"] {
            let d = root.join(dir);
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let staging = root.join("staging");
        for entry in std::fs::read_dir(&staging).map_err(io(&staging))? {
            let path = entry.map_err(io(&staging))?.path();
            tracing::info!(file = %path.display(), "dropping an uncommitted contribution");
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(Self { root: root.to_path_buf(), lock: Mutex::new(()) })
    }

    /// Directory of job records.
    pub fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    fn dataset_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !valid_name(name) {
            return Err(StoreError::Invalid(format!("`{name}` is not a valid dataset name")));
        }
        Ok(self.root.join("datasets").join(name))
    }

    fn staged_path(&self, dataset: &str, contribution: &str) -> Result<PathBuf, StoreError> {
        if !valid_name(dataset) || !valid_name(contribution) {
            return Err(StoreError::Invalid(format!(
                "invalid dataset or contribution name `{dataset}/{contribution}`"
            )));
        }
        Ok(self.root.join("staging").join(format!("{dataset}--{contribution}.shares")))
    }

    /// Every dataset, sorted by name.
    pub fn datasets(&self) -> Result<Vec<DatasetMeta>, StoreError> {
        let dir = self.root.join("datasets");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let name = entry.map_err(io(&dir))?.file_name().to_string_lossy().into_owned();
            if let Some(meta) = self.dataset(&name)? {
                out.push(meta);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One dataset, if it exists.
    pub fn dataset(&self, name: &str) -> Result<Option<DatasetMeta>, StoreError> {
        let path = self.dataset_dir(name)?.join("dataset.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// Checks that a contribution with `schema` may join `dataset`.
    pub fn check_schema(&self, dataset: &str, schema: &Schema) -> Result<(), StoreError> {
        if let Some(meta) = self.dataset(dataset)? {
            let differences = meta.schema.differences(schema);
            if !differences.is_empty() {
                return Err(StoreError::SchemaMismatch { dataset: dataset.into(), differences });
            }
        }
        Ok(())
    }

    /// Writes a received contribution to the staging area (durably).
    pub fn stage(&self, header: &SharesHeader, columns: &[Vec<Component>]) -> Result<(), StoreError> {
        self.check_schema(&header.dataset, &header.schema)?;
        let path = self.staged_path(&header.dataset, &header.contribution)?;
        let bytes = encode_shares(header, columns)?;
        write_atomic(&path, &bytes)
    }

    /// Moves a staged contribution into its dataset. It replaces any earlier contribution of
    /// the same owner: an owner re-ingesting its file updates its part of the dataset.
    pub fn commit(&self, dataset: &str, contribution: &str) -> Result<ContributionMeta, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let staged = self.staged_path(dataset, contribution)?;
        if !staged.exists() {
            return Err(StoreError::Invalid(format!(
                "no staged contribution `{contribution}` for dataset `{dataset}`"
            )));
        }
        let shares = read_shares(&staged)?;
        self.check_schema(dataset, &shares.header.schema)?;
        let dir = self.dataset_dir(dataset)?;
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let bytes = std::fs::read(&staged).map_err(io(&staged))?;
        let target = dir.join(format!("{contribution}.shares"));
        std::fs::rename(&staged, &target).map_err(io(&target))?;
        sync_dir(&dir)?;
        let mut meta = self.dataset(dataset)?.unwrap_or(DatasetMeta {
            name: dataset.into(),
            schema: shares.header.schema.clone(),
            contributions: Vec::new(),
        });
        let entry = ContributionMeta {
            id: contribution.into(),
            owner: shares.header.owner.clone(),
            rows: shares.header.rows,
            sha256: hex::encode(Sha256::digest(&bytes)),
        };
        let replaced: Vec<ContributionMeta> = meta
            .contributions
            .iter()
            .filter(|c| c.owner == entry.owner && c.id != entry.id)
            .cloned()
            .collect();
        meta.contributions.retain(|c| c.owner != entry.owner);
        meta.contributions.push(entry.clone());
        meta.contributions.sort_by(|a, b| a.owner.cmp(&b.owner));
        let json = serde_json::to_vec_pretty(&meta).expect("metadata serialises");
        write_atomic(&dir.join("dataset.json"), &json)?;
        for old in replaced {
            let path = dir.join(format!("{}.shares", old.id));
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), error = %e, "could not remove a replaced contribution");
            }
        }
        Ok(entry)
    }

    /// Drops a staged contribution (a missing one is not an error).
    pub fn abort(&self, dataset: &str, contribution: &str) -> Result<(), StoreError> {
        let path = self.staged_path(dataset, contribution)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io { path, source: e }),
            _ => Ok(()),
        }
    }

    /// Reads a committed contribution, checking its digest against the metadata.
    pub fn load(&self, dataset: &str, contribution: &ContributionMeta) -> Result<Shares, StoreError> {
        let path = self.dataset_dir(dataset)?.join(format!("{}.shares", contribution.id));
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        if hex::encode(Sha256::digest(&bytes)) != contribution.sha256 {
            return Err(StoreError::Corrupt { path, reason: "digest differs from dataset.json".into() });
        }
        decode_shares(&path, &bytes)
    }
}

fn encode_shares(header: &SharesHeader, columns: &[Vec<Component>]) -> Result<Vec<u8>, StoreError> {
    let width = header.schema.shared_columns().len();
    if columns.len() != header.components.len()
        || columns.iter().zip(&header.components).any(|(cols, id)| {
            cols.len() != width || cols.iter().any(|c| c.id != *id || c.values.len() as u64 != header.rows)
        })
    {
        return Err(StoreError::Invalid("share data does not match its header".into()));
    }
    let head = serde_json::to_vec(header).expect("header serialises");
    let mut out = Vec::with_capacity(16 + head.len() + columns.len() * width * header.rows as usize * 8 + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    for cols in columns {
        for c in cols {
            for v in &c.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

fn decode_shares(path: &Path, bytes: &[u8]) -> Result<Shares, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt { path: path.into(), reason: reason.into() };
    if bytes.len() < 12 + 32 || &bytes[..8] != MAGIC {
        return Err(corrupt("not a shares file"));
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err(corrupt("checksum mismatch"));
    }
    let head_len = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
    if head_len > MAX_HEADER || 12 + head_len > body.len() {
        return Err(corrupt("bad header length"));
    }
    let header: SharesHeader =
        serde_json::from_slice(&body[12..12 + head_len]).map_err(|e| corrupt(&format!("bad header: {e}")))?;
    let data = &body[12 + head_len..];
    let width = header.schema.shared_columns().len();
    let rows = header.rows as usize;
    if data.len() != header.components.len() * width * rows * 8 {
        return Err(corrupt("data length does not match the header"));
    }
    let mut words = data.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
    let columns = header
        .components
        .iter()
        .map(|&id| {
            (0..width).map(|_| Component { id, values: words.by_ref().take(rows).collect() }).collect()
        })
        .collect();
    Ok(Shares { header, columns })
}

fn read_shares(path: &Path) -> Result<Shares, StoreError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    decode_shares(path, &bytes)
}

/// Writes `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().expect("store paths have a parent");
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().expect("file name").to_string_lossy(),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::schema::{CategoricalColumn, NumericColumn};

    fn schema() -> Schema {
        Schema {
            features: vec![NumericColumn { name: "x".into(), min: None, max: None }],
            categorical: vec![CategoricalColumn { name: "g".into(), levels: vec!["a".into()] }],
            consent: None,
        }
    }

    fn contribution(id: &str, owner: &str, rows: u64) -> (SharesHeader, Vec<Vec<Component>>) {
        let header = SharesHeader {
            dataset: "d".into(),
            contribution: id.into(),
            owner: owner.into(),
            rows,
            schema: schema(),
            components: vec![1, 2],
        };
        let columns = [1u16, 2]
            .iter()
            .map(|&c| {
                (0..2).map(|j| Component { id: c, values: (0..rows).map(|r| r * 10 + j).collect() }).collect()
            })
            .collect();
        (header, columns)
    }

    #[test]
    fn stage_commit_load_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (h, cols) = contribution("c1", "n1", 5);
        store.stage(&h, &cols).unwrap();
        let meta = store.commit("d", "c1").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let ds = store.dataset("d").unwrap().unwrap();
        assert_eq!(ds.contributions, vec![meta.clone()]);
        let shares = store.load("d", &meta).unwrap();
        assert_eq!(shares.columns, cols);
        assert_eq!(shares.header, h);
    }

    #[test]
    fn corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (h, cols) = contribution("c1", "n1", 3);
        store.stage(&h, &cols).unwrap();
        let meta = store.commit("d", "c1").unwrap();
        let path = dir.path().join("datasets/d/c1.shares");
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() - 40;
        bytes[mid] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(store.load("d", &meta), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn reingest_replaces_the_owners_contribution_and_staging_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, owner, rows) in [("c1", "n1", 3), ("c2", "n2", 4), ("c3", "n1", 6)] {
            let (h, cols) = contribution(id, owner, rows);
            store.stage(&h, &cols).unwrap();
            store.commit("d", id).unwrap();
        }
        let ds = store.dataset("d").unwrap().unwrap();
        assert_eq!(ds.rows(), 10);
        assert!(!dir.path().join("datasets/d/c1.shares").exists());
        let (h, cols) = contribution("c4", "n3", 1);
        store.stage(&h, &cols).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.commit("d", "c4").is_err(), "staging survived a restart");
    }

    #[test]
    fn a_different_schema_is_refused_with_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (h, cols) = contribution("c1", "n1", 2);
        store.stage(&h, &cols).unwrap();
        store.commit("d", "c1").unwrap();
        let (mut h2, cols2) = contribution("c2", "n2", 2);
        h2.schema.features[0].name = "y".into();
        let err = store.stage(&h2, &cols2).unwrap_err().to_string();
        assert!(err.contains("`x` is missing") && err.contains("`y` is not in the dataset"), "{err}");
    }
}
