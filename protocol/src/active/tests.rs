//! The active engine against the passive one and the plaintext, and against a party that
//! deviates at each kind of message, for 3, 4 and 5 parties over the in-memory transport.

use super::*;
use crate::fixed::{FRAC_BITS, decode, encode};

fn enc(v: f64) -> u64 {
    encode(v).expect("in range")
}
use crate::message::Op;
use crate::replicated::tests::{deal, run};
use crate::replicated::{Scope, Tamper};
use crate::transport::memory::MemoryTransport;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

async fn active(t: &MemoryTransport) -> Active<'_, MemoryTransport> {
    let mut rng = ChaCha20Rng::seed_from_u64(2000 + t.party() as u64);
    Active::setup(t, &mut rng).await.unwrap()
}

fn values(len: usize, seed: u64, range: f64) -> Vec<f64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..len).map(|_| (rng.random::<f64>() * 2.0 - 1.0) * range).collect()
}

/// A workload touching every kind of step: input, products, dot and matrix products,
/// truncation, comparison, argmin, division, openings to all and to one.
async fn workload(
    e: &mut Active<'_, MemoryTransport>,
    x: &RepVec,
    y: &RepVec,
) -> Result<Vec<u64>, EngineError> {
    let n = x.len();
    let mine = (e.party() == 0).then(|| vec![enc(0.5); n]);
    let given = e.input(0, mine.as_deref(), n).await?;
    let prod = e.mul_fixed(x, &given, FRAC_BITS).await?;
    let dots = e.dot(x, y, 4).await?;
    let dots = e.trunc(&dots, FRAC_BITS).await?;
    let mat = e.matmul(x, y, n / 4, 4, 8).await?;
    let mat = e.trunc(&mat, FRAC_BITS).await?;
    let less = e.less_than(x, y).await?;
    let (min, _) = e.argmin(x, 4).await?;
    let positive = e.public(&vec![enc(2.0); n / 4]);
    let quotient = e.div(&min, &positive).await?;
    let label = e.open_to(1, &less).await?;
    let all = e.concat(&[&prod, &dots, &mat, &less, &min, &quotient]);
    let mut out = e.open(&all).await?;
    if let Some(l) = label {
        out.extend(l);
    }
    Ok(out)
}

