//! The layering holds: the algorithms, the plaintext engine, the engine interface, the shared
//! ring kernels and the benchmark workloads name no particular secure engine, so that a new
//! engine is a new folder and none of them changes.

use std::path::{Path, PathBuf};

/// Files and folders (under `src/`) that must not name the replicated engine.
const ENGINE_NEUTRAL: &[&str] =
    &["engine.rs", "clear.rs", "ring.rs", "bench.rs", "stats.rs", "dp.rs", "fixed.rs", "kmeans", "fairness"];

/// The lines of `source` that reach into the replicated engine: a `use` of it or a path
/// through it (prose in comments does not count).
fn engine_references(source: &str) -> Vec<&str> {
    source
        .lines()
        .filter(|line| {
            let code = line.trim_start();
            if code.starts_with("//") {
                return false;
            }
            let code = code.split("//").next().unwrap_or("");
            code.contains("replicated::")
                || code.contains("::replicated")
                || (code.starts_with("use ") && code.contains("replicated"))
                || (code.starts_with("pub use ") && code.contains("replicated"))
        })
        .collect()
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("a readable folder")
            .map(|e| e.expect("an entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn algorithm_modules_name_no_particular_engine() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for entry in ENGINE_NEUTRAL {
        let path = src.join(entry);
        assert!(path.exists(), "{} is gone: update the list", path.display());
        rust_files(&path, &mut files);
    }
    assert!(files.len() >= ENGINE_NEUTRAL.len() + 4, "the walk found only {files:?}");
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).expect("a readable source file");
            engine_references(&text)
                .into_iter()
                .map(|line| format!("{}: {}", f.display(), line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "engine-neutral modules reach into `replicated`:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_guard_sees_uses_and_paths_but_not_prose() {
    assert_eq!(engine_references("use crate::replicated::RepVec;").len(), 1);
    assert_eq!(engine_references("    use crate::replicated::{Replicated, RepVec};").len(), 1);
    assert_eq!(engine_references("use crate::{replicated, stats};").len(), 1);
    assert_eq!(engine_references("    Err(crate::replicated::EngineError::Shape(s))").len(), 1);
    assert_eq!(engine_references("    let e = super::super::replicated::Replicated::setup(t, r);").len(), 1);
    assert!(engine_references("//! the replicated layout of any `n >= 3`").is_empty());
    assert!(engine_references("    /// Opens a replicated sharing.").is_empty());
    assert!(engine_references("    let replicated_total = 3; // replicated::sum").is_empty());
}
