//! The audit log every node keeps: an append-only, hash-chained list of what happened to each
//! job (the specification and this node's decision, the end, what was revealed and to whom,
//! with a digest of it), and to the data (erasures, replaced and restored contributions). Each
//! line is one JSON [`Line`]: an [`Entry`] and the SHA-256 of the entry, whose `prev` is the
//! hash of the line before (64 zeros for the first). An edited, deleted, inserted or reordered
//! line breaks the chain at its position ([`verify`]), and the nodes' logs can be compared job
//! by job ([`disagreements`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Hash of the previous line ([`GENESIS`] for the first).
    pub prev: String,
    /// What happened.
    pub event: Event,
    /// Random bytes (hex) that make the entry's hash unguessable: a reader who is served only
    /// a line's links (another operator's job) cannot test candidate entries against its hash.
    /// Absent from lines written before salts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A job was proposed; this node voted.
    Submitted {
        /// The job id.
        job: String,
        /// SHA-256 of the job specification's JSON.
        spec_digest: String,
        /// The specification, as JSON.
        spec: String,
        /// Fingerprint of the submitting operator.
        submitter: String,
        /// Whether this node took part.
        accepted: bool,
        /// Why not (its data or its policy).
        reason: Option<String>,
        /// The security model of the engine that runs it here (`passive`, `active`);
        /// absent in entries written before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        security: Option<String>,
    },
    /// The job ended on this node.
    Ended {
        /// The job id.
        job: String,
        /// `done` or `failed`.
        state: String,
        /// Why it failed.
        reason: Option<String>,
    },
    /// This node erased its shares of a dataset, or of one contribution to it, and what it
    /// held derived from them.
    Erased {
        /// The dataset.
        dataset: String,
        /// The contribution erased; absent when every share of the dataset was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contribution: Option<String>,
        /// Why (whose retention period passed, or which owner withdrew its records).
        reason: String,
        /// The jobs on the dataset whose segments, outputs or owners' labels this node erased
        /// with the shares (absent when there were none).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        jobs: Vec<String>,
    },
    /// An owner's new contribution replaced its previous one, which this node keeps aside
    /// (restorable until `kept_until_ms`, unless a job uses the new one before).
    Replaced {
        /// The dataset.
        dataset: String,
        /// The owner node.
        owner: String,
        /// The previous contribution.
        replaced: String,
        /// Its records.
        replaced_rows: u64,
        /// The new contribution.
        contribution: String,
        /// Its records.
        rows: u64,
        /// Milliseconds since the Unix epoch.
        kept_until_ms: u64,
    },
    /// An owner put its previous contribution back and dropped the one that had replaced it.
    Restored {
        /// The dataset.
        dataset: String,
        /// The owner node.
        owner: String,
        /// The contribution put back.
        restored: String,
        /// Its records.
        restored_rows: u64,
        /// The contribution dropped.
        dropped: String,
        /// Its records.
        dropped_rows: u64,
    },
    /// A job spent privacy budget on a dataset (recorded before anything is released).
    Spent {
        /// The job id.
        job: String,
        /// The dataset.
        dataset: String,
        /// The epsilon of the job.
        epsilon: f64,
        /// The dataset's total spent on this node, this job included.
        spent: f64,
        /// This node's budget for the dataset, if its policy sets one.
        budget: Option<f64>,
    },
    /// Values were opened to someone.
    Revealed {
        /// The job id.
        job: String,
        /// Who received them (an operator's or a node's fingerprint or id).
        to: String,
        /// What they are.
        what: String,
        /// SHA-256 of what this node sent.
        digest: String,
    },
}

