//! A node's policy: what its company allows the cluster to compute on each dataset. Every
//! node checks every job against its own policy before it votes, so a job that any node's
//! policy refuses never starts, and the operator sees that node's reason.
//!
//! Without a policy file a node allows every job its data supports. With one, a dataset the
//! file does not list allows no job at all, and this node shares no column of it: an ingest
//! shares only the columns the policy lets jobs use (minimisation).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;
use wire::control::{FairnessJob, JobSpec, KmeansJob, StatsJob};

/// A policy file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Operators (by their name in the node's configuration) who see every job as its
    /// submitter does (parameters, progress, traffic, reasons) and every line of the audit
    /// log. Every other operator sees only the kind, state and timing of the jobs it did not
    /// submit, and only the links of their audit lines.
    #[serde(default)]
    pub auditors: Vec<String>,
    /// One entry per dataset the node allows jobs on.
    #[serde(default)]
    pub datasets: Vec<DatasetPolicy>,
}

/// What a node allows on one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetPolicy {
    /// The dataset.
    pub name: String,
    /// Job kinds allowed (`stats`, `kmeans`, `fairness`); all when absent.
    #[serde(default)]
    pub jobs: Option<Vec<String>>,
    /// Numeric features a job may use, and the only ones this node's ingest shares; all when
    /// absent.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Categorical columns a fairness job may use as the protected attribute, and the only
    /// ones this node's ingest shares; all when absent.
    #[serde(default)]
    pub protected: Option<Vec<String>>,
    /// Smallest minimum cell count a fairness job may ask for.
    #[serde(default)]
    pub min_cell: u64,
    /// Smallest minimum segment size a k-means job may ask for.
    #[serde(default)]
    pub min_segment: u64,
    /// The total epsilon that differentially private jobs may spend on the dataset (this
    /// node's ledger adds them up; a job that would exceed it is refused).
    #[serde(default)]
    pub epsilon_budget: Option<f64>,
    /// Whether every job must release with differential privacy (`--epsilon`); true by
    /// default when a budget is set.
    #[serde(default)]
    pub require_epsilon: Option<bool>,
    /// The largest epsilon one job may spend on the dataset (a job asking for more is
    /// refused, whatever budget is left).
    #[serde(default)]
    pub max_epsilon: Option<f64>,
    /// Largest number of segments.
    #[serde(default)]
    pub max_k: Option<u32>,
    /// Largest number of Lloyd iterations.
    #[serde(default)]
    pub max_iterations: Option<u32>,
    /// Largest number of restarts.
    #[serde(default)]
    pub max_restarts: Option<u32>,
    /// Whether owners may receive their records' segments (`--labels`).
    #[serde(default = "yes")]
    pub labels: bool,
    /// Days after its oldest contribution was committed here that the dataset's shares are
    /// erased on this node; this node's company's own contribution is then erased, at its
    /// request, on every other node too.
    #[serde(default)]
    pub retention_days: Option<f64>,
}

fn yes() -> bool {
    true
}

/// Why a policy file cannot be used.
#[derive(Debug, Error)]
#[error("{}: {problem}", path.display())]
pub struct PolicyFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: PolicyProblem,
}

