//! The messages that cross the network, and how they are framed.
//!
//! Every stream carries length-prefixed [postcard](https://docs.rs/postcard) frames: a 4-byte
//! little-endian length, then the encoded message. Decoding refuses any frame longer than the
//! limit the reader passes ([`frame::read_frame`]) before allocating for it, and the buffer of
//! an accepted frame grows with the bytes that arrive, not with the announced length: a sender
//! that announces a large frame and sends little costs the reader little. Messages carry
//! [`PROTOCOL_VERSION`] in their first frame so that a node can refuse a peer that speaks
//! another version with a clear error.
//!
//! - [`audit`]: the hash-chained audit log each node keeps, and its verification.
//! - [`control`]: operator (and owner) requests to a node, and their answers.
//! - [`mesh`]: node-to-node messages: ingest of shares, job channels.
//! - [`output`]: what a job's opened values mean, one typed structure per kind of job.
//! - [`schema`]: dataset schemas, shared by configuration and messages.

pub mod audit;
pub mod control;
pub mod frame;
pub mod mesh;
pub mod output;
pub mod schema;
mod u64s;

pub use frame::{FrameError, read_frame, read_raw, write_frame, write_raw};
pub use u64s::U64s;

/// Version of the wire protocol; peers with another version are refused.
pub const PROTOCOL_VERSION: u16 = 5;

/// Largest control frame accepted (requests, answers, listings).
pub const MAX_CONTROL_FRAME: usize = 1 << 20;
/// Largest frame of share data accepted (one chunk of one column of one component).
pub const MAX_DATA_FRAME: usize = 64 << 20;
/// Largest protocol message of a job between two nodes (one round of a vectorised operation).
pub const MAX_JOB_MESSAGE: usize = 512 << 20;
/// Number of ring elements per chunk when shares are streamed.
pub const CHUNK_VALUES: usize = 1 << 20;