impl Event {
    /// The job the event is about (empty for an erasure, a replacement or a restore).
    pub fn job(&self) -> &str {
        match self {
            Event::Submitted { job, .. }
            | Event::Ended { job, .. }
            | Event::Revealed { job, .. }
            | Event::Spent { job, .. } => job,
            Event::Erased { .. } | Event::Replaced { .. } | Event::Restored { .. } => "",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The entry.
    pub entry: Entry,
    /// SHA-256 of the entry's JSON (hex).
    pub hash: String,
}

/// The recipient of a `Revealed` entry for values opened to every node, whose digests
/// `audit verify` compares across the nodes' logs.
pub const EVERY_NODE: &str = "every node";

/// SHA-256 of bytes, in hex.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of an entry: SHA-256 of its JSON.
pub fn hash(entry: &Entry) -> String {
    digest(&serde_json::to_vec(entry).expect("entries serialise"))
}

/// The line that follows `last` (none for the first) with `event` at `time_ms`, salted with
/// `salt` (16 random bytes from the writer).
pub fn next(last: Option<&Line>, time_ms: u64, salt: [u8; 16], event: Event) -> Line {
    let entry = Entry {
        seq: last.map_or(0, |l| l.entry.seq + 1),
        time_ms,
        prev: last.map_or_else(|| GENESIS.to_string(), |l| l.hash.clone()),
        event,
        salt: Some(salt.iter().map(|b| format!("{b:02x}")).collect()),
    };
    Line { hash: hash(&entry), entry }
}

/// A line whose entry a node withholds from the reader (an event of a job another operator
/// submitted): its position and its links, so that the reader can still follow the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithheldLine {
    /// Position in the log.
    pub seq: u64,
    /// Hash of the previous line.
    pub prev: String,
    /// Hash of the withheld entry.
    pub hash: String,
}

/// A line as a node serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Served {
    /// The whole line.
    Line(Line),
    /// Only its links.
    Withheld {
        /// The links.
        withheld: WithheldLine,
    },
}

impl Served {
    /// `line` with its entry withheld.
    pub fn withhold(line: &Line) -> Served {
        Served::Withheld {
            withheld: WithheldLine {
                seq: line.entry.seq,
                prev: line.entry.prev.clone(),
                hash: line.hash.clone(),
            },
        }
    }
}

/// Checks a log's text line by line: each line parses, its hash is that of its entry, its
/// `prev` is the previous line's hash and its `seq` follows. Returns the entries, or the first
/// broken position (1-based line number) and why. A withheld line is refused: a node's own
/// log holds every entry.
pub fn verify(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    check_chain(text, false).map(|(entries, _)| entries)
}

/// [`verify`] for a log as a node served it to a reader who may not see every line: the
/// withheld lines' links are followed (a removed, inserted or moved line still breaks the
/// chain), their entries cannot be checked. Returns the visible entries and how many lines
/// were withheld.
pub fn verify_served(text: &str) -> Result<(Vec<Entry>, usize), (usize, String)> {
    check_chain(text, true)
}

fn check_chain(text: &str, served: bool) -> Result<(Vec<Entry>, usize), (usize, String)> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut withheld = 0;
    let mut prev = GENESIS.to_string();
    for (i, raw) in text.lines().enumerate() {
        let at = i + 1;
        let parsed = if served {
            serde_json::from_str::<Served>(raw)
        } else {
            serde_json::from_str::<Line>(raw).map(Served::Line)
        };
        let (seq, line_prev, line_hash, entry) =
            match parsed.map_err(|e| (at, format!("not an audit line: {e}")))? {
                Served::Line(line) => {
                    if hash(&line.entry) != line.hash {
                        return Err((at, "the entry does not match its hash (edited)".into()));
                    }
                    (line.entry.seq, line.entry.prev.clone(), line.hash, Some(line.entry))
                }
                Served::Withheld { withheld: w } => {
                    withheld += 1;
                    (w.seq, w.prev, w.hash, None)
                }
            };
        if line_prev != prev {
            return Err((
                at,
                "does not follow the line before (a line was removed, inserted or moved)".into(),
            ));
        }
        if seq != i as u64 {
            return Err((at, format!("sequence number {seq} where {i} was expected")));
        }
        prev = line_hash;
        entries.extend(entry);
    }
    Ok((entries, withheld))
}

