//! Plain-text tables for the terminal.

/// Renders rows under headers, each column as wide as its widest cell; columns whose cells
/// are all numbers are right-aligned, header included.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..headers.len())
        .map(|j| !rows.is_empty() && rows.iter().all(|r| r.get(j).is_some_and(|c| c.parse::<f64>().is_ok())))
        .collect();
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths.iter().zip(&numeric))
            .map(|(c, (&w, &right))| if right { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let rules: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    let mut out = line(headers.to_vec());
    out.push('\n');
    out.push_str(&line(rules.iter().map(String::as_str).collect()));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// Headers and rows of a table, before rendering as text or CSV.
pub type Grid = (Vec<String>, Vec<Vec<String>>);

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|h| h.to_string()).collect()
}

/// Renders a grid as an aligned text table.
pub fn text(grid: &Grid) -> String {
    render(&grid.0.iter().map(String::as_str).collect::<Vec<_>>(), &grid.1)
}

/// Renders a grid as CSV (header row first).
pub fn csv(grid: &Grid) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    for row in std::iter::once(&grid.0).chain(&grid.1) {
        w.write_record(row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 cells")
}

/// A `stats` result: one row per feature.
pub fn stats_grid(result: &crate::StatsResult) -> Grid {
    let rows: Vec<Vec<String>> = result
        .features
        .iter()
        .map(|(name, s)| {
            vec![
                name.clone(),
                s.count.to_string(),
                format!("{:.4}", s.sum),
                s.mean.map_or_else(|| "-".into(), |m| format!("{m:.4}")),
                s.std_dev.map_or_else(|| "-".into(), |m| format!("{m:.4}")),
            ]
        })
        .collect();
    (headers(&["feature", "count", "sum", "mean", "std dev"]), rows)
}

/// The table of a `stats` result.
pub fn stats(result: &crate::StatsResult) -> String {
    text(&stats_grid(result))
}

/// A `kmeans` result: one row per segment, its size and centroid in the features' own units.
pub fn segments_grid(result: &crate::KmeansResult) -> Grid {
    let s = &result.segments;
    let mut names = headers(&["segment", "size"]);
    names.extend(result.features.iter().cloned());
    let rows: Vec<Vec<String>> = (0..s.k)
        .map(|j| {
            if s.suppressed[j] {
                // Withheld: below the minimum, or withheld with one that is.
                let mut row = vec![s.ids[j].to_string(), "withheld".to_string()];
                row.extend((0..s.d).map(|_| "-".to_string()));
                return row;
            }
            let mut row = vec![s.ids[j].to_string(), s.sizes[j].to_string()];
            row.extend((0..s.d).map(|f| format!("{:.2}", s.centroids[j * s.d + f])));
            row
        })
        .collect();
    (names, rows)
}

/// The table of a `kmeans` result.
pub fn segments(result: &crate::KmeansResult) -> String {
    text(&segments_grid(result))
}

/// The fairness report: per segment, each group's count (or `withheld`), share
/// of the segment and rate of landing in it, the parity difference and ratio, and the flag.
pub fn fairness_grid(result: &crate::FairnessResult) -> Grid {
    let r = &result.report;
    let mut names = headers(&["segment", "size"]);
    for g in &r.groups {
        names.push(format!("{g} n"));
        names.push(format!("{g} share"));
        names.push(format!("{g} rate"));
    }
    names.extend(["parity diff".into(), "parity ratio".into(), "4/5 rule".into()]);
    let figure = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    let rows: Vec<Vec<String>> = r
        .segments
        .iter()
        .map(|s| {
            let mut row = vec![s.id.to_string(), s.size.map_or("-".into(), |n| n.to_string())];
            for l in 0..r.groups.len() {
                row.push(s.counts[l].map_or("withheld".into(), |c| c.to_string()));
                row.push(figure(s.shares[l]));
                row.push(figure(s.rates[l]));
            }
            row.push(figure(s.parity_difference));
            row.push(figure(s.parity_ratio));
            row.push(match s.four_fifths_violated {
                Some(true) => "violated".into(),
                Some(false) => "ok".into(),
                None => "-".into(),
            });
            row
        })
        .collect();
    (names, rows)
}

/// The whole-segmentation figures of a fairness report (of a private job when `private`), or
/// why they are not shown.
pub fn fairness_summary(r: &protocol::fairness::Report, private: bool) -> String {
    let mut out = match (r.chi_square, r.p_value, r.cramers_v, r.balance) {
        (Some(chi), Some(p), Some(v), Some(b)) => format!(
            "chi-square {chi:.3} ({} degrees of freedom), p = {p:.4}; Cramer's V {v:.3}; balance {b:.3}",
            r.degrees_of_freedom
        ),
        _ => "chi-square, Cramer's V and balance need every cell: not shown".into(),
    };
    let values = r.segments.len() * r.groups.len() + r.groups.len();
    if !private && r.suppressed_cells == values && values > 0 {
        out.push_str(&format!(
            "; the table is withheld: a value is below {} records or the segmentation withheld a segment, and \
             an exact table is released whole or not at all (run the job with --epsilon)",
            r.min_cell
        ));
    } else if r.suppressed_cells > 0 {
        out.push_str(&format!("; {} noisy values below {} are withheld", r.suppressed_cells, r.min_cell));
    }
    out
}

/// The fairness report as text, with the whole-segmentation statistics below the table.
pub fn fairness(result: &crate::FairnessResult) -> String {
    let r = &result.report;
    let mut out = text(&fairness_grid(result));
    let totals: Vec<String> = r
        .groups
        .iter()
        .zip(&r.group_totals)
        .map(|(g, t)| format!("{g} {}", t.map_or("withheld".into(), |t| t.to_string())))
        .collect();
    out.push_str(&format!(
        "group totals: {}\n{}\n",
        totals.join(", "),
        fairness_summary(r, result.epsilon.is_some())
    ));
    out
}

/// Each node's privacy-budget ledger: one row per node and dataset.
pub fn budget_grid(
    nodes: &[crate::NodeEntry],
    ledgers: &[Result<Vec<wire::control::BudgetInfo>, crate::ClientError>],
) -> Grid {
    let mut rows = Vec::new();
    for (n, l) in nodes.iter().zip(ledgers) {
        match l {
            Ok(list) if list.is_empty() => {
                rows.push(vec![n.id.clone(), "-".into(), "0".into(), "-".into(), "-".into(), "0".into()])
            }
            Ok(list) => rows.extend(list.iter().map(|b| {
                vec![
                    n.id.clone(),
                    b.dataset.clone(),
                    format!("{}", b.spent),
                    b.budget.map_or("none".into(), |v| format!("{v}")),
                    b.budget.map_or("-".into(), |v| format!("{}", (v - b.spent).max(0.0))),
                    b.jobs.to_string(),
                ]
            })),
            Err(e) => rows.push(vec![
                n.id.clone(),
                format!("unreachable: {e}"),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]),
        }
    }
    (headers(&["node", "dataset", "epsilon spent", "budget", "left", "jobs"]), rows)
}

/// The cluster as its nodes report it: each node's state, party, version, datasets, active
/// jobs, and its links to the others (round-trip time, or why it is down).
pub fn cluster_grid(
    nodes: &[crate::NodeEntry],
    statuses: &[Result<wire::control::NodeStatus, crate::ClientError>],
) -> Grid {
    let rows = nodes
        .iter()
        .zip(statuses)
        .map(|(n, s)| match s {
            Ok(s) => {
                let datasets: Vec<String> =
                    s.datasets.iter().map(|(d, rows)| format!("{d} ({rows})")).collect();
                let jobs: Vec<String> =
                    s.jobs.iter().map(|(id, kind, progress)| format!("{kind} {id}: {progress}")).collect();
                let links: Vec<String> = s
                    .links
                    .iter()
                    .map(|l| match (l.rtt_us, &l.error) {
                        (Some(rtt), _) => format!("{} up {:.1} ms", l.node, rtt as f64 / 1e3),
                        (None, Some(e)) => format!("{} DOWN ({e})", l.node),
                        (None, None) => format!("{} down", l.node),
                    })
                    .collect();
                vec![
                    n.id.clone(),
                    n.address.clone(),
                    "up".into(),
                    s.info.party.to_string(),
                    s.info.version.clone(),
                    s.info.security.clone(),
                    datasets.join(", "),
                    if jobs.is_empty() { "-".into() } else { jobs.join("; ") },
                    links.join(", "),
                ]
            }
            Err(e) => vec![
                n.id.clone(),
                n.address.clone(),
                format!("down: {e}"),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        })
        .collect();
    (headers(&["node", "address", "state", "party", "version", "datasets", "running jobs", "links"]), rows)
}

/// Each node's time and traffic for a job.
pub fn traffic_grid(nodes: &[crate::client::NodeTraffic]) -> Grid {
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|n| {
            vec![n.node.clone(), n.elapsed_ms.to_string(), n.bytes_sent.to_string(), n.rounds.to_string()]
        })
        .collect();
    (headers(&["node", "time (ms)", "bytes sent", "rounds"]), rows)
}

/// The table of each node's time and traffic for a job.
pub fn traffic(nodes: &[crate::client::NodeTraffic]) -> String {
    text(&traffic_grid(nodes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns() {
        let t =
            super::render(&["name", "n"], &[vec!["a".into(), "10".into()], vec!["long".into(), "2".into()]]);
        assert_eq!(t, "name   n\n----  --\na     10\nlong   2\n");
    }
}
