//! This node's privacy-budget ledger: the epsilon every differentially private job has spent
//! on each dataset, kept in `privacy-ledger.json` in the data directory and written (atomic,
//! synced) before the job releases anything.
//!
//! Composition is sequential: a dataset's spending is the sum of its jobs' epsilons. A job is
//! charged when it starts and never refunded, even if it fails, since part of it may have
//! been released. The ledger is kept by dataset name and survives erasure and re-ingest (the
//! people behind a dataset do not change when its shares are replaced).

use crate::store::{StoreError, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Spending within this of the budget still fits (floating-point sums of epsilons).
const TOLERANCE: f64 = 1e-9;

/// One charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    /// The job.
    pub job: String,
    /// Its epsilon.
    pub epsilon: f64,
    /// When it was charged, in milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// The ledger file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Book {
    /// Charges per dataset.
    datasets: BTreeMap<String, Vec<Charge>>,
}

/// The ledger.
pub struct Ledger {
    path: PathBuf,
    book: Mutex<Book>,
}

/// A job the budget cannot pay for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    /// It would exceed the budget.
    #[error(
        "the privacy budget of `{dataset}` is {budget}; {spent} is spent, so a job of epsilon {epsilon} \
         would exceed it"
    )]
    Exceeded {
        /// The dataset.
        dataset: String,
        /// The budget.
        budget: f64,
        /// Spent so far.
        spent: f64,
        /// The job's epsilon.
        epsilon: f64,
    },
    /// The ledger cannot be written: nothing is charged, and the job must not run.
    #[error("cannot record the charge: {0}")]
    Store(String),
}

impl Ledger {
    /// Opens the ledger in `data_dir` (empty when there is none yet).
    pub fn open(data_dir: &std::path::Path) -> Result<Self, StoreError> {
        let path = data_dir.join("privacy-ledger.json");
        let book = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Book::default(),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        Ok(Self { path, book: Mutex::new(book) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The epsilon spent on `dataset`, and by how many jobs.
    pub fn spent(&self, dataset: &str) -> (f64, u64) {
        let book = self.lock();
        let charges = book.datasets.get(dataset).map_or(&[][..], Vec::as_slice);
        (charges.iter().map(|c| c.epsilon).sum(), charges.len() as u64)
    }

    /// Every dataset with charges.
    pub fn datasets(&self) -> Vec<String> {
        self.lock().datasets.keys().cloned().collect()
    }

    /// Whether `epsilon` more fits in `budget` on `dataset`.
    pub fn check(&self, dataset: &str, epsilon: f64, budget: Option<f64>) -> Result<(), LedgerError> {
        let spent = self.spent(dataset).0;
        match budget {
            Some(budget) if spent + epsilon > budget + TOLERANCE => {
                Err(LedgerError::Exceeded { dataset: dataset.into(), budget, spent, epsilon })
            }
            _ => Ok(()),
        }
    }

    /// Charges `job` with `epsilon` on `dataset` if it fits in `budget`, and persists the
    /// ledger before returning; returns the dataset's new total. A job charged before is not
    /// charged again.
    pub fn charge(
        &self,
        dataset: &str,
        job: &str,
        epsilon: f64,
        budget: Option<f64>,
    ) -> Result<f64, LedgerError> {
        let mut book = self.lock();
        let charges = book.datasets.entry(dataset.to_string()).or_default();
        if !charges.iter().any(|c| c.job == job) {
            let spent: f64 = charges.iter().map(|c| c.epsilon).sum();
            if let Some(budget) = budget
                && spent + epsilon > budget + TOLERANCE
            {
                return Err(LedgerError::Exceeded { dataset: dataset.into(), budget, spent, epsilon });
            }
            let time_ms = crate::now_ms();
            charges.push(Charge { job: job.to_string(), epsilon, time_ms });
            let bytes = serde_json::to_vec_pretty(&*book).expect("the ledger serialises");
            if let Err(e) = write_atomic(&self.path, &bytes) {
                book.datasets.get_mut(dataset).expect("just inserted").pop();
                return Err(LedgerError::Store(e.to_string()));
            }
        }
        Ok(book.datasets[dataset].iter().map(|c| c.epsilon).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_refuse_an_overspend_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        assert_eq!(ledger.charge("c", "j1", 0.5, Some(1.0)), Ok(0.5));
        assert_eq!(ledger.charge("c", "j1", 0.5, Some(1.0)), Ok(0.5), "charged twice");
        assert_eq!(ledger.charge("c", "j2", 0.5, Some(1.0)), Ok(1.0));
        let err = ledger.charge("c", "j3", 0.1, Some(1.0)).unwrap_err();
        assert!(err.to_string().contains("budget of `c` is 1") && err.to_string().contains("0.1"), "{err}");
        assert!(ledger.check("c", 0.1, Some(1.0)).is_err());
        assert!(ledger.check("c", 0.1, None).is_ok());
        assert_eq!(ledger.charge("other", "j4", 3.0, None), Ok(3.0));
        let again = Ledger::open(dir.path()).unwrap();
        assert_eq!(again.spent("c"), (1.0, 2));
        assert_eq!(again.spent("other"), (3.0, 1));
        assert!(again.charge("c", "j3", 0.1, Some(1.0)).is_err());
        std::fs::write(dir.path().join("privacy-ledger.json"), "{").unwrap();
        assert!(Ledger::open(dir.path()).is_err(), "a corrupt ledger must not read as empty");
    }
}
