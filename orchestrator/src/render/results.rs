//! The results of jobs: one document per kind (`stats`, `kmeans`, `fairness`, `bench`), each
//! with its `kind` and `version`, its figures keyed by name; and the `segmentation` document
//! that holds a k-means result with its fairness report (`plain kmeans`, `report`).

use super::{Keyed, Render, VERSION, to_json};
use crate::client::{BenchResult, FairnessResult, JobResult, KmeansResult, NodeTraffic, StatsResult};
use crate::table;
use serde::Serialize;

/// How a result's heading says that its figures carry differential-privacy noise.
fn private_note(epsilon: Option<f64>) -> String {
    epsilon.map_or_else(String::new, |e| {
        format!(", differentially private at epsilon {e}: every figure carries noise that no node drew alone")
    })
}

/// One feature's summary in a `stats` result.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureView {
    /// Records.
    pub count: u64,
    /// Sum of the feature.
    pub sum: f64,
    /// Mean (`null` without records).
    pub mean: Option<f64>,
    /// Population variance (`null` without records).
    pub variance: Option<f64>,
    /// Population standard deviation (`null` without records).
    pub std_dev: Option<f64>,
}

/// The JSON of a `stats` result (`docs/schemas/stats.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct StatsView {
    /// Always `stats`.
    pub kind: &'static str,
    /// The shape's version.
    pub version: u32,
    /// The job.
    pub job: String,
    /// The dataset.
    pub dataset: String,
    /// Records covered.
    pub count: u64,
    /// The differential-privacy budget of the release, if the figures are noisy.
    pub epsilon: Option<f64>,
    /// Each feature's summary, keyed by feature, in the job's order.
    pub features: Keyed<FeatureView>,
}

impl From<&StatsResult> for StatsView {
    fn from(r: &StatsResult) -> Self {
        let features = r
            .features
            .iter()
            .map(|(name, s)| {
                let view = FeatureView {
                    count: s.count,
                    sum: s.sum,
                    mean: s.mean,
                    variance: s.variance,
                    std_dev: s.std_dev,
                };
                (name.clone(), view)
            })
            .collect();
        Self {
            kind: "stats",
            version: VERSION,
            job: r.job.clone(),
            dataset: r.dataset.clone(),
            count: r.count,
            epsilon: r.epsilon,
            features: Keyed(features),
        }
    }
}

/// One segment of a `kmeans` result.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentView {
    /// The job's own number of the segment (as in the owners' label files).
    pub id: usize,
    /// Whether the segment is withheld (below the minimum size, or withheld with one that
    /// is): its size and centroid are then `null`.
    pub withheld: bool,
    /// Records in the segment (noisy for a private job).
    pub size: Option<u64>,
    /// The centroid in the features' own units, keyed by feature.
    pub centroid: Option<Keyed<f64>>,
    /// The centroid in the units the job clustered in (see `scaling`), keyed by feature.
    pub centroid_scaled: Option<Keyed<f64>>,
}

/// The JSON of a `kmeans` result (`docs/schemas/kmeans.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct KmeansView {
    /// Always `kmeans`.
    pub kind: &'static str,
    /// The shape's version.
    pub version: u32,
    /// The job.
    pub job: String,
    /// The dataset.
    pub dataset: String,
    /// Records segmented.
    pub count: u64,
    /// The differential-privacy budget of the job (DPLloyd), if any.
    pub epsilon: Option<f64>,
    /// Segments below this size are withheld.
    pub min_segment: u64,
    /// The features, in the job's order.
    pub features: Vec<String>,
    /// How the features were scaled before clustering: `standardised` (`(x - centre) /
    /// scale`) or `clipped` (`(x - centre) / scale` clipped into `[-1, 1]`).
    pub scaling: String,
    /// Each feature's centre, keyed by feature.
    pub centres: Keyed<f64>,
    /// Each feature's scale, keyed by feature.
    pub scales: Keyed<f64>,
    /// Within-cluster sum of squares in the scaled units (`null` for a private job).
    pub wcss: Option<f64>,
    /// The segments, in the result's order.
    pub segments: Vec<SegmentView>,
}

