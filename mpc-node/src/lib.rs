//! The node daemon of the secure segmentation cluster.
//!
//! A node holds replicated additive components of every dataset's records (see
//! `protocol::sharing`), talks to the other nodes over mutually authenticated QUIC, and runs
//! the jobs that operators submit, opening only each job's declared outputs, and only to the
//! operator that asked. This crate contains no protocol mathematics: it reads configuration
//! and files, moves bytes, keeps records, and calls `protocol`.
//!
//! - [`config`]: the TOML configuration.
//! - [`store`]: shares on disk, atomic and checksummed; [`files`]: every file and directory
//!   the node writes is its user's alone.
//! - [`csv_input`] and [`ingest`]: an owner's CSV, validated, split and distributed;
//!   [`contributions`]: replacing an owner's contribution, and restoring the one replaced.
//! - [`node`]: the node's parts; [`server`]: the accept loop that hands each connection to
//!   [`peer`] or [`control`] by its certificate, and the background duties; [`mesh`]: the
//!   connections to the other nodes;
//!   [`accept`]: what one certificate's connections can make the node hold.
//! - [`local`]: this node's place among the members.
//! - [`jobs`]: job records, checks, the lifecycle state machine and its driver, the runners.
//! - [`policy`], [`ledger`], [`audit`], [`retention`]: what each company allows, the privacy
//!   budget spent, the hash-chained record of what happened, and erasure.

pub mod accept;
pub mod audit;
pub mod cli;
pub mod config;
pub mod contributions;
pub mod control;
pub mod csv_input;
pub mod files;
pub mod ingest;
pub mod jobs;
pub mod ledger;
pub mod local;
pub mod mesh;
pub mod node;
pub mod peer;
pub mod policy;
pub mod retention;
pub mod server;
pub mod store;

/// The time now, in milliseconds since the Unix epoch (0 on a clock set before it): the
/// timestamps of records, ledgers, audit entries and retention.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
