//! The honest-majority engine as an [`Engine`]: the local operations on each held component,
//! and the interactive ones composed from the building blocks of the sibling modules
//! (resharing products in `mod.rs`, comparison circuits in `compare.rs`, truncation in
//! `trunc.rs`, the division's normalisation in `divide.rs`, the argmin tournament in
//! `argmin.rs`).

use super::argmin::Candidate;
use super::{RepVec, Replicated, Ring, Scope};
use crate::engine::{Engine, EngineError};
use crate::fixed::FRAC_BITS;
use crate::message::{self, Op};
use crate::ring::{self, DIVISOR_BITS as K, NEWTON_STEPS, RECIPROCAL_BITS, RECIPROCAL_START};
use crate::transport::{Transport, encode_u64s};
use rand::RngExt;

/// Applies `f` to every component of a share.
fn each(a: &RepVec, f: impl Fn(&[u64]) -> Vec<u64>) -> RepVec {
    RepVec { comps: a.comps.iter().map(|c| f(c)).collect() }
}

impl<T: Transport> Engine for Replicated<'_, T> {
    type Share = RepVec;

    fn party(&self) -> usize {
        self.transport.party()
    }
    fn len(share: &RepVec) -> usize {
        share.len()
    }
    /// Every component zero except the first, which holds the values.
    fn public(&self, values: &[u64]) -> RepVec {
        RepVec {
            comps: self
                .plan
                .held
                .iter()
                .map(|&c| if c == 0 { values.to_vec() } else { vec![0; values.len()] })
                .collect(),
        }
    }
    /// From the seeded streams of the held components: no `t` parties know the secrets, and no
    /// message moves.
    fn random(&mut self, len: usize) -> RepVec {
        RepVec {
            comps: self
                .random
                .iter_mut()
                .map(|rng| {
                    let mut v = vec![0u64; len];
                    rng.fill(&mut v[..]);
                    v
                })
                .collect(),
        }
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
        each(a, |c| ring::transpose(c, rows, cols))
    }
    fn prefix_sums(&self, a: &RepVec, len: usize) -> RepVec {
        each(a, |c| ring::prefix_sums(c, len))
    }
    fn matmul_public(&self, x: &RepVec, y: &[u64], rows: usize, inner: usize, cols: usize) -> RepVec {
        each(x, |c| ring::matmul(c, y, rows, inner, cols))
    }

    /// One round: the owner splits with its own cryptographic generator and sends every party
    /// the components it holds.
    async fn input(
        &mut self,
        owner: usize,
        values: Option<&[u64]>,
        len: usize,
    ) -> Result<RepVec, EngineError> {
        let me = self.party();
        let tag = self.next_tag(Op::Input);
        if me == owner {
            let values = values.ok_or_else(|| EngineError::Shape("the owner gives no values".into()))?;
            if values.len() != len {
                return Err(EngineError::Shape(format!("{} values, {len} announced", values.len())));
            }
            let mut rng = self.input_rng.take().expect("input generator");
            let comps = crate::sharing::split_values(values, &self.layout, &mut rng);
            self.input_rng = Some(rng);
            for q in (0..self.layout.parties()).filter(|&q| q != me) {
                let mut payload = tag.message(len * 8 * self.layout.held_by(q).len());
                for c in self.layout.held_by(q) {
                    payload.extend_from_slice(&encode_u64s(&comps[c].values));
                }
                self.send(q, payload).await?;
            }
            let mine = RepVec { comps: self.plan.held.iter().map(|&c| comps[c].values.clone()).collect() };
            if let Some(log) = self.log.as_mut() {
                log.hold(&mine);
            }
            Ok(mine)
        } else {
            let held = self.plan.held.len();
            let values = message::recv_u64s(self.transport, owner, tag, len * held).await?;
            let mine = RepVec { comps: (0..held).map(|i| values[i * len..(i + 1) * len].to_vec()).collect() };
            if let Some(log) = self.log.as_mut() {
                log.hold(&mine);
            }
            Ok(mine)
        }
    }

    /// One round: every party receives the components it misses from one holder of each.
    async fn open(&mut self, x: &RepVec) -> Result<Vec<u64>, EngineError> {
        self.open_with::<Ring>(x).await
    }

    /// One round, one ring element per product to `n - t - 1` peers.
    async fn mul(&mut self, x: &RepVec, y: &RepVec) -> Result<RepVec, EngineError> {
        self.product::<Ring>(x, y).await
    }

    /// One round; one ring element per output, whatever `k`.
    async fn dot(&mut self, x: &RepVec, y: &RepVec, k: usize) -> Result<RepVec, EngineError> {
        if x.len() != y.len() || k == 0 || !x.len().is_multiple_of(k) {
            return Err(EngineError::Shape(format!(
                "dot of {} by {} values in groups of {k}",
                x.len(),
                y.len()
            )));
        }
        let mut z = vec![0u64; x.len() / k];
        for (i, xi) in x.comps.iter().enumerate() {
            if let Some(ys) = self.partner_sum::<Ring>(y, i) {
                ring::dot_into(&mut z, xi, &ys, k);
            }
        }
        let z = self.reshare::<Ring>(z, Op::Dot).await?;
        self.claim(|| super::log::RingClaim::Dot { x: x.clone(), y: y.clone(), z: z.clone(), k });
        Ok(z)
    }

    /// One round; one ring element per output entry.
    async fn matmul(
        &mut self,
        x: &RepVec,
        y: &RepVec,
        rows: usize,
        inner: usize,
        cols: usize,
    ) -> Result<RepVec, EngineError> {
        if x.len() != rows * inner || y.len() != inner * cols {
            return Err(EngineError::Shape(format!(
                "matmul of {} values as {rows}x{inner} by {} values as {inner}x{cols}",
                x.len(),
                y.len()
            )));
        }
        let mut z = vec![0u64; rows * cols];
        for (i, xi) in x.comps.iter().enumerate() {
            if let Some(ysum) = self.partner_sum::<Ring>(y, i) {
                ring::matmul_into(&mut z, xi, &ysum, rows, inner, cols);
            }
        }
        let z = self.reshare::<Ring>(z, Op::Matmul).await?;
        self.claim(|| super::log::RingClaim::Matmul {
            x: x.clone(),
            y: y.clone(),
            z: z.clone(),
            rows,
            inner,
            cols,
        });
        Ok(z)
    }

    /// Prepares the randomness on the spot, then one round (see `trunc.rs`).
    async fn trunc(&mut self, x: &RepVec, f: u32) -> Result<RepVec, EngineError> {
        let prep = self.trunc_prep(x.len(), f).await?;
        self.trunc_with(x, &prep).await
    }

    /// Two rounds after the truncation's preparation.
    async fn mul_fixed(&mut self, x: &RepVec, y: &RepVec, f: u32) -> Result<RepVec, EngineError> {
        let prep = self.trunc_prep(x.len(), f).await?;
        self.mul_fixed_with(x, y, &prep).await
    }

    /// Exact for every ring element read as signed (see `compare.rs`).
    async fn ltz(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        let bits = self.ltz_bits(x).await?;
        if self.pivots() {
            self.pivot_bits_to_arith(&bits, x.len()).await
        } else {
            self.bits_to_arith(&bits, x.len()).await
        }
    }

    /// Exact when `|a - b| < 2^63`.
    async fn less_than(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        if a.len() != b.len() {
            return Err(EngineError::Shape(format!("comparison of {} with {} values", a.len(), b.len())));
        }
        self.ltz(&a.sub(b)).await
    }

    /// Folds the components' bits with `a xor b = a + b - 2ab` (`ceil(log2 C(n, t))` rounds).
    async fn bits_to_arith(&mut self, bits: &RepVec, n: usize) -> Result<RepVec, EngineError> {
        let outer = self.enter(Scope::Conversion);
        let z = self.fold_bits(bits, n).await;
        self.leave(outer);
        z
    }

    /// As `1 - [x < 0] - [-x < 0]`; exact when `|x| < 2^63`.
    async fn eqz(&mut self, x: &RepVec) -> Result<RepVec, EngineError> {
        let n = x.len();
        let neg = each(x, |c| c.iter().map(|v| v.wrapping_neg()).collect());
        let both = self.ltz(&RepVec::concat(&[x, &neg])).await?.split(&[n, n]);
        Ok(self.public(&vec![1; n]).sub(&both[0]).sub(&both[1]))
    }

    /// The divisor normalised by its highest bit, then Newton-Raphson for its reciprocal (see
    /// `divide.rs` for the steps, the ranges and the error).
    async fn div(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        let n = b.len();
        if a.len() != n {
            return Err(EngineError::Shape(format!("division of {} by {} values", a.len(), n)));
        }
        let outer = self.enter(Scope::Division);
        let q = self.divide(a, b).await;
        self.leave(outer);
        q
    }
    /// A tournament of `ceil(log2 k)` levels (see `argmin.rs`); ties go to the lowest
    /// column.
    async fn argmin(&mut self, x: &RepVec, k: usize) -> Result<(RepVec, RepVec), EngineError> {
        if k == 0 || !x.len().is_multiple_of(k) {
            return Err(EngineError::Shape(format!("argmin of {} values in rows of {k}", x.len())));
        }
        let outer = self.enter(Scope::Argmin);
        let found = self.tournament(x, k).await;
        self.leave(outer);
        found
    }
}

