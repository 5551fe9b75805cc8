//! The share store: every node's components of every contribution, durably on disk.
//!
//! Layout under the data directory:
//!
//! ```text
//! datasets/<name>/dataset.json          schema and the list of contributions (with digests)
//! datasets/<name>/<contribution>.shares the components this node holds of one contribution
//! datasets/<name>/replaced/<id>.json    a contribution an ingest replaced, kept aside while it
//! datasets/<name>/replaced/<id>.shares  is restorable (see `replaced`)
//! staging/<name>/<contribution>.shares  received, not yet committed (kept across restarts,
//!                                       removed after a day)
//! jobs/<job id>.json                    job records and output shares
//! ```
//!
//! A commit first writes the new `dataset.json`, then moves the staged file into place; if the
//! node stops in between, [`Store::open`] finishes the move. Files that no metadata refers to
//! are removed at start.
//!
//! A `.shares` file is `SEGSHR01`, a 4-byte header length, a JSON header, the values of each
//! held component and column (little-endian `u64`, component-major, then column-major), and a
//! SHA-256 of everything before it. Every file is written to a temporary name, synced,
//! renamed over the target and the directory synced, so a crash leaves the old or the new
//! version, never a torn one; a file whose checksum fails is reported, never used.

mod replaced;

pub use replaced::{Kept, utc};

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
    /// A node asked to erase a contribution another node owns.
    #[error(
        "contribution `{contribution}` of dataset `{dataset}` belongs to node {owner}: node {requester} may \
         erase only its own"
    )]
    NotOwner {
        /// The dataset.
        dataset: String,
        /// The contribution.
        contribution: String,
        /// Its owner.
        owner: String,
        /// Who asked.
        requester: String,
    },
    /// A contribution would replace its owner's current one without being marked as a
    /// replacement.
    #[error(
        "dataset `{dataset}` holds contribution {current} ({rows} records) of node {owner}; a contribution \
         that replaces it must be marked as a replacement (mpc-node ingest --replace)"
    )]
    WouldReplace {
        /// The dataset.
        dataset: String,
        /// The owner.
        owner: String,
        /// Its current contribution.
        current: String,
        /// Its records.
        rows: u64,
    },
    /// The previous contribution of an owner cannot be put back.
    #[error("the previous contribution of node {owner} to dataset `{dataset}` cannot be restored: {reason}")]
    NotRestorable {
        /// The dataset.
        dataset: String,
        /// The owner.
        owner: String,
        /// Why not.
        reason: String,
    },
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
    /// The contributions as `(id, owner, rows)`, in record order: what identifies a version.
    pub fn version(&self) -> Vec<(String, String, u64)> {
        self.contributions.iter().map(|c| (c.id.clone(), c.owner.clone(), c.rows)).collect()
    }

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
    /// When it was committed on this node, milliseconds since the Unix epoch (0 when not
    /// recorded).
    #[serde(default)]
    pub committed_ms: u64,
}

/// How a commit treats the owner's contribution already in the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Not a replacement: refused if the owner has a contribution.
    No,
    /// Replace the owner's contribution, if any, keeping it aside (restorable) until this
    /// time, in milliseconds since the Unix epoch.
    KeepUntil(u64),
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The committed contribution.
    pub entry: ContributionMeta,
    /// The owner's contribution it replaced (now kept aside), if this call replaced one.
    pub replaced: Option<ContributionMeta>,
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