impl From<&KmeansResult> for KmeansView {
    fn from(r: &KmeansResult) -> Self {
        let s = &r.segments;
        let row = |values: &[f64], j: usize| Keyed::zip(&r.features, values[j * s.d..(j + 1) * s.d].to_vec());
        let segments = (0..s.k)
            .map(|j| {
                let withheld = s.suppressed[j];
                SegmentView {
                    id: s.ids[j],
                    withheld,
                    size: (!withheld).then_some(s.sizes[j]),
                    centroid: (!withheld).then(|| row(&s.centroids, j)),
                    centroid_scaled: (!withheld).then(|| row(&s.centroids_std, j)),
                }
            })
            .collect();
        Self {
            kind: "kmeans",
            version: VERSION,
            job: r.job.clone(),
            dataset: r.dataset.clone(),
            count: r.count,
            epsilon: r.epsilon,
            min_segment: r.min_segment,
            features: r.features.clone(),
            scaling: match s.scaling {
                protocol::kmeans::Scaling::Standardised => "standardised",
                protocol::kmeans::Scaling::Clipped => "clipped",
            }
            .into(),
            centres: Keyed::zip(&r.features, s.centres.clone()),
            scales: Keyed::zip(&r.features, s.scales.clone()),
            wcss: s.wcss,
            segments,
        }
    }
}

/// One segment's row of a fairness report.
#[derive(Debug, Clone, Serialize)]
pub struct FairnessRowView {
    /// The segmentation's own number of the segment.
    pub segment: usize,
    /// Records in the segment (`null` when one of its cells is withheld).
    pub size: Option<u64>,
    /// Each group's count in the segment, keyed by group (`null` where withheld).
    pub counts: Keyed<Option<u64>>,
    /// Each group's share of the segment, keyed by group.
    pub shares: Keyed<Option<f64>>,
    /// Each group's rate of landing in the segment, keyed by group.
    pub rates: Keyed<Option<f64>>,
    /// Largest minus smallest rate.
    pub parity_difference: Option<f64>,
    /// Smallest over largest rate.
    pub parity_ratio: Option<f64>,
    /// Whether the ratio is below four fifths.
    pub four_fifths_violated: Option<bool>,
}

/// The whole-segmentation figures of a fairness report (`null` unless every cell is shown).
#[derive(Debug, Clone, Serialize)]
pub struct FairnessMetrics {
    /// Pearson's chi-square statistic of independence.
    pub chi_square: Option<f64>,
    /// Its degrees of freedom.
    pub degrees_of_freedom: u64,
    /// Its p-value.
    pub p_value: Option<f64>,
    /// Cramer's V.
    pub cramers_v: Option<f64>,
    /// The balance of the segmentation.
    pub balance: Option<f64>,
}

/// The JSON of a `fairness` result (`docs/schemas/fairness.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct FairnessView {
    /// Always `fairness`.
    pub kind: &'static str,
    /// The shape's version.
    pub version: u32,
    /// The job.
    pub job: String,
    /// The `kmeans` job whose segments were examined.
    pub segments_job: String,
    /// The protected column.
    pub protected: String,
    /// The differential-privacy budget of the table, if its cells are noisy.
    pub epsilon: Option<f64>,
    /// Cells below this count are withheld.
    pub min_cell: u64,
    /// The groups, in the schema's order.
    pub groups: Vec<String>,
    /// Records of each group, keyed by group (`null` where withheld).
    pub group_totals: Keyed<Option<u64>>,
    /// The table: one row per segment, largest first.
    pub segments: Vec<FairnessRowView>,
    /// The whole-segmentation figures.
    pub metrics: FairnessMetrics,
    /// How many cells and totals were withheld.
    pub withheld_values: usize,
}

