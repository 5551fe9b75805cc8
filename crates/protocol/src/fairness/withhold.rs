//! Which values of an exact fairness table are withheld, so that no combination of what the
//! segmentation and the table release gives a small value away.
//!
//! # What the operator can combine
//!
//! The table's cells `x_jl` (`k x g`) and group totals `t_l` are released beside the
//! segmentation's segment sizes `n_j` (released unless the segmentation withheld the segment)
//! and the public record count `N`. These are the cells of one `(k + 1) x (g + 1)` table whose
//! last column holds the sizes and whose last row holds the totals (`N` in the corner), and
//! every line of it adds up: `sum_l x_jl = n_j`, `sum_j x_jl = t_l`, `sum_l t_l = N`,
//! `sum_j n_j = N`. A withheld value that lies on no cycle of withheld values in this table is
//! determined by subtraction; one that lies on such a cycle can move along it (one corner up,
//! the next down, ...) without changing anything released.
//!
//! # The rule
//!
//! A value below the minimum (a *small* cell or total: which ones are small is computed on
//! shares and opened to the nodes only) is withheld, as are the rows of the segments the
//! segmentation withheld (and their sizes, which the segmentation withholds two at least).
//! Then every small withheld value must lie on a rectangle of withheld values (it, a value of
//! its row, a value of its column, and the fourth corner) along which it can grow by the
//! minimum: the two corners that shrink when it grows must be known not to be small (at least
//! the minimum each). Where no such rectangle is withheld yet, the cheapest one is added
//! (fewest new values; ties by position, a choice that depends on no count beyond the small
//! flags). Where none can be formed (a segment whose every cell is small), the value's whole
//! row is withheld with a row of large cells (or, if there is none, with every total); for a
//! total without a rectangle, the whole table.
//!
//! So, for every small withheld value `v` with a rectangle, the released values are also
//! consistent with `v` plus the minimum, and with `v` itself: nobody can recover it, or tell
//! from the releases that it is small. Without one, a record of its segment can still move
//! between two groups (its row and the partner row are withheld), so it is not determined
//! either, though the segment's released size may already show that it is small.

/// Positions in the extended table: row `k` holds the totals, column `g` the sizes.
#[derive(Clone, Copy)]
struct Grid {
    k: usize,
    g: usize,
}

/// What is known of a position of the extended table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Released (or public, like `N`): it cannot move.
    Fixed,
    /// Withheld.
    Withheld,
    /// Released for now, but could be withheld.
    Open,
}

impl Grid {
    fn width(&self) -> usize {
        self.g + 1
    }

    /// The index in `[cells (k g), totals (g), sizes (k)]` of position `(r, c)`, none for `N`.
    fn value(&self, r: usize, c: usize) -> Option<usize> {
        match (r < self.k, c < self.g) {
            (true, true) => Some(r * self.g + c),
            (false, true) => Some(self.k * self.g + c),
            (true, false) => Some(self.k * self.g + self.g + r),
            (false, false) => None,
        }
    }

    /// `+1` where a position's value grows when its line's balance grows (cells), `-1` where
    /// it shrinks (the totals and sizes, which sit on the other side of their lines' sums).
    fn sign(&self, r: usize, c: usize) -> i32 {
        if r < self.k && c < self.g { 1 } else { -1 }
    }
}

/// Which of `[cells (k g), totals (g)]` an exact fairness job withholds, from the small flags
/// of `[cells (k g), totals (g), sizes (k)]` (value below the minimum) and the segments the
/// segmentation withheld (`hidden`, `k`). See the module documentation.
pub fn withheld(small: &[bool], hidden: &[bool], k: usize, g: usize) -> Vec<bool> {
    let grid = Grid { k, g };
    let w = grid.width();
    let lone_hidden = hidden.iter().filter(|&&h| h).count() < 2;
    let kind_at = |at: usize| {
        let (r, c) = (at / w, at % w);
        match grid.value(r, c) {
            None => Kind::Fixed,
            // A size is withheld with its segment, unless the segmentation withheld only one
            // (its size is then the record count less the others'): then it is as public.
            Some(_) if c == g && hidden[r] && !lone_hidden => Kind::Withheld,
            Some(_) if c == g => Kind::Fixed,
            Some(v) if small[v] || (r < k && hidden[r]) => Kind::Withheld,
            Some(_) => Kind::Open,
        }
    };
    let mut kind: Vec<Kind> = (0..(k + 1) * w).map(kind_at).collect();
    // Every small cell and total, in order, gets its rectangle.
    for r in 0..=k {
        for c in 0..g {
            let v = grid.value(r, c).expect("a cell or total");
            if !small[v] || kind[r * w + c] != Kind::Withheld {
                continue;
            }
            match cheapest_rectangle(&grid, &kind, small, (r, c)) {
                Some(corners) => corners.into_iter().for_each(|at| kind[at] = Kind::Withheld),
                // No rectangle of large values (a segment whose every cell is small): its row
                // goes with a row of large cells (or, without one, every total), so that a
                // record of its segment can still move between two groups; for a total,
                // everything goes.
                None => {
                    let large_row = (0..k).find(|&j| j != r && (0..g).all(|l| !small[j * g + l]));
                    let rows = match (r < k, large_row) {
                        (true, Some(j)) => vec![r, j],
                        (true, None) => vec![r, k],
                        (false, _) => (0..=k).collect(),
                    };
                    for rr in rows {
                        for cc in 0..g {
                            if kind[rr * w + cc] == Kind::Open {
                                kind[rr * w + cc] = Kind::Withheld;
                            }
                        }
                    }
                }
            }
        }
    }
    (0..k * g + g)
        .map(|i| {
            let (r, c) = if i < k * g { (i / g, i % g) } else { (k, i - k * g) };
            kind[r * w + c] == Kind::Withheld
        })
        .collect()
}

