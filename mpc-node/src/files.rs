//! Files and directories that only the node's own user may open.
//!
//! Everything under the data directory is private: directories are created with mode 0700
//! and files with mode 0600, set explicitly so that the process umask cannot widen them. At
//! start, [`restrict`] takes group and other permissions away from anything already there
//! (a data directory written by an older version or copied with wider modes); if it cannot
//! (a file owned by another user), the node refuses to start and says what to run.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Mode of every directory the node creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the node creates.
pub const FILE_MODE: u32 = 0o600;

/// A data directory whose permissions cannot be made private.
#[derive(Debug, Error)]
pub enum RestrictError {
    /// A directory could not be listed, or a path could not be inspected.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Permissions could not be changed (the node's user does not own the path).
    #[error(
        "{path} is open to other users (mode {mode:04o}) and this node cannot restrict it: {source}; \
         run `chmod -R go-rwx {root}` as the owner of the data directory"
    )]
    Chmod {
        /// The path.
        path: PathBuf,
        /// Its mode.
        mode: u32,
        /// The data directory.
        root: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Creates `dir` and any missing parents with mode 0700; `dir` itself ends with exactly that
/// mode.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Creates (or truncates) `path` for writing, with mode 0600.
pub fn create_file(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Opens `path` for appending, creating it with mode 0600.
pub fn open_append(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().create(true).append(true).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Writes `bytes` to `path` (created or truncated, mode 0600).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    create_file(path)?.write_all(bytes)
}

/// Creates the data directory `root` (mode 0700) if needed, and removes group and other
/// permissions from it and from everything under it. Links are left alone (never followed).
/// Returns each path it changed, with its mode before.
pub fn restrict(root: &Path) -> Result<Vec<(PathBuf, u32)>, RestrictError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RestrictError::Io { path, source }
    };
    if !root.exists() {
        create_dir(root).map_err(io(root))?;
    }
    let mut changed = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&path, Permissions::from_mode(mode & !0o077)).map_err(|source| {
                RestrictError::Chmod { path: path.clone(), mode, root: root.to_path_buf(), source }
            })?;
            changed.push((path.clone(), mode));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(io(&path))? {
                pending.push(entry.map_err(io(&path))?.path());
            }
        }
    }
    Ok(changed)
}

/// The permission bits of `path` (for tests and checks).
pub fn mode(path: &Path) -> std::io::Result<u32> {
    Ok(std::fs::symlink_metadata(path)?.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_files_and_directories_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir).unwrap(), 0o700);
        assert_eq!(mode(&tmp.path().join("a")).unwrap(), 0o700, "a parent created on the way");
        write(&dir.join("f"), b"x").unwrap();
        assert_eq!(mode(&dir.join("f")).unwrap(), 0o600);
        open_append(&dir.join("log")).unwrap();
        assert_eq!(mode(&dir.join("log")).unwrap(), 0o600);
        // A file rewritten in place loses wider modes it had.
        std::fs::set_permissions(dir.join("f"), Permissions::from_mode(0o644)).unwrap();
        write(&dir.join("f"), b"y").unwrap();
        assert_eq!(mode(&dir.join("f")).unwrap(), 0o600);
    }

    #[test]
    fn restrict_takes_group_and_other_access_away_and_leaves_links_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        std::fs::create_dir_all(root.join("jobs")).unwrap();
        std::fs::write(root.join("jobs/j.json"), b"{}").unwrap();
        std::fs::write(root.join("audit.log"), b"").unwrap();
        std::fs::write(tmp.path().join("outside"), b"").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("link")).unwrap();
        for (p, m) in [("", 0o755), ("jobs", 0o775), ("jobs/j.json", 0o664), ("audit.log", 0o600)] {
            std::fs::set_permissions(root.join(p), Permissions::from_mode(m)).unwrap();
        }
        std::fs::set_permissions(tmp.path().join("outside"), Permissions::from_mode(0o644)).unwrap();
        let mut changed = restrict(&root).unwrap();
        changed.sort();
        assert_eq!(
            changed,
            vec![(root.clone(), 0o755), (root.join("jobs"), 0o775), (root.join("jobs/j.json"), 0o664)]
        );
        assert_eq!(mode(&root).unwrap(), 0o700);
        assert_eq!(mode(&root.join("jobs")).unwrap(), 0o700);
        assert_eq!(mode(&root.join("jobs/j.json")).unwrap(), 0o600);
        assert_eq!(mode(&tmp.path().join("outside")).unwrap(), 0o644, "followed a link");
        assert!(restrict(&root).unwrap().is_empty(), "a second pass changes nothing");
    }

    /// Every directory and file under `root`, with its mode.
    fn modes_under(root: &Path) -> Vec<(PathBuf, u32)> {
        let mut out = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(p) = pending.pop() {
            out.push((p.clone(), mode(&p).unwrap()));
            if p.is_dir() {
                pending.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            }
        }
        out
    }

    #[test]
    fn everything_the_store_the_audit_log_and_the_ledger_write_is_private() {
        use crate::store::{SharesHeader, Store};
        use protocol::sharing::Component;
        use wire::schema::{NumericColumn, Schema};
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let store = Store::open(&root).unwrap();
        let schema = Schema {
            features: vec![NumericColumn { name: "x".into(), min: None, max: None }],
            categorical: vec![],
            consent: None,
        };
        for (id, dataset) in [("c1", "d"), ("c2", "e")] {
            let header = SharesHeader {
                dataset: dataset.into(),
                contribution: id.into(),
                owner: "n1".into(),
                rows: 2,
                schema: schema.clone(),
                components: vec![1],
            };
            store.stage(&header, &[vec![Component { id: 1, values: vec![3, 4] }]]).unwrap();
        }
        store.commit("d", "c1", "n1", crate::store::Replace::No).unwrap();
        crate::store::write_atomic(&store.jobs_dir().join("j.json"), b"{}").unwrap();
        let audit = crate::audit::AuditLog::open(&root).unwrap();
        audit.record(wire::audit::Event::Ended { job: "j".into(), state: "done".into(), reason: None });
        crate::ledger::Ledger::open(&root).unwrap().charge("d", "j", 0.5, None).unwrap();
        let all = modes_under(&root);
        for name in ["datasets/d/c1.shares", "datasets/d/dataset.json", "staging/e/c2.shares", "jobs/j.json"]
        {
            assert!(all.iter().any(|(p, _)| *p == root.join(name)), "{name} was not written");
        }
        for name in ["audit.log", "privacy-ledger.json"] {
            assert!(all.iter().any(|(p, _)| *p == root.join(name)), "{name} was not written");
        }
        for (path, mode) in all {
            let want = if path.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "{} has mode {mode:04o}", path.display());
        }
    }

    #[test]
    fn restrict_creates_a_missing_data_directory_private() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("new/data");
        assert!(restrict(&root).unwrap().is_empty());
        assert_eq!(mode(&root).unwrap(), 0o700);
    }
}