impl From<&FairnessResult> for FairnessView {
    fn from(f: &FairnessResult) -> Self {
        let r = &f.report;
        let segments = r
            .segments
            .iter()
            .map(|s| FairnessRowView {
                segment: s.id,
                size: s.size,
                counts: Keyed::zip(&r.groups, s.counts.clone()),
                shares: Keyed::zip(&r.groups, s.shares.clone()),
                rates: Keyed::zip(&r.groups, s.rates.clone()),
                parity_difference: s.parity_difference,
                parity_ratio: s.parity_ratio,
                four_fifths_violated: s.four_fifths_violated,
            })
            .collect();
        Self {
            kind: "fairness",
            version: VERSION,
            job: f.job.clone(),
            segments_job: f.segments_job.clone(),
            protected: f.protected.clone(),
            epsilon: f.epsilon,
            min_cell: r.min_cell,
            groups: r.groups.clone(),
            group_totals: Keyed::zip(&r.groups, r.group_totals.clone()),
            segments,
            metrics: FairnessMetrics {
                chi_square: r.chi_square,
                degrees_of_freedom: r.degrees_of_freedom,
                p_value: r.p_value,
                cramers_v: r.cramers_v,
                balance: r.balance,
            },
            withheld_values: r.suppressed_cells,
        }
    }
}

/// One node's time and traffic.
#[derive(Debug, Clone, Serialize)]
pub struct TrafficView {
    /// Node id.
    pub node: String,
    /// Time from the start signal to the end on that node.
    pub elapsed_ms: u64,
    /// Protocol bytes it sent to the other nodes.
    pub bytes_sent: u64,
    /// Communication rounds.
    pub rounds: u64,
}

impl From<&NodeTraffic> for TrafficView {
    fn from(n: &NodeTraffic) -> Self {
        Self { node: n.node.clone(), elapsed_ms: n.elapsed_ms, bytes_sent: n.bytes_sent, rounds: n.rounds }
    }
}

/// The JSON of a `bench` result (`docs/schemas/bench.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchView {
    /// Always `bench`.
    pub kind: &'static str,
    /// The shape's version.
    pub version: u32,
    /// The job.
    pub job: String,
    /// The operation.
    pub op: String,
    /// Its size.
    pub size: u64,
    /// Each node's time and traffic.
    pub nodes: Vec<TrafficView>,
}

impl From<&BenchResult> for BenchView {
    fn from(r: &BenchResult) -> Self {
        Self {
            kind: "bench",
            version: VERSION,
            job: r.job.clone(),
            op: r.op.clone(),
            size: r.size,
            nodes: r.nodes.iter().map(TrafficView::from).collect(),
        }
    }
}

/// The JSON of any job's result (`docs/schemas/result.schema.json`): one of the four kinds.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ResultView {
    /// A `stats` result.
    Stats(StatsView),
    /// A `kmeans` result.
    Kmeans(KmeansView),
    /// A `fairness` result.
    Fairness(FairnessView),
    /// A `bench` result.
    Bench(BenchView),
}

impl From<&JobResult> for ResultView {
    fn from(r: &JobResult) -> Self {
        match r {
            JobResult::Stats(r) => Self::Stats(r.into()),
            JobResult::Kmeans(r) => Self::Kmeans(r.into()),
            JobResult::Fairness(r) => Self::Fairness(r.into()),
            JobResult::Bench(r) => Self::Bench(r.into()),
        }
    }
}

impl Render for StatsResult {
    fn table(&self) -> String {
        let heading = format!(
            "stats of `{}` over {} records (job {}){}",
            self.dataset,
            self.count,
            self.job,
            private_note(self.epsilon)
        );
        format!("{heading}\n{}", table::stats(self))
    }
    fn csv(&self) -> String {
        table::csv(&table::stats_grid(self))
    }
    fn json(&self) -> String {
        to_json(&StatsView::from(self))
    }
}

impl Render for KmeansResult {
    fn table(&self) -> String {
        let quality = match self.segments.wcss {
            Some(w) => format!("; within-cluster sum of squares {w:.2} (standardised)"),
            None => String::new(),
        };
        let heading = format!(
            "{} segments of `{}` over {} records (job {}){quality}{}",
            self.segments.k,
            self.dataset,
            self.count,
            self.job,
            private_note(self.epsilon)
        );
        format!("{heading}\n{}", table::segments(self))
    }
    fn csv(&self) -> String {
        table::csv(&table::segments_grid(self))
    }
    fn json(&self) -> String {
        to_json(&KmeansView::from(self))
    }
}

