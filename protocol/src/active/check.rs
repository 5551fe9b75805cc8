//! The checks' interactive steps on the replicated engine: products of extension sharings
//! (one resharing), openings that every holder takes part in, public coins, the compression
//! of an inner-product claim, and the exchange of digests.

use super::VerifyError;
use super::ext::{Ext, Lagrange};
use super::share::{Buffers, ExtShare, Lifted};
use crate::engine::{Engine, EngineError};
use crate::message::{self, Op};
use crate::replicated::plan::Plan;
use crate::replicated::{RepVec, Replicated};
use crate::transport::Transport;
use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

/// The inner products `<a_o, b_o>` of the pairs, as one sharing (one resharing round, one
/// extension element per pair): each party adds the cross terms its plan gives it.
pub(crate) async fn dots<E: Ext, T: Transport>(
    engine: &mut Replicated<'_, T>,
    pairs: &[(&ExtShare<E>, &ExtShare<E>)],
) -> Result<ExtShare<E>, EngineError> {
    let mut words = Vec::with_capacity(pairs.len() * E::WORDS);
    for (a, b) in pairs {
        local_dot(engine.plan(), a, b).put(&mut words);
    }
    let shared = engine.reshare_words(words, E::BINARY, Op::Check).await?;
    Ok(ExtShare::from_words(&shared))
}

/// This party's terms of `<a, b>` (before the resharing).
fn local_dot<E: Ext>(plan: &Plan, a: &ExtShare<E>, b: &ExtShare<E>) -> E {
    let mut z = E::zero();
    for (i, ai) in a.comps.iter().enumerate() {
        let Some((first, rest)) = plan.terms[i].split_first() else { continue };
        for (j, aij) in ai.iter().enumerate() {
            let partner = rest.iter().fold(b.comps[*first][j], |acc, &u| acc.add(b.comps[u][j]));
            z = z.add(aij.mul(partner));
        }
    }
    z
}

/// Opens `x` with every holder sending every component it holds to every other party, and
/// every party comparing all the copies of each component it sees (its own included): a
/// party that changes a component is caught at once, since every component has an honest
/// holder. Components combine by XOR when `binary`.
pub(crate) async fn reveal<T: Transport>(
    engine: &mut Replicated<'_, T>,
    x: &RepVec,
    binary: bool,
) -> Result<Vec<u64>, EngineError> {
    let tag = engine.next_tag(Op::Reveal);
    let me = engine.party();
    let layout = engine.layout().clone();
    let held = engine.plan().held.clone();
    let len = x.len();
    let mut body = Vec::with_capacity(held.len() * len);
    for comp in &x.comps {
        body.extend_from_slice(comp);
    }
    let payload = tag.u64s(&body);
    for q in (0..layout.parties()).filter(|&q| q != me) {
        engine.send(q, payload.clone()).await?;
    }
    let mut first: Vec<Option<(usize, Vec<u64>)>> = vec![None; layout.components()];
    for (i, &c) in held.iter().enumerate() {
        first[c] = Some((me, x.comps[i].clone()));
    }
    let mut found = Ok(());
    for p in (0..layout.parties()).filter(|&p| p != me) {
        let theirs = layout.held_by(p);
        let values = message::recv_u64s(engine.transport(), p, tag, theirs.len() * len).await?;
        for (k, &c) in theirs.iter().enumerate() {
            let copy = &values[k * len..(k + 1) * len];
            match &first[c] {
                Some((q, v)) if v.as_slice() != copy => {
                    if found.is_ok() {
                        found = Err(VerifyError::Reveal { component: c, first: *q, second: p });
                    }
                }
                Some(_) => {}
                None => first[c] = Some((p, copy.to_vec())),
            }
        }
    }
    verdict(engine, found).await?;
    let mut out = vec![0u64; len];
    for (_, v) in first.iter().flatten() {
        for (o, w) in out.iter_mut().zip(v) {
            *o = if binary { *o ^ w } else { o.wrapping_add(*w) };
        }
    }
    Ok(out)
}

