//! What a job's opened values mean: the public description every node keeps with its
//! components of a job's outputs and returns with them, one structure per kind of job. It is
//! the same on every node (the orchestrator refuses a result whose nodes disagree) and holds
//! nothing secret: names, shapes, the scaling the parties opened, which values were withheld.
//!
//! On the wire it travels in [`crate::control::JobResultShares`] under
//! [`crate::PROTOCOL_VERSION`]; a node stores it in its job records as JSON, and reads the
//! records of earlier versions (which kept positional parameters) through [`OutputLayout::from_v3`].

use serde::{Deserialize, Serialize};

/// How to read a job's opened values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputLayout {
    /// Of a `stats` job.
    Stats(StatsOutput),
    /// Of a `kmeans` job.
    Kmeans(KmeansOutput),
    /// Of a `fairness` job.
    Fairness(FairnessOutput),
    /// Of a `bench` job: samples of the workload, checked against plaintext.
    Bench(BenchOutput),
}

/// The outputs of a `stats` job: per feature, in this order, its sum, then (exact job) its
/// scaled sum of squares, or (private job) its noisy count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsOutput {
    /// The features, in the order of the values.
    pub features: Vec<String>,
    /// Per feature, the power of two its values were divided by before they were squared.
    pub variance_scales: Vec<u32>,
}

/// How a k-means job scaled the features before clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// `(x - mean) / std`, with the exact mean and deviation opened to the parties.
    Standardised,
    /// `(x - m) / (3 s)` clipped into `[-1, 1]`, with a differentially private mean and
    /// deviation.
    Clipped,
}

/// The outputs of a `kmeans` job: the `k x d` centroids in standardised units (row-major),
/// the `k` sizes, and the within-cluster sum of squares when `wcss` says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmeansOutput {
    /// The features, in centroid order.
    pub features: Vec<String>,
    /// Number of segments.
    pub k: u32,
    /// How the features were scaled.
    pub scaling: Scaling,
    /// Each feature's centre (its mean, exact or noisy).
    pub centres: Vec<f64>,
    /// Each feature's scale (its standard deviation, or three noisy ones).
    pub scales: Vec<f64>,
    /// Whether each segment (in the job's own numbering) is withheld.
    pub withheld: Vec<bool>,
    /// Whether the outputs carry the within-cluster sum of squares.
    pub wcss: bool,
}

/// The outputs of a `fairness` job: the `k x g` segment-by-group table (row-major), then the
/// `g` group totals, with the withheld ones set to zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairnessOutput {
    /// Number of segments.
    pub segments: u32,
    /// The protected column's levels, in code order.
    pub groups: Vec<String>,
    /// Whether each cell, then each group total, is withheld.
    pub withheld: Vec<bool>,
}

/// The outputs of a `bench` job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchOutput {
    /// The workload.
    pub op: String,
}