impl Render for FairnessResult {
    fn table(&self) -> String {
        let heading = format!(
            "fairness of the segments of job {} by `{}` (job {}){}",
            self.segments_job,
            self.protected,
            self.job,
            private_note(self.epsilon)
        );
        format!("{heading}\n{}", table::fairness(self))
    }
    fn csv(&self) -> String {
        table::csv(&table::fairness_grid(self))
    }
    fn json(&self) -> String {
        to_json(&FairnessView::from(self))
    }
}

impl Render for BenchResult {
    fn table(&self) -> String {
        let heading =
            format!("{} of size {} (job {}): sampled results match plaintext", self.op, self.size, self.job);
        format!("{heading}\n{}", table::traffic(&self.nodes))
    }
    fn csv(&self) -> String {
        table::csv(&table::traffic_grid(&self.nodes))
    }
    fn json(&self) -> String {
        to_json(&ResultView::Bench(self.into()))
    }
}

impl JobResult {
    /// The result as a value that renders itself.
    pub fn as_render(&self) -> &dyn Render {
        match self {
            JobResult::Stats(r) => r,
            JobResult::Kmeans(r) => r,
            JobResult::Fairness(r) => r,
            JobResult::Bench(r) => r,
        }
    }
}

impl Render for JobResult {
    fn table(&self) -> String {
        self.as_render().table()
    }
    fn csv(&self) -> String {
        self.as_render().csv()
    }
    fn json(&self) -> String {
        self.as_render().json()
    }
}

/// A segmentation with its fairness report, if one was computed: the output of `plain
/// kmeans` and the `result.json` of `report`.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// The k-means result.
    pub kmeans: KmeansResult,
    /// The fairness report of its segments.
    pub fairness: Option<FairnessResult>,
}

/// The JSON of a segmentation (`docs/schemas/segmentation.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct SegmentationView {
    /// Always `segmentation`.
    pub kind: &'static str,
    /// The shape's version.
    pub version: u32,
    /// The k-means result.
    pub kmeans: KmeansView,
    /// The fairness report of its segments (`null` when none was asked for).
    pub fairness: Option<FairnessView>,
}

impl SegmentationView {
    /// The document of a k-means result and its fairness report.
    pub fn of(kmeans: &KmeansResult, fairness: Option<&FairnessResult>) -> Self {
        Self {
            kind: "segmentation",
            version: VERSION,
            kmeans: kmeans.into(),
            fairness: fairness.map(Into::into),
        }
    }
}

impl From<&Segmentation> for SegmentationView {
    fn from(s: &Segmentation) -> Self {
        Self::of(&s.kmeans, s.fairness.as_ref())
    }
}

impl Render for Segmentation {
    fn table(&self) -> String {
        let mut out = self.kmeans.table();
        if let Some(f) = &self.fairness {
            out.push_str(&f.table());
        }
        out
    }
    fn csv(&self) -> String {
        let mut out = self.kmeans.csv();
        if let Some(f) = &self.fairness {
            out.push_str(&f.csv());
        }
        out
    }
    fn json(&self) -> String {
        to_json(&SegmentationView::from(self))
    }
}

/// Results to test the views with.
#[cfg(test)]
pub(crate) mod samples {
    use crate::client::*;

    /// A two-feature stats result.
    pub fn stats() -> StatsResult {
        let s = |count, sum: f64| protocol::stats::FeatureSummary {
            count,
            sum,
            mean: Some(sum / count as f64),
            variance: Some(4.0),
            std_dev: Some(2.0),
        };
        StatsResult {
            job: "00".repeat(16),
            dataset: "customers".into(),
            count: 10,
            epsilon: None,
            features: vec![("visits".into(), s(10, 55.0)), ("age".into(), s(10, 400.0))],
        }
    }

