//! Which values of an exact fairness table are withheld: the whole table, or nothing.
//!
//! # What the operator can combine
//!
//! The table's cells `x_jl` (`k x g`) and group totals `t_l` are released beside the
//! segmentation's segment sizes `n_j` (released unless the segmentation withheld the segment)
//! and the public record count `N`: one `(k + 1) x (g + 1)` table whose every row and column
//! adds up. A withheld value that lies on no cycle of withheld values in it is determined by
//! subtraction. And the operator knows the rule that chose what to withhold: a rule that
//! withholds more or other values depending on *which* value is small tells whoever reruns it
//! on every table that fits the released numbers where the small value is, and often what it
//! is (a rule that completed each small value's rectangle with large ones pinned a cell
//! exactly in tests that modelled such an operator).
//!
//! # The rule
//!
//! Whether any value is below the minimum (every cell and group total is compared on shares)
//! is opened to the nodes as one bit, and nothing of which value it is. Then the table is
//! released whole or not at all:
//!
//! - if any value is small, every cell and every group total is withheld: the operator learns
//!   that some value is below the minimum, and nothing of which, nor of any value beyond what
//!   the segment sizes already show;
//! - if the segmentation withheld segments, the same: their rows would give away their sizes
//!   (a lone one by subtraction), their combined count per group would follow from the totals,
//!   and knowing that none of their cells is small bounds them from below, which together
//!   pinned cells in tests that modelled such an operator;
//! - otherwise every cell and total is released, none of them below the minimum.
//!
//! So whether the table is shown depends only on facts the operator may learn (some value is
//! small, the segmentation withheld a segment), never on which value is small. A table with a
//! rare group is released only with differential privacy (`--epsilon`), where every cell
//! carries noise and nothing needs withholding.

/// Which of `[cells (k g), totals (g)]` an exact fairness job withholds, from whether any of
/// them is small and the segments the segmentation withheld (`hidden`, `k`): all of them if
/// any is small or any segment is withheld, none otherwise. See the module documentation.
pub fn withheld(any_small: bool, hidden: &[bool], k: usize, g: usize) -> Vec<bool> {
    let whole = any_small || hidden.iter().any(|&h| h);
    vec![whole; k * g + g]
}

#[cfg(test)]
mod tests {
    use crate::fairness::Released;
    use rand::{RngExt, SeedableRng};

    /// The extended table of `table` (`k x g`): cells, totals, sizes, and `N` in the corner.
    fn extended(table: &[u64], k: usize, g: usize) -> Vec<i64> {
        let w = g + 1;
        let mut x = vec![0i64; (k + 1) * w];
        for j in 0..k {
            for l in 0..g {
                let v = table[j * g + l] as i64;
                x[j * w + l] = v;
                x[j * w + g] += v;
                x[k * w + l] += v;
                x[k * w + g] += v;
            }
        }
        x
    }