impl From<wire::mesh::ContributionHeader> for SharesHeader {
    fn from(h: wire::mesh::ContributionHeader) -> Self {
        Self {
            dataset: h.dataset,
            contribution: h.contribution,
            owner: h.owner,
            rows: h.rows,
            schema: h.schema,
            components: h.components,
        }
    }
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

/// Staged contributions older than this are dropped at start (their owner gave up).
const STAGING_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Store {
    /// Opens (creating) the store under `root`, finishing interrupted commits and dropping
    /// orphaned and stale files.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        for dir in ["datasets", "staging", "jobs"] {
            let d = root.join(dir);
            crate::files::create_dir(&d).map_err(io(&d))?;
        }
        let store = Self { root: root.to_path_buf(), lock: Mutex::new(()) };
        store.recover()?;
        Ok(store)
    }

    fn recover(&self) -> Result<(), StoreError> {
        for meta in self.datasets()? {
            let dir = self.dataset_dir(&meta.name)?;
            // Replacements and restores interrupted half-way are finished first: a replaced
            // contribution still in place is moved aside before orphans are removed below.
            self.recover_kept(&meta, &dir)?;
            for c in &meta.contributions {
                let target = dir.join(format!("{}.shares", c.id));
                let staged = self.staged_path(&meta.name, &c.id)?;
                if !target.exists() && staged.exists() {
                    tracing::info!(dataset = %meta.name, contribution = %c.id, "finishing an interrupted commit");
                    std::fs::rename(&staged, &target).map_err(io(&target))?;
                    sync_dir(&dir)?;
                }
            }
            for path in list(&dir)? {
                let known = meta
                    .contributions
                    .iter()
                    .any(|c| path.file_name() == Some(format!("{}.shares", c.id).as_ref()));
                if path.extension().is_some_and(|e| e == "shares") && !known {
                    tracing::info!(file = %path.display(), "removing a contribution no metadata refers to");
                    std::fs::remove_file(&path).map_err(io(&path))?;
                }
            }
        }
        let staging = self.root.join("staging");
        for dir in list(&staging)? {
            for path in list(&dir)? {
                let age =
                    std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                if age.is_none_or(|a| a > STAGING_TTL) {
                    tracing::info!(file = %path.display(), "dropping a stale uncommitted contribution");
                    std::fs::remove_file(&path).map_err(io(&path))?;
                }
            }
        }
        Ok(())
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
        Ok(self.root.join("staging").join(dataset).join(format!("{contribution}.shares")))
    }

    /// Deletes every share of `dataset` this node holds (committed and staged). Returns
    /// whether there was anything to delete.
    pub fn erase(&self, dataset: &str) -> Result<bool, StoreError> {
        let dir = self.dataset_dir(dataset)?;
        let staged = self.root.join("staging").join(dataset);
        let existed = dir.exists();
        for d in [dir, staged] {
            if d.exists() {
                std::fs::remove_dir_all(&d).map_err(io(&d))?;
            }
        }
        Ok(existed)
    }

    /// Deletes `owner`'s contribution `contribution` to `dataset` (committed and staged),
    /// refusing, with nothing changed, one that another node owns. The dataset goes with its
    /// last contribution. Returns whether there was anything to delete.
    pub fn erase_contribution(
        &self,
        dataset: &str,
        contribution: &str,
        owner: &str,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let staged = self.staged_path(dataset, contribution)?;
        let not_owner = |actual: &str| StoreError::NotOwner {
            dataset: dataset.into(),
            contribution: contribution.into(),
            owner: actual.into(),
            requester: owner.into(),
        };
        let mut meta = self.dataset(dataset)?;
        let committed = meta.as_ref().and_then(|m| m.contributions.iter().find(|c| c.id == contribution));
        if let Some(c) = committed
            && c.owner != owner
        {
            return Err(not_owner(&c.owner));
        }
        let committed = committed.is_some();
        let staged_owner = if staged.exists() { Some(read_header(&staged)?.owner) } else { None };
        if let Some(other) = staged_owner.as_deref().filter(|o| *o != owner) {
            return Err(not_owner(other));
        }
        let existed = committed || staged_owner.is_some();
        if let Some(meta) = meta.as_mut().filter(|_| committed) {
            let dir = self.dataset_dir(dataset)?;
            meta.contributions.retain(|c| c.id != contribution);
            if meta.contributions.is_empty() {
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            } else {
                // Metadata first: a file no metadata refers to is removed at start.
                let json = serde_json::to_vec_pretty(&meta).expect("metadata serialises");
                write_atomic(&dir.join("dataset.json"), &json)?;
                let path = dir.join(format!("{contribution}.shares"));
                std::fs::remove_file(&path).map_err(io(&path))?;
                sync_dir(&dir)?;
                self.drop_kept_of(dataset, owner)?;
            }
        }
        if staged_owner.is_some() {
            std::fs::remove_file(&staged).map_err(io(&staged))?;
        }
        Ok(existed)
    }

    /// Deletes what job `job` left on this node beside its record: its segments
    /// (`jobs/<job>.segments`) and the owner's labels (`labels/<job>.csv`). Returns whether
    /// there was anything to delete.
    pub fn erase_job_files(&self, job: &str) -> Result<bool, StoreError> {
        if !valid_name(job) {
            return Err(StoreError::Invalid(format!("`{job}` is not a valid job id")));
        }
        let mut existed = false;
        for (dir, name) in
            [(self.jobs_dir(), format!("{job}.segments")), (self.root.join("labels"), format!("{job}.csv"))]
        {
            let path = dir.join(name);
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    existed = true;
                    sync_dir(&dir)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
        Ok(existed)
    }

    /// Every dataset, sorted by name.
    pub fn datasets(&self) -> Result<Vec<DatasetMeta>, StoreError> {
        let mut out = Vec::new();
        for dir in list(&self.root.join("datasets"))? {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if valid_name(&name)
                && let Some(meta) = self.dataset(&name)?
            {
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
        if let Some(meta) = self.dataset(&header.dataset)?
            && meta.contributions.iter().any(|c| c.id == header.contribution && c.owner != header.owner)
        {
            return Err(StoreError::Invalid(format!(
                "contribution id `{}` belongs to another owner",
                header.contribution
            )));
        }
        let path = self.staged_path(&header.dataset, &header.contribution)?;
        if path.exists() && read_header(&path)?.owner != header.owner {
            return Err(StoreError::Invalid(format!(
                "contribution id `{}` is staged by another owner",
                header.contribution
            )));
        }
        let dir = path.parent().expect("staged files have a directory");
        crate::files::create_dir(dir).map_err(io(dir))?;
        let bytes = encode_shares(header, columns)?;
        write_atomic(&path, &bytes)
    }

    /// Makes a staged contribution of `owner` part of its dataset. The owner's earlier
    /// contribution, if any, is replaced only with [`Replace::KeepUntil`] (an owner
    /// re-ingesting its file on purpose updates its part), and kept aside, restorable, until
    /// then. Committing a contribution that is already committed succeeds again.
    pub fn commit(
        &self,
        dataset: &str,
        contribution: &str,
        owner: &str,
        replace: Replace,
    ) -> Result<Committed, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let existing = self.dataset(dataset)?;
        if let Some(done) = existing
            .as_ref()
            .and_then(|m| m.contributions.iter().find(|c| c.id == contribution && c.owner == owner))
        {
            return Ok(Committed { entry: done.clone(), replaced: None });
        }
        let staged = self.staged_path(dataset, contribution)?;
        if !staged.exists() {
            return Err(StoreError::Invalid(format!(
                "no staged contribution `{contribution}` for dataset `{dataset}`"
            )));
        }
        let bytes = std::fs::read(&staged).map_err(io(&staged))?;
        let shares = decode_shares(&staged, &bytes)?;
        let h = &shares.header;
        if h.dataset != dataset || h.contribution != contribution || h.owner != owner {
            return Err(StoreError::Invalid(format!(
                "the staged contribution `{contribution}` belongs to owner {} of dataset `{}`",
                h.owner, h.dataset
            )));
        }
        self.check_schema(dataset, &h.schema)?;
        let dir = self.dataset_dir(dataset)?;
        crate::files::create_dir(&dir).map_err(io(&dir))?;
        let mut meta = existing.unwrap_or(DatasetMeta {
            name: dataset.into(),
            schema: h.schema.clone(),
            contributions: Vec::new(),
        });
        let entry = ContributionMeta {
            id: contribution.into(),
            owner: owner.into(),
            rows: h.rows,
            sha256: hex::encode(Sha256::digest(&bytes)),
            committed_ms: crate::now_ms(),
        };
        // One contribution per owner: the one this commit would replace.
        let previous = meta.contributions.iter().find(|c| c.owner == owner).cloned();
        if let Some(p) = &previous {
            let Replace::KeepUntil(until) = replace else {
                return Err(StoreError::WouldReplace {
                    dataset: dataset.into(),
                    owner: owner.into(),
                    current: p.id.clone(),
                    rows: p.rows,
                });
            };
            // The intent first: a crash at any later point is finished (or undone) at start.
            self.write_kept(&Kept::new(dataset, p, &entry, until))?;
        }
        meta.contributions.retain(|c| c.owner != owner);
        meta.contributions.push(entry.clone());
        meta.contributions.sort_by(|a, b| a.owner.cmp(&b.owner));
        let json = serde_json::to_vec_pretty(&meta).expect("metadata serialises");
        // Metadata first: a crash before the rename is finished by `recover` at start.
        write_atomic(&dir.join("dataset.json"), &json)?;
        let target = dir.join(format!("{contribution}.shares"));
        std::fs::rename(&staged, &target).map_err(io(&target))?;
        sync_dir(&dir)?;
        if let Some(p) = &previous {
            self.move_aside(dataset, &p.id)?;
            self.purge_kept_locked(dataset, crate::now_ms(), None)?;
        }
        Ok(Committed { entry, replaced: previous })
    }

    /// Drops a staged contribution of `owner` (a missing one is not an error).
    pub fn abort(&self, dataset: &str, contribution: &str, owner: &str) -> Result<(), StoreError> {
        let path = self.staged_path(dataset, contribution)?;
        if !path.exists() {
            return Ok(());
        }
        if read_header(&path)?.owner != owner {
            return Err(StoreError::Invalid(format!(
                "the staged contribution `{contribution}` belongs to another owner"
            )));
        }
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

/// The entries of a directory (none if it does not exist).
fn list(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.map(|e| e.path()).map_err(io(dir))).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::Io { path: dir.into(), source: e }),
    }
}