    /// A three-segment k-means result with one segment withheld.
    pub fn kmeans() -> KmeansResult {
        KmeansResult {
            job: "11".repeat(16),
            dataset: "customers".into(),
            count: 45,
            features: vec!["age".into(), "income".into()],
            epsilon: None,
            min_segment: 5,
            segments: protocol::kmeans::Outcome {
                k: 3,
                d: 2,
                centroids_std: vec![-1.0, 0.5, 1.0, -0.5, 0.0, 0.0],
                centroids: vec![30.0, 50_000.0, 60.0, 20_000.0, 0.0, 0.0],
                sizes: vec![30, 12, 0],
                wcss: Some(12.5),
                scaling: protocol::kmeans::Scaling::Standardised,
                centres: vec![40.0, 40_000.0],
                scales: vec![10.0, 20_000.0],
                ids: vec![2, 0, 1],
                suppressed: vec![false, false, true],
            },
        }
    }

    /// A fairness report of that segmentation with one withheld cell.
    pub fn fairness() -> FairnessResult {
        let groups = vec!["f".to_string(), "m".to_string()];
        let released = protocol::fairness::Released {
            k: 2,
            g: 2,
            cells: vec![Some(16), Some(14), Some(9), None],
            totals: vec![Some(25), Some(17)],
        };
        FairnessResult {
            job: "22".repeat(16),
            segments_job: "11".repeat(16),
            protected: "gender".into(),
            epsilon: None,
            report: protocol::fairness::report(&released, &groups, 5),
        }
    }

    /// A benchmark over three nodes.
    pub fn bench() -> BenchResult {
        let n = |i: u64| NodeTraffic {
            node: format!("node-{i}"),
            elapsed_ms: 10 * i,
            bytes_sent: 1000,
            rounds: 3,
        };
        BenchResult { job: "33".repeat(16), op: "mul".into(), size: 1000, nodes: (1..=3).map(n).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::samples;
    use super::*;
    use crate::render::schema::check;

    #[test]
    fn a_stats_result_is_keyed_by_feature_in_the_jobs_order() {
        let json = samples::stats().json();
        check("stats.schema.json", &json);
        check("result.schema.json", &json);
        assert!(json.find("\"visits\"").unwrap() < json.find("\"age\"").unwrap(), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["features"]["age"]["sum"], 400.0);
        assert_eq!((v["kind"].as_str(), v["version"].as_u64()), (Some("stats"), Some(1)));
    }

    #[test]
    fn a_kmeans_result_lists_segments_with_named_centroids_and_marks_the_withheld() {
        let json = samples::kmeans().json();
        check("kmeans.schema.json", &json);
        check("result.schema.json", &json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let s = &v["segments"];
        assert_eq!(s[0]["id"], 2);
        assert_eq!(s[1]["centroid"]["income"], 20_000.0);
        assert_eq!(s[1]["centroid_scaled"]["age"], 1.0);
        assert_eq!(s[2]["withheld"], true);
        assert!(s[2]["size"].is_null() && s[2]["centroid"].is_null(), "{json}");
        assert_eq!(v["centres"]["age"], 40.0);
    }

    #[test]
    fn a_fairness_result_is_keyed_by_segment_and_group() {
        let json = samples::fairness().json();
        check("fairness.schema.json", &json);
        check("result.schema.json", &json);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["group_totals"]["f"], 25);
        let row = v["segments"].as_array().unwrap().iter().find(|r| r["segment"] == 1).unwrap();
        assert_eq!(row["counts"]["f"], 9);
        assert!(row["counts"]["m"].is_null());
        assert!(v["metrics"]["chi_square"].is_null());
    }

    #[test]
    fn a_bench_result_validates() {
        let json = samples::bench().json();
        check("bench.schema.json", &json);
        check("result.schema.json", &json);
    }

    #[test]
    fn a_segmentation_holds_both_results() {
        let both = Segmentation { kmeans: samples::kmeans(), fairness: Some(samples::fairness()) };
        check("segmentation.schema.json", &both.json());
        let alone = Segmentation { kmeans: samples::kmeans(), fairness: None };
        check("segmentation.schema.json", &alone.json());
    }

    #[test]
    fn a_schema_refuses_a_document_of_another_shape() {
        let json = samples::stats().json().replace("\"std_dev\"", "\"stdev\"");
        let outcome = std::panic::catch_unwind(|| check("stats.schema.json", &json));
        assert!(outcome.is_err(), "an unknown field passed");
    }
}
