//! Argmin over the columns of each row, as a tournament that yields a secret one-hot vector.
//!
//! Each row of `x` (`rows x k`, row-major) holds `k` candidates. Every level of the
//! tournament compares pairs of surviving candidates of all rows at once (one batched
//! comparison), keeps the smaller value with one multiplication, and updates the one-hot
//! weights of the columns each candidate stands for with one multiplication per column; the
//! lower column wins ties. `ceil(log2 k)` levels.

use super::{EngineError, RepVec, Replicated};
use crate::engine::Engine;
use crate::transport::Transport;

/// A surviving candidate: its value in every row, the columns it stands for, and for each of
/// them a 0/1 weight saying which one it is (`None` while it stands for a single column).
pub(super) struct Candidate {
    value: RepVec,
    columns: Vec<usize>,
    weights: Option<Vec<RepVec>>,
}

impl Candidate {
    /// The first level's candidates: column `j` of `x` (`rows x k`, row-major) stands for itself.
    pub(super) fn columns(x: &RepVec, k: usize) -> Vec<Candidate> {
        let column = |j: usize| RepVec {
            comps: x.comps.iter().map(|c| c.iter().skip(j).step_by(k).copied().collect()).collect(),
        };
        (0..k).map(|j| Candidate { value: column(j), columns: vec![j], weights: None }).collect()
    }
}

impl<T: Transport> Replicated<'_, T> {
    /// One level of the tournament over `rows` rows: pairs meet (the right one wins only if
    /// smaller), an odd last candidate passes through.
    pub(super) async fn tournament_level(
        &mut self,
        mut candidates: Vec<Candidate>,
        rows: usize,
    ) -> Result<Vec<Candidate>, EngineError> {
        let pairs = candidates.len() / 2;
        let carry_over = if candidates.len() % 2 == 1 { candidates.pop() } else { None };
        // b = [right < left] for every pair and row, in one comparison.
        let lefts: Vec<&RepVec> = candidates.iter().step_by(2).map(|c| &c.value).collect();
        let rights: Vec<&RepVec> = candidates.iter().skip(1).step_by(2).map(|c| &c.value).collect();
        let b = self
            .less_than(&RepVec::concat(&rights), &RepVec::concat(&lefts))
            .await?
            .split(&vec![rows; pairs]);
        // One multiplication round: b * (right - left), and b * w for every weight.
        let mut factors = Vec::new();
        let mut operands = Vec::new();
        for (p, bp) in b.iter().enumerate() {
            let (l, r) = (&candidates[2 * p], &candidates[2 * p + 1]);
            factors.push(bp.clone());
            operands.push(r.value.sub(&l.value));
            for side in [l, r] {
                for w in side.weights.iter().flatten() {
                    factors.push(bp.clone());
                    operands.push(w.clone());
                }
            }
        }
        let count = operands.len();
        let products = self
            .mul(
                &RepVec::concat(&factors.iter().collect::<Vec<_>>()),
                &RepVec::concat(&operands.iter().collect::<Vec<_>>()),
            )
            .await?
            .split(&vec![rows; count]);
        let mut products = products.into_iter();
        let mut next = Vec::with_capacity(pairs + 1);
        let one = self.public(&vec![1; rows]);
        for (p, bp) in b.iter().enumerate() {
            let (l, r) = (&candidates[2 * p], &candidates[2 * p + 1]);
            let value = l.value.add(&products.next().expect("value product"));
            let mut weights = Vec::new();
            // Left keeps its columns with weight w * (1 - b) = w - b w; right gets b w.
            match &l.weights {
                None => weights.push(one.sub(bp)),
                Some(ws) => {
                    for w in ws {
                        weights.push(w.sub(&products.next().expect("left weight product")));
                    }
                }
            }
            match &r.weights {
                None => weights.push(bp.clone()),
                Some(ws) => {
                    for _ in ws {
                        weights.push(products.next().expect("right weight product"));
                    }
                }
            }
            let columns = l.columns.iter().chain(&r.columns).copied().collect();
            next.push(Candidate { value, columns, weights: Some(weights) });
        }
        next.extend(carry_over);
        Ok(next)
    }

    /// The one-hot sharing (`rows x k`, row-major) of the columns the last candidate stands
    /// for, and its value.
    pub(super) fn tournament_winner(&self, winner: Candidate, rows: usize, k: usize) -> (RepVec, RepVec) {
        let mut onehot = RepVec { comps: winner.value.comps.iter().map(|_| vec![0u64; rows * k]).collect() };
        let weights = winner.weights.unwrap_or_else(|| vec![self.public(&vec![1; rows])]);
        for (&j, w) in winner.columns.iter().zip(&weights) {
            for (dst, src) in onehot.comps.iter_mut().zip(&w.comps) {
                for (r, v) in src.iter().enumerate() {
                    dst[r * k + j] = *v;
                }
            }
        }
        (winner.value, onehot)
    }
}