fn plaintext(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    let prod: Vec<f64> = x.iter().map(|v| v * 0.5).collect();
    let dots: Vec<f64> =
        x.chunks(4).zip(y.chunks(4)).map(|(a, b)| a.iter().zip(b).map(|(p, q)| p * q).sum()).collect();
    let less: Vec<f64> = x.iter().zip(y).map(|(a, b)| f64::from(u8::from(a < b))).collect();
    let min: Vec<f64> = x.chunks(4).map(|r| r.iter().copied().fold(f64::INFINITY, f64::min)).collect();
    let quotient: Vec<f64> = min.iter().map(|m| m / 2.0).collect();
    let mat: Vec<f64> = (0..n / 4)
        .flat_map(|r| (0..8).map(move |c| (0..4).map(|j| x[r * 4 + j] * y[j * 8 + c]).sum()))
        .collect();
    [prod, dots, mat, less, min, quotient].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_engine_computes_what_the_plaintext_does_and_every_check_passes() {
    for n in [3, 4, 5] {
        let (xf, yf) = (values(32, 1, 100.0), values(32, 2, 100.0));
        let xs = deal(n, &xf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 3);
        let ys = deal(n, &yf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 4);
        let out = run(n, move |t| {
            let (x, y) = (xs[t.party()].clone(), ys[t.party()].clone());
            async move {
                let mut e = active(&t).await;
                e.bind(&x);
                e.bind(&y);
                let out = workload(&mut e, &x, &y).await.unwrap();
                (out, e.checks())
            }
        })
        .await;
        let expected = plaintext(&xf, &yf);
        for (party, (opened, checks)) in out.iter().enumerate() {
            assert!(*checks >= 2, "{n} parties: party {party} ran {checks} checks");
            for (i, (got, want)) in opened.iter().zip(&expected).enumerate() {
                let got = if (104..136).contains(&i) { *got as f64 } else { decode(*got) };
                let tolerance = if i >= 144 { 1e-3 } else { 1e-4 };
                assert!(
                    (got - want).abs() <= tolerance * want.abs().max(1.0),
                    "{n} parties, value {i}: {got} vs {want}"
                );
            }
        }
        // The label went to party 1 only, and equals the comparison.
        assert_eq!(out[1].0.len(), expected.len() + 32);
        assert_eq!(&out[1].0[expected.len()..], &out[1].0[104..136]);
        assert_eq!(out[0].0.len(), expected.len());
    }
}

/// Runs the workload with party `cheater` deviating as `deviation` says; every party must
/// fail with a detected deviation, and the cheater must really have changed a message.
async fn caught(n: usize, cheater: usize, deviation: Deviation) {
    let (xf, yf) = (values(32, 5, 50.0), values(32, 6, 50.0));
    let xs = deal(n, &xf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 7);
    let ys = deal(n, &yf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 8);
    let out = run(n, move |t| {
        let (x, y) = (xs[t.party()].clone(), ys[t.party()].clone());
        async move {
            let mut e = active(&t).await;
            if t.party() == cheater {
                e.deviate(deviation);
            }
            e.bind(&x);
            e.bind(&y);
            let result = workload(&mut e, &x, &y).await;
            (result, e.deviated())
        }
    })
    .await;
    assert!(out[cheater].1, "{n} parties, {deviation:?}: the deviation never fired");
    for (party, (result, _)) in out.iter().enumerate() {
        if party == cheater {
            continue;
        }
        match result {
            Err(EngineError::Deviation(_)) => {}
            other => {
                panic!("{n} parties, {deviation:?}: party {party} got {:?}", other.as_ref().map(|v| v.len()))
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deviation_in_any_kind_of_message_is_caught_by_every_honest_party() {
    let points = [
        (Op::Input, 0, Tamper::Split),
        (Op::Mul, 0, Tamper::Add(1 << 40)),
        (Op::Mul, 2, Tamper::Add(1 << 63)),
        (Op::Mul, 1, Tamper::Split),
        (Op::And, 0, Tamper::Flip(3)),
        (Op::And, 5, Tamper::Flip(63)),
        (Op::Dot, 0, Tamper::Add(7)),
        (Op::Matmul, 0, Tamper::Add(1 << 62)),
        (Op::Open, 0, Tamper::Add(1)),
        (Op::OpenTo, 0, Tamper::Flip(0)),
        (Op::Reveal, 0, Tamper::Add(1)),
        (Op::Check, 0, Tamper::Add(1)),
        (Op::Check, 3, Tamper::Flip(9)),
        (Op::Digest, 0, Tamper::Flip(1)),
    ];
    for n in [3, 5] {
        for (k, (op, nth, how)) in points.iter().enumerate() {
            // Party 1 receives the opening to one party; party 2 sends it some components.
            let cheater = if *op == Op::OpenTo { 2 } else { k % n };
            caught(n, cheater, Deviation { op: *op, nth: *nth, how: *how, within: None }).await;
        }
    }
}

/// The same within each step made of several messages: a truncation (its preparation and its
/// opening), a comparison's adder, a conversion of bits, an argmin's selections, a division.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deviation_within_any_step_is_caught_by_every_honest_party() {
    let points = [
        (Op::And, 0, Tamper::Flip(5), Scope::Truncation),
        (Op::Mul, 1, Tamper::Add(1 << 20), Scope::Truncation),
        (Op::Open, 0, Tamper::Add(1 << 30), Scope::Truncation),
        (Op::And, 3, Tamper::Flip(62), Scope::Comparison),
        (Op::Mul, 0, Tamper::Add(1), Scope::Conversion),
        (Op::Mul, 2, Tamper::Split, Scope::Argmin),
        (Op::And, 1, Tamper::Flip(0), Scope::Division),
        (Op::Mul, 4, Tamper::Add(1 << 50), Scope::Division),
    ];
    for n in [3, 5] {
        for (k, (op, nth, how, scope)) in points.iter().enumerate() {
            caught(n, k % n, Deviation { op: *op, nth: *nth, how: *how, within: Some(*scope) }).await;
        }
    }
}

/// The pivot conversions' single sender could not be checked: the active engine sends no
/// pivot message at all, so a deviation there has nothing to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_engine_sends_no_pivot_message() {
    let (xf, yf) = (values(32, 5, 50.0), values(32, 6, 50.0));
    let xs = deal(3, &xf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 7);
    let ys = deal(3, &yf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 8);
    let out = run(3, move |t| {
        let (x, y) = (xs[t.party()].clone(), ys[t.party()].clone());
        async move {
            let mut e = active(&t).await;
            e.deviate(Deviation { op: Op::Pivot, nth: 0, how: Tamper::Add(1), within: None });
            e.bind(&x);
            e.bind(&y);
            let result = workload(&mut e, &x, &y).await;
            (result.is_ok(), e.deviated())
        }
    })
    .await;
    assert!(out.iter().all(|(ok, fired)| *ok && !*fired), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_engine_gives_the_passive_engines_results_bit_for_bit() {
    // Same seeds, same operations, exact results (a square's argmin as one-hot values): the
    // active engine opens what the passive one does.
    for n in [3, 4] {
        let xf = values(64, 9, 10.0);
        let xs = deal(n, &xf.iter().map(|v| enc(*v)).collect::<Vec<_>>(), 10);
        let xs2 = xs.clone();
        let passive = run(n, move |t| {
            let x = xs[t.party()].clone();
            async move {
                let mut rng = ChaCha20Rng::seed_from_u64(2000 + t.party() as u64);
                let mut e = Replicated::setup(&t, &mut rng).await.unwrap();
                let sq = e.mul(&x, &x).await.unwrap();
                let m = e.argmin(&sq, 8).await.unwrap().1;
                e.open(&m).await.unwrap()
            }
        })
        .await;
        let active_out = run(n, move |t| {
            let x = xs2[t.party()].clone();
            async move {
                let mut e = active(&t).await;
                let sq = e.mul(&x, &x).await.unwrap();
                let m = e.argmin(&sq, 8).await.unwrap().1;
                e.open(&m).await.unwrap()
            }
        })
        .await;
        assert_eq!(passive, active_out, "{n} parties");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_larger_than_a_batch_are_checked_in_pieces_and_an_error_in_a_late_piece_is_caught() {
    // 40,000 products and 20,000 AND words, in batches of 4,096: several pieces each.
    let n = 3;
    let len = 40_000;
    let xs = deal(n, &(0..len as u64).collect::<Vec<_>>(), 11);
    let late = [
        None,
        Some(Deviation { op: Op::Mul, nth: 0, how: Tamper::AddAt(39_000, 1), within: None }),
        Some(Deviation { op: Op::And, nth: 0, how: Tamper::AddAt(19_000, 1 << 40), within: None }),
    ];
    for deviation in late {
        let xs = xs.clone();
        let out = run(n, move |t| {
            let x = xs[t.party()].clone();
            async move {
                let mut e = active(&t).await;
                e.batch = 1 << 12;
                if let (Some(d), 1) = (deviation, t.party()) {
                    e.deviate(d);
                }
                let sq = e.mul(&x, &x).await?;
                let words = RepVec { comps: x.comps.iter().map(|c| c[..20_000].to_vec()).collect() };
                let and = e.inner.and(&words, &words).await?;
                e.verify().await?;
                Ok::<_, EngineError>((e.checks(), sq.len() + and.len()))
            }
        })
        .await;
        for (party, result) in out.iter().enumerate() {
            match (deviation, result) {
                (None, Ok((checks, _))) => assert!(*checks >= 4, "party {party}: {checks} checks"),
                (Some(_), Err(EngineError::Deviation(_))) if party != 1 => {}
                (Some(_), _) if party == 1 => {}
                (d, r) => panic!("{d:?}: party {party} got {:?}", r.as_ref().map(|v| v.0)),
            }
        }
    }
}
