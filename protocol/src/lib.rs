//! Secure computation for privacy-preserving customer segmentation.
//!
//! This crate holds everything that is mathematics and protocol logic, and nothing that does
//! I/O: the ring `Z_2^64`, its fixed-point encoding ([`fixed`]) and the local kernels every
//! engine shares ([`ring`]), the replicated additive secret sharing of the honest-majority
//! trust model ([`sharing`]), the [`Transport`] trait that the protocols talk through (with an
//! in-memory implementation for tests) and the header every protocol message carries
//! ([`message`]), the [`Engine`] interface and its errors ([`engine`]),
//! two engines (the honest-majority [`replicated`] one and the plaintext [`clear`] one), and
//! the jobs written against the interface alone ([`stats`], [`kmeans`], [`fairness`], [`dp`],
//! [`mod@bench`]), besides the agreement that starts every job ([`agree`]).
//!
//! The node drives these functions over QUIC; the orchestrator uses [`sharing::reconstruct`]
//! to open the aggregates it is allowed to see.

pub mod active;
pub mod agree;
pub mod bench;
pub mod clear;
pub mod dp;
pub mod engine;
pub mod fairness;
pub mod fixed;
pub mod kmeans;
pub mod message;
pub mod replicated;
pub mod ring;
pub mod sharing;
pub mod stats;
pub mod transport;

#[cfg(test)]
mod layering_tests;
#[cfg(test)]
mod private_tests;

pub use engine::{Engine, EngineError};
pub use transport::{Counted, Traffic, Transport, TransportError};
