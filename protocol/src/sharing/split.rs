//! Splitting secrets into the components of a [`Layout`] with a cryptographic PRG.

use super::{Component, Layout};
use rand::{CryptoRng, Rng};

/// Splits `values` into one [`Component`] per component of `layout`: all components but the
/// last are uniformly random, the last makes the sum equal to the secret. Every call must use
/// a fresh cryptographic generator (or one never used for anything else).
pub fn split_values<R: Rng + CryptoRng>(values: &[u64], layout: &Layout, rng: &mut R) -> Vec<Component> {
    let m = layout.components();
    let mut last = values.to_vec();
    let mut out = Vec::with_capacity(m);
    for id in 0..m - 1 {
        let mut random = vec![0u64; values.len()];
        for r in random.iter_mut() {
            *r = rng.next_u64();
        }
        for (l, r) in last.iter_mut().zip(&random) {
            *l = l.wrapping_sub(*r);
        }
        out.push(Component { id: id as u16, values: random });
    }
    out.push(Component { id: (m - 1) as u16, values: last });
    out
}

/// Splits several columns at once; returns, for each component, that component of each column.
pub fn split_columns<R: Rng + CryptoRng>(
    columns: &[Vec<u64>],
    layout: &Layout,
    rng: &mut R,
) -> Vec<Vec<Component>> {
    let mut per_component: Vec<Vec<Component>> = vec![Vec::with_capacity(columns.len()); layout.components()];
    for column in columns {
        for component in split_values(column, layout, rng) {
            per_component[component.id as usize].push(component);
        }
    }
    per_component
}
