//! What a job would reveal, and to whom, before it runs (`orchestrator job explain`).

use wire::control::JobSpec;

/// Who learns what: `(recipient, what)` lines, then what stays secret.
pub fn reveals(spec: &JobSpec, operator: &str) -> Vec<(String, String)> {
    let you = format!("you (operator `{operator}`)");
    let nodes = "every node".to_string();
    let secret = "nobody".to_string();
    match spec {
        JobSpec::Stats { dataset, features } => vec![
            (
                you,
                format!(
                    "for {} of `{dataset}`: the record count, and each feature's sum, mean, variance and \
                     standard deviation over all owners' consenting records",
                    list(features)
                ),
            ),
            (nodes, "nothing beyond the dataset's public metadata (owners and record counts)".into()),
            (secret, "every record and every per-owner figure".into()),
        ],
        JobSpec::Kmeans { dataset, features, k, iterations, restarts, labels, .. } => {
            let mut lines = vec![
                (
                    you,
                    format!(
                        "{k} segments of `{dataset}` on {}: each segment's centroid (in standardised and \
                         in the features' own units) and size, and the within-cluster sum of squares of \
                         the best of {restarts} run(s) after {iterations} iterations",
                        list(features)
                    ),
                ),
                (
                    nodes,
                    format!(
                        "each of {}'s mean and standard deviation (to standardise on shares)",
                        list(features)
                    ),
                ),
            ];
            if *labels {
                lines.push((
                    "each owner node".into(),
                    "the segment of each of its own records only (labels/<job>.csv in its data directory)"
                        .into(),
                ));
            }
            lines.push((
                secret,
                format!(
                    "records, distances, starting and intermediate centroids, which run won, and every \
                     record's segment{} (kept as shares on the nodes for a later fairness job)",
                    if *labels { " except to its owner" } else { "" }
                ),
            ));
            lines
        }
        JobSpec::Fairness { segments, protected, min_cell } => vec![
            (
                you,
                format!(
                    "the table of records per segment of job {segments} and per level of `{protected}`, \
                     and the fairness figures computed from it; the printed report hides cells below \
                     {min_cell} records, but the whole table is opened to you"
                ),
            ),
            (nodes, "nothing".into()),
            (secret, format!("every record's segment and `{protected}` level")),
        ],
        JobSpec::Bench { op, size } => vec![
            (you, format!("the time, bytes and rounds of {op} of size {size} on random secret inputs")),
            (nodes, "nothing about any dataset".into()),
        ],
    }
}

fn list(features: &[String]) -> String {
    features.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
}
