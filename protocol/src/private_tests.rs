//! The private releases of every job against plaintext, for 3 and 5 parties over the
//! in-memory transport: each release must be the exact value plus the noise the parties drew
//! (re-drawn here from the same seeds), and suppression must withhold what the plaintext
//! rules withhold.

use crate::dp::{Laplace, NoiseParties, party_noise};
use crate::fixed::{SCALE, decode, encode};
use crate::replicated::RepVec;
use crate::replicated::tests::{deal, engine, run};
use crate::{Engine, Transport};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The seed of party `p`'s noise generator in these tests.
fn noise_rng(p: usize) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(900 + p as u64)
}

/// The total noise the parties' generators draw, release after release, with each release's
/// parameters.
fn redraw(who: NoiseParties, releases: &[Vec<Laplace>]) -> Vec<Vec<i64>> {
    let mut rngs: Vec<ChaCha20Rng> = (0..who.parties).map(noise_rng).collect();
    releases
        .iter()
        .map(|noises| {
            let parts: Vec<Vec<i64>> =
                rngs.iter_mut().map(|r| party_noise(r, noises, who.honest).unwrap()).collect();
            (0..noises.len()).map(|i| parts.iter().map(|p| p[i]).sum()).collect()
        })
        .collect()
}

/// `columns` (one per feature) dealt to `n` parties: each party's share of each column.
fn deal_columns(n: usize, columns: &[Vec<f64>], seed: u64) -> Vec<Vec<RepVec>> {
    let dealt: Vec<Vec<RepVec>> = columns
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let encoded: Vec<u64> = c.iter().map(|v| encode(*v).unwrap()).collect();
            deal(n, &encoded, seed + j as u64)
        })
        .collect();
    (0..n).map(|p| dealt.iter().map(|d| d[p].clone()).collect()).collect()
}

#[tokio::test]
async fn private_stats_release_the_exact_sums_plus_the_parties_noise() {
    use crate::stats::{noise_plan, private_moments};
    let ranges = vec![(0.0, 100.0), (-50.0, 50.0), (-2.0e6, 3.0e6)];
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    for (n, rows) in [(3usize, 200usize), (5, 60), (3, 1)] {
        let columns: Vec<Vec<f64>> = ranges
            .iter()
            .map(|&(lo, hi)| {
                (0..rows).map(|_| (rng.random_range(lo..hi) * 100.0f64).round() / 100.0).collect()
            })
            .collect();
        let shares = deal_columns(n, &columns, 42);
        let who = NoiseParties::cluster(n);
        let plan = noise_plan(rows as u64, &ranges, 1.0, n).unwrap();
        let (ranges2, plan2) = (ranges.clone(), plan.clone());
        let results = run(n, |t| {
            let (cols, ranges, plan) = (shares[t.party()].clone(), ranges2.clone(), plan2.clone());
            async move {
                let mut e = engine(&t).await;
                let mut noise = noise_rng(t.party());
                let released = private_moments(&mut e, &mut noise, &cols, &ranges, &plan, who).await.unwrap();
                e.open(&released).await.unwrap()
            }
        })
        .await;
        assert!(results.iter().all(|r| r == &results[0]));
        let (released, scales) = (&results[0], &plan.scales);
        let noise = redraw(who, std::slice::from_ref(&plan.noise)).remove(0);
        assert!(noise.iter().all(|&v| v != 0), "no noise was added: {noise:?}");
        let f = ranges.len();
        for (j, col) in columns.iter().enumerate() {
            let exact = col.iter().fold(0u64, |acc, v| acc.wrapping_add(encode(*v).unwrap()));
            assert_eq!(released[j].wrapping_sub(noise[j] as u64), exact, "n={n}: sum of feature {j}");
            let scale = (1u64 << scales[j]) as f64;
            let squares: f64 = col.iter().map(|v| (v / scale).powi(2)).sum();
            let got = decode(released[f + j].wrapping_sub(noise[f + j] as u64));
            let max = ranges[j].0.abs().max(ranges[j].1.abs()) / scale;
            let tolerance = rows as f64 * (2.0 * max + 3.0) / SCALE;
            assert!((got - squares).abs() <= tolerance, "n={n}: squares of {j}: {got} vs {squares}");
        }
    }
}

