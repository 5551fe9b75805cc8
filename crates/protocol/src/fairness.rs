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

use crate::engine::Engine;
use crate::replicated::EngineError;
use serde::{Deserialize, Serialize};

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

/// One segment's row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentFairness {
    /// The segmentation's own number of the segment (as in the k-means result and labels).
    pub id: usize,
    /// Records in the segment.
    pub size: u64,
    /// Count of each group (`None` where suppressed: below the minimum cell size).
    pub counts: Vec<Option<u64>>,
    /// Each group's share of the segment.
    pub shares: Vec<Option<f64>>,
    /// Each group's rate of landing in the segment.
    pub rates: Vec<Option<f64>>,
    /// Largest minus smallest rate.
    pub parity_difference: f64,
    /// Smallest over largest rate.
    pub parity_ratio: f64,
    /// Whether the ratio is below four fifths.
    pub four_fifths_violated: bool,
}

/// The fairness report of a segmentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Group names.
    pub groups: Vec<String>,
    /// Records of each group.
    pub group_totals: Vec<u64>,
    /// One entry per segment.
    pub segments: Vec<SegmentFairness>,
    /// Pearson's chi-square statistic of independence.
    pub chi_square: f64,
    /// Its degrees of freedom.
    pub degrees_of_freedom: u64,
    /// Its p-value.
    pub p_value: f64,
    /// Cramer's V.
    pub cramers_v: f64,
    /// The balance of the segmentation.
    pub balance: f64,
    /// Cells below this count are not shown.
    pub min_cell: u64,
    /// How many cells were suppressed.
    pub suppressed_cells: usize,
}

/// Reads an opened contingency table (`k x g`, row-major) into a report. Segments are listed by
/// size, largest first, as the k-means result lists them. Metrics use every count; cells below
/// `min_cell` are left out of the per-cell figures shown.
pub fn report(table: &[u64], k: usize, g: usize, groups: &[String], min_cell: u64) -> Report {
    let size_of = |j: usize| table[j * g..(j + 1) * g].iter().sum::<u64>();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(size_of(j)));
    let table: Vec<u64> = order.iter().flat_map(|&j| table[j * g..(j + 1) * g].to_vec()).collect();
    let cell = |j: usize, l: usize| table[j * g + l];
    let total: u64 = table.iter().sum();
    let group_totals: Vec<u64> = (0..g).map(|l| (0..k).map(|j| cell(j, l)).sum()).collect();
    let sizes: Vec<u64> = (0..k).map(|j| (0..g).map(|l| cell(j, l)).sum()).collect();
    let mut suppressed = 0;
    let segments = (0..k)
        .map(|j| {
            let rates: Vec<f64> = (0..g)
                .map(|l| if group_totals[l] > 0 { cell(j, l) as f64 / group_totals[l] as f64 } else { 0.0 })
                .collect();
            let present: Vec<f64> = (0..g).filter(|&l| group_totals[l] > 0).map(|l| rates[l]).collect();
            let max = present.iter().copied().fold(0.0, f64::max);
            let min = present.iter().copied().fold(f64::INFINITY, f64::min);
            let ratio = if max > 0.0 { min / max } else { 1.0 };
            let shown = |l: usize| cell(j, l) >= min_cell;
            suppressed += (0..g).filter(|&l| !shown(l)).count();
            SegmentFairness {
                id: order[j],
                size: sizes[j],
                counts: (0..g).map(|l| shown(l).then_some(cell(j, l))).collect(),
                shares: (0..g)
                    .map(|l| (shown(l) && sizes[j] > 0).then(|| cell(j, l) as f64 / sizes[j] as f64))
                    .collect(),
                rates: (0..g).map(|l| shown(l).then_some(rates[l])).collect(),
                parity_difference: if present.is_empty() { 0.0 } else { max - min },
                parity_ratio: ratio,
                four_fifths_violated: ratio < 0.8,
            }
        })
        .collect();
    // Chi-square over the rows and columns that have records.
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
    let balance = (0..k)
        .filter(|&j| sizes[j] > 0)
        .map(|j| {
            let counts: Vec<u64> = cols.iter().map(|&l| cell(j, l)).collect();
            let max = counts.iter().copied().max().unwrap_or(0);
            let min = counts.iter().copied().min().unwrap_or(0);
            if max > 0 { min as f64 / max as f64 } else { 0.0 }
        })
        .fold(1.0, f64::min);
    Report {
        groups: groups.to_vec(),
        group_totals,
        segments,
        chi_square,
        degrees_of_freedom: dof,
        p_value,
        cramers_v,
        balance,
        min_cell,
        suppressed_cells: suppressed,
    }
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

    #[test]
    fn report_of_an_independent_and_of_a_segregated_table() {
        let groups = vec!["a".to_string(), "b".to_string()];
        // Independent: every segment has the same mix.
        let even = report(&[10, 20, 30, 60], 2, 2, &groups, 0);
        assert!(even.chi_square.abs() < 1e-12);
        assert!((even.p_value - 1.0).abs() < 1e-12);
        assert!((even.balance - 0.5).abs() < 1e-12);
        assert!((even.segments[0].parity_difference).abs() < 1e-12);
        assert!(!even.segments[0].four_fifths_violated);
        // Segregated: each segment holds one group only.
        let split = report(&[50, 0, 0, 50], 2, 2, &groups, 0);
        assert!((split.cramers_v - 1.0).abs() < 1e-12);
        assert!(split.p_value < 1e-20);
        assert_eq!(split.balance, 0.0);
        assert!(split.segments[0].four_fifths_violated);
        assert!((split.segments[0].parity_difference - 1.0).abs() < 1e-12);
        // Small cells are suppressed from what is shown.
        let small = report(&[3, 40, 30, 60], 2, 2, &groups, 5);
        // Listed by size: the segment of 90 first.
        assert_eq!(small.segments[0].size, 90);
        assert_eq!(small.segments[1].counts, vec![None, Some(40)]);
        assert_eq!(small.suppressed_cells, 1);
    }
}