/// A public random generator that no party could predict before this call: seeded by a
/// random sharing opened with [`reveal`].
pub(crate) async fn coin<T: Transport>(engine: &mut Replicated<'_, T>) -> Result<ChaCha12Rng, EngineError> {
    let r = engine.random(4);
    let words = reveal(engine, &r, false).await?;
    let mut seed = [0u8; 32];
    for (chunk, w) in seed.chunks_mut(8).zip(&words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    Ok(ChaCha12Rng::from_seed(seed))
}

/// Checks the claim `<a, b> = c` on shares, where every product of the protocol that made
/// `c` may carry an error a deviating party added. Each round halves the vectors: with `f`
/// and `g` the lines through the halves, `h = <f, g>` has degree 2; the parties compute
/// `h(0)` and `h(X)` with one resharing, set `h(1) = c - h(0)`, draw a public `r` and go on
/// with `f(r)`, `g(r)` and `c = h(r)`. A false claim stays false but with probability `2 /
/// 2^64` per round. Random `alpha`, `beta` appended to `a` and `b` make the last `f(r)` and
/// `g(r)` uniform, so opening them and `h(r)` (with [`reveal`]) shows nothing but whether
/// `h(r) = f(r) g(r)`.
pub(crate) async fn compress<E: Ext, T: Transport>(
    engine: &mut Replicated<'_, T>,
    mut a: ExtShare<E>,
    mut b: Lifted<E>,
    mut c: ExtShare<E>,
    domain: &'static str,
    buffers: &mut Buffers<E>,
) -> Result<(), EngineError> {
    let (alpha, beta, gamma) = masks(engine).await?;
    a.extend(&alpha);
    b.extend_ext(&beta);
    c = c.add(&gamma);
    // The first rounds keep `b` as a public combination `sum_p e_p b[p m ..][..m]` of pieces
    // of the lifted vector, whose elements are base values but for a few: their products
    // with `a` are scaled copies, not full extension products. Zeros pad the vectors so that
    // each of those rounds halves evenly.
    let lagrange = Lagrange::<E>::new();
    let rounds = E::PIECE_ROUNDS.min(a.len().ilog2());
    while !a.len().is_multiple_of(1 << rounds) {
        a.push_zero();
        b.push_zero();
    }
    let mut pieces = vec![E::one()];
    for _ in 0..rounds {
        let half = a.len() / 2;
        let z = pieces_dots(engine.plan(), &a, &b, &pieces, half);
        let r = round(engine, z, &mut c, &lagrange).await?;
        a.fold(half, r);
        let rest = E::one().sub(r);
        pieces = pieces.iter().flat_map(|e| [e.mul(rest), e.mul(r)]).collect();
    }
    let lifted = b;
    let b = lifted.combine(&pieces, a.len());
    let a = halve(engine, a, b, c, &lagrange, domain).await?;
    buffers.keep(a, lifted.base);
    Ok(())
}

/// [`compress`] for a claim whose `b` holds extension elements throughout (a matrix
/// product's `Y v`): the rounds on pieces would multiply each of them in full every round,
/// so it halves from the start, with two full products per pair and round.
pub(crate) async fn compress_dense<E: Ext, T: Transport>(
    engine: &mut Replicated<'_, T>,
    mut a: ExtShare<E>,
    mut b: ExtShare<E>,
    mut c: ExtShare<E>,
    domain: &'static str,
) -> Result<(), EngineError> {
    let (alpha, beta, gamma) = masks(engine).await?;
    a.extend(&alpha);
    b.extend(&beta);
    c = c.add(&gamma);
    halve(engine, a, b, c, &Lagrange::new(), domain).await.map(drop)
}

/// Random sharings `alpha`, `beta` and their product (one resharing): appended to a claim,
/// they make the last `f(r)` and `g(r)` of its halving uniform.
async fn masks<E: Ext, T: Transport>(
    engine: &mut Replicated<'_, T>,
) -> Result<(ExtShare<E>, ExtShare<E>, ExtShare<E>), EngineError> {
    let alpha = ExtShare::<E>::from_words(&engine.random(E::WORDS));
    let beta = ExtShare::<E>::from_words(&engine.random(E::WORDS));
    let gamma = dots(engine, &[(&alpha, &beta)]).await?;
    Ok((alpha, beta, gamma))
}

/// The halving rounds on extension vectors down to one element, its opening and the
/// verdict; gives `a`'s vectors back for the next check.
async fn halve<E: Ext, T: Transport>(
    engine: &mut Replicated<'_, T>,
    mut a: ExtShare<E>,
    mut b: ExtShare<E>,
    mut c: ExtShare<E>,
    lagrange: &Lagrange<E>,
    domain: &'static str,
) -> Result<ExtShare<E>, EngineError> {
    while a.len() > 1 {
        if a.len() % 2 == 1 {
            a.push_zero();
            b.push_zero();
        }
        let half = a.len() / 2;
        let z = halves_dots(engine.plan(), &a, &b, half);
        let r = round(engine, z, &mut c, lagrange).await?;
        a.fold(half, r);
        b.fold(half, r);
    }
    let mut last = a.clone();
    last.extend(&b);
    last.extend(&c);
    let words = reveal(engine, &last.to_words(), E::BINARY).await?;
    let fa = E::take(&words);
    let fb = E::take(&words[E::WORDS..]);
    let fc = E::take(&words[2 * E::WORDS..]);
    if fa.mul(fb) != fc {
        return Err(VerifyError::Products { domain }.into());
    }
    Ok(a)
}

/// One halving round's interaction: reshares this party's terms `z` of `h(0)` and `h(X)`,
/// sets `h(1) = c - h(0)`, draws the challenge `r` and replaces `c` by `h(r)`.
async fn round<E: Ext, T: Transport>(
    engine: &mut Replicated<'_, T>,
    z: [E; 2],
    c: &mut ExtShare<E>,
    lagrange: &Lagrange<E>,
) -> Result<E, EngineError> {
    let mut words = Vec::with_capacity(2 * E::WORDS);
    for v in z {
        v.put(&mut words);
    }
    let h = ExtShare::<E>::from_words(&engine.reshare_words(words, E::BINARY, Op::Check).await?);
    let (h0, hx) = split2(&h);
    let h1 = c.sub(&h0);
    let r = E::exceptional(&mut coin(engine).await?);
    let [w0, w1, wx] = lagrange.at(r);
    *c = h0.scale(w0).add(&h1.scale(w1)).add(&hx.scale(wx));
    Ok(r)
}

/// [`halves_dots`] for the `b` that is `sum_p pieces[p] b[p m + j]` at `j < m = 2 half`:
/// by linearity, the sums of `a`'s products with each piece (by base values, but for `b`'s
/// few extension elements), weighted at the end. With `a0, a1` and `p0, p1` the halves of
/// `a` and of a piece, three sums make both terms: `s00 = <a0, p0>`, `s11 = <a1, p1>` and
/// `m = <a0 + a1, p0 + p1>`; then `h(0) = s00` and, with the cross sum `x = m - s00 - s11`,
/// `h(X) = s00 + X (x - 2 s00) + X^2 (s00 + s11 - x)`.
fn pieces_dots<E: Ext>(plan: &Plan, a: &ExtShare<E>, b: &Lifted<E>, pieces: &[E], half: usize) -> [E; 2] {
    let m = 2 * half;
    let add = |x: u64, y: u64| if E::BINARY { x ^ y } else { x.wrapping_add(y) };
    // Per piece: s00, s11, m.
    let mut sums = vec![[E::zero(); 3]; pieces.len()];
    for (i, ai) in a.comps.iter().enumerate() {
        let Some((first, rest)) = plan.terms[i].split_first() else { continue };
        // The sum of the partner components, once, so that the loops below run over slices.
        let partner: std::borrow::Cow<[u64]> = if rest.is_empty() {
            std::borrow::Cow::Borrowed(&b.base[*first][..pieces.len() * m])
        } else {
            let mut sum = b.base[*first][..pieces.len() * m].to_vec();
            for &u in rest {
                for (s, v) in sum.iter_mut().zip(&b.base[u]) {
                    *s = add(*s, *v);
                }
            }
            std::borrow::Cow::Owned(sum)
        };
        let (low, high) = ai.split_at(half);
        for (sum, piece) in sums.iter_mut().zip(partner.chunks_exact(m)) {
            let (b0, b1) = piece.split_at(half);
            for (((a0, a1), &p0), &p1) in low.iter().zip(high).zip(b0).zip(b1) {
                sum[0].add_scaled(a0, p0);
                sum[1].add_scaled(a1, p1);
                sum[2].add_sum_scaled(a0, a1, add(p0, p1));
            }
        }
        // The extension elements, where the base values are zero.
        for (at, values) in &b.extras {
            let pb = rest.iter().fold(values[*first], |acc, &u| acc.add(values[u]));
            let (p, at) = (at / m, at % m);
            let j = at % half;
            let both = ai[j].add(ai[half + j]).mul(pb);
            let own = if at < half { 0 } else { 1 };
            sums[p][own] = sums[p][own].add(ai[at].mul(pb));
            sums[p][2] = sums[p][2].add(both);
        }
    }
    let [s00, s11, m] = sums.iter().zip(pieces).fold([E::zero(); 3], |acc, (s, e)| {
        [acc[0].add(s[0].mul(*e)), acc[1].add(s[1].mul(*e)), acc[2].add(s[2].mul(*e))]
    });
    let cross = m.sub(s00).sub(s11);
    let linear = cross.sub(s00).sub(s00);
    let square = s00.add(s11).sub(cross);
    [s00, s00.add(linear.add(square.mul_generator()).mul_generator())]
}

/// This party's terms of `h(0) = <a0, b0>` and `h(X) = <a0 + X (a1 - a0), b0 + X (b1 - b0)>`
/// for the halves `a0, a1` and `b0, b1` (at `half`) of `a` and `b`, as [`dots`] would add them
/// for those pairs, without building the lines.
fn halves_dots<E: Ext>(plan: &Plan, a: &ExtShare<E>, b: &ExtShare<E>, half: usize) -> [E; 2] {
    let (mut z0, mut zx) = (E::zero(), E::zero());
    for (i, ai) in a.comps.iter().enumerate() {
        let Some((first, rest)) = plan.terms[i].split_first() else { continue };
        let partner = |k: usize| rest.iter().fold(b.comps[*first][k], |acc, &u| acc.add(b.comps[u][k]));
        for j in 0..half {
            let (a0, a1) = (ai[j], ai[half + j]);
            let (p0, p1) = (partner(j), partner(half + j));
            z0 = z0.add(a0.mul(p0));
            zx = zx.add(a0.add(a1.sub(a0).mul_generator()).mul(p0.add(p1.sub(p0).mul_generator())));
        }
    }
    [z0, zx]
}

fn split2<E: Ext>(h: &ExtShare<E>) -> (ExtShare<E>, ExtShare<E>) {
    (
        ExtShare { comps: h.comps.iter().map(|c| vec![c[0]]).collect() },
        ExtShare { comps: h.comps.iter().map(|c| vec![c[1]]).collect() },
    )
}

/// Compares, with every other party, what each holds of the components they share and what
/// each was sent of the components one of them misses (one round): a party that sent its
/// peers different values of a component, or opened a component wrongly, is caught here.
pub(crate) async fn compare_digests<T: Transport>(engine: &mut Replicated<'_, T>) -> Result<(), EngineError> {
    let tag = engine.next_tag(Op::Digest);
    let me = engine.party();
    let layout = engine.layout().clone();
    let held = engine.plan().held.clone();
    let empty = Sha256::new().finalize();
    let log = engine.log.as_ref().expect("the active engine keeps a log");
    let mut bodies = Vec::new();
    for q in (0..layout.parties()).filter(|&q| q != me) {
        let mut body = tag.message(held.len() * 32);
        for (i, &c) in held.iter().enumerate() {
            let digest = if layout.holds(q, c) {
                log.held[i].clone().finalize()
            } else {
                log.opened.get(&(q, c)).map_or(empty, |d| d.clone().finalize())
            };
            body.extend_from_slice(&digest);
        }
        bodies.push((q, body));
    }
    let mine: Vec<_> = held.iter().enumerate().map(|(i, &c)| (c, log.held[i].clone().finalize())).collect();
    let received: Vec<_> = (0..layout.components())
        .map(|c| log.received.get(&c).map_or(empty, |d| d.clone().finalize()))
        .collect();
    for (q, body) in bodies {
        engine.send(q, body).await?;
    }
    let mut found = Ok(());
    for p in (0..layout.parties()).filter(|&p| p != me) {
        let theirs = layout.held_by(p);
        let body = message::recv(engine.transport(), p, tag).await?;
        if body.len() != theirs.len() * 32 {
            return Err(EngineError::Message(message::MessageError::Malformed {
                party: p,
                reason: format!("{} bytes of digests, {} expected", body.len(), theirs.len() * 32),
            }));
        }
        for (k, &c) in theirs.iter().enumerate() {
            let digest = &body[k * 32..(k + 1) * 32];
            let wrong = match mine.iter().find(|(h, _)| *h == c) {
                Some((_, own)) => {
                    (own.as_slice() != digest).then_some(VerifyError::Inconsistent { party: p, component: c })
                }
                None => (received[c].as_slice() != digest)
                    .then_some(VerifyError::Opening { party: p, component: c }),
            };
            if let (Some(e), true) = (wrong, found.is_ok()) {
                found = Err(e);
            }
        }
    }
    verdict(engine, found).await
}

/// Tells every party what this one found (one round), so that a deviation that only some
/// parties can see makes every party abort, each naming what was found and by whom.
async fn verdict<T: Transport>(
    engine: &mut Replicated<'_, T>,
    found: Result<(), VerifyError>,
) -> Result<(), EngineError> {
    let tag = engine.next_tag(Op::Digest);
    let me = engine.party();
    let parties = engine.layout().parties();
    let mine = match &found {
        Ok(()) => Vec::new(),
        Err(e) => e.to_string().into_bytes(),
    };
    let mut payload = tag.message(mine.len());
    payload.extend_from_slice(&mine);
    for q in (0..parties).filter(|&q| q != me) {
        engine.send(q, payload.clone()).await?;
    }
    let mut reported = None;
    for p in (0..parties).filter(|&p| p != me) {
        let body = message::recv(engine.transport(), p, tag).await?;
        if !body.is_empty() && reported.is_none() {
            let what = String::from_utf8_lossy(&body[..body.len().min(400)]).into_owned();
            reported = Some(VerifyError::Reported { party: p, what });
        }
    }
    found?;
    match reported {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::active::ext::{Gf, Gr};
    use crate::sharing::Layout;
    use rand::RngExt;

    fn random_share<E: Ext>(held: usize, len: usize, sample: &impl Fn(&mut ChaCha12Rng) -> E) -> ExtShare<E> {
        let mut rng = ChaCha12Rng::seed_from_u64((held * 1000 + len) as u64);
        ExtShare { comps: (0..held).map(|_| (0..len).map(|_| sample(&mut rng)).collect()).collect() }
    }

    /// The halving round's terms equal the plain inner products of the explicit lines.
    fn halves_match<E: Ext>(sample: impl Fn(&mut ChaCha12Rng) -> E) {
        for n in [3, 4, 5] {
            let layout = Layout::honest_majority(n).unwrap();
            for party in 0..n {
                let plan = Plan::new(&layout, party);
                let held = plan.held.len();
                let (a, b) = (random_share(held, 10, &sample), random_share(held + 1, 10, &sample));
                let b = ExtShare { comps: b.comps[1..].to_vec() };
                let split = |v: &ExtShare<E>| {
                    let lo = ExtShare { comps: v.comps.iter().map(|c| c[..5].to_vec()).collect() };
                    let hi = ExtShare { comps: v.comps.iter().map(|c| c[5..].to_vec()).collect() };
                    (lo, hi)
                };
                let line = |lo: &ExtShare<E>, hi: &ExtShare<E>| ExtShare {
                    comps: lo
                        .comps
                        .iter()
                        .zip(&hi.comps)
                        .map(|(l, h)| {
                            l.iter().zip(h).map(|(x, y)| x.add(y.sub(*x).mul_generator())).collect()
                        })
                        .collect(),
                };
                let ((a0, a1), (b0, b1)) = (split(&a), split(&b));
                let expected =
                    [local_dot(&plan, &a0, &b0), local_dot(&plan, &line(&a0, &a1), &line(&b0, &b1))];
                assert_eq!(halves_dots(&plan, &a, &b, 5), expected, "{n} parties, party {party}");
            }
        }
    }

    #[test]
    fn a_halving_rounds_terms_are_the_inner_products_of_its_lines() {
        halves_match(|rng| Gf(rng.random()));
        halves_match(|rng| Gr(std::array::from_fn(|_| rng.random())));
    }

    /// With `b` kept as pieces, the round's terms are those of the combined `b`, and folding
    /// the pieces' weights is folding the combined vector.
    fn pieces_match<E: Ext>(sample: impl Fn(&mut ChaCha12Rng) -> E) {
        let mut rng = ChaCha12Rng::seed_from_u64(21);
        for n in [3, 5] {
            let layout = Layout::honest_majority(n).unwrap();
            let plan = Plan::new(&layout, 1);
            let held = plan.held.len();
            let a = random_share(held, 8, &sample);
            let mut b = Lifted::<E>::new(held);
            for k in 0..32 {
                if k == 2 || k == 22 {
                    b.extend_ext(&random_share(held, 1, &sample));
                } else {
                    for c in &mut b.base {
                        let v: u64 = rng.random();
                        c.push(if E::BINARY { v & 1 } else { v });
                    }
                }
            }
            let pieces: Vec<E> = (0..4).map(|_| sample(&mut rng)).collect();
            let combined = b.combine(&pieces, 8);
            assert_eq!(pieces_dots(&plan, &a, &b, &pieces, 4), halves_dots(&plan, &a, &combined, 4));
            let r = E::exceptional(&mut rng);
            let mut folded = combined.clone();
            folded.fold(4, r);
            let rest = E::one().sub(r);
            let next: Vec<E> = pieces.iter().flat_map(|e| [e.mul(rest), e.mul(r)]).collect();
            assert!(folded.comps == b.combine(&next, 4).comps, "{n} parties");
        }
    }

    #[test]
    fn rounds_on_pieces_are_rounds_on_the_combined_vector() {
        pieces_match(|rng| Gf(rng.random()));
        pieces_match(|rng| Gr(std::array::from_fn(|_| rng.random())));
    }

    #[test]
    fn folding_in_place_is_the_line_at_r() {
        let v = random_share(2, 8, &|rng: &mut ChaCha12Rng| Gr(std::array::from_fn(|_| rng.random())));
        let r = Gr::exceptional(&mut ChaCha12Rng::seed_from_u64(3));
        let mut folded = v.clone();
        folded.fold(4, r);
        for (f, c) in folded.comps.iter().zip(&v.comps) {
            assert_eq!(f.len(), 4);
            for j in 0..4 {
                assert_eq!(f[j], c[j].add(c[4 + j].sub(c[j]).mul(r)));
            }
        }
    }
}