impl OutputLayout {
    /// The job kind it belongs to, as on the command line.
    pub fn kind(&self) -> &'static str {
        match self {
            OutputLayout::Stats(_) => "stats",
            OutputLayout::Kmeans(_) => "kmeans",
            OutputLayout::Fairness(_) => "fairness",
            OutputLayout::Bench(_) => "bench",
        }
    }

    /// Names of what the outputs describe (features, groups or the workload), for logs and
    /// the audit trail.
    pub fn names(&self) -> Vec<String> {
        match self {
            OutputLayout::Stats(s) => s.features.clone(),
            OutputLayout::Kmeans(k) => k.features.clone(),
            OutputLayout::Fairness(f) => f.groups.clone(),
            OutputLayout::Bench(b) => vec![format!("{} samples", b.op)],
        }
    }

    /// Reads the layout of protocol version 3, which kept output names and positional
    /// parameters: `kind` is the job's kind and, for `bench`, `op` its workload. `None` when
    /// the parameters do not have the shape that version wrote.
    pub fn from_v3(kind: &str, op: Option<&str>, names: Vec<String>, params: &[u64]) -> Option<Self> {
        match kind {
            "stats" => {
                if params.len() != names.len() {
                    return None;
                }
                let variance_scales = params.iter().map(|&s| u32::try_from(s).ok()).collect::<Option<_>>()?;
                Some(OutputLayout::Stats(StatsOutput { features: names, variance_scales }))
            }
            "kmeans" => {
                // `[k, scaling, wcss, centres (d, f64 bits), scales (d), withheld (k)]`.
                let d = names.len();
                let k = *params.first()? as usize;
                if params.len() != 3 + 2 * d + k {
                    return None;
                }
                let floats =
                    |from: usize| params[from..from + d].iter().map(|b| f64::from_bits(*b)).collect();
                let scaling = match params[1] {
                    0 => Scaling::Standardised,
                    1 => Scaling::Clipped,
                    _ => return None,
                };
                Some(OutputLayout::Kmeans(KmeansOutput {
                    features: names,
                    k: u32::try_from(k).ok()?,
                    scaling,
                    centres: floats(3),
                    scales: floats(3 + d),
                    withheld: params[3 + 2 * d..].iter().map(|&w| w != 0).collect(),
                    wcss: params[2] != 0,
                }))
            }
            "fairness" => {
                // `[k, g, withheld (k g + g)]`.
                let (k, g) = match params {
                    [k, g, ..] => (usize::try_from(*k).ok()?, usize::try_from(*g).ok()?),
                    _ => return None,
                };
                if g != names.len() || params.len() != 2 + k.checked_mul(g)?.checked_add(g)? {
                    return None;
                }
                Some(OutputLayout::Fairness(FairnessOutput {
                    segments: u32::try_from(k).ok()?,
                    groups: names,
                    withheld: params[2..].iter().map(|&w| w != 0).collect(),
                }))
            }
            "bench" => Some(OutputLayout::Bench(BenchOutput { op: op?.to_string() })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_tagged_by_kind_in_json() {
        let layout = OutputLayout::Fairness(FairnessOutput {
            segments: 1,
            groups: vec!["a".into()],
            withheld: vec![false, true],
        });
        let json = serde_json::to_value(&layout).unwrap();
        assert_eq!(json["fairness"]["groups"][0], "a");
        assert_eq!(serde_json::from_value::<OutputLayout>(json).unwrap(), layout);
        assert_eq!(layout.kind(), "fairness");
    }

    #[test]
    fn earlier_positional_parameters_are_read_by_kind() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            OutputLayout::from_v3("stats", None, names(&["age", "income"]), &[3, 20]),
            Some(OutputLayout::Stats(StatsOutput {
                features: names(&["age", "income"]),
                variance_scales: vec![3, 20]
            }))
        );
        assert_eq!(OutputLayout::from_v3("stats", None, names(&["age"]), &[3, 20]), None);
        let mut params = vec![2, 1, 0, 1.5f64.to_bits(), 2.5f64.to_bits(), 0, 1];
        let kmeans = OutputLayout::from_v3("kmeans", None, names(&["x"]), &params).unwrap();
        assert_eq!(
            kmeans,
            OutputLayout::Kmeans(KmeansOutput {
                features: names(&["x"]),
                k: 2,
                scaling: Scaling::Clipped,
                centres: vec![1.5],
                scales: vec![2.5],
                withheld: vec![false, true],
                wcss: false,
            })
        );
        params[1] = 7;
        assert_eq!(OutputLayout::from_v3("kmeans", None, names(&["x"]), &params), None);
        params.pop();
        assert_eq!(OutputLayout::from_v3("kmeans", None, names(&["x"]), &params), None);
        let fairness = OutputLayout::from_v3("fairness", None, names(&["a", "b"]), &[1, 2, 0, 1, 0, 0]);
        assert!(
            matches!(fairness, Some(OutputLayout::Fairness(f)) if f.withheld == [false, true, false, false])
        );
        assert_eq!(OutputLayout::from_v3("fairness", None, names(&["a", "b"]), &[1, 2, 0]), None);
        assert_eq!(OutputLayout::from_v3("fairness", None, names(&["a"]), &[u64::MAX, u64::MAX]), None);
        assert_eq!(
            OutputLayout::from_v3("bench", Some("mul"), names(&["mul samples"]), &[]),
            Some(OutputLayout::Bench(BenchOutput { op: "mul".into() }))
        );
        assert_eq!(OutputLayout::from_v3("export", None, vec![], &[]), None);
    }
}
