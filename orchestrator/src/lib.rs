//! The operator's side of the cluster: a cluster file, a client that talks to every node, and
//! the `orchestrator` command line.
//!
//! The orchestrator never receives shares of records. It receives only each node's
//! components of a job's declared outputs, and opens them (see `protocol::sharing`).

pub mod cli;
pub mod client;
pub mod cluster;
pub mod commands;
pub mod explain;
pub mod plain;
pub mod render;
pub mod report;
pub mod table;

pub use client::{
    BenchResult, Client, ClientError, DatasetView, FairnessResult, JobResult, KmeansResult, NodeTraffic,
    StatsResult,
};
pub use cluster::{ClusterFile, NodeEntry, OperatorIdentity};