/// What is wrong with a policy file.
#[derive(Debug, Error)]
pub enum PolicyProblem {
    /// It cannot be read.
    #[error("{0}")]
    Read(#[from] std::io::Error),
    /// It is not a policy in TOML.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A dataset is listed twice.
    #[error("datasets[{index}]: dataset `{name}` appears twice")]
    Twice {
        /// Its position.
        index: usize,
        /// Its name.
        name: String,
    },
    /// A budget is negative or not a number.
    #[error("datasets[{index}].epsilon_budget: {value} is not a budget")]
    Budget {
        /// The dataset's position.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A per-job ceiling is not a positive number.
    #[error("datasets[{index}].max_epsilon: {value} is not a positive, finite epsilon")]
    Ceiling {
        /// The dataset's position.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A job kind the node does not know.
    #[error("datasets[{index}].jobs: unknown job kind `{kind}` (use {})", KINDS.join(", "))]
    Kind {
        /// The dataset's position.
        index: usize,
        /// The kind.
        kind: String,
    },
}

/// Why this node's policy refuses a job or an ingest.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Refusal {
    /// The policy does not list the dataset.
    #[error("the policy allows no job on `{dataset}`")]
    NoDataset {
        /// The dataset.
        dataset: String,
    },
    /// The policy does not list the dataset, so an ingest shares nothing of it.
    #[error("the policy allows no job on `{dataset}`, so this node shares none of its columns")]
    NothingShared {
        /// The dataset.
        dataset: String,
    },
    /// The schema shares a column the policy does not allow.
    #[error(
        "the schema of `{dataset}` shares `{column}`, which this node's policy does not allow as a {what}; \
         remove it from the dataset's schema or allow it in the policy"
    )]
    ColumnShared {
        /// The dataset.
        dataset: String,
        /// The column.
        column: String,
        /// `feature` or `protected column`.
        what: &'static str,
    },
    /// The kind of job is not allowed.
    #[error("the policy does not allow {kind} jobs on `{dataset}`")]
    Kind {
        /// The kind.
        kind: &'static str,
        /// The dataset.
        dataset: String,
    },
    /// An exact job where the policy requires differential privacy.
    #[error("the policy requires differential privacy on `{dataset}`: submit the job with --epsilon")]
    EpsilonRequired {
        /// The dataset.
        dataset: String,
    },
    /// A larger epsilon than the per-job ceiling.
    #[error("the policy allows at most epsilon {max} per job on `{dataset}`, the job asks for {epsilon}")]
    EpsilonAbove {
        /// The ceiling.
        max: f64,
        /// The dataset.
        dataset: String,
        /// What the job asks for.
        epsilon: f64,
    },
    /// A feature the policy does not allow.
    #[error("the policy does not allow feature `{feature}` of `{dataset}`")]
    Feature {
        /// The feature.
        feature: String,
        /// The dataset.
        dataset: String,
    },
    /// A smaller minimum segment than the policy's.
    #[error(
        "the policy requires segments of at least {min} records on `{dataset}`, the job asks for {asked}"
    )]
    MinSegment {
        /// The policy's minimum.
        min: u64,
        /// The dataset.
        dataset: String,
        /// The job's.
        asked: u64,
    },
    /// More segments, iterations or restarts than allowed.
    #[error("the policy allows at most {limit} {what} on `{dataset}`, got {value}")]
    AtMost {
        /// The limit.
        limit: u32,
        /// `segments`, `iterations` or `restarts`.
        what: &'static str,
        /// The dataset.
        dataset: String,
        /// The job's.
        value: u32,
    },
    /// Per-record labels where the policy does not allow them.
    #[error("the policy does not allow per-record labels on `{dataset}`")]
    Labels {
        /// The dataset.
        dataset: String,
    },
    /// A protected column the policy does not allow.
    #[error("the policy does not allow `{column}` as a protected column of `{dataset}`")]
    Protected {
        /// The column.
        column: String,
        /// The dataset.
        dataset: String,
    },
    /// A smaller minimum cell than the policy's.
    #[error("the policy requires cells of at least {min} records on `{dataset}`, the job asks for {asked}")]
    MinCell {
        /// The policy's minimum.
        min: u64,
        /// The dataset.
        dataset: String,
        /// The job's.
        asked: u64,
    },
}

/// Job kinds a policy can name.
const KINDS: [&str; 3] = ["stats", "kmeans", "fairness"];