/// Records of three planted groups (as the exact job's tests use), and their bounds.
fn planted(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<(f64, f64)>) {
    (crate::replicated::tests::planted_rows(n, seed), vec![(0.0, 100.0), (0.0, 5000.0), (0.0, 10.0)])
}

/// The nearest of `centroids` (`k x d`, ties to the lowest) to each of `z` (rows of `d`).
fn nearest(z: &[Vec<f64>], centroids: &[f64], d: usize) -> Vec<usize> {
    let score = |row: &[f64], j: usize| {
        let c = &centroids[j * d..(j + 1) * d];
        c.iter().map(|v| v * v).sum::<f64>() - 2.0 * row.iter().zip(c).map(|(a, b)| a * b).sum::<f64>()
    };
    let k = centroids.len() / d;
    z.iter().map(|r| (0..k).fold(0, |best, j| if score(r, j) < score(r, best) { j } else { best })).collect()
}

#[tokio::test]
async fn private_kmeans_follows_dplloyd_with_the_parties_noise() {
    use crate::kmeans::labels_from_onehot;
    use crate::kmeans::private::{
        PrivateParams, centre, count_noise, iteration_noise, next_centroids, private_job, scale,
        scaling_noise, starting_centroids,
    };
    for (parties, epsilon, n) in [(3usize, 200.0, 150usize), (5, 200.0, 90), (3, 1.0, 150), (3, 5.0, 1)] {
        let (rows, bounds) = planted(n, 60 + parties as u64);
        let d = bounds.len();
        let columns: Vec<Vec<f64>> = (0..d).map(|j| rows.iter().map(|r| r[j]).collect()).collect();
        let shares = deal_columns(parties, &columns, 61);
        let p = PrivateParams { k: 3, iterations: 4, seed: 5, epsilon, min_segment: 0 };
        let who = NoiseParties::cluster(parties);
        let b = bounds.clone();
        let results = run(parties, |t| {
            let (cols, bounds) = (shares[t.party()].clone(), b.clone());
            async move {
                let mut e = engine(&t).await;
                let mut noise = noise_rng(t.party());
                let out = private_job(&mut e, &mut noise, &cols, &bounds, p, who, &|_, _| {}).await.unwrap();
                let labels = labels_from_onehot(&e.open(&out.assignment).await.unwrap(), p.k);
                let opened = e.open(&out.outputs).await.unwrap();
                (opened, labels, out.releases, out.moments, out.counts, out.published)
            }
        })
        .await;
        assert!(results.iter().all(|r| r == &results[0]), "the parties disagree");
        let (outputs, labels, releases, moments, counts, published) = &results[0];
        let what = format!("parties={parties} eps={epsilon} n={n}");
        // The noise of every release, in the order the parties drew it.
        let mut plan = vec![
            scaling_noise(epsilon, &bounds, None).unwrap(),
            scaling_noise(epsilon, &bounds, Some(&published.centres)).unwrap(),
        ];
        plan.extend(std::iter::repeat_n(iteration_noise(&p, d).unwrap(), p.iterations));
        plan.push(count_noise(&p, d).unwrap());
        let noise = redraw(who, &plan);
        // The scaling: exact sums and sums of absolute deviations plus their noise, and the
        // centres and scales they give.
        for (j, col) in columns.iter().enumerate() {
            let exact = col.iter().fold(0u64, |a, v| a.wrapping_add(encode(*v).unwrap()));
            assert_eq!(moments[j].wrapping_sub(noise[0][j] as u64), exact, "{what}: noisy sum of {j}");
            assert_eq!(
                published.centres[j],
                centre(decode(moments[j]), n, bounds[j]),
                "{what}: centre of {j}"
            );
            let m = encode(published.centres[j]).unwrap() as i64;
            let deviations =
                col.iter().fold(0u64, |a, v| a.wrapping_add((encode(*v).unwrap() as i64 - m).unsigned_abs()));
            assert_eq!(
                moments[d + j].wrapping_sub(noise[1][j] as u64),
                deviations,
                "{what}: deviations of {j}"
            );
            assert_eq!(
                published.scales[j],
                scale(decode(moments[d + j]), n, bounds[j]),
                "{what}: scale of {j}"
            );
        }
        // The reference: the records scaled and clipped in floating point, DPLloyd with the
        // redrawn noise.
        let z: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| {
                (0..d)
                    .map(|j| ((r[j] - published.centres[j]) / published.scales[j]).clamp(-1.0, 1.0))
                    .collect()
            })
            .collect();
        let mut centroids = starting_centroids(p.k, d, p.seed);
        for (t, release) in releases.iter().enumerate() {
            let assigned = nearest(&z, &centroids, d);
            for j in 0..p.k {
                let members: Vec<&Vec<f64>> =
                    z.iter().zip(&assigned).filter(|(_, a)| **a == j).map(|(r, _)| r).collect();
                let count = members.len() as i64 + noise[t + 2][p.k * d + j];
                assert_eq!(release.counts[j], count, "{what}: iteration {t}, count of {j}");
                for l in 0..d {
                    let sum: f64 =
                        members.iter().map(|r| r[l]).sum::<f64>() + noise[t + 2][j * d + l] as f64 / SCALE;
                    let tolerance = (members.len() as f64 + 1.0) / SCALE;
                    let got = release.sums[j * d + l];
                    assert!(
                        (got - sum).abs() <= tolerance,
                        "{what}: iteration {t}, sum {j},{l}: {got} vs {sum}"
                    );
                }
            }
            centroids = next_centroids(&centroids, release, d);
        }
        assert_eq!(labels, &nearest(&z, &centroids, d), "{what}: final segments");
        let final_noise = &noise[p.iterations + 2];
        for j in 0..p.k {
            let size = labels.iter().filter(|&&l| l == j).count() as i64;
            assert_eq!(counts[j], size + final_noise[j], "{what}: final count of {j}");
            assert_eq!(outputs[p.k * d + j], counts[j].max(0) as u64, "{what}: released size of {j}");
        }
        let released: Vec<f64> = outputs[..p.k * d].iter().map(|v| decode(*v)).collect();
        assert_eq!(released, centroids, "{what}");
        if epsilon >= 200.0 {
            // Little noise: each planted group is one segment.
            for g in 0..3 {
                let first = labels[g];
                assert!((g..n).step_by(3).all(|i| labels[i] == first), "{what}: group {g} is split");
            }
        }
    }
}

