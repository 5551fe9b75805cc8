//! What a job would reveal, and to whom, before it runs (`orchestrator job explain`).

use wire::control::{BenchJob, FairnessJob, JobSpec, KmeansJob, StatsJob};

/// Who learns what: `(recipient, what)` lines, then what stays secret.
pub fn reveals(spec: &JobSpec, operator: &str) -> Vec<(String, String)> {
    let you = format!("you (operator `{operator}`)");
    let nodes = "every node".to_string();
    let secret = "nobody".to_string();
    match spec {
        JobSpec::Stats(StatsJob { dataset, features, epsilon }) => vec![
            (
                you,
                match epsilon {
                    None => format!(
                        "for {} of `{dataset}`: the record count, and each feature's sum, mean, variance and \
                         standard deviation over all owners' consenting records",
                        list(features)
                    ),
                    Some(e) => format!(
                        "for {} of `{dataset}`: the record count, and each feature's sum and sum of squares with \
                         discrete Laplace noise that no node knows (epsilon {e} in all, {} per release, noise \
                         scaled to each feature's declared range), and the mean, variance and deviation computed \
                         from them",
                        list(features),
                        e / (2 * features.len()).max(1) as f64
                    ),
                },
            ),
            (nodes, "nothing beyond the dataset's public metadata (owners and record counts)".into()),
            (secret, "every record and every per-owner figure".into()),
        ],
        JobSpec::Kmeans(KmeansJob {
            dataset,
            features,
            k,
            iterations,
            restarts,
            labels,
            min_segment,
            epsilon,
            ..
        }) => {
            let small = match (min_segment, epsilon) {
                (0 | 1, _) => String::new(),
                (m, None) => format!(
                    "; a segment of fewer than {m} records is listed without its centroid and size, with a \
                     second segment so that no subtraction isolates it, and then without the within-cluster \
                     sum of squares"
                ),
                (m, Some(_)) => {
                    format!(
                        "; a segment whose noisy size is below {m} is listed without its centroid and size"
                    )
                }
            };
            let mut lines = match epsilon {
                None => vec![
                    (
                        you,
                        format!(
                            "{k} segments of `{dataset}` on {}: each segment's centroid (in standardised and in \
                             the features' own units) and size, and the within-cluster sum of squares of the \
                             best of {restarts} run(s) after {iterations} iterations{small}",
                            list(features)
                        ),
                    ),
                    (
                        nodes,
                        format!(
                            "each of {}'s mean and standard deviation (to standardise on shares){}",
                            list(features),
                            if *min_segment > 1 {
                                format!(", and which segments have fewer than {min_segment} records")
                            } else {
                                String::new()
                            }
                        ),
                    ),
                ],
                Some(e) => {
                    let (per_sum, per_count) =
                        protocol::kmeans::private::split(*e, *iterations as usize, features.len());
                    vec![
                        (
                            you,
                            format!(
                                "{k} differentially private segments of `{dataset}` on {} (DPLloyd, epsilon {e} \
                                 in all): each segment's final centroid and noisy size; no within-cluster sum \
                                 of squares{small}",
                                list(features)
                            ),
                        ),
                        (
                            nodes,
                            format!(
                                "with discrete Laplace noise that no node knows: each feature's sum and sum of \
                                 absolute deviations (to scale the features; epsilon {scaling:.4} each), after \
                                 each of the {iterations} iterations every segment's sum of scaled records and \
                                 count (epsilon {per_sum:.4} for each feature's sums and {per_count:.4} for the \
                                 counts, per iteration), and the final segments' counts ({per_count:.4})",
                                scaling = protocol::kmeans::private::SCALING_SHARE * e
                                    / (2 * features.len()) as f64
                            ),
                        ),
                    ]
                }
            };
            if *labels {
                lines.push((
                    "each owner node".into(),
                    "the segment of each of its own records only (labels/<job>.csv in its data directory)"
                        .into(),
                ));
            }
            let hidden = match epsilon {
                None => {
                    "records, distances, starting and intermediate centroids, which run won, and every \
                         record's segment"
                }
                Some(_) => "records, the exact sums and counts, and every record's segment",
            };
            lines.push((
                secret,
                format!(
                    "{hidden}{} (kept as shares on the nodes for a later fairness job)",
                    if *labels { " except to its owner" } else { "" }
                ),
            ));
            lines
        }
        JobSpec::Fairness(FairnessJob { segments, protected, min_cell, epsilon }) => {
            let table =
                format!("the table of records per segment of job {segments} and per level of `{protected}`");
            match epsilon {
                None => vec![
                    (
                        you,
                        format!(
                            "{table}, each group's total, and the fairness figures computed from them, whole \
                             or not at all: if a value is below {min_cell} records or the segmentation withheld \
                             a segment, none of them is opened"
                        ),
                    ),
                    (
                        nodes,
                        format!("which cells and group totals are below {min_cell} records (not the values)"),
                    ),
                    (secret, format!("every record's segment and `{protected}` level")),
                ],
                Some(e) => vec![
                    (
                        you,
                        format!(
                            "{table} with discrete Laplace noise on every cell (epsilon {e}), the group totals \
                             summed from it, and the fairness figures computed from them; noisy values below \
                             {min_cell} are withheld"
                        ),
                    ),
                    (nodes, format!("the noisy table (to withhold its values below {min_cell})")),
                    (secret, format!("the exact table, every record's segment and `{protected}` level")),
                ],
            }
        }
        JobSpec::Bench(BenchJob { op, size }) => vec![
            (you, format!("the time, bytes and rounds of {op} of size {size} on random secret inputs")),
            (nodes, "nothing about any dataset".into()),
        ],
    }
}

fn list(features: &[String]) -> String {
    features.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
}
