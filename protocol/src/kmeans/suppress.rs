//! Small segments and what a k-means job publishes beside its opened outputs.
//!
//! A segment of very few records would give away something close to those records (a segment
//! of one has that record as its centroid). With a minimum `m`, the flags `[size_j < m]` are
//! computed on shares and opened to the parties (which segments are small, not their sizes).
//!
//! Withholding the small segments alone is not enough: the record count and the features'
//! exact means are released too (and a `stats` job releases the exact sums), so a lone
//! withheld segment's size is the count less the released sizes, and its centroid the total
//! sum less the released segments' sums, over that size. So whenever a segment is withheld, a
//! second one is withheld with it, the first segment in the job's own order that is not small
//! (complementary suppression, a choice that depends on no count beyond the flags, and the
//! same for an identical segmentation): what the releases then give away is the withheld
//! segments' combined size and sum, an aggregate of at least `m` records. (Knowing the rule,
//! the operator can tell which withheld segment is the small one, not its size.) The
//! within-cluster sum of squares is not released either (with the sum of squares a `stats`
//! job releases, it would tell how far apart the withheld segments are). The withheld
//! segments' centroids and sizes are multiplied by 0 before the outputs are stored: the
//! operator never receives them.

use crate::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};

/// How a job scaled the features before clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// `(x - mean) / std`, with the mean and deviation computed on shares and opened to the
    /// parties (the exact job).
    #[default]
    Standardised,
    /// `(x - m) / (3 s)` clipped into `[-1, 1]`, with a differentially private mean `m` and
    /// deviation `s` (the private job).
    Clipped,
}

/// What the parties publish with a k-means job's outputs, to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// How the features were scaled.
    pub scaling: Scaling,
    /// Each feature's centre (its mean, exact or noisy).
    pub centres: Vec<f64>,
    /// Each feature's scale (its standard deviation, or three noisy ones).
    pub scales: Vec<f64>,
    /// Whether each segment (in the job's own numbering) is suppressed.
    pub suppressed: Vec<bool>,
    /// Whether the outputs carry the within-cluster sum of squares.
    pub wcss: bool,
}

/// Suppresses the segments of fewer than `min` records from `outputs` (`[centroids (k d),
/// sizes (k), wcss]`): the flags `[size < min]` are computed on shares and opened to every
/// party; the small segments and a complementary one ([`complement`]) have their centroids and
/// sizes set to 0, and the within-cluster sum of squares too. Returns the masked outputs and
/// which segments are withheld. Nothing happens when `min` is 0 or 1.
pub async fn suppress_small<E: Engine>(
    engine: &mut E,
    outputs: &E::Share,
    k: usize,
    d: usize,
    min: u64,
) -> Result<(E::Share, Vec<bool>), EngineError> {
    if min <= 1 {
        return Ok((outputs.clone(), vec![false; k]));
    }
    let sizes = engine.split(outputs, &[k * d, k, 1]).remove(1);
    let small = engine.less_than(&sizes, &engine.public(&vec![min; k])).await?;
    let flags: Vec<bool> = engine.open(&small).await?.iter().map(|&v| v == 1).collect();
    let withheld = complement(&flags);
    Ok((mask(engine, outputs, &withheld, d), withheld))
}

/// The segments to withhold given which are small: none if none is; otherwise the small ones
/// and the first that is not (all of them if every segment is small).
pub fn complement(small: &[bool]) -> Vec<bool> {
    let mut withheld = small.to_vec();
    if small.iter().any(|&s| s)
        && let Some(j) = small.iter().position(|&s| !s)
    {
        withheld[j] = true;
    }
    withheld
}

/// `outputs` with the centroids and sizes of the flagged segments set to 0, and the
/// within-cluster sum of squares too when any segment is flagged (local).
pub fn mask<E: Engine>(engine: &E, outputs: &E::Share, flags: &[bool], d: usize) -> E::Share {
    let keep = |j: usize| u64::from(!flags[j]);
    let mut m: Vec<u64> = (0..flags.len() * d).map(|i| keep(i / d)).collect();
    m.extend((0..flags.len()).map(keep));
    m.push(u64::from(!flags.iter().any(|&f| f)));
    engine.mul_public(outputs, &m)
}

#[cfg(test)]
mod tests {
    use super::complement;

    #[test]
    fn a_withheld_segment_never_stands_alone() {
        assert_eq!(complement(&[false, false, false]), vec![false, false, false]);
        assert_eq!(complement(&[false, true, false]), vec![true, true, false]);
        assert_eq!(complement(&[true, false, true, false]), vec![true, true, true, false]);
        assert_eq!(complement(&[true, true]), vec![true, true]);
        assert_eq!(complement(&[true]), vec![true]);
    }
}