/// The positions to withhold so that `(r, c)` lies on a withheld rectangle along which it can
/// grow by the minimum: the fewest new ones (none if it already does), ties to the first
/// rectangle in order; `None` if no rectangle can be formed.
fn cheapest_rectangle(
    grid: &Grid,
    kind: &[Kind],
    small: &[bool],
    (r, c): (usize, usize),
) -> Option<Vec<usize>> {
    let w = grid.width();
    let mut best: Option<Vec<usize>> = None;
    for r2 in (0..=grid.k).filter(|&x| x != r) {
        for c2 in (0..=grid.g).filter(|&x| x != c) {
            // Around the rectangle the balances change +1, -1, +1, -1: (r, c), (r, c2),
            // (r2, c2), (r2, c). The value at (r, c) must grow.
            let flip = grid.sign(r, c);
            let corners = [((r, c2), -flip), ((r2, c2), flip), ((r2, c), -flip)];
            let mut new = Vec::new();
            let usable = corners.iter().all(|&((rr, cc), step)| {
                let at = rr * w + cc;
                let shrinks = step * grid.sign(rr, cc) < 0;
                let known_large = grid.value(rr, cc).is_some_and(|v| !small[v]);
                match kind[at] {
                    Kind::Fixed => false,
                    _ if shrinks && !known_large => false,
                    Kind::Withheld => true,
                    Kind::Open => {
                        new.push(at);
                        true
                    }
                }
            });
            if usable && best.as_ref().is_none_or(|b| new.len() < b.len()) {
                if new.is_empty() {
                    return Some(new);
                }
                best = Some(new);
            }
        }
    }
    best
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

    /// A search for another table, consistent with everything released, in which one position
    /// has moved: written apart from the rule it checks (it knows nothing of rectangles or
    /// small flags), over the extended table's values `x` and the withheld positions `free`.
    struct Search<'a> {
        x: &'a [i64],
        free: &'a [bool],
        k: usize,
        g: usize,
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

        /// Whether position `at` can move by `step` (up when positive): a closed walk of
        /// withheld positions, alternately along a row and along a column, each changing its
        /// line's balance by `+-step` in turn, that keeps every value at 0 or more.
        fn can_move(&self, at: usize, step: i64) -> bool {
            let w = self.width();
            let balance = step * self.sign(at);
            self.fits(at, balance)
                && self.extend(at / w, &mut vec![at / w], &mut vec![at % w], at % w, balance)
        }

        /// Leaves row `r` (entered at a position whose balance moved by `balance`) along the
        /// row, then along a column into a row not used yet, until the walk can close in the
        /// start's column `c0`.
        fn extend(
            &self,
            r: usize,
            rows: &mut Vec<usize>,
            cols: &mut Vec<usize>,
            c0: usize,
            balance: i64,
        ) -> bool {
            let w = self.width();
            for c in 0..w {
                let p = r * w + c;
                if c == c0 && rows.len() > 1 {
                    if self.fits(p, -balance) {
                        return true;
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
                    if self.extend(r2, rows, cols, c0, balance) {
                        return true;
                    }
                    rows.pop();
                    cols.pop();
                }
            }
            false
        }
    }

    /// The rule's promise, checked against random tables by search: every small withheld value
    /// can grow by the minimum (unless the whole table was withheld) and every withheld value
    /// is undetermined (it can move by one, up or down) when every segment has a record.
    #[test]
    fn no_withheld_value_is_determined_by_what_is_released() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(19);
        for trial in 0..400 {
            let (k, g) = (rng.random_range(2..5usize), rng.random_range(2..4usize));
            let min_cell = rng.random_range(2..6u64);
            let table: Vec<u64> = (0..k * g)
                .map(|_| {
                    if rng.random_bool(0.4) { rng.random_range(0..min_cell) } else { rng.random_range(0..25) }
                })
                .collect();
            // The segmentation withholds its small segments and one more, or none.
            let sizes: Vec<u64> = (0..k).map(|j| table[j * g..(j + 1) * g].iter().sum()).collect();
            if sizes.contains(&0) {
                continue;
            }
            let min_segment = rng.random_range(0..30u64);
            let mut hidden: Vec<bool> = sizes.iter().map(|&n| n < min_segment).collect();
            if hidden.iter().any(|&h| h)
                && let Some(j) = (0..k).find(|&j| !hidden[j])
            {
                hidden[j] = true;
            }
            let released = Released::exact(&table, k, g, min_cell, &hidden);
            let x = extended(&table, k, g);
            let w = g + 1;
            let mut free = vec![false; x.len()];
            for j in 0..k {
                for l in 0..g {
                    free[j * w + l] = released.cells[j * g + l].is_none();
                }
                free[j * w + g] = hidden[j] && hidden.iter().filter(|&&h| h).count() >= 2;
            }
            for l in 0..g {
                free[k * w + l] = released.totals[l].is_none();
            }
            let what = format!("trial {trial}: {k}x{g} {table:?} min {min_cell} hidden {hidden:?}");
            let search = Search { x: &x, free: &free, k, g };
            let large = |r: usize, c: usize| x[r * w + c] as u64 >= min_cell;
            for at in (0..x.len()).filter(|&p| free[p]) {
                assert!(
                    search.can_move(at, 1) || search.can_move(at, -1),
                    "{what}: position {at} is determined"
                );
                let (r, c) = (at / w, at % w);
                if c == g || x[at] as u64 >= min_cell {
                    continue;
                }
                // Where a rectangle of large values exists in the table, the small value must
                // be able to grow by the minimum: through a large cell of its row and a large
                // cell of its column or a large total (a cell), or through a large total and a
                // large cell under it (a total).
                let rectangle = if r < k {
                    (0..g)
                        .filter(|&c2| c2 != c && large(r, c2))
                        .any(|c2| large(k, c2) || (0..k).any(|r2| r2 != r && large(r2, c)))
                } else {
                    (0..g).filter(|&c2| c2 != c && large(k, c2)).any(|c2| (0..k).any(|r2| large(r2, c2)))
                };
                if rectangle {
                    assert!(
                        search.can_move(at, min_cell as i64),
                        "{what}: small position {at} cannot reach the minimum"
                    );
                }
            }
            // Nothing small is released.
            for (v, r) in table.iter().zip(&released.cells) {
                assert!(r.is_none() || *v >= min_cell, "{what}: {v} released");
            }
        }
    }

    /// What the rule costs on tables like real ones (segments of tens to hundreds of
    /// customers, a few small cells): one rectangle per small cell at most, and no total.
    #[test]
    fn a_few_small_cells_cost_a_rectangle_each_and_no_total() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(23);
        for _ in 0..300 {
            let (k, g) = (rng.random_range(3..9usize), rng.random_range(2..5usize));
            let mut table: Vec<u64> = (0..k * g).map(|_| rng.random_range(10..300)).collect();
            let smalls = rng.random_range(1..3usize);
            for _ in 0..smalls {
                let i = rng.random_range(0..k * g);
                table[i] = rng.random_range(0..10);
            }
            let released = Released::exact(&table, k, g, 10, &vec![false; k]);
            let withheld = released.cells.iter().filter(|c| c.is_none()).count();
            assert!(withheld <= 4 * smalls, "{table:?}: {withheld} cells withheld");
            assert!(released.totals.iter().all(Option::is_some), "{table:?}: {released:?}");
        }
    }

    #[test]
    fn a_small_cell_takes_a_rectangle_of_large_ones_with_it() {
        // 3 is below 5. Its row and column hold 40 and 30; withholding them and the fourth
        // corner (60) lets the 3 grow to 8 by moving 5 records around the rectangle.
        let released = Released::exact(&[3, 40, 30, 60], 2, 2, 5, &[false, false]);
        assert_eq!(released.cells, vec![None, None, None, None]);
        assert_eq!(released.totals, vec![Some(33), Some(100)]);
        // A small total (4) of small cells: its rectangle runs through the other total and
        // a large cell of its column's segment.
        let released = Released::exact(&[2, 40, 1, 60, 1, 50], 3, 2, 5, &[false; 3]);
        assert_eq!(released.totals, vec![None, None], "{released:?}");
        assert!(released.cells[0].is_none() && released.cells[1].is_none(), "{released:?}");
        assert!(released.cells[4].is_none(), "{released:?}");
        // Without a small value everything is shown.
        let released = Released::exact(&[13, 40, 30, 60], 2, 2, 5, &[false, false]);
        assert!(released.cells.iter().chain(&released.totals).all(Option::is_some));
    }

    #[test]
    fn the_rows_of_withheld_segments_are_withheld_whole() {
        let hidden = [false, true, true];
        let released = Released::exact(&[20, 30, 1, 2, 25, 40], 3, 2, 0, &hidden);
        assert_eq!(released.cells, vec![Some(20), Some(30), None, None, None, None]);
        assert_eq!(released.totals, vec![Some(46), Some(72)]);
    }
}
