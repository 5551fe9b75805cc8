//! This node's audit log: `audit.log` in the data directory, one hash-chained JSON line per
//! event (`wire::audit`), appended and synced to disk before the event's effect is answered.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use wire::audit::{Event, Line};

/// The log file, its last line, and the generator of the lines' salts (seeded by the
/// operating system when the log is opened).
pub struct AuditLog {
    path: PathBuf,
    last: Mutex<Option<Line>>,
    salts: Mutex<rand_chacha::ChaCha20Rng>,
}

impl AuditLog {
    /// Opens (or starts) the log in `data_dir`. A log whose chain is broken is reported in the
    /// node's log and kept as it is; new lines follow its last line, so the break stays
    /// visible to `orchestrator audit verify`.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join("audit.log");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        if let Err((line, why)) = wire::audit::verify(&text) {
            tracing::error!(path = %path.display(), line, %why, "the audit log's chain is broken");
        }
        let last = text.lines().last().and_then(|l| serde_json::from_str::<Line>(l).ok());
        let salts = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::try_from_rng(&mut rand::rngs::SysRng)
            .map_err(|e| std::io::Error::other(format!("no OS randomness for the audit log's salts: {e}")))?;
        Ok(Self { path, last: Mutex::new(last), salts: Mutex::new(salts) })
    }

    /// Appends `event`; a failure to write is logged (the job goes on: the log is evidence,
    /// not a lock).
    pub fn record(&self, event: Event) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::now_ms();
        // The salt hides the entry from whoever is served only its hash.
        let salt: [u8; 16] = rand::RngExt::random(&mut *self.salts.lock().unwrap_or_else(|e| e.into_inner()));
        let line = wire::audit::next(last.as_ref(), now, salt, event);
        let text = serde_json::to_string(&line).expect("audit lines serialise") + "\n";
        let written = crate::files::open_append(&self.path)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_data()));
        match written {
            Ok(()) => *last = Some(line),
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot append to the audit log")
            }
        }
    }

    /// Lines `from..` of the log as stored, at most `count`, and whether more follow.
    pub fn lines(&self, from: u64, count: usize) -> std::io::Result<(Vec<String>, bool)> {
        let _guard = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let all: Vec<&str> = text.lines().collect();
        let start = (from as usize).min(all.len());
        let end = (start + count).min(all.len());
        Ok((all[start..end].iter().map(|l| l.to_string()).collect(), end < all.len()))
    }
}
