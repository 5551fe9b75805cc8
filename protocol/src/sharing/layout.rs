//! Which components exist for `n` parties, and which parties hold each.

use thiserror::Error;

/// The largest number of parties a layout supports (the component count grows as `C(n, t)`).
pub const MAX_PARTIES: usize = 9;

/// A layout that cannot be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// Fewer than three parties cannot have an honest majority.
    #[error("the honest-majority model needs at least 3 parties, got {0}")]
    TooFewParties(usize),
    /// More parties than [`MAX_PARTIES`].
    #[error("at most {MAX_PARTIES} parties are supported, got {0}")]
    TooManyParties(usize),
}

/// The replicated layout for `n` parties tolerating `t = floor((n - 1) / 2)` colluders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    parties: usize,
    threshold: usize,
    /// For each component, the sorted set of parties that does *not* hold it.
    excluded: Vec<Vec<usize>>,
}

impl Layout {
    /// Builds the layout for `parties` parties.
    pub fn honest_majority(parties: usize) -> Result<Self, LayoutError> {
        if parties < 3 {
            return Err(LayoutError::TooFewParties(parties));
        }
        if parties > MAX_PARTIES {
            return Err(LayoutError::TooManyParties(parties));
        }
        let threshold = (parties - 1) / 2;
        let mut excluded = Vec::new();
        subsets(parties, threshold, 0, &mut Vec::new(), &mut excluded);
        Ok(Self { parties, threshold, excluded })
    }

    /// Number of parties `n`.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Number of parties `t` that may collude without learning anything.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Number of additive components, `C(n, t)`.
    pub fn components(&self) -> usize {
        self.excluded.len()
    }

    /// Whether `party` holds component `component`.
    pub fn holds(&self, party: usize, component: usize) -> bool {
        party < self.parties && !self.excluded[component].contains(&party)
    }

    /// The components `party` holds, in increasing order.
    pub fn held_by(&self, party: usize) -> Vec<usize> {
        (0..self.components()).filter(|&c| self.holds(party, c)).collect()
    }

    /// The parties that hold `component`, in increasing order.
    pub fn holders(&self, component: usize) -> Vec<usize> {
        (0..self.parties).filter(|&p| self.holds(p, component)).collect()
    }
}

/// Appends every `size`-subset of `start..n` extending `prefix` to `out`, in lexicographic order.
fn subsets(n: usize, size: usize, start: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    if prefix.len() == size {
        out.push(prefix.clone());
        return;
    }
    for i in start..n {
        prefix.push(i);
        subsets(n, size, i + 1, prefix, out);
        prefix.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binomial(n: usize, k: usize) -> usize {
        (0..k).fold(1, |acc, i| acc * (n - i) / (i + 1))
    }

    #[test]
    fn three_parties_hold_two_of_three() {
        let l = Layout::honest_majority(3).unwrap();
        assert_eq!((l.threshold(), l.components()), (1, 3));
        assert_eq!(l.held_by(0), vec![1, 2]);
        assert_eq!(l.held_by(1), vec![0, 2]);
        assert_eq!(l.held_by(2), vec![0, 1]);
        assert_eq!(l.holders(0), vec![1, 2]);
    }

    #[test]
    fn any_t_parties_miss_a_component_and_any_t_plus_one_hold_all() {
        for n in 3..=MAX_PARTIES {
            let l = Layout::honest_majority(n).unwrap();
            let t = l.threshold();
            assert_eq!(l.components(), binomial(n, t));
            let mut coalitions = Vec::new();
            subsets(n, t, 0, &mut Vec::new(), &mut coalitions);
            for c in &coalitions {
                let covered = (0..l.components()).all(|k| c.iter().any(|&p| l.holds(p, k)));
                assert!(!covered, "n={n}: coalition {c:?} holds every component");
            }
            let mut bigger = Vec::new();
            subsets(n, t + 1, 0, &mut Vec::new(), &mut bigger);
            for c in &bigger {
                let covered = (0..l.components()).all(|k| c.iter().any(|&p| l.holds(p, k)));
                assert!(covered, "n={n}: coalition {c:?} cannot reconstruct");
            }
        }
    }

    #[test]
    fn refuses_too_few_and_too_many() {
        assert_eq!(Layout::honest_majority(2), Err(LayoutError::TooFewParties(2)));
        assert_eq!(Layout::honest_majority(10), Err(LayoutError::TooManyParties(10)));
    }
}