/// Reads only the header of a `.shares` file.
fn read_header(path: &Path) -> Result<SharesHeader, StoreError> {
    use std::io::Read;
    let corrupt = |reason: String| StoreError::Corrupt { path: path.into(), reason };
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut start = [0u8; 12];
    f.read_exact(&mut start).map_err(io(path))?;
    if &start[..8] != MAGIC {
        return Err(corrupt("not a shares file".into()));
    }
    let len = u32::from_le_bytes(start[8..].try_into().expect("4 bytes")) as usize;
    if len > MAX_HEADER {
        return Err(corrupt("bad header length".into()));
    }
    let mut head = vec![0u8; len];
    f.read_exact(&mut head).map_err(io(path))?;
    serde_json::from_slice(&head).map_err(|e| corrupt(format!("bad header: {e}")))
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
    let rows = usize::try_from(header.rows).map_err(|_| corrupt("too many rows"))?;
    let expected = header
        .components
        .len()
        .checked_mul(width)
        .and_then(|v| v.checked_mul(rows))
        .and_then(|v| v.checked_mul(8));
    if expected != Some(data.len()) {
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

/// The secret segment of every record that a k-means job left on this node, for the
/// fairness job: which dataset version it covers, and this node's components of the one-hot
/// assignment (`rows x k`, row-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segments {
    /// Dataset name.
    pub dataset: String,
    /// The contributions (id, owner, rows) the job ran on, in record order.
    pub contributions: Vec<(String, String, u64)>,
    /// Number of segments.
    pub k: u64,
    /// This node's components of the assignment.
    pub components: Vec<Component>,
}

impl Store {
    /// Stores the segments of job `job` (atomically, checksummed).
    pub fn save_segments(&self, job: &str, segments: &Segments) -> Result<(), StoreError> {
        let path = self.jobs_dir().join(format!("{job}.segments"));
        let body = serde_json::to_vec(segments).expect("segments serialise");
        let mut bytes = body.clone();
        bytes.extend_from_slice(&Sha256::digest(&body));
        write_atomic(&path, &bytes)
    }

    /// Reads the segments of job `job`, if it stored any.
    pub fn load_segments(&self, job: &str) -> Result<Option<Segments>, StoreError> {
        let path = self.jobs_dir().join(format!("{job}.segments"));
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        if bytes.len() < 32 {
            return Err(StoreError::Corrupt { path, reason: "too short".into() });
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(StoreError::Corrupt { path, reason: "checksum mismatch".into() });
        }
        serde_json::from_slice(body)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { path, reason: e.to_string() })
    }
}

