//! Contributions an ingest replaced, kept aside so that their owner can put them back.
//!
//! A replacement first writes `replaced/<id>.json` (a [`Kept`]: the replaced contribution's
//! metadata as `dataset.json` had it, the contribution that replaced it, and until when it is
//! kept), then the new `dataset.json`, then moves `<id>.shares` into `replaced/`. A restore
//! writes `dataset.json` with the kept contribution back in its place, moves its shares back,
//! then removes the record and the dropped contribution's shares. If the node stops half-way,
//! [`Store::open`] finishes whichever of the two `dataset.json` says took effect.
//!
//! A restore is the undo of a replacement. A kept contribution stops being restorable, and its
//! shares are deleted, as soon as a job reads a dataset version that holds the contribution
//! that replaced it (results computed from the new records then exist, and putting the old
//! ones back would no longer undo anything: it would only give one more version of the
//! dataset to compare results across), once its keep time has passed, when the retention
//! period of the node's policy for the dataset has passed since it was shared, or when its
//! owner replaces again. Its record stays until the keep time passes, so that a refused
//! restore can say why.

use super::{ContributionMeta, DatasetMeta, Store, StoreError, io, list, sync_dir, write_atomic};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A replaced contribution kept aside on this node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    /// The dataset.
    pub dataset: String,
    /// The owner of both contributions.
    pub owner: String,
    /// The replaced contribution, as `dataset.json` listed it (its digest, its commit time).
    pub previous: ContributionMeta,
    /// The contribution that replaced it.
    pub current: String,
    /// Its records.
    pub current_rows: u64,
    /// When it was replaced, milliseconds since the Unix epoch.
    pub replaced_ms: u64,
    /// Until when it is restorable (unless a job uses `current` before).
    pub keep_until_ms: u64,
    /// The first job that read a version of the dataset holding `current`: from then on the
    /// replaced contribution cannot be restored, and its shares are gone.
    pub used_by: Option<String>,
    /// When that job read it.
    #[serde(default)]
    pub used_ms: u64,
}

impl Kept {
    pub(super) fn new(
        dataset: &str,
        previous: &ContributionMeta,
        current: &ContributionMeta,
        until: u64,
    ) -> Self {
        Self {
            dataset: dataset.into(),
            owner: previous.owner.clone(),
            previous: previous.clone(),
            current: current.id.clone(),
            current_rows: current.rows,
            replaced_ms: crate::now_ms(),
            keep_until_ms: until,
            used_by: None,
            used_ms: 0,
        }
    }
}

/// A time in milliseconds since the Unix epoch, as `2026-12-10 14:03 UTC`.
pub fn utc(ms: u64) -> String {
    let minutes = ms / 60_000;
    let (days, minute_of_day) = ((minutes / 1440) as i64, minutes % 1440);
    // The proleptic Gregorian calendar in 400-year eras that start on 1 March, so that the
    // leap day is the last day of a year.
    let from_march_0000 = days + 719_468;
    let era = from_march_0000.div_euclid(146_097);
    let day_of_era = from_march_0000.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", minute_of_day / 60, minute_of_day % 60)
}

fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(StoreError::Io { path: path.into(), source: e })
        }
        _ => Ok(()),
    }
}

impl Store {
    fn kept_dir(&self, dataset: &str) -> Result<PathBuf, StoreError> {
        Ok(self.dataset_dir(dataset)?.join("replaced"))
    }

    fn kept_file(&self, dataset: &str, id: &str, ext: &str) -> Result<PathBuf, StoreError> {
        Ok(self.kept_dir(dataset)?.join(format!("{id}.{ext}")))
    }