impl Policy {
    /// Reads and checks a policy file; errors name the file and the problem.
    pub fn load(path: &Path) -> Result<Policy, PolicyFileError> {
        let fail = |problem| PolicyFileError { path: path.into(), problem };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.into()))?;
        let policy: Policy = toml::from_str(&text).map_err(|e| fail(e.into()))?;
        for (index, d) in policy.datasets.iter().enumerate() {
            if policy.datasets[..index].iter().any(|o| o.name == d.name) {
                return Err(fail(PolicyProblem::Twice { index, name: d.name.clone() }));
            }
            if let Some(value) = d.epsilon_budget
                && !(value.is_finite() && value >= 0.0)
            {
                return Err(fail(PolicyProblem::Budget { index, value }));
            }
            if let Some(value) = d.max_epsilon
                && !(value.is_finite() && value > 0.0)
            {
                return Err(fail(PolicyProblem::Ceiling { index, value }));
            }
            if let Some(kind) = d.jobs.iter().flatten().find(|k| !KINDS.contains(&k.as_str())) {
                return Err(fail(PolicyProblem::Kind { index, kind: kind.clone() }));
            }
        }
        Ok(policy)
    }

    fn dataset(&self, name: &str) -> Option<&DatasetPolicy> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// The privacy budget of `dataset`, if the policy sets one.
    pub fn budget(&self, dataset: &str) -> Option<f64> {
        self.dataset(dataset).and_then(|d| d.epsilon_budget)
    }

    /// Whether every job on `dataset` must release with differential privacy.
    pub fn requires_epsilon(&self, dataset: &str) -> bool {
        self.dataset(dataset).is_some_and(|d| d.require_epsilon.unwrap_or(d.epsilon_budget.is_some()))
    }

    /// Checks that this node may share every column of `schema` for `dataset`: the numeric
    /// features and the categorical columns a job may use. Returns the reason it may not.
    pub fn check_shared(&self, dataset: &str, schema: &wire::schema::Schema) -> Result<(), Refusal> {
        let d = self.dataset(dataset).ok_or_else(|| Refusal::NothingShared { dataset: dataset.into() })?;
        let numeric = schema.features.iter().map(|f| (&f.name, &d.features, "feature"));
        let categorical = schema.categorical.iter().map(|c| (&c.name, &d.protected, "protected column"));
        for (name, allowed, what) in numeric.chain(categorical) {
            if allowed.as_ref().is_some_and(|a| !a.contains(name)) {
                return Err(Refusal::ColumnShared { dataset: dataset.into(), column: name.clone(), what });
            }
        }
        Ok(())
    }

    /// The retention period of `dataset` in milliseconds, if the policy sets one.
    pub fn retention_ms(&self, dataset: &str) -> Option<u64> {
        self.retention().into_iter().find(|(d, _)| d == dataset).map(|(_, period)| period)
    }

    /// The datasets with a retention period, and that period in milliseconds.
    pub fn retention(&self) -> Vec<(String, u64)> {
        self.datasets
            .iter()
            .filter_map(|d| {
                d.retention_days.map(|days| (d.name.clone(), (days.max(0.0) * 86_400_000.0) as u64))
            })
            .collect()
    }

    /// Checks `spec` on `dataset` (a fairness job's is that of its segmentation, given with
    /// the segmentation's spec). Returns the reason for a refusal.
    pub fn check(
        &self,
        spec: &JobSpec,
        dataset: &str,
        segmentation: Option<&JobSpec>,
    ) -> Result<(), Refusal> {
        let kind = spec.kind();
        if kind == "bench" {
            return Ok(());
        }
        let d = self.dataset(dataset).ok_or_else(|| Refusal::NoDataset { dataset: dataset.into() })?;
        if d.jobs.as_ref().is_some_and(|jobs| !jobs.iter().any(|j| j == kind)) {
            return Err(Refusal::Kind { kind, dataset: dataset.into() });
        }
        if spec.epsilon().is_none() && self.requires_epsilon(dataset) {
            return Err(Refusal::EpsilonRequired { dataset: dataset.into() });
        }
        if let (Some(epsilon), Some(max)) = (spec.epsilon(), d.max_epsilon)
            && (epsilon.is_nan() || epsilon > max)
        {
            return Err(Refusal::EpsilonAbove { max, dataset: dataset.into(), epsilon });
        }
        let features = match spec {
            JobSpec::Stats(StatsJob { features, .. }) | JobSpec::Kmeans(KmeansJob { features, .. }) => {
                features.clone()
            }
            _ => match segmentation {
                Some(JobSpec::Kmeans(KmeansJob { features, .. })) => features.clone(),
                _ => Vec::new(),
            },
        };
        if let Some(allowed) = &d.features
            && let Some(f) = features.iter().find(|f| !allowed.contains(f))
        {
            return Err(Refusal::Feature { feature: f.clone(), dataset: dataset.into() });
        }
        if let JobSpec::Kmeans(KmeansJob { k, iterations, restarts, labels, min_segment, .. }) = spec {
            if *min_segment < d.min_segment {
                return Err(Refusal::MinSegment {
                    min: d.min_segment,
                    dataset: dataset.into(),
                    asked: *min_segment,
                });
            }
            for (what, value, limit) in [
                ("segments", k, d.max_k),
                ("iterations", iterations, d.max_iterations),
                ("restarts", restarts, d.max_restarts),
            ] {
                if let Some(limit) = limit
                    && *value > limit
                {
                    return Err(Refusal::AtMost { limit, what, dataset: dataset.into(), value: *value });
                }
            }
            if *labels && !d.labels {
                return Err(Refusal::Labels { dataset: dataset.into() });
            }
        }
        if let JobSpec::Fairness(FairnessJob { protected, min_cell, .. }) = spec {
            if d.protected.as_ref().is_some_and(|allowed| !allowed.contains(protected)) {
                return Err(Refusal::Protected { column: protected.clone(), dataset: dataset.into() });
            }
            if *min_cell < d.min_cell {
                return Err(Refusal::MinCell { min: d.min_cell, dataset: dataset.into(), asked: *min_cell });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::control::BenchJob;
    use wire::control::{JobId, KmeansInit};

    fn kmeans(features: &[&str], restarts: u32, labels: bool) -> JobSpec {
        JobSpec::Kmeans(KmeansJob {
            dataset: "customers".into(),
            features: features.iter().map(|f| f.to_string()).collect(),
            k: 4,
            iterations: 10,
            seed: 1,
            restarts,
            init: KmeansInit::PlusPlus,
            labels,
            min_segment: 5,
            epsilon: None,
        })
    }

    fn policy(text: &str) -> Policy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, text).unwrap();
        Policy::load(&path).unwrap()
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let p = policy(
            "[[datasets]]\nname = \"customers\"\njobs = [\"kmeans\", \"fairness\"]\nfeatures = [\"age\", \"income\"]\n\
             protected = [\"gender\"]\nmin_cell = 10\nmax_restarts = 5\nlabels = false\n",
        );
        assert_eq!(p.check(&kmeans(&["age"], 5, false), "customers", None), Ok(()));
        let stats = JobSpec::Stats(StatsJob {
            dataset: "customers".into(),
            features: vec!["age".into()],
            epsilon: None,
        });
        assert!(p.check(&stats, "customers", None).unwrap_err().to_string().contains("stats jobs"));
        assert!(
            p.check(&kmeans(&["visits"], 5, false), "customers", None)
                .unwrap_err()
                .to_string()
                .contains("`visits`")
        );
        assert!(
            p.check(&kmeans(&["age"], 6, false), "customers", None)
                .unwrap_err()
                .to_string()
                .contains("at most 5 restarts")
        );
        assert!(
            p.check(&kmeans(&["age"], 5, true), "customers", None)
                .unwrap_err()
                .to_string()
                .contains("labels")
        );
        assert!(
            p.check(&kmeans(&["age"], 1, false), "other", None)
                .unwrap_err()
                .to_string()
                .contains("no job on `other`")
        );
        let fair = |protected: &str, min_cell| {
            JobSpec::Fairness(FairnessJob {
                segments: JobId([1; 16]),
                protected: protected.into(),
                min_cell,
                epsilon: None,
            })
        };
        let seg = kmeans(&["age"], 1, false);
        assert_eq!(p.check(&fair("gender", 10), "customers", Some(&seg)), Ok(()));
        assert!(
            p.check(&fair("region", 10), "customers", Some(&seg))
                .unwrap_err()
                .to_string()
                .contains("`region`")
        );
        assert!(
            p.check(&fair("gender", 5), "customers", Some(&seg))
                .unwrap_err()
                .to_string()
                .contains("at least 10")
        );
        // A fairness job on a segmentation of a forbidden feature is refused too.
        let wide = kmeans(&["visits"], 1, false);
        assert!(
            p.check(&fair("gender", 10), "customers", Some(&wide))
                .unwrap_err()
                .to_string()
                .contains("`visits`")
        );
        let bench = JobSpec::Bench(BenchJob { op: "mul".into(), size: 10 });
        assert_eq!(p.check(&bench, "", None), Ok(()));
    }

    #[test]
    fn budgets_require_differential_privacy_and_minimums_apply() {
        let p = policy(
            "[[datasets]]\nname = \"customers\"\nepsilon_budget = 2.0\nmin_segment = 10\n\
             [[datasets]]\nname = \"open\"\nepsilon_budget = 2.0\nrequire_epsilon = false\n",
        );
        assert_eq!(p.budget("customers"), Some(2.0));
        assert!(p.requires_epsilon("customers") && !p.requires_epsilon("open"));
        let exact = kmeans(&["age"], 1, false);
        assert!(p.check(&exact, "customers", None).unwrap_err().to_string().contains("--epsilon"));
        let JobSpec::Kmeans(KmeansJob {
            dataset, features, k, iterations, seed, restarts, init, labels, ..
        }) = exact
        else {
            unreachable!()
        };
        let private = |min_segment| {
            JobSpec::Kmeans(KmeansJob {
                dataset: dataset.clone(),
                features: features.clone(),
                k,
                iterations,
                seed,
                restarts,
                init,
                labels,
                min_segment,
                epsilon: Some(1.0),
            })
        };
        assert!(
            p.check(&private(5), "customers", None).unwrap_err().to_string().contains("at least 10 records")
        );
        assert_eq!(p.check(&private(10), "customers", None), Ok(()));
        assert_eq!(p.check(&private(0), "open", None), Ok(()));
    }

    #[test]
    fn a_per_job_ceiling_refuses_a_larger_epsilon() {
        let p = policy("[[datasets]]\nname = \"customers\"\nmax_epsilon = 1.5\n");
        let stats = |epsilon| {
            JobSpec::Stats(StatsJob {
                dataset: "customers".into(),
                features: vec!["age".into()],
                epsilon: Some(epsilon),
            })
        };
        assert_eq!(p.check(&stats(1.5), "customers", None), Ok(()));
        let err = p.check(&stats(1.6), "customers", None).unwrap_err().to_string();
        assert!(err.contains("at most epsilon 1.5 per job") && err.contains("1.6"), "{err}");
        assert!(p.check(&stats(1e300), "customers", None).is_err());
        let exact = JobSpec::Stats(StatsJob {
            dataset: "customers".into(),
            features: vec!["age".into()],
            epsilon: None,
        });
        assert_eq!(p.check(&exact, "customers", None), Ok(()), "no budget: exact jobs stay allowed");
    }

    #[test]
    fn only_the_columns_a_policy_allows_are_shared() {
        use wire::schema::{CategoricalColumn as Categorical, NumericColumn as Feature, Schema};
        let p =
            policy("[[datasets]]\nname = \"customers\"\nfeatures = [\"age\"]\nprotected = [\"gender\"]\n");
        let feature = |name: &str| Feature { name: name.into(), min: None, max: None };
        let gender = Categorical { name: "gender".into(), levels: vec!["f".into(), "m".into()] };
        let schema = |features: Vec<Feature>, categorical: Vec<Categorical>| Schema {
            features,
            categorical,
            consent: Some("consent".into()),
        };
        assert_eq!(p.check_shared("customers", &schema(vec![feature("age")], vec![gender.clone()])), Ok(()));
        let err = p
            .check_shared("customers", &schema(vec![feature("age"), feature("income")], vec![]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`income`") && err.contains("feature"), "{err}");
        let region = Categorical { name: "region".into(), levels: vec!["n".into()] };
        assert!(
            p.check_shared("customers", &schema(vec![], vec![region]))
                .unwrap_err()
                .to_string()
                .contains("`region`")
        );
        assert!(
            p.check_shared("other", &schema(vec![], vec![]))
                .unwrap_err()
                .to_string()
                .contains("no job on `other`")
        );
    }

    #[test]
    fn a_bad_policy_file_is_refused_naming_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, "[[datasets]]\nname = \"c\"\njobs = [\"export\"]\n").unwrap();
        assert!(Policy::load(&path).unwrap_err().to_string().contains("unknown job kind `export`"));
        std::fs::write(&path, "[[datasets]]\nname = \"c\"\nmax_k = \"many\"\n").unwrap();
        assert!(Policy::load(&path).unwrap_err().to_string().contains("policy.toml"));
        std::fs::write(&path, "[[datasets]]\nname = \"c\"\ncolour = 1\n").unwrap();
        assert!(Policy::load(&path).unwrap_err().to_string().contains("colour"));
        std::fs::write(&path, "[[datasets]]\nname = \"c\"\nepsilon_budget = -1.0\n").unwrap();
        assert!(Policy::load(&path).unwrap_err().to_string().contains("epsilon_budget"));
        std::fs::write(&path, "[[datasets]]\nname = \"c\"\nmax_epsilon = 0.0\n").unwrap();
        assert!(Policy::load(&path).unwrap_err().to_string().contains("max_epsilon"));
    }
}