/// Writes `bytes` to `path` atomically and durably, with mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().expect("store paths have a parent");
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{n}",
        path.file_name().expect("file name").to_string_lossy(),
        std::process::id()
    ));
    let mut f = crate::files::create_file(&tmp).map_err(io(&tmp))?;
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
        let meta = store.commit("d", "c1", "n1", Replace::No).unwrap().entry;
        assert_eq!(
            store.commit("d", "c1", "n1", Replace::No).unwrap(),
            Committed { entry: meta.clone(), replaced: None },
            "a repeated commit succeeds"
        );
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
        let meta = store.commit("d", "c1", "n1", Replace::No).unwrap().entry;
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
            store.commit("d", id, owner, Replace::KeepUntil(0)).unwrap();
        }
        let ds = store.dataset("d").unwrap().unwrap();
        assert_eq!(ds.rows(), 10);
        assert!(!dir.path().join("datasets/d/c1.shares").exists());
        let (h, cols) = contribution("c4", "n3", 1);
        store.stage(&h, &cols).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        store.commit("d", "c4", "n3", Replace::No).expect("a staged contribution survives a restart");
        assert_eq!(store.dataset("d").unwrap().unwrap().rows(), 11);
    }

    #[test]
    fn owners_cannot_touch_each_others_contributions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (h, cols) = contribution("c1", "n1", 2);
        store.stage(&h, &cols).unwrap();
        assert!(store.commit("d", "c1", "n2", Replace::No).is_err(), "n2 committed n1's contribution");
        assert!(store.abort("d", "c1", "n2").is_err(), "n2 aborted n1's contribution");
        store.commit("d", "c1", "n1", Replace::No).unwrap();
        // n2 reuses n1's id: refused, n1's shares stay intact.
        let (h2, cols2) = contribution("c1", "n2", 3);
        assert!(store.stage(&h2, &cols2).is_err());
        let meta = store.dataset("d").unwrap().unwrap();
        assert_eq!(store.load("d", &meta.contributions[0]).unwrap().columns, cols);
    }

    #[test]
    fn an_interrupted_commit_is_finished_and_orphans_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (h, cols) = contribution("c1", "n1", 2);
        store.stage(&h, &cols).unwrap();
        let meta = store.commit("d", "c1", "n1", Replace::No).unwrap().entry;
        // Simulate a stop between the metadata write and the rename.
        std::fs::rename(dir.path().join("datasets/d/c1.shares"), dir.path().join("staging/d/c1.shares"))
            .unwrap();
        std::fs::write(dir.path().join("datasets/d/orphan.shares"), b"x").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load("d", &meta).unwrap().columns, cols);
        assert!(!dir.path().join("datasets/d/orphan.shares").exists());
    }

    #[test]
    fn only_its_owner_erases_a_contribution_and_the_last_one_takes_the_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, owner) in [("c1", "n1"), ("c2", "n2")] {
            let (h, cols) = contribution(id, owner, 2);
            store.stage(&h, &cols).unwrap();
            store.commit("d", id, owner, Replace::No).unwrap();
        }
        let (h, cols) = contribution("c3", "n3", 2);
        store.stage(&h, &cols).unwrap();
        let before = store.dataset("d").unwrap();
        for (id, requester) in [("c1", "n2"), ("c3", "n1")] {
            let err = store.erase_contribution("d", id, requester).unwrap_err();
            assert!(matches!(&err, StoreError::NotOwner { owner, .. } if owner != requester), "{err}");
        }
        assert_eq!(store.dataset("d").unwrap(), before, "a refused erasure changed the metadata");
        assert!(
            dir.path().join("datasets/d/c1.shares").exists()
                && dir.path().join("staging/d/c3.shares").exists()
        );

        assert!(store.erase_contribution("d", "c3", "n3").unwrap(), "a staged contribution is erased");
        assert!(!dir.path().join("staging/d/c3.shares").exists());
        assert!(store.erase_contribution("d", "c2", "n2").unwrap());
        let meta = store.dataset("d").unwrap().unwrap();
        assert_eq!(meta.contributions.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c1"]);
        assert!(!dir.path().join("datasets/d/c2.shares").exists());
        assert!(!store.erase_contribution("d", "c2", "n2").unwrap(), "erasing again finds nothing");
        assert!(store.erase_contribution("d", "c1", "n1").unwrap());
        assert!(store.dataset("d").unwrap().is_none() && !dir.path().join("datasets/d").exists());
    }

    #[test]
    fn a_jobs_segments_and_labels_are_erased_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let job = "ab".repeat(16);
        let segments = Segments { dataset: "d".into(), contributions: vec![], k: 2, components: vec![] };
        store.save_segments(&job, &segments).unwrap();
        std::fs::create_dir_all(dir.path().join("labels")).unwrap();
        std::fs::write(dir.path().join(format!("labels/{job}.csv")), "record,segment\n").unwrap();
        assert!(store.erase_job_files(&job).unwrap());
        assert_eq!(store.load_segments(&job).unwrap(), None);
        assert!(!dir.path().join(format!("labels/{job}.csv")).exists());
        assert!(!store.erase_job_files(&job).unwrap());
        assert!(store.erase_job_files("../x").is_err());
    }

    #[test]
    fn a_different_schema_is_refused_with_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (h, cols) = contribution("c1", "n1", 2);
        store.stage(&h, &cols).unwrap();
        store.commit("d", "c1", "n1", Replace::No).unwrap();
        let (mut h2, cols2) = contribution("c2", "n2", 2);
        h2.schema.features[0].name = "y".into();
        let err = store.stage(&h2, &cols2).unwrap_err().to_string();
        assert!(err.contains("`x` is missing") && err.contains("`y` is not in the dataset"), "{err}");
    }
}
