//! Fairness statistics of a segmentation: the segment-by-group contingency table computed on
//! shares, and the metrics read from it.
//!
//! The table is `A^T G` where `A` is the secret one-hot segment of each record (`n x k`, from
//! the k-means job) and `G` the one-hot group of the protected attribute (`n x g`, built on
//! shares by `g` equality tests of the level codes). Only the table is opened. From it:
//! per segment, each group's count and share of the segment, and each group's rate of landing
//! in the segment (count / group size); the demographic parity difference (largest minus
//! smallest rate) and ratio (smallest over largest), fairlearn's definitions with membership
//! of the segment as the selection; the four-fifths flag (ratio below 0.8); for the whole
//! segmentation, Pearson's chi-square test of independence with its p-value, Cramer's V, and
//! the balance (the smallest, over segments, of the smallest over the largest group count in
//! the segment, after Chierichetti et al. 2017, for any number of groups: it reaches the
//! groups' overall smallest-to-largest ratio when every segment has the overall mix, and 0
//! when a segment misses a group).

use crate::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};

mod withhold;

pub use withhold::withheld;

/// The contingency table (`k x g`, row-major) of the secret `assignment` (`n x k` one-hot)
/// against the secret level codes `levels` (`n` integers in `0..g`).
pub async fn contingency<E: Engine>(
    engine: &mut E,
    assignment: &E::Share,
    levels: &E::Share,
    k: usize,
    g: usize,
) -> Result<E::Share, EngineError> {
    let n = E::len(levels);
    let diffs: Vec<E::Share> =
        (0..g).map(|l| engine.sub(levels, &engine.public(&vec![l as u64; n]))).collect();
    let groups_t = engine.eqz(&engine.concat(&diffs.iter().collect::<Vec<_>>())).await?; // g x n
    let groups = engine.transpose(&groups_t, g, n);
    let at = engine.transpose(assignment, n, k);
    engine.matmul(&at, &groups, k, n, g).await
}

/// What a fairness job released: each cell of the `k x g` table and each group's total, or
/// `None` where withheld.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Released {
    /// Segments.
    pub k: usize,
    /// Groups.
    pub g: usize,
    /// The table, row-major.
    pub cells: Vec<Option<u64>>,
    /// The groups' totals.
    pub totals: Vec<Option<u64>>,
}

impl Released {
    /// From opened values `[cells (k g), totals (g)]` and the withheld pattern of
    /// [`withheld`]; noisy values below 0 (from a private job) read as 0.
    pub fn from_opened(values: &[u64], withheld: &[bool], k: usize, g: usize) -> Option<Released> {
        if values.len() != k * g + g || withheld.len() != values.len() {
            return None;
        }
        let read = |i: usize| (!withheld[i]).then(|| (values[i] as i64).max(0) as u64);
        Some(Released {
            k,
            g,
            cells: (0..k * g).map(read).collect(),
            totals: (k * g..k * g + g).map(read).collect(),
        })
    }

    /// The plaintext release of `table` (`k x g`): the same pattern as the secure job's.
    pub fn exact(table: &[u64], k: usize, g: usize, min_cell: u64, hidden_rows: &[bool]) -> Released {
        let mut values = table.to_vec();
        values.extend((0..g).map(|l| (0..k).map(|j| table[j * g + l]).sum::<u64>()));
        let w = withheld(values.iter().any(|&v| v < min_cell), hidden_rows, k, g);
        Released::from_opened(&values, &w, k, g).expect("consistent lengths")
    }
}

/// The outputs a fairness job stores for the operator, on shares: the table and the group
/// totals (column sums, local), `k g + g` values.
pub fn with_totals<E: Engine>(engine: &E, table: &E::Share, k: usize, g: usize) -> E::Share {
    let totals = engine.sums(&engine.split(&engine.transpose(table, k, g), &vec![k; g]));
    engine.concat(&[table, &totals])
}

/// The noise of every cell of a private fairness job's table: neighbouring datasets differ
/// in one record's values, which moves it from one cell to another (L1 sensitivity 2), so each
/// cell gets `DL(exp(-eps / 2))` and the whole table is `eps`-differentially private given the
/// (public, private) centroids that define the segments. The group totals are sums of the
/// noisy cells.
pub fn cell_noise(epsilon: f64) -> Result<crate::dp::Laplace, crate::dp::DpError> {
    crate::dp::Laplace::new(epsilon, 2.0).map_err(|e| e.about("each cell of the table"))
}

