//! Jobs on one node: their records, the checks a node makes before it takes part, the
//! lifecycle of each job as a state machine without I/O, the driver that carries out what the
//! machine decides, and the runners that drive the protocol over the mesh.
//!
//! - [`lifecycle`]: the state machine (`submitted`, `running`, then `done` or `failed` with a
//!   reason), events in and effects out; [`driver`]: the only job code that touches the audit
//!   log, the ledger, the mesh and tokio; [`registry`]: the records, in memory and on disk.
//! - [`checks`]: the vote's checks (made again at the start); [`context`]: what job code may
//!   read and touch; [`error`]: why a job is refused or fails.
//! - `stats`, `kmeans`, `fairness`, `bench`: one runner per kind of job, each given a
//!   [`context::JobContext`] and a [`protocol::Transport`]; [`channel`]: that transport over
//!   QUIC; [`revealed`]: what a job opens, in the audit log; `erasure`: which jobs an erasure
//!   reaches.
//!
//! Nothing here imports the node: [`crate::node`] builds a [`Runtime`] from its parts.

mod bench;
pub mod channel;
pub mod checks;
pub mod context;
pub mod driver;
mod erasure;
pub mod error;
mod fairness;
mod kmeans;
pub mod lifecycle;
pub mod record;
pub mod registry;
pub mod revealed;
mod stats;
mod upgrade;

pub use driver::Runtime;
pub use error::JobError;
pub use lifecycle::Parties;
pub use record::{JobOutput, JobRecord};
pub use registry::Jobs;
