//! The interface the algorithms are written against, and the errors any engine reports, so
//! that a job runs unchanged under any trust model. The honest-majority engine
//! (`replicated`) and the plaintext engine ([`crate::clear`]) implement it today; a
//! dishonest-majority engine (additive components, triples from oblivious transfer) can
//! implement it in a folder of its own without touching the algorithms.
//!
//! Shares are vectors: every operation takes whole vectors (matrices row-major) and costs
//! rounds, not elements. Values are ring elements of `Z_2^64`; fixed-point values use
//! [`crate::fixed`]'s encoding, and local kernels the engines share live in [`crate::ring`].

use crate::dp::DpError;
use crate::message::MessageError;
use crate::sharing::LayoutError;
use crate::transport::TransportError;
use std::future::Future;
use thiserror::Error;

/// Why an operation of an engine failed. Every engine reports these; what only one engine can
/// fail on travels as [`EngineError::Specific`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A message could not be received, or is not the one expected: the transport failed, a
    /// party is out of step (it ran another operation), or it sent something unusable.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// Operands of the wrong shape.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The transport's party count has no layout for the engine's trust model.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A differentially private release's noise could not be drawn: nothing is released.
    #[error(transparent)]
    Noise(#[from] DpError),
    /// A check of the actively secure engine failed: a party deviated from the protocol.
    #[error("a deviation from the protocol was detected: {0}")]
    Deviation(#[from] crate::active::VerifyError),
    /// A failure particular to one engine.
    #[error(transparent)]
    Specific(Box<dyn std::error::Error + Send + Sync>),
}

impl From<TransportError> for EngineError {
    fn from(e: TransportError) -> Self {
        EngineError::Message(e.into())
    }
}

/// What an engine protects against: parties that follow the protocol (`Passive`), or up to
/// `t < n/2` parties that deviate from it in any way (`Active`, security with abort).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Secure against parties that follow the protocol (honest but curious).
    #[default]
    Passive,
    /// Secure with abort against a minority that deviates: every step is checked before
    /// anything is released.
    Active,
}

impl Security {
    /// Its name in configuration, output and logs.
    pub fn name(self) -> &'static str {
        match self {
            Security::Passive => "passive",
            Security::Active => "active",
        }
    }
}

impl std::fmt::Display for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A secure computation engine of one party.
pub trait Engine: Send {
    /// One party's share of a vector of secrets.
    type Share: Clone + Send + Sync;

    /// This party's index.
    fn party(&self) -> usize;
    /// Number of secrets in a share.
    fn len(share: &Self::Share) -> usize;
    /// A sharing of public values.
    fn public(&self, values: &[u64]) -> Self::Share;
    /// A sharing of uniformly random secrets nobody knows.
    fn random(&mut self, len: usize) -> Self::Share;
    /// Element-wise sum (local).
    fn add(&self, a: &Self::Share, b: &Self::Share) -> Self::Share;
    /// Element-wise difference (local).
    fn sub(&self, a: &Self::Share, b: &Self::Share) -> Self::Share;
    /// Element-wise product with public values (local).
    fn mul_public(&self, a: &Self::Share, c: &[u64]) -> Self::Share;
    /// Shares end to end (local).
    fn concat(&self, parts: &[&Self::Share]) -> Self::Share;
    /// Consecutive pieces of the given lengths (local).
    fn split(&self, a: &Self::Share, lengths: &[usize]) -> Vec<Self::Share>;
    /// The sum of all secrets of a share, as a share of one value (local).
    fn sum(&self, a: &Self::Share) -> Self::Share;
    /// The sum of each of `parts`, as one share of `parts.len()` values (local).
    fn sums(&self, parts: &[Self::Share]) -> Self::Share {
        let sums: Vec<Self::Share> = parts.iter().map(|p| self.sum(p)).collect();
        self.concat(&sums.iter().collect::<Vec<_>>())
    }
    /// The transpose of a `rows x cols` row-major matrix (local).
    fn transpose(&self, a: &Self::Share, rows: usize, cols: usize) -> Self::Share;
    /// Running sums of consecutive groups of `len` secrets (local).
    fn prefix_sums(&self, a: &Self::Share, len: usize) -> Self::Share;
    /// Matrix product of the secret `x` (`rows x inner`) by the public `y` (`inner x cols`),
    /// both row-major (local: the product is linear in `x`).
    fn matmul_public(
        &self,
        x: &Self::Share,
        y: &[u64],
        rows: usize,
        inner: usize,
        cols: usize,
    ) -> Self::Share;

    /// Secret-shares `values`, known to party `owner` (the others pass `None` and the length).
    fn input(
        &mut self,
        owner: usize,
        values: Option<&[u64]>,
        len: usize,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Opens to every party.
    fn open(&mut self, x: &Self::Share) -> impl Future<Output = Result<Vec<u64>, EngineError>> + Send;
    /// Element-wise product in the ring.
    fn mul(
        &mut self,
        x: &Self::Share,
        y: &Self::Share,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Dot products of consecutive groups of `k`.
    fn dot(
        &mut self,
        x: &Self::Share,
        y: &Self::Share,
        k: usize,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Matrix product of `rows x inner` by `inner x cols`.
    fn matmul(
        &mut self,
        x: &Self::Share,
        y: &Self::Share,
        rows: usize,
        inner: usize,
        cols: usize,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Division by `2^f` with probabilistic rounding.
    fn trunc(
        &mut self,
        x: &Self::Share,
        f: u32,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Fixed-point product: product, then truncation by `f`.
    fn mul_fixed(
        &mut self,
        x: &Self::Share,
        y: &Self::Share,
        f: u32,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// `[x < 0]` as 0/1.
    fn ltz(&mut self, x: &Self::Share) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// `[a < b]` as 0/1.
    fn less_than(
        &mut self,
        a: &Self::Share,
        b: &Self::Share,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Turns a binary sharing of bits (bit-sliced planes of `n` values each, as returned by the
    /// binary operations) into arithmetic 0/1 values, plane after plane.
    fn bits_to_arith(
        &mut self,
        bits: &Self::Share,
        n: usize,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// `[x == 0]` as 0/1.
    fn eqz(&mut self, x: &Self::Share) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Fixed-point `a / b` for `b > 0`.
    fn div(
        &mut self,
        a: &Self::Share,
        b: &Self::Share,
    ) -> impl Future<Output = Result<Self::Share, EngineError>> + Send;
    /// Minimum of each row of `k` and its one-hot position.
    fn argmin(
        &mut self,
        x: &Self::Share,
        k: usize,
    ) -> impl Future<Output = Result<(Self::Share, Self::Share), EngineError>> + Send;
}