/// What a fairness job stores for the operator, on shares (`[cells (k g), totals (g)]` with
/// the withheld values at 0), the withheld pattern, and what was opened to every party (the
/// small-value flags, or the noisy values). With
/// `private = Some((eps, who))` every cell gets distributed noise ([`cell_noise`]) and the noisy
/// table is opened to the parties, which withhold its values below `min_cell` as
/// post-processing, with no secondary suppression: the margins are noisy too, and what a
/// subtraction recovers is a noisy value, itself differentially private. Otherwise which of
/// whether any cell or total is below `min_cell` is found on shares and only that bit is
/// opened, and [`withheld`] decides what to withhold (all of it if any is small).
pub async fn release<E: Engine, R: rand::Rng + ?Sized>(
    engine: &mut E,
    rng: &mut R,
    table: &E::Share,
    (k, g): (usize, usize),
    min_cell: u64,
    hidden_rows: &[bool],
    private: Option<(f64, crate::dp::NoiseParties)>,
) -> Result<(E::Share, Vec<bool>, Vec<u64>), EngineError> {
    // Each branch: the stored values, what was opened to the parties, the withheld pattern.
    let (values, opened, w) = match private {
        Some((epsilon, who)) => {
            let noisy =
                crate::dp::add_noise(engine, rng, table, &vec![cell_noise(epsilon)?; k * g], who).await?;
            let values = with_totals(engine, &noisy, k, g);
            let opened = engine.open(&values).await?;
            // Small noisy values, and the rows of the segments the segmentation withheld.
            let w = (0..k * g + g)
                .map(|i| {
                    let small = min_cell > 0 && (opened[i] as i64) < min_cell as i64;
                    small || (i < k * g && hidden_rows[i / g])
                })
                .collect();
            (values, opened, w)
        }
        None if min_cell == 0 => {
            (with_totals(engine, table, k, g), Vec::new(), withheld(false, hidden_rows, k, g))
        }
        None => {
            let values = with_totals(engine, table, k, g);
            // Only whether any value is small is opened: 1 when the flags add up to 0.
            let flags = engine.less_than(&values, &engine.public(&vec![min_cell; k * g + g])).await?;
            let none_small = engine.eqz(&engine.sum(&flags)).await?;
            let opened = engine.open(&none_small).await?;
            (values, opened.clone(), withheld(opened[0] == 0, hidden_rows, k, g))
        }
    };
    let keep: Vec<u64> = w.iter().map(|&x| u64::from(!x)).collect();
    Ok((engine.mul_public(&values, &keep), w, opened))
}

/// One segment's row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentFairness {
    /// The segmentation's own number of the segment (as in the k-means result and labels).
    pub id: usize,
    /// Records in the segment (`None` when one of its cells is withheld).
    pub size: Option<u64>,
    /// Count of each group (`None` where withheld).
    pub counts: Vec<Option<u64>>,
    /// Each group's share of the segment.
    pub shares: Vec<Option<f64>>,
    /// Each group's rate of landing in the segment.
    pub rates: Vec<Option<f64>>,
    /// Largest minus smallest rate (when every rate of the row is known).
    pub parity_difference: Option<f64>,
    /// Smallest over largest rate.
    pub parity_ratio: Option<f64>,
    /// Whether the ratio is below four fifths.
    pub four_fifths_violated: Option<bool>,
}

/// The fairness report of a segmentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Group names.
    pub groups: Vec<String>,
    /// Records of each group (`None` where withheld).
    pub group_totals: Vec<Option<u64>>,
    /// One entry per segment.
    pub segments: Vec<SegmentFairness>,
    /// Pearson's chi-square statistic of independence (when no cell is withheld).
    pub chi_square: Option<f64>,
    /// Its degrees of freedom.
    pub degrees_of_freedom: u64,
    /// Its p-value.
    pub p_value: Option<f64>,
    /// Cramer's V.
    pub cramers_v: Option<f64>,
    /// The balance of the segmentation.
    pub balance: Option<f64>,
    /// Cells below this count are withheld.
    pub min_cell: u64,
    /// How many cells and totals were withheld.
    pub suppressed_cells: usize,
}