#[tokio::test]
async fn fairness_releases_withhold_what_the_plaintext_rules_withhold() {
    use crate::fairness::{Released, cell_noise, contingency, release};
    let mut rng = ChaCha20Rng::seed_from_u64(70);
    let (mut shown, mut hidden_whole) = (0, 0);
    for (parties, n, k, g, min_cell, private) in [
        (3usize, 120usize, 4usize, 3usize, 6u64, false),
        (5, 80, 3, 2, 5, false),
        (3, 150, 2, 2, 1, false),
        (3, 120, 4, 3, 6, true),
    ] {
        let segments: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
        let groups: Vec<usize> =
            (0..n).map(|i| if i % 7 == 0 { g - 1 } else { rng.random_range(0..g - 1) }).collect();
        let onehot: Vec<u64> =
            segments.iter().flat_map(|&s| (0..k).map(move |j| u64::from(j == s))).collect();
        let levels: Vec<u64> = groups.iter().map(|&l| l as u64).collect();
        let (a, l) = (deal(parties, &onehot, 71), deal(parties, &levels, 72));
        // A private segmentation may withhold a single segment; an exact one's table comes
        // whole or not at all.
        let hidden = if private { vec![false, true, false, false][..k].to_vec() } else { vec![false; k] };
        let who = NoiseParties::cluster(parties);
        let h = hidden.clone();
        let results = run(parties, |t| {
            let (a, l, hidden) = (a[t.party()].clone(), l[t.party()].clone(), h.clone());
            async move {
                let mut e = engine(&t).await;
                let mut noise = noise_rng(t.party());
                let table = contingency(&mut e, &a, &l, k, g).await.unwrap();
                let privacy = private.then_some((2.0, who));
                let (values, w, _) =
                    release(&mut e, &mut noise, &table, (k, g), min_cell, &hidden, privacy).await.unwrap();
                (e.open(&values).await.unwrap(), w)
            }
        })
        .await;
        assert!(results.iter().all(|r| r == &results[0]));
        let (values, withheld) = &results[0];
        let mut table = vec![0u64; k * g];
        for (&s, &l) in segments.iter().zip(&groups) {
            table[s * g + l] += 1;
        }
        let what = format!("parties={parties} k={k} g={g} private={private}");
        if private {
            let noise = redraw(who, &[vec![cell_noise(2.0).unwrap(); k * g]]).remove(0);
            let noisy: Vec<i64> = table.iter().zip(&noise).map(|(&c, &z)| c as i64 + z).collect();
            let mut all = noisy.clone();
            all.extend((0..g).map(|l| (0..k).map(|j| noisy[j * g + l]).sum::<i64>()));
            // Noisy values below the minimum and the hidden rows, nothing more: the margins are
            // noisy, so no second value of a line is withheld.
            let w: Vec<bool> =
                (0..k * g + g).map(|i| all[i] < min_cell as i64 || (i < k * g && hidden[i / g])).collect();
            assert_eq!(withheld, &w, "{what}");
            for (i, (&v, &x)) in values.iter().zip(&all).enumerate() {
                assert_eq!(v as i64, if w[i] { 0 } else { x }, "{what}: value {i}");
            }
        } else {
            let expected = Released::exact(&table, k, g, min_cell, &hidden);
            assert_eq!(Released::from_opened(values, withheld, k, g).unwrap(), expected, "{what}");
            assert!(
                values.iter().zip(withheld).all(|(&v, &w)| !w || v == 0),
                "{what}: a withheld value was stored"
            );
            let small = table.iter().any(|&c| c < min_cell);
            assert!(withheld.iter().all(|&w| w == small), "{what}: {withheld:?}");
            shown += usize::from(!small);
            hidden_whole += usize::from(small);
        }
    }
    assert!(shown > 0 && hidden_whole > 0, "{shown} tables shown, {hidden_whole} withheld");
}