/// Where nodes' verified logs disagree about a job: the same job submitted with different
/// specifications, charged with a different epsilon, or different values opened to every
/// node under the same description (every node opens the same values, so their digests
/// match). `logs` holds each node's name and entries.
pub fn disagreements(logs: &[(String, Vec<Entry>)]) -> Vec<String> {
    // (what, job, description) -> (value, first node)
    let mut seen: std::collections::HashMap<(&str, &str, &str), (String, &str)> = Default::default();
    let mut out = Vec::new();
    for (node, entries) in logs {
        for e in entries {
            let (what, key, value) = match &e.event {
                Event::Submitted { job, spec_digest, .. } => {
                    ("specification", (job, ""), spec_digest.clone())
                }
                Event::Spent { job, dataset, epsilon, .. } => {
                    ("epsilon", (job, dataset.as_str()), epsilon.to_string())
                }
                Event::Revealed { job, to, what, digest } if to == EVERY_NODE => {
                    ("opened values", (job, what.as_str()), digest.clone())
                }
                _ => continue,
            };
            match seen.get(&(what, key.0.as_str(), key.1)) {
                Some((v, first)) if *v != value => {
                    let about = if key.1.is_empty() { String::new() } else { format!(" ({})", key.1) };
                    out.push(format!(
                        "job {}: node {node} recorded another {what}{about} than node {first}",
                        key.0
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert((what, key.0.as_str(), key.1), (value, node.as_str()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: usize) -> Vec<Line> {
        let mut lines: Vec<Line> = Vec::new();
        for i in 0..n {
            let event = Event::Ended { job: format!("j{i}"), state: "done".into(), reason: None };
            let line = next(lines.last(), 1000 + i as u64, [i as u8; 16], event);
            lines.push(line);
        }
        lines
    }

    fn text(lines: &[Line]) -> String {
        lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect()
    }

    #[test]
    fn replacements_and_restores_chain_like_any_event_and_belong_to_no_job() {
        let replaced = Event::Replaced {
            dataset: "d".into(),
            owner: "n1".into(),
            replaced: "old".into(),
            replaced_rows: 1846,
            contribution: "new".into(),
            rows: 0,
            kept_until_ms: 7,
        };
        let restored = Event::Restored {
            dataset: "d".into(),
            owner: "n1".into(),
            restored: "old".into(),
            restored_rows: 1846,
            dropped: "new".into(),
            dropped_rows: 0,
        };
        assert_eq!((replaced.job(), restored.job()), ("", ""));
        let json = serde_json::to_string(&replaced).unwrap();
        assert!(
            json.starts_with(r#"{"kind":"replaced","dataset":"d","owner":"n1","replaced":"old""#),
            "{json}"
        );
        assert!(serde_json::to_string(&restored).unwrap().starts_with(r#"{"kind":"restored""#));
        let mut lines = log(2);
        for event in [replaced, restored] {
            let line = next(lines.last(), 5000, [7; 16], event);
            lines.push(line);
        }
        let entries = verify(&text(&lines)).unwrap();
        assert!(matches!(entries[3].event, Event::Restored { restored_rows: 1846, .. }));
        let mut edited = lines.clone();
        if let Event::Replaced { replaced_rows, .. } = &mut edited[2].entry.event {
            *replaced_rows = 1;
        }
        assert_eq!(verify(&text(&edited)).unwrap_err().0, 3);
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&text(&log(5))).unwrap().len(), 5);
        assert_eq!(verify("").unwrap().len(), 0);
    }

    #[test]
    fn edits_deletions_and_reorders_are_found_at_their_position() {
        let lines = log(5);
        let mut edited = lines.clone();
        edited[2].entry.event = Event::Ended { job: "j2".into(), state: "failed".into(), reason: None };
        assert_eq!(verify(&text(&edited)).unwrap_err().0, 3);
        // Edited and re-hashed: the next line no longer follows it.
        edited[2].hash = hash(&edited[2].entry);
        assert_eq!(verify(&text(&edited)).unwrap_err().0, 4);
        let mut deleted = lines.clone();
        deleted.remove(1);
        assert_eq!(verify(&text(&deleted)).unwrap_err().0, 2);
        let mut swapped = lines.clone();
        swapped.swap(3, 4);
        assert_eq!(verify(&text(&swapped)).unwrap_err().0, 4);
        let mut garbled = text(&lines);
        garbled.push_str("not json\n");
        assert_eq!(verify(&garbled).unwrap_err().0, 6);
    }

    #[test]
    fn an_erasure_recorded_before_the_erasure_details_still_verifies() {
        let old =
            r#"{"seq":0,"time_ms":5,"prev":"GENESIS","event":{"kind":"erased","dataset":"d","reason":"r"}}"#
                .replace("GENESIS", GENESIS);
        let entry: Entry = serde_json::from_str(&old).unwrap();
        let line = serde_json::to_string(&Line { hash: digest(old.as_bytes()), entry }).unwrap();
        assert_eq!(verify(&format!("{line}\n")).unwrap().len(), 1);
        let event = Event::Erased {
            dataset: "d".into(),
            contribution: Some("c".into()),
            reason: "r".into(),
            jobs: vec!["j".into()],
        };
        let line = next(None, 5, [1; 16], event.clone());
        let text = serde_json::to_string(&line).unwrap();
        assert!(text.contains(r#""contribution":"c""#) && text.contains(r#""jobs":["j"]"#), "{text}");
        assert_eq!(verify(&format!("{text}\n")).unwrap()[0].event, event);
    }

    #[test]
    fn the_salt_makes_a_lines_hash_unguessable_from_its_event() {
        let event = Event::Ended { job: "j".into(), state: "done".into(), reason: None };
        let (a, b) = (next(None, 5, [1; 16], event.clone()), next(None, 5, [2; 16], event));
        assert_ne!(a.hash, b.hash);
        let mut bare = a.entry.clone();
        bare.salt = None;
        assert_ne!(hash(&bare), a.hash, "the event and time alone give the hash away");
    }

    #[test]
    fn a_served_log_with_withheld_lines_still_verifies_its_chain() {
        let lines = log(4);
        let served = |withheld: &[usize], lines: &[Line]| -> String {
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let s = if withheld.contains(&i) { Served::withhold(l) } else { Served::Line(l.clone()) };
                    serde_json::to_string(&s).unwrap() + "\n"
                })
                .collect()
        };
        let (entries, hidden) = verify_served(&served(&[1, 2], &lines)).unwrap();
        assert_eq!((entries.len(), hidden), (2, 2));
        assert_eq!(entries[1].seq, 3);
        // A withheld line cannot hide a removal or a reordering.
        let mut removed = lines.clone();
        removed.remove(2);
        assert_eq!(verify_served(&served(&[1], &removed)).unwrap_err().0, 3);
        // A node's own log never holds a withheld line.
        assert!(verify(&served(&[1], &lines)).is_err());
        assert_eq!(verify_served(&text(&lines)).unwrap().1, 0);
    }

    #[test]
    fn nodes_that_recorded_different_specifications_disagree() {
        let submitted = |digest: &str| Entry {
            salt: None,
            seq: 0,
            time_ms: 0,
            prev: GENESIS.into(),
            event: Event::Submitted {
                job: "j".into(),
                spec_digest: digest.into(),
                spec: String::new(),
                submitter: String::new(),
                accepted: true,
                reason: None,
                security: None,
            },
        };
        let same = vec![("a".to_string(), vec![submitted("x")]), ("b".to_string(), vec![submitted("x")])];
        assert!(disagreements(&same).is_empty());
        let other = vec![("a".to_string(), vec![submitted("x")]), ("b".to_string(), vec![submitted("y")])];
        assert_eq!(disagreements(&other).len(), 1);
    }

    #[test]
    fn nodes_that_charged_or_opened_differently_disagree() {
        let entry = |event| Entry { seq: 0, time_ms: 0, prev: GENESIS.into(), event, salt: None };
        let spent = |epsilon| {
            entry(Event::Spent {
                job: "j".into(),
                dataset: "d".into(),
                epsilon,
                spent: epsilon,
                budget: None,
            })
        };
        let opened = |to: &str, digest: &str| {
            entry(Event::Revealed { job: "j".into(), to: to.into(), what: "w".into(), digest: digest.into() })
        };
        let logs = |a: Vec<Entry>, b: Vec<Entry>| vec![("a".to_string(), a), ("b".to_string(), b)];
        assert!(disagreements(&logs(vec![spent(1.0)], vec![spent(1.0)])).is_empty());
        let d = disagreements(&logs(vec![spent(1.0)], vec![spent(2.0)]));
        assert!(d.len() == 1 && d[0].contains("epsilon (d)"), "{d:?}");
        assert_eq!(
            disagreements(&logs(vec![opened("every node", "x")], vec![opened("every node", "y")])).len(),
            1
        );
        // Each node sends the operator its own components: their digests differ.
        assert!(
            disagreements(&logs(vec![opened("operator o", "x")], vec![opened("operator o", "y")])).is_empty()
        );
    }
}
