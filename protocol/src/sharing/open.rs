//! Reconstructing secrets from the components the parties send.

use super::{Component, Layout};
use thiserror::Error;

/// Why a set of components does not open to a value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// No party sent this component.
    #[error("component {0} is missing: too few parties answered")]
    Missing(usize),
    /// A party sent a component it does not hold in the layout.
    #[error("party {party} sent component {component}, which it does not hold")]
    NotHeld {
        /// The sender.
        party: usize,
        /// The component.
        component: usize,
    },
    /// Two copies of the same component differ: a party is faulty or the data is corrupt.
    #[error("parties {first} and {second} disagree on component {component}")]
    Inconsistent {
        /// The component.
        component: usize,
        /// The first party whose copy was taken.
        first: usize,
        /// A party whose copy differs from it.
        second: usize,
    },
    /// Components of different lengths.
    #[error("component {component} from party {party} has {got} values, expected {expected}")]
    Length {
        /// The component.
        component: usize,
        /// The sender.
        party: usize,
        /// Its length.
        got: usize,
        /// The length of the first copy seen.
        expected: usize,
    },
}

/// Opens a vector of secrets from `(party, components it holds)` pairs. Every component must
/// come from at least one holder; redundant copies must agree exactly, so a party that sends a
/// wrong component is detected as long as another holder of it answered.
pub fn reconstruct(layout: &Layout, parts: &[(usize, Vec<Component>)]) -> Result<Vec<u64>, OpenError> {
    let mut chosen: Vec<Option<(usize, &[u64])>> = vec![None; layout.components()];
    for (party, components) in parts {
        for c in components {
            let id = c.id as usize;
            if id >= layout.components() || !layout.holds(*party, id) {
                return Err(OpenError::NotHeld { party: *party, component: id });
            }
            match chosen[id] {
                None => chosen[id] = Some((*party, &c.values)),
                Some((first, values)) => {
                    if values.len() != c.values.len() {
                        return Err(OpenError::Length {
                            component: id,
                            party: *party,
                            got: c.values.len(),
                            expected: values.len(),
                        });
                    }
                    if values != c.values.as_slice() {
                        return Err(OpenError::Inconsistent { component: id, first, second: *party });
                    }
                }
            }
        }
    }
    let mut sum: Option<Vec<u64>> = None;
    for (id, entry) in chosen.iter().enumerate() {
        let (party, values) = entry.ok_or(OpenError::Missing(id))?;
        match sum.as_mut() {
            None => sum = Some(values.to_vec()),
            Some(acc) => {
                if acc.len() != values.len() {
                    return Err(OpenError::Length {
                        component: id,
                        party,
                        got: values.len(),
                        expected: acc.len(),
                    });
                }
                for (a, v) in acc.iter_mut().zip(values) {
                    *a = a.wrapping_add(*v);
                }
            }
        }
    }
    Ok(sum.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, split_values};
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn party_view(layout: &Layout, shares: &[Component], party: usize) -> Vec<Component> {
        layout.held_by(party).into_iter().map(|c| shares[c].clone()).collect()
    }

    #[test]
    fn split_then_open_is_identity_for_every_party_count() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for n in 3..=7 {
            let layout = Layout::honest_majority(n).unwrap();
            for len in [0usize, 1, 2, 100] {
                let mut values: Vec<u64> = (0..len).map(|_| rng.random()).collect();
                if len > 1 {
                    values[0] = 0;
                    values[1] = u64::MAX;
                }
                let shares = split_values(&values, &layout, &mut rng);
                let all: Vec<_> = (0..n).map(|p| (p, party_view(&layout, &shares, p))).collect();
                assert_eq!(reconstruct(&layout, &all).unwrap(), values, "n={n}, len={len}");
                // t + 1 parties suffice.
                let few: Vec<_> = all.iter().take(layout.threshold() + 1).cloned().collect();
                assert_eq!(reconstruct(&layout, &few).unwrap(), values);
                // t parties do not.
                let too_few: Vec<_> = all.iter().take(layout.threshold()).cloned().collect();
                assert!(matches!(reconstruct(&layout, &too_few), Err(OpenError::Missing(_))));
            }
        }
    }

    #[test]
    fn a_tampered_copy_is_detected() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let layout = Layout::honest_majority(3).unwrap();
        let shares = split_values(&[5, 6, 7], &layout, &mut rng);
        let mut all: Vec<_> = (0..3).map(|p| (p, party_view(&layout, &shares, p))).collect();
        all[2].1[0].values[1] ^= 1;
        assert!(matches!(reconstruct(&layout, &all), Err(OpenError::Inconsistent { .. })));
        let foreign = vec![(0, vec![shares[0].clone()])];
        assert_eq!(reconstruct(&layout, &foreign), Err(OpenError::NotHeld { party: 0, component: 0 }));
    }

    #[test]
    fn one_party_view_is_independent_of_the_secret() {
        // With the same generator state, two different secrets give the same view to a
        // party that misses the last (correcting) component: what it holds is pure randomness.
        let layout = Layout::honest_majority(3).unwrap();
        let a = split_values(&[1, 2, 3], &layout, &mut ChaCha20Rng::seed_from_u64(9));
        let b = split_values(&[100, 200, 300], &layout, &mut ChaCha20Rng::seed_from_u64(9));
        // Party 2 holds components 0 and 1, both purely random.
        assert_eq!(party_view(&layout, &a, 2), party_view(&layout, &b, 2));
        assert_ne!(party_view(&layout, &a, 0), party_view(&layout, &b, 0));
    }
}