/// Reads a release into a report. Segments are listed by size, largest first (a row with a
/// withheld cell by the sum of what it shows). The whole-table figures need every cell; a
/// row's parity figures need every cell of the row and every group total.
pub fn report(released: &Released, groups: &[String], min_cell: u64) -> Report {
    let (k, g) = (released.k, released.g);
    let row = |j: usize| &released.cells[j * g..(j + 1) * g];
    let shown = |j: usize| row(j).iter().flatten().sum::<u64>();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(shown(j)));
    let totals = &released.totals;
    let segments: Vec<SegmentFairness> = order
        .iter()
        .map(|&j| {
            let counts = row(j).to_vec();
            let size: Option<u64> = counts.iter().copied().sum();
            let rates: Vec<Option<f64>> = (0..g)
                .map(|l| match (counts[l], totals[l]) {
                    // At most 1 even when noisy cells exceed their noisy total.
                    (Some(c), Some(t)) if t > 0 => Some((c as f64 / t as f64).min(1.0)),
                    (Some(_), Some(_)) => Some(0.0),
                    _ => None,
                })
                .collect();
            let present: Option<Vec<f64>> =
                (0..g).filter(|&l| totals[l] != Some(0)).map(|l| rates[l]).collect();
            let (difference, ratio) = match present {
                Some(p) if !p.is_empty() => {
                    let max = p.iter().copied().fold(0.0, f64::max);
                    let min = p.iter().copied().fold(f64::INFINITY, f64::min);
                    (Some(max - min), Some(if max > 0.0 { min / max } else { 1.0 }))
                }
                Some(_) => (Some(0.0), Some(1.0)),
                None => (None, None),
            };
            SegmentFairness {
                id: j,
                size,
                shares: counts
                    .iter()
                    .map(|c| match (c, size) {
                        (Some(c), Some(s)) if s > 0 => Some(*c as f64 / s as f64),
                        _ => None,
                    })
                    .collect(),
                counts,
                rates,
                parity_difference: difference,
                parity_ratio: ratio,
                four_fifths_violated: ratio.map(|r| r < 0.8),
            }
        })
        .collect();
    let whole: Option<Vec<u64>> = released.cells.iter().copied().collect();
    let (chi_square, dof, p_value, cramers_v, balance) = match whole {
        Some(table) => {
            let w = whole_table(&table, k, g);
            (Some(w.0), w.1, Some(w.2), Some(w.3), Some(w.4))
        }
        None => (None, (k.saturating_sub(1) * g.saturating_sub(1)) as u64, None, None, None),
    };
    Report {
        groups: groups.to_vec(),
        group_totals: totals.clone(),
        segments,
        chi_square,
        degrees_of_freedom: dof,
        p_value,
        cramers_v,
        balance,
        min_cell,
        suppressed_cells: released.cells.iter().chain(totals).filter(|c| c.is_none()).count(),
    }
}

/// Chi-square, its degrees of freedom and p-value, Cramer's V and the balance of a whole
/// table (`k x g`), over the rows and columns that have records.
fn whole_table(table: &[u64], k: usize, g: usize) -> (f64, u64, f64, f64, f64) {
    let cell = |j: usize, l: usize| table[j * g + l];
    let total: u64 = table.iter().sum();
    let sizes: Vec<u64> = (0..k).map(|j| (0..g).map(|l| cell(j, l)).sum()).collect();
    let group_totals: Vec<u64> = (0..g).map(|l| (0..k).map(|j| cell(j, l)).sum()).collect();
    let rows: Vec<usize> = (0..k).filter(|&j| sizes[j] > 0).collect();
    let cols: Vec<usize> = (0..g).filter(|&l| group_totals[l] > 0).collect();
    let mut chi_square = 0.0;
    for &j in &rows {
        for &l in &cols {
            let expected = sizes[j] as f64 * group_totals[l] as f64 / total as f64;
            chi_square += (cell(j, l) as f64 - expected).powi(2) / expected;
        }
    }
    let dof = (rows.len().saturating_sub(1) * cols.len().saturating_sub(1)) as u64;
    let p_value = if dof > 0 { chi_square_sf(chi_square, dof as f64) } else { 1.0 };
    let min_dim = rows.len().min(cols.len());
    let cramers_v = if min_dim > 1 && total > 0 {
        (chi_square / (total as f64 * (min_dim - 1) as f64)).sqrt()
    } else {
        0.0
    };
    let balance = rows
        .iter()
        .map(|&j| {
            let counts: Vec<u64> = cols.iter().map(|&l| cell(j, l)).collect();
            let max = counts.iter().copied().max().unwrap_or(0);
            let min = counts.iter().copied().min().unwrap_or(0);
            if max > 0 { min as f64 / max as f64 } else { 0.0 }
        })
        .fold(1.0, f64::min);
    (chi_square, dof, p_value, cramers_v, balance)
}

