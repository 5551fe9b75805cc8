//! The interface the algorithms are written against, so that a job runs unchanged under any
//! trust model: the honest-majority engine ([`crate::replicated::Replicated`]) implements it
//! today; a dishonest-majority engine (additive components, triples from oblivious transfer)
//! can implement it without touching the algorithms.
//!
//! Shares are vectors: every operation takes whole vectors (matrices row-major) and costs
//! rounds, not elements. Values are ring elements of `Z_2^64`; fixed-point values use
//! [`crate::fixed`]'s encoding.

use crate::replicated::{EngineError, RepVec, Replicated};
use crate::transport::Transport;
use std::future::Future;

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

impl<T: Transport> Engine for Replicated<'_, T> {
    type Share = RepVec;

    fn party(&self) -> usize {
        Replicated::party(self)
    }
    fn len(share: &RepVec) -> usize {
        share.len()
    }
    fn public(&self, values: &[u64]) -> RepVec {
        Replicated::public(self, values)
    }
    fn random(&mut self, len: usize) -> RepVec {
        Replicated::random(self, len)
    }
    fn add(&self, a: &RepVec, b: &RepVec) -> RepVec {
        a.add(b)
    }
    fn sub(&self, a: &RepVec, b: &RepVec) -> RepVec {
        a.sub(b)
    }
    fn mul_public(&self, a: &RepVec, c: &[u64]) -> RepVec {
        a.mul_public(c)
    }
    fn concat(&self, parts: &[&RepVec]) -> RepVec {
        RepVec::concat(parts)
    }
    fn split(&self, a: &RepVec, lengths: &[usize]) -> Vec<RepVec> {
        a.split(lengths)
    }
    fn sum(&self, a: &RepVec) -> RepVec {
        a.sum()
    }
    fn transpose(&self, a: &RepVec, rows: usize, cols: usize) -> RepVec {
        RepVec {
            comps: a
                .comps
                .iter()
                .map(|c| (0..cols).flat_map(|j| (0..rows).map(move |i| c[i * cols + j])).collect())
                .collect(),
        }
    }
    fn prefix_sums(&self, a: &RepVec, len: usize) -> RepVec {
        RepVec { comps: a.comps.iter().map(|c| crate::clear::prefix_sums(c, len)).collect() }
    }
    fn matmul_public(&self, x: &RepVec, y: &[u64], rows: usize, inner: usize, cols: usize) -> RepVec {
        RepVec { comps: x.comps.iter().map(|c| crate::clear::matmul(c, y, rows, inner, cols)).collect() }
    }
    async fn input(
        &mut self,
        owner: usize,
        values: Option<&[u64]>,
        len: usize,
    ) -> Result<RepVec, EngineError> {
        Replicated::input(self, owner, values, len).await
    }
    async fn open(&mut self, x: &RepVec) -> Result<Vec<u64>, EngineError> {
        Replicated::open(self, x).await
    }
    async fn mul(&mut self, x: &RepVec, y: &RepVec) -> Result<RepVec, EngineError> {
        Replicated::mul(self, x, y).await
    }
    async fn dot(&mut self, x: &RepVec, y: &RepVec, k: usize) -> Result<RepVec, EngineError> {
        Replicated::dot(self, x, y, k).await
    }
    async fn matmul(
        &mut self,
        x: &RepVec,
        y: &RepVec,
        rows: usize,
        inner: usize,
        cols: usize,
    ) -> Result<RepVec, EngineError> {
        Replicated::matmul(self, x, y, rows, inner, cols).await
    }
    async fn trunc(&mut self, x: &RepVec, f: u32) -> Result<RepVec, EngineError> {
        Replicated::trunc(self, x, f).await
    }
    async fn mul_fixed(&mut self, x: &RepVec, y: &RepVec, f: u32) -> Result<RepVec, EngineError> {
        Replicated::mul_fixed(self, x, y, f).await
    }
    async fn ltz(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        Replicated::ltz(self, x).await
    }
    async fn less_than(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        Replicated::less_than(self, a, b).await
    }
    async fn bits_to_arith(&mut self, bits: &RepVec, n: usize) -> Result<RepVec, EngineError> {
        Replicated::bits_to_arith(self, bits, n).await
    }
    async fn eqz(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        Replicated::eqz(self, x).await
    }
    async fn div(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        Replicated::div(self, a, b).await
    }
    async fn argmin(&mut self, x: &RepVec, k: usize) -> Result<(RepVec, RepVec), EngineError> {
        Replicated::argmin(self, x, k).await
    }
}
