//! Who computes which cross product, and where each party's reshare goes.
//!
//! Multiplying two replicated sharings `x = sum_T x_T`, `y = sum_U y_U` needs every cross
//! term `x_T * y_U`. A party holds both components when it is outside `T ∪ U`; since
//! `|T ∪ U| <= 2t < n`, some party always does. The plan assigns each term to one such party,
//! balancing the load, so that the parties' local sums `z_p` add up to `x * y`.
//!
//! Each party `p` then reshares `z_p` into replicated form: every component it holds except
//! its *special* component `s(p)` gets a pseudo-random value from the seed of that component
//! (known to all its holders), and `s(p)` gets the correction `z_p - sum(others)`, which `p`
//! sends to the other holders of `s(p)`. That is one message of one ring element per product
//! to `n - t - 1` parties (one party for `n = 3`).

use crate::sharing::Layout;

/// The multiplication plan of one party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The components this party holds, in increasing order.
    pub held: Vec<usize>,
    /// For each party, its special component.
    pub special: Vec<usize>,
    /// For each held index `i`, the held indices `j` whose term `x_held[i] * y_held[j]` this
    /// party computes.
    pub terms: Vec<Vec<usize>>,
    /// The parties this party sends its correction to.
    pub send_to: Vec<usize>,
    /// `(party, held index)`: the corrections this party receives, and where they go.
    pub receive: Vec<(usize, usize)>,
    /// For each held index `i`, the parties `p` whose share of component `held[i]` is
    /// pseudo-random (`p` holds it and it is not `p`'s special component).
    pub prg_parties: Vec<Vec<usize>>,
}

/// The owner of every cross term: `owner[T][U]` computes `x_T * y_U`. Terms with the fewest
/// possible owners are placed first, each on the least loaded party that can compute it, then
/// terms move from a party to one with at least two fewer while that is possible.
pub fn term_owners(layout: &Layout) -> Vec<Vec<usize>> {
    let m = layout.components();
    let mut terms: Vec<(usize, usize, Vec<usize>)> = (0..m)
        .flat_map(|t| (0..m).map(move |u| (t, u)))
        .map(|(t, u)| {
            (t, u, (0..layout.parties()).filter(|&p| layout.holds(p, t) && layout.holds(p, u)).collect())
        })
        .collect();
    terms.sort_by_key(|(t, u, candidates)| (candidates.len(), *t, *u));
    let mut load = vec![0usize; layout.parties()];
    let mut owner = vec![vec![usize::MAX; m]; m];
    for (t, u, candidates) in &terms {
        let best = *candidates.iter().min_by_key(|&&p| (load[p], p)).expect("2t < n: some party holds both");
        load[best] += 1;
        owner[*t][*u] = best;
    }
    // Greedy placement can leave two parties two terms apart; move terms until no move helps.
    let mut moved = true;
    while moved {
        moved = false;
        for (t, u, candidates) in &terms {
            let from = owner[*t][*u];
            if let Some(&to) = candidates.iter().find(|&&p| load[p] + 1 < load[from]) {
                load[from] -= 1;
                load[to] += 1;
                owner[*t][*u] = to;
                moved = true;
            }
        }
    }
    owner
}

/// The special component of each party (the one its correction goes into).
pub fn specials(layout: &Layout) -> Vec<usize> {
    (0..layout.parties())
        .map(|p| {
            let held = layout.held_by(p);
            held[p % held.len()]
        })
        .collect()
}

impl Plan {
    /// The plan of party `me`.
    pub fn new(layout: &Layout, me: usize) -> Self {
        let held = layout.held_by(me);
        let owners = term_owners(layout);
        let special = specials(layout);
        let index = |c: usize| held.iter().position(|&h| h == c).expect("held component");
        let terms = held
            .iter()
            .map(|&t| held.iter().enumerate().filter(|&(_, &u)| owners[t][u] == me).map(|(j, _)| j).collect())
            .collect();
        let send_to = layout.holders(special[me]).into_iter().filter(|&p| p != me).collect();
        let receive = (0..layout.parties())
            .filter(|&p| p != me && layout.holds(me, special[p]))
            .map(|p| (p, index(special[p])))
            .collect();
        let prg_parties = held
            .iter()
            .map(|&t| layout.holders(t).into_iter().filter(|&p| special[p] != t).collect())
            .collect();
        Self { held, special, terms, send_to, receive, prg_parties }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_computed_once_by_a_party_that_holds_it() {
        for n in 3..=7 {
            let layout = Layout::honest_majority(n).unwrap();
            let owners = term_owners(&layout);
            let m = layout.components();
            let mut count = vec![vec![0; m]; m];
            for p in 0..n {
                let plan = Plan::new(&layout, p);
                for (i, js) in plan.terms.iter().enumerate() {
                    for &j in js {
                        let (t, u) = (plan.held[i], plan.held[j]);
                        assert!(layout.holds(p, t) && layout.holds(p, u));
                        assert_eq!(owners[t][u], p);
                        count[t][u] += 1;
                    }
                }
            }
            assert!(count.iter().flatten().all(|&c| c == 1), "n={n}");
        }
    }

    #[test]
    fn three_parties_send_one_correction_each_around_a_ring() {
        let layout = Layout::honest_majority(3).unwrap();
        let plans: Vec<Plan> = (0..3).map(|p| Plan::new(&layout, p)).collect();
        for (p, plan) in plans.iter().enumerate() {
            assert_eq!(plan.send_to.len(), 1);
            assert_eq!(plan.receive.len(), 1);
            let to = plan.send_to[0];
            assert!(plans[to].receive.iter().any(|&(from, _)| from == p));
            // Three terms each: the nine cross terms are balanced.
            assert_eq!(plan.terms.iter().map(Vec::len).sum::<usize>(), 3);
        }
    }

    #[test]
    fn corrections_reach_every_other_holder() {
        for n in 3..=7 {
            let layout = Layout::honest_majority(n).unwrap();
            let t = layout.threshold();
            for p in 0..n {
                let plan = Plan::new(&layout, p);
                assert_eq!(plan.send_to.len(), n - t - 1, "n={n}");
                for &q in &plan.send_to {
                    assert!(Plan::new(&layout, q).receive.contains(&(
                        p,
                        layout.held_by(q).iter().position(|&c| c == plan.special[p]).unwrap()
                    )));
                }
            }
        }
    }
}