/// The survival function of the chi-square distribution: `Q(dof / 2, x / 2)`, the regularised
/// upper incomplete gamma function, by its series below `a + 1` and its continued fraction
/// above (the classic Numerical Recipes split), to about 1e-12.
pub fn chi_square_sf(x: f64, dof: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let (a, x) = (dof / 2.0, x / 2.0);
    let ln_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // Lower series P(a, x) = e^-x x^a / Gamma(a + 1) * sum x^n / ((a + 1)...(a + n)).
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * ln_prefix.exp()).clamp(0.0, 1.0)
    } else {
        // Continued fraction for Q(a, x) (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (ln_prefix.exp() * h).clamp(0.0, 1.0)
    }
}

/// `ln Gamma(x)` for `x > 0` (Lanczos, g = 7, nine coefficients).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = C[1..].iter().enumerate().fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_tail_matches_tables() {
        // Critical values at 5% and 1% from standard tables.
        for (x, dof, p) in [
            (3.841, 1.0, 0.05),
            (5.991, 2.0, 0.05),
            (11.070, 5.0, 0.05),
            (6.635, 1.0, 0.01),
            (21.666, 9.0, 0.01),
        ] {
            assert!((chi_square_sf(x, dof) - p).abs() < 2e-4, "sf({x}, {dof}) = {}", chi_square_sf(x, dof));
        }
        assert_eq!(chi_square_sf(0.0, 3.0), 1.0);
        assert!(chi_square_sf(1000.0, 3.0) < 1e-100);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
    }

    fn exact(table: &[u64], min_cell: u64) -> Report {
        let groups = vec!["a".to_string(), "b".to_string()];
        report(&Released::exact(table, 2, 2, min_cell, &[false, false]), &groups, min_cell)
    }

    #[test]
    fn report_of_an_independent_and_of_a_segregated_table() {
        // Independent: every segment has the same mix.
        let even = exact(&[10, 20, 30, 60], 0);
        assert!(even.chi_square.unwrap().abs() < 1e-12);
        assert!((even.p_value.unwrap() - 1.0).abs() < 1e-12);
        assert!((even.balance.unwrap() - 0.5).abs() < 1e-12);
        assert!(even.segments[0].parity_difference.unwrap().abs() < 1e-12);
        assert_eq!(even.segments[0].four_fifths_violated, Some(false));
        // Segregated: each segment holds one group only.
        let split = exact(&[50, 0, 0, 50], 0);
        assert!((split.cramers_v.unwrap() - 1.0).abs() < 1e-12);
        assert!(split.p_value.unwrap() < 1e-20);
        assert_eq!(split.balance, Some(0.0));
        assert_eq!(split.segments[0].four_fifths_violated, Some(true));
        assert!((split.segments[0].parity_difference.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_small_cell_withholds_the_table_and_the_figures_that_need_it() {
        // 3 is below 5: every cell and total is withheld.
        let small = exact(&[3, 40, 30, 60], 5);
        assert_eq!(small.suppressed_cells, 6);
        assert!(small.segments.iter().all(|s| s.counts.iter().all(Option::is_none)));
        assert_eq!(small.group_totals, vec![None, None]);
        assert_eq!(small.chi_square, None);
        // Without a small cell everything is shown.
        let shown = exact(&[13, 40, 30, 60], 5);
        assert_eq!(shown.suppressed_cells, 0);
        assert_eq!(shown.segments[0].counts, vec![Some(30), Some(60)]);
        assert!(shown.chi_square.is_some());
    }
}
