//! Secure computation for privacy-preserving customer segmentation.
//!
//! This crate holds everything that is mathematics and protocol logic, and nothing that does
//! I/O: the ring `Z_2^64` and its fixed-point encoding ([`fixed`]), the replicated additive
//! secret sharing of the honest-majority trust model ([`sharing`]), the [`Transport`] trait
//! that the protocols talk through (with an in-memory implementation for tests), the
//! honest-majority engine ([`replicated`]: random sharings, openings, products), and the jobs
//! built on them ([`stats`], [`agree`]).
//!
//! The node drives these functions over QUIC; the orchestrator uses [`sharing::reconstruct`]
//! to open the aggregates it is allowed to see.

pub mod agree;
pub mod bench;
pub mod clear;
pub mod dp;
pub mod engine;
pub mod fairness;
pub mod fixed;
pub mod kmeans;
pub mod replicated;
pub mod sharing;
pub mod stats;
pub mod transport;

#[cfg(test)]
mod private_tests;

pub use engine::Engine;
pub use transport::{Counted, Traffic, Transport, TransportError};