    /// The contributions of `dataset` kept aside (restorable or not), oldest first.
    pub fn kept(&self, dataset: &str) -> Result<Vec<Kept>, StoreError> {
        let mut out = Vec::new();
        for path in list(&self.kept_dir(dataset)?)? {
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).map_err(io(&path))?;
                let kept: Kept = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
                out.push(kept);
            }
        }
        out.sort_by_key(|k| k.replaced_ms);
        Ok(out)
    }

    pub(super) fn write_kept(&self, kept: &Kept) -> Result<(), StoreError> {
        let dir = self.kept_dir(&kept.dataset)?;
        crate::files::create_dir(&dir).map_err(io(&dir))?;
        let json = serde_json::to_vec_pretty(kept).expect("records serialise");
        write_atomic(&dir.join(format!("{}.json", kept.previous.id)), &json)
    }

    /// Moves the shares of a replaced contribution from the dataset into `replaced/`.
    pub(super) fn move_aside(&self, dataset: &str, id: &str) -> Result<(), StoreError> {
        let from = self.dataset_dir(dataset)?.join(format!("{id}.shares"));
        let to = self.kept_file(dataset, id, "shares")?;
        std::fs::rename(&from, &to).map_err(io(&to))?;
        sync_dir(to.parent().expect("a directory"))?;
        sync_dir(from.parent().expect("a directory"))
    }

    /// Deletes a kept contribution's shares, and with `record` its record too.
    fn drop_kept(&self, kept: &Kept, record: bool) -> Result<(), StoreError> {
        remove_if_exists(&self.kept_file(&kept.dataset, &kept.previous.id, "shares")?)?;
        if record {
            remove_if_exists(&self.kept_file(&kept.dataset, &kept.previous.id, "json")?)?;
        }
        sync_dir(&self.kept_dir(&kept.dataset)?)
    }

    /// Deletes every contribution of `owner` to `dataset` kept aside (shares and records):
    /// an owner that withdraws its records withdraws their earlier versions too.
    pub(super) fn drop_kept_of(&self, dataset: &str, owner: &str) -> Result<(), StoreError> {
        for kept in self.kept(dataset)?.iter().filter(|k| k.owner == owner) {
            self.drop_kept(kept, true)?;
        }
        Ok(())
    }

    /// Refuses a contribution of `owner` to `dataset` that is not a replacement when the
    /// owner has one.
    pub fn check_not_replacing(&self, dataset: &str, owner: &str) -> Result<(), StoreError> {
        let current =
            self.dataset(dataset)?.and_then(|m| m.contributions.into_iter().find(|c| c.owner == owner));
        match current {
            Some(c) => Err(StoreError::WouldReplace {
                dataset: dataset.into(),
                owner: owner.into(),
                current: c.id,
                rows: c.rows,
            }),
            None => Ok(()),
        }
    }

    /// Records that `job` reads the version of `dataset` made of `contributions`: a kept
    /// contribution that one of them replaced can no longer be restored, and its shares are
    /// deleted. Returns the kept contributions this made unrestorable.
    pub fn note_used(
        &self,
        dataset: &str,
        contributions: &[ContributionMeta],
        job: &str,
    ) -> Result<Vec<Kept>, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut used = Vec::new();
        for mut kept in self.kept(dataset)? {
            if kept.used_by.is_none()
                && contributions.iter().any(|c| c.id == kept.current && c.owner == kept.owner)
            {
                kept.used_by = Some(job.into());
                kept.used_ms = crate::now_ms();
                // The record first: shares without a restorable record are never put back.
                self.write_kept(&kept)?;
                self.drop_kept(&kept, false)?;
                used.push(kept);
            }
        }
        Ok(used)
    }

    /// The kept contribution of `owner` that its current contribution to `dataset` replaced,
    /// if it can be put back at `now_ms` (given this node's retention period for the dataset,
    /// in ms); otherwise why not.
    pub fn restorable(
        &self,
        dataset: &str,
        owner: &str,
        now_ms: u64,
        retention_ms: Option<u64>,
    ) -> Result<Kept, StoreError> {
        let refuse = |reason: String| StoreError::NotRestorable {
            dataset: dataset.into(),
            owner: owner.into(),
            reason,
        };
        let meta = self.dataset(dataset)?.ok_or_else(|| refuse("this node holds no such dataset".into()))?;
        let current = meta
            .contributions
            .iter()
            .find(|c| c.owner == owner)
            .ok_or_else(|| refuse("this node holds no contribution of that node".into()))?;
        let kept = self.kept(dataset)?.into_iter().find(|k| k.owner == owner && k.current == current.id);
        let Some(kept) = kept else {
            return Err(refuse(format!(
                "this node keeps no contribution that the current one ({}, {} records) replaced: it \
                 replaced none, or what it replaced was purged",
                current.id, current.rows
            )));
        };
        if let Some(job) = &kept.used_by {
            return Err(refuse(format!(
                "job {job} read the current contribution ({}, {} records) on {}: results computed from \
                 it exist, so putting the previous one back would no longer undo the replacement",
                kept.current,
                kept.current_rows,
                utc(kept.used_ms)
            )));
        }
        if now_ms >= kept.keep_until_ms {
            return Err(refuse(format!(
                "it was kept for restores until {}, which has passed",
                utc(kept.keep_until_ms)
            )));
        }
        if let Some(period) = retention_ms
            && kept.previous.committed_ms > 0
            && now_ms.saturating_sub(kept.previous.committed_ms) >= period
        {
            return Err(refuse(format!(
                "it was shared on {}, longer ago than this node's retention period for the dataset",
                utc(kept.previous.committed_ms)
            )));
        }
        let path = self.kept_file(dataset, &kept.previous.id, "shares")?;
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        if hex::encode(Sha256::digest(&bytes)) != kept.previous.sha256 {
            return Err(StoreError::Corrupt { path, reason: "digest differs from its record".into() });
        }
        Ok(kept)
    }

    /// Whether [`Store::restore`] would put back `restored` in place of `dropped`.
    pub fn check_restore(
        &self,
        dataset: &str,
        owner: &str,
        (restored, dropped): (&str, &str),
        now_ms: u64,
        retention_ms: Option<u64>,
    ) -> Result<Kept, StoreError> {
        let kept = self.restorable(dataset, owner, now_ms, retention_ms)?;
        if kept.previous.id != restored || kept.current != dropped {
            return Err(StoreError::NotRestorable {
                dataset: dataset.into(),
                owner: owner.into(),
                reason: format!(
                    "this node would put back {} in place of {}, not {restored} in place of {dropped}",
                    kept.previous.id, kept.current
                ),
            });
        }
        Ok(kept)
    }

    /// Puts `restored`, the kept contribution of `owner` that `dropped` replaced, back in
    /// `dataset` as it was (same id, digest and commit time), and deletes `dropped`; refused
    /// unless it is restorable at `now_ms` (see [`Store::restorable`]).
    pub fn restore(
        &self,
        dataset: &str,
        owner: &str,
        (restored, dropped): (&str, &str),
        now_ms: u64,
        retention_ms: Option<u64>,
    ) -> Result<Kept, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let kept = self.check_restore(dataset, owner, (restored, dropped), now_ms, retention_ms)?;
        let dir = self.dataset_dir(dataset)?;
        let mut meta: DatasetMeta = self.dataset(dataset)?.expect("restorable checked it");
        meta.contributions.retain(|c| c.owner != owner);
        meta.contributions.push(kept.previous.clone());
        meta.contributions.sort_by(|a, b| a.owner.cmp(&b.owner));
        let json = serde_json::to_vec_pretty(&meta).expect("metadata serialises");
        // Metadata first: a crash after it is finished by `recover_kept` at start.
        write_atomic(&dir.join("dataset.json"), &json)?;
        let aside = self.kept_file(dataset, restored, "shares")?;
        let back = dir.join(format!("{restored}.shares"));
        std::fs::rename(&aside, &back).map_err(io(&back))?;
        sync_dir(&dir)?;
        self.drop_kept(&kept, true)?;
        remove_if_exists(&dir.join(format!("{dropped}.shares")))?;
        sync_dir(&dir)?;
        Ok(kept)
    }

    /// Deletes what can no longer be restored at `now_ms` among the kept contributions of
    /// `dataset`: those superseded (their owner's current contribution is not the one that
    /// replaced them), past their keep time or, given this node's retention period for the
    /// dataset (ms), committed longer ago than that (record and shares); and the shares of
    /// those a job made unrestorable. Returns those whose shares it deleted.
    pub fn purge_kept(
        &self,
        dataset: &str,
        now_ms: u64,
        retention_ms: Option<u64>,
    ) -> Result<Vec<Kept>, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.purge_kept_locked(dataset, now_ms, retention_ms)
    }

    /// [`Store::purge_kept`], for a caller that holds the lock.
    pub(super) fn purge_kept_locked(
        &self,
        dataset: &str,
        now_ms: u64,
        retention_ms: Option<u64>,
    ) -> Result<Vec<Kept>, StoreError> {
        let current = self.dataset(dataset)?.map(|m| m.contributions).unwrap_or_default();
        let mut purged = Vec::new();
        for kept in self.kept(dataset)? {
            let superseded = !current.iter().any(|c| c.id == kept.current && c.owner == kept.owner);
            let expired = now_ms >= kept.keep_until_ms;
            let too_old = retention_ms.is_some_and(|period| {
                kept.previous.committed_ms > 0 && now_ms.saturating_sub(kept.previous.committed_ms) >= period
            });
            let has_shares = self.kept_file(dataset, &kept.previous.id, "shares")?.exists();
            if superseded || expired || too_old || (kept.used_by.is_some() && has_shares) {
                self.drop_kept(&kept, superseded || expired || too_old)?;
                if has_shares {
                    purged.push(kept);
                }
            }
        }
        Ok(purged)
    }

    /// At start: finishes a replacement or a restore of `meta`'s dataset that the node
    /// stopped in the middle of, removes kept shares no record refers to, and purges.
    pub(super) fn recover_kept(&self, meta: &DatasetMeta, dir: &Path) -> Result<(), StoreError> {
        let records = self.kept(&meta.name)?;
        for kept in &records {
            let id = &kept.previous.id;
            let live = dir.join(format!("{id}.shares"));
            let aside = self.kept_file(&meta.name, id, "shares")?;
            let in_effect = meta.contributions.iter().any(|c| c.id == kept.current && c.owner == kept.owner);
            let back = meta.contributions.iter().any(|c| c.id == *id);
            if in_effect && live.exists() && !aside.exists() {
                tracing::info!(dataset = %meta.name, contribution = %id, "finishing a replacement");
                self.move_aside(&meta.name, id)?;
            } else if back {
                if !live.exists() && aside.exists() {
                    tracing::info!(dataset = %meta.name, contribution = %id, "finishing a restore");
                    std::fs::rename(&aside, &live).map_err(io(&live))?;
                    sync_dir(dir)?;
                }
                // The replacement never took effect, or the restore did: the record goes.
                remove_if_exists(&self.kept_file(&meta.name, id, "json")?)?;
            }
        }
        for path in list(&self.kept_dir(&meta.name)?)? {
            let known = records
                .iter()
                .any(|k| path.file_name() == Some(format!("{}.shares", k.previous.id).as_ref()));
            if path.extension().is_some_and(|e| e == "shares") && !known {
                tracing::info!(file = %path.display(), "removing kept shares no record refers to");
                remove_if_exists(&path)?;
            }
        }
        for kept in self.purge_kept_locked(&meta.name, crate::now_ms(), None)? {
            tracing::info!(
                dataset = %meta.name,
                contribution = %kept.previous.id,
                "purged a replaced contribution that can no longer be restored"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Replace, SharesHeader};
    use protocol::sharing::Component;
    use wire::schema::{NumericColumn, Schema};

    const LATER: u64 = u64::MAX / 2;

    fn stage(store: &Store, id: &str, owner: &str, rows: u64) -> Vec<Vec<Component>> {
        let header = SharesHeader {
            dataset: "d".into(),
            contribution: id.into(),
            owner: owner.into(),
            rows,
            schema: Schema {
                features: vec![NumericColumn { name: "x".into(), min: None, max: None }],
                categorical: vec![],
                consent: None,
            },
            components: vec![0],
        };
        let columns = vec![vec![Component { id: 0, values: (0..rows).map(|r| r * 7 + rows).collect() }]];
        store.stage(&header, &columns).unwrap();
        columns
    }

    /// A store where n1 contributed `c1` (3 records), n2 `c9`, then n1 replaced `c1` by `c2`
    /// (5 records), keeping `c1` until `until`.
    fn replaced(until: u64) -> (tempfile::TempDir, Store, ContributionMeta, Vec<Vec<Component>>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = stage(&store, "c1", "n1", 3);
        let first = store.commit("d", "c1", "n1", Replace::No).unwrap().entry;
        stage(&store, "c9", "n2", 2);
        store.commit("d", "c9", "n2", Replace::No).unwrap();
        stage(&store, "c2", "n1", 5);
        let done = store.commit("d", "c2", "n1", Replace::KeepUntil(until)).unwrap();
        assert_eq!(done.replaced.as_ref(), Some(&first));
        (dir, store, first, old)
    }

    fn ids(store: &Store) -> Vec<(String, u64)> {
        let meta = store.dataset("d").unwrap().unwrap();
        meta.contributions.iter().map(|c| (c.id.clone(), c.rows)).collect()
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut out: Vec<String> = ["datasets/d", "datasets/d/replaced"]
            .iter()
            .flat_map(|d| list(&dir.join(d)).unwrap())
            .filter(|p| p.is_file())
            .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_zero_keep_time_purges_the_replaced_contribution_at_once() {
        let (dir, store, _, _) = replaced(0);
        assert!(store.kept("d").unwrap().is_empty());
        assert!(!dir.path().join("datasets/d/replaced/c1.shares").exists());
    }

    #[test]
    fn a_replacement_that_is_not_marked_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        stage(&store, "c1", "n1", 3);
        store.commit("d", "c1", "n1", Replace::No).unwrap();
        stage(&store, "c2", "n1", 0);
        let before = files(dir.path());
        assert!(matches!(
            store.check_not_replacing("d", "n1"),
            Err(StoreError::WouldReplace { rows: 3, .. })
        ));
        assert!(store.check_not_replacing("d", "n2").is_ok());
        let err = store.commit("d", "c2", "n1", Replace::No).unwrap_err().to_string();
        assert_eq!(
            err,
            "dataset `d` holds contribution c1 (3 records) of node n1; a contribution that replaces it \
             must be marked as a replacement (mpc-node ingest --replace)"
        );
        assert_eq!(files(dir.path()), before);
        assert_eq!(ids(&store), [("c1".to_string(), 3)]);
        // Still staged: the owner may commit it as a replacement.
        store.commit("d", "c2", "n1", Replace::KeepUntil(LATER)).unwrap();
    }

    #[test]
    fn a_replaced_contribution_is_kept_aside_and_restored_as_it_was() {
        let (dir, store, first, old) = replaced(LATER);
        assert_eq!(ids(&store), [("c2".to_string(), 5), ("c9".to_string(), 2)]);
        assert_eq!(
            files(dir.path()),
            [
                "datasets/d/c2.shares",
                "datasets/d/c9.shares",
                "datasets/d/dataset.json",
                "datasets/d/replaced/c1.json",
                "datasets/d/replaced/c1.shares",
            ]
        );
        let kept = store.kept("d").unwrap();
        assert_eq!((kept.len(), &kept[0].previous, kept[0].current.as_str()), (1, &first, "c2"));
        assert_eq!(store.restorable("d", "n1", 0, None).unwrap(), kept[0]);
        // Only the owner's own, and only the pair it was kept for.
        assert!(
            store.restorable("d", "n2", 0, None).unwrap_err().to_string().contains("keeps no contribution")
        );
        let err = store.restore("d", "n1", ("c1", "c9"), 0, None).unwrap_err().to_string();
        assert!(err.contains("would put back c1 in place of c2, not c1 in place of c9"), "{err}");

        store.restore("d", "n1", ("c1", "c2"), 0, None).unwrap();
        let meta = store.dataset("d").unwrap().unwrap();
        assert_eq!(meta.contributions[0], first, "the same id, digest and commit time");
        assert_eq!(store.load("d", &first).unwrap().columns, old);
        assert_eq!(
            files(dir.path()),
            ["datasets/d/c1.shares", "datasets/d/c9.shares", "datasets/d/dataset.json"]
        );
        assert!(store.restorable("d", "n1", 0, None).is_err(), "a restore cannot be repeated");
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(ids(&store), [("c1".to_string(), 3), ("c9".to_string(), 2)]);
    }

    #[test]
    fn an_owner_that_withdraws_its_contribution_withdraws_its_kept_one_too() {
        let (dir, store, _, _) = replaced(LATER);
        store.erase_contribution("d", "c2", "n1").unwrap();
        assert_eq!(ids(&store), [("c9".to_string(), 2)]);
        assert_eq!(files(dir.path()), ["datasets/d/c9.shares", "datasets/d/dataset.json"]);
        assert!(store.restorable("d", "n1", 0, None).is_err());
    }

    #[test]
    fn a_job_that_reads_the_new_contribution_ends_the_restore_and_deletes_the_old_shares() {
        let (dir, store, _, _) = replaced(LATER);
        // A version without the new contribution does not count.
        let mut older = store.dataset("d").unwrap().unwrap().contributions;
        older[0].id = "c1".into();
        assert!(store.note_used("d", &older, "j0").unwrap().is_empty());
        let now = store.dataset("d").unwrap().unwrap().contributions;
        assert_eq!(store.note_used("d", &now, "j1").unwrap().len(), 1);
        assert!(store.note_used("d", &now, "j2").unwrap().is_empty(), "the first job is the one recorded");
        assert!(!dir.path().join("datasets/d/replaced/c1.shares").exists());
        let err = store.restorable("d", "n1", 0, None).unwrap_err().to_string();
        assert!(err.contains("job j1 read the current contribution (c2, 5 records)"), "{err}");
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let err = store.restore("d", "n1", ("c1", "c2"), 0, None).unwrap_err().to_string();
        assert!(err.contains("job j1"), "the refusal survives a restart: {err}");
        assert_eq!(ids(&store), [("c2".to_string(), 5), ("c9".to_string(), 2)]);
    }

    #[test]
    fn a_kept_contribution_expires_at_its_time_and_is_then_purged() {
        let until = crate::now_ms() + 3_600_000;
        let (dir, store, _, _) = replaced(until);
        assert!(store.restorable("d", "n1", until - 1, None).is_ok());
        let err = store.restorable("d", "n1", until, None).unwrap_err().to_string();
        assert!(err.contains(&format!("kept for restores until {}, which has passed", utc(until))), "{err}");
        assert!(store.purge_kept("d", until - 1, None).unwrap().is_empty());
        assert_eq!(store.purge_kept("d", until, None).unwrap().len(), 1);
        assert!(store.kept("d").unwrap().is_empty());
        assert!(!dir.path().join("datasets/d/replaced/c1.shares").exists());
        assert_eq!(ids(&store), [("c2".to_string(), 5), ("c9".to_string(), 2)]);
    }

    #[test]
    fn a_kept_contribution_older_than_the_retention_period_is_purged() {
        let (_dir, store, first, _) = replaced(LATER);
        let now = first.committed_ms + 10;
        assert!(store.purge_kept("d", now, Some(11)).unwrap().is_empty());
        let err = store.restorable("d", "n1", now, Some(10)).unwrap_err().to_string();
        assert!(err.contains("longer ago than this node's retention period"), "{err}");
        assert!(store.restorable("d", "n1", now, Some(11)).is_ok());
        assert_eq!(store.purge_kept("d", now, Some(10)).unwrap().len(), 1);
        assert!(store.restorable("d", "n1", now, None).is_err());
    }

    #[test]
    fn replacing_again_keeps_only_the_latest_replaced_contribution() {
        let (dir, store, _, _) = replaced(LATER);
        let second = store.dataset("d").unwrap().unwrap().contributions[0].clone();
        stage(&store, "c3", "n1", 1);
        let done = store.commit("d", "c3", "n1", Replace::KeepUntil(LATER)).unwrap();
        assert_eq!(done.replaced, Some(second.clone()));
        assert_eq!(
            store.kept("d").unwrap().iter().map(|k| k.previous.id.as_str()).collect::<Vec<_>>(),
            ["c2"]
        );
        assert!(!dir.path().join("datasets/d/replaced/c1.shares").exists());
        store.restore("d", "n1", ("c2", "c3"), 0, None).unwrap();
        assert_eq!(ids(&store), [("c2".to_string(), 5), ("c9".to_string(), 2)]);
        // The dropped contribution is gone for good: committing it again finds nothing.
        let err = store.commit("d", "c3", "n1", Replace::KeepUntil(LATER)).unwrap_err().to_string();
        assert!(err.contains("no staged contribution `c3`"), "{err}");
    }

    #[test]
    fn corrupt_kept_shares_are_never_restored() {
        let (dir, store, _, _) = replaced(LATER);
        let path = dir.path().join("datasets/d/replaced/c1.shares");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(matches!(store.restore("d", "n1", ("c1", "c2"), 0, None), Err(StoreError::Corrupt { .. })));
        assert_eq!(ids(&store), [("c2".to_string(), 5), ("c9".to_string(), 2)]);
    }

    #[test]
    fn a_replacement_interrupted_before_its_metadata_is_undone_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = stage(&store, "c1", "n1", 3);
        let first = store.commit("d", "c1", "n1", Replace::No).unwrap().entry;
        stage(&store, "c2", "n1", 5);
        // The node stopped right after writing its intent.
        let new = ContributionMeta { id: "c2".into(), rows: 5, ..first.clone() };
        store.write_kept(&Kept::new("d", &first, &new, LATER)).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.kept("d").unwrap().is_empty());
        assert_eq!(store.load("d", &first).unwrap().columns, old);
        assert_eq!(files(dir.path()), ["datasets/d/c1.shares", "datasets/d/dataset.json"]);
    }

    #[test]
    fn a_replacement_interrupted_after_its_metadata_is_finished_at_start() {
        let (dir, store, first, old) = replaced(LATER);
        // The node stopped before moving the replaced shares aside (and the new ones in).
        let d = dir.path().join("datasets/d");
        std::fs::rename(d.join("replaced/c1.shares"), d.join("c1.shares")).unwrap();
        std::fs::rename(d.join("c2.shares"), dir.path().join("staging/d/c2.shares")).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(ids(&store), [("c2".to_string(), 5), ("c9".to_string(), 2)]);
        assert!(d.join("c2.shares").exists() && d.join("replaced/c1.shares").exists());
        store.restore("d", "n1", ("c1", "c2"), 0, None).unwrap();
        assert_eq!(store.load("d", &first).unwrap().columns, old);
    }

    #[test]
    fn a_restore_interrupted_after_its_metadata_is_finished_at_start() {
        let (dir, store, first, old) = replaced(LATER);
        // The node stopped right after writing `dataset.json` with the old contribution back.
        let mut meta = store.dataset("d").unwrap().unwrap();
        meta.contributions[0] = first.clone();
        write_atomic(&dir.path().join("datasets/d/dataset.json"), &serde_json::to_vec(&meta).unwrap())
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.load("d", &first).unwrap().columns, old);
        assert_eq!(
            files(dir.path()),
            ["datasets/d/c1.shares", "datasets/d/c9.shares", "datasets/d/dataset.json"]
        );
    }

    #[test]
    fn kept_shares_without_a_record_are_removed_at_start() {
        let (dir, store, _, _) = replaced(LATER);
        std::fs::write(dir.path().join("datasets/d/replaced/stray.shares"), b"x").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(!dir.path().join("datasets/d/replaced/stray.shares").exists());
        assert!(store.restorable("d", "n1", 0, None).is_ok());
    }

    #[test]
    fn an_erased_dataset_takes_its_kept_contributions_with_it() {
        let (dir, store, _, _) = replaced(LATER);
        assert!(store.erase("d").unwrap());
        assert!(!dir.path().join("datasets/d/replaced").exists());
    }

    #[test]
    fn times_print_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_911_380_000 + 59_999), "2026-12-10 14:03 UTC");
        assert_eq!(utc(4_107_628_740_000), "2100-03-01 23:59 UTC");
    }
}