    /// An operator's search for another table that gives the same releases: written apart
    /// from the rule (it reruns it as a black box), over the extended table's values `x` and
    /// the withheld positions `free`. A candidate moves the withheld values around a closed
    /// walk, alternately along a row and a column, each step changing its line's balance by
    /// `+-step` in turn; it counts only if every value stays at 0 or more and `same` (the
    /// segmentation's and the table's rules rerun on it) says the releases are unchanged.
    struct Search<'a> {
        x: &'a [i64],
        free: &'a [bool],
        k: usize,
        g: usize,
        same: &'a dyn Fn(&[i64]) -> bool,
    }

    impl Search<'_> {
        fn width(&self) -> usize {
            self.g + 1
        }

        /// Cells move with their lines' balance; totals and sizes against it.
        fn sign(&self, p: usize) -> i64 {
            if p / self.width() < self.k && p % self.width() < self.g { 1 } else { -1 }
        }

        fn fits(&self, p: usize, balance: i64) -> bool {
            self.free[p] && self.x[p] + balance * self.sign(p) >= 0
        }

        /// Whether position `at` can move by `step` (up when positive) in a table the operator
        /// cannot tell from this one.
        fn can_move(&self, at: usize, step: i64) -> bool {
            let w = self.width();
            let balance = step * self.sign(at);
            let mut path = vec![(at, balance)];
            self.fits(at, balance)
                && self.extend(at / w, &mut vec![at / w], &mut vec![at % w], at % w, balance, &mut path)
        }

        fn extend(
            &self,
            r: usize,
            rows: &mut Vec<usize>,
            cols: &mut Vec<usize>,
            c0: usize,
            balance: i64,
            path: &mut Vec<(usize, i64)>,
        ) -> bool {
            let w = self.width();
            for c in 0..w {
                let p = r * w + c;
                if c == c0 && rows.len() > 1 {
                    if self.fits(p, -balance) {
                        path.push((p, -balance));
                        let found = self.accepted(path);
                        path.pop();
                        if found {
                            return true;
                        }
                    }
                    continue;
                }
                if cols.contains(&c) || !self.fits(p, -balance) {
                    continue;
                }
                for r2 in 0..=self.k {
                    if rows.contains(&r2) || !self.fits(r2 * w + c, balance) {
                        continue;
                    }
                    rows.push(r2);
                    cols.push(c);
                    path.push((p, -balance));
                    path.push((r2 * w + c, balance));
                    if self.extend(r2, rows, cols, c0, balance, path) {
                        return true;
                    }
                    path.truncate(path.len() - 2);
                    rows.pop();
                    cols.pop();
                }
            }
            false
        }

        fn accepted(&self, path: &[(usize, i64)]) -> bool {
            let mut moved = self.x.to_vec();
            for &(p, balance) in path {
                moved[p] += balance * self.sign(p);
            }
            (self.same)(&moved)
        }
    }

    /// What the operator receives about a table: the segmentation's withheld segments and
    /// released sizes, and the fairness release.
    fn releases(
        x: &[i64],
        k: usize,
        g: usize,
        min_segment: u64,
        min_cell: u64,
    ) -> (Vec<bool>, Vec<Option<i64>>, Released) {
        let w = g + 1;
        let sizes: Vec<u64> = (0..k).map(|j| x[j * w + g] as u64).collect();
        let hidden = crate::kmeans::complement(&sizes.iter().map(|&n| n < min_segment).collect::<Vec<_>>());
        let shown = (0..k).map(|j| (!hidden[j]).then_some(x[j * w + g])).collect();
        let table: Vec<u64> = (0..k).flat_map(|j| (0..g).map(move |l| x[j * w + l] as u64)).collect();
        let released = Released::exact(&table, k, g, min_cell, &hidden);
        (hidden, shown, released)
    }

    /// The rule's promise, against an operator who knows it: over random tables (many with
    /// small values, some segments withheld by the segmentation), every withheld cell, total
    /// and size can move by one record in some other table that gives the operator exactly
    /// the same releases (the segmentation's and the fairness table's, the rules rerun on
    /// it), so none is recovered; a table is released whole or not at all, and never with a
    /// value below the minimum.
    #[test]
    fn no_withheld_value_is_recovered_even_by_an_operator_who_reruns_the_rules() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(19);
        let (mut whole, mut shown) = (0, 0);
        for trial in 0..300 {
            let (k, g) = (rng.random_range(2..5usize), rng.random_range(2..4usize));
            let min_cell = rng.random_range(2..6u64);
            let small = rng.random_bool(0.5);
            let table: Vec<u64> = (0..k * g)
                .map(|_| {
                    if small && rng.random_bool(0.3) {
                        rng.random_range(0..min_cell)
                    } else {
                        rng.random_range(min_cell..30)
                    }
                })
                .collect();
            let x = extended(&table, k, g);
            let w = g + 1;
            if (0..k).any(|j| x[j * w + g] == 0) {
                continue;
            }
            let min_segment = if rng.random_bool(0.5) { rng.random_range(0..60u64) } else { 0 };
            let (hidden, _, released) = releases(&x, k, g, min_segment, min_cell);
            let mut free = vec![false; x.len()];
            for j in 0..k {
                for l in 0..g {
                    free[j * w + l] = released.cells[j * g + l].is_none();
                }
                free[j * w + g] = hidden[j];
            }
            for l in 0..g {
                free[k * w + l] = released.totals[l].is_none();
            }
            let all = released.cells.iter().chain(&released.totals).all(Option::is_none);
            if all {
                whole += 1;
            } else {
                shown += 1;
                assert!(free.iter().all(|&f| !f), "a table is released whole or not at all");
            }
            let what = format!("trial {trial}: {k}x{g} {table:?} min {min_cell}, hidden {hidden:?}");
            for (v, r) in table
                .iter()
                .chain(&(0..g).map(|l| x[k * w + l] as u64).collect::<Vec<_>>())
                .zip(released.cells.iter().chain(&released.totals))
            {
                assert!(r.is_none() || *v >= min_cell, "{what}: {v} released");
            }
            let before = releases(&x, k, g, min_segment, min_cell);
            let same = |moved: &[i64]| releases(moved, k, g, min_segment, min_cell) == before;
            let search = Search { x: &x, free: &free, k, g, same: &same };
            for at in (0..x.len()).filter(|&p| free[p]) {
                assert!(
                    search.can_move(at, 1) || search.can_move(at, -1),
                    "{what}: position {at} is recovered"
                );
            }
        }
        assert!(whole > 30 && shown > 30, "{whole} tables withheld, {shown} shown");
    }

    #[test]
    fn a_small_value_withholds_the_whole_table() {
        let released = Released::exact(&[3, 40, 30, 60], 2, 2, 5, &[false, false]);
        assert!(released.cells.iter().chain(&released.totals).all(Option::is_none), "{released:?}");
        // A small total alone does too.
        let released = Released::exact(&[2, 40, 1, 60, 1, 50], 3, 2, 5, &[false; 3]);
        assert!(released.cells.iter().chain(&released.totals).all(Option::is_none), "{released:?}");
        // Without a small value everything is shown.
        let released = Released::exact(&[13, 40, 30, 60], 2, 2, 5, &[false, false]);
        assert!(released.cells.iter().chain(&released.totals).all(Option::is_some));
    }

    #[test]
    fn a_segmentation_that_withheld_segments_gets_no_exact_table() {
        for hidden in [[false, true, true], [false, true, false]] {
            let released = Released::exact(&[20, 30, 11, 12, 25, 40], 3, 2, 10, &hidden);
            assert!(released.cells.iter().chain(&released.totals).all(Option::is_none), "{hidden:?}");
        }
    }
}