#[tokio::test]
async fn small_segments_are_suppressed_on_shares_as_in_the_plaintext_mode() {
    use crate::kmeans::{Init, Params, outcome, plain_job, secure_job};
    // Three planted groups and two far records: with k = 4 the two make a segment of 2.
    let (mut rows, bounds) = planted(90, 80);
    rows.push(vec![99.0, 4900.0, 10.0]);
    rows.push(vec![98.0, 4950.0, 10.0]);
    let p = Params { k: 4, iterations: 6, seed: 5, restarts: 2, init: Init::PlusPlus, min_segment: 3 };
    let (plain, plain_labels) = plain_job(&rows, &bounds, p).unwrap();
    // The small segment and one more (complementary suppression), and no WCSS.
    assert_eq!(plain.suppressed.iter().filter(|&&s| s).count(), 2, "{plain:?}");
    assert_eq!(plain.wcss, None);
    let d = bounds.len();
    let columns: Vec<Vec<f64>> = (0..d).map(|j| rows.iter().map(|r| r[j]).collect()).collect();
    let shares = deal_columns(3, &columns, 81);
    let b = bounds.clone();
    let results = run(3, |t| {
        let (cols, bounds) = (shares[t.party()].clone(), b.clone());
        async move {
            let mut e = engine(&t).await;
            let out = secure_job(&mut e, &cols, &bounds, p, &|_, _| {}).await.unwrap();
            (e.open(&out.outputs).await.unwrap(), out.published)
        }
    })
    .await;
    let (opened, published) = &results[0];
    let secure = outcome(p.k, d, opened, published).unwrap();
    assert_eq!(secure.suppressed, plain.suppressed);
    assert_eq!(secure.sizes, plain.sizes);
    assert_eq!(secure.wcss, None);
    for (j, &withheld) in secure.suppressed.iter().enumerate() {
        if withheld {
            assert_eq!(secure.sizes[j], 0);
            assert!(
                secure.centroids_std[j * d..(j + 1) * d].iter().all(|&c| c == 0.0),
                "a suppressed centroid was opened"
            );
        } else {
            assert!(secure.sizes[j] >= 30, "{secure:?}");
        }
    }
    // What subtraction gives (the record count less the released sizes) is the withheld
    // segments together: the 2 far records and a planted group, never the 2 alone.
    let remainder = rows.len() as u64 - secure.sizes.iter().sum::<u64>();
    assert!(remainder >= 30 + 2, "{remainder}");
    let withheld_ids: Vec<usize> =
        secure.ids.iter().zip(&secure.suppressed).filter(|(_, s)| **s).map(|(id, _)| *id).collect();
    let members = plain_labels.iter().filter(|l| withheld_ids.contains(l)).count() as u64;
    assert_eq!(members, remainder);
}