impl<T: Transport> Replicated<'_, T> {
    /// [`Engine::bits_to_arith`]'s steps.
    async fn fold_bits(&mut self, bits: &RepVec, n: usize) -> Result<RepVec, EngineError> {
        let words = ring::words_for(n);
        let planes = bits.len().checked_div(words).unwrap_or(0);
        let total = planes * n;
        let unslice = |comp: &[u64]| -> Vec<u64> {
            (0..planes).flat_map(|p| ring::unslice_plane(&comp[p * words..(p + 1) * words], n)).collect()
        };
        let held = self.plan.held.clone();
        // Operand c: component c's bits as 0/1 ring elements, other components zero.
        let mut ops: Vec<RepVec> = (0..self.layout.components())
            .map(|c| RepVec {
                comps: held
                    .iter()
                    .enumerate()
                    .map(|(i, &h)| if h == c { unslice(&bits.comps[i]) } else { vec![0; total] })
                    .collect(),
            })
            .collect();
        while ops.len() > 1 {
            let pairs = ops.len() / 2;
            let carry_over = if ops.len() % 2 == 1 { ops.pop() } else { None };
            let left = RepVec::concat(&ops.iter().step_by(2).collect::<Vec<_>>());
            let right = RepVec::concat(&ops.iter().skip(1).step_by(2).collect::<Vec<_>>());
            let products = self.mul(&left, &right).await?.split(&vec![total; pairs]);
            let mut next: Vec<RepVec> = ops
                .chunks(2)
                .zip(products)
                .map(|(pair, ab)| {
                    let twice = ab.add(&ab);
                    pair[0].add(&pair[1]).sub(&twice)
                })
                .collect();
            next.extend(carry_over);
            ops = next;
        }
        Ok(ops.pop().expect("at least one component"))
    }

    /// [`Engine::div`]'s steps.
    async fn divide(&mut self, a: &RepVec, b: &RepVec) -> Result<RepVec, EngineError> {
        let n = b.len();
        let (f, p) = (FRAC_BITS, RECIPROCAL_BITS);
        let v = self.normaliser(b).await?;
        // Every truncation of the division, prepared at once: n and M, y0, then the two
        // products of each Newton step and the final product.
        let products = 2 * NEWTON_STEPS + 1;
        let mut shifts = vec![K - 1 - p; n];
        shifts.extend(vec![K - 1 - f; n]);
        shifts.extend(vec![1; n]);
        shifts.extend(vec![p; products * n]);
        let mut lengths = vec![2 * n];
        lengths.extend(vec![n; 1 + products]);
        let mut preps = self.trunc_prep_each(&shifts).await?.split(&lengths).into_iter();
        let mut next = || preps.next().expect("one preparation per truncation");
        let scaled = self.mul(&RepVec::concat(&[b, a]), &RepVec::concat(&[&v, &v])).await?;
        // n with p fractional bits, in [2^p, 2^(p+1)); M with f fractional bits.
        let both = self.trunc_with(&scaled, &next()).await?.split(&[n, n]);
        let (np, m) = (&both[0], &both[1]);
        // y0 = 1.4571 - n / 2, with p fractional bits.
        let half = self.trunc_with(np, &next()).await?;
        let mut y = self.public(&vec![RECIPROCAL_START; n]).sub(&half);
        let two = self.public(&vec![2u64 << p; n]);
        for _ in 0..NEWTON_STEPS {
            let ny = self.mul_fixed_with(np, &y, &next()).await?;
            let e = two.sub(&ny);
            y = self.mul_fixed_with(&y, &e, &next()).await?;
        }
        self.mul_fixed_with(m, &y, &next()).await
    }

    /// [`Engine::argmin`]'s levels.
    async fn tournament(&mut self, x: &RepVec, k: usize) -> Result<(RepVec, RepVec), EngineError> {
        let rows = x.len() / k;
        let mut candidates = Candidate::columns(x, k);
        while candidates.len() > 1 {
            candidates = self.tournament_level(candidates, rows).await?;
        }
        let winner = candidates.pop().expect("k >= 1");
        Ok(self.tournament_winner(winner, rows, k))
    }
}
