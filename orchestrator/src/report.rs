//! A self-contained HTML report of a segmentation (and of its fairness, when given): tables,
//! and SVG charts drawn with `plotters` inlined in the page, so the file opens anywhere
//! without a network or other files. The JSON of the results (a `segmentation` document, see
//! `crate::render::results`) is written beside it.

use crate::{FairnessResult, KmeansResult};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Why a report cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Drawing a chart failed.
    #[error("drawing the {chart} chart: {reason}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// What failed.
        reason: String,
    },
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 360;

/// Segment colours, by position in the result.
fn colour(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    PALETTE[i % PALETTE.len()]
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Draws one chart (`draw` gets a white drawing area) into an SVG string.
fn svg(
    chart: &'static str,
    draw: impl FnOnce(&Area<'_>) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<String, ReportError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn = root.fill(&WHITE).map_err(Into::into).and_then(|()| draw(&root));
        drawn
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|e| ReportError::Chart { chart, reason: e.to_string() })?;
    }
    Ok(text)
}

/// The segment id shown under bar position `v` (nothing between bars).
fn position_label(v: f64, ids: &[usize]) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < ids.len() {
        ids[i as usize].to_string()
    } else {
        String::new()
    }
}

/// Bars of the segment sizes, largest first.
pub fn sizes_chart(k: &KmeansResult) -> Result<String, ReportError> {
    let s = &k.segments;
    svg("segment sizes", |root| {
        let top = s.sizes.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption("Records per segment", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(s.k as f64 - 0.5), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(s.k)
            .x_desc("segment")
            .y_desc("records")
            .x_label_formatter(&|v| position_label(*v, &s.ids))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart.draw_series(s.sizes.iter().enumerate().map(|(i, &size)| {
            Rectangle::new([(i as f64 - 0.4, 0.0), (i as f64 + 0.4, size as f64)], colour(i).filled())
        }))?;
        Ok(())
    })
}

/// Each segment's centroid in standardised units, one line per segment across the features.
pub fn profiles_chart(k: &KmeansResult) -> Result<String, ReportError> {
    let s = &k.segments;
    let (lo, hi) = s.centroids_std.iter().fold((-1.0f64, 1.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let pad = (hi - lo) * 0.1;
    svg("centroid profiles", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Centroid profiles (standard deviations from the mean)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.3f64..(s.d as f64 - 0.7), (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_labels(s.d)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < k.features.len() {
                    k.features[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_desc("standardised value")
            .draw()?;
        for j in 0..s.k {
            let points: Vec<(f64, f64)> =
                (0..s.d).map(|f| (f as f64, s.centroids_std[j * s.d + f])).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour(j).stroke_width(2)))?
                .label(format!("segment {}", s.ids[j]))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour(j).stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour(j).filled())))?;
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
        Ok(())
    })
}

/// Stacked bars: each segment's share of every group (suppressed cells left out).
pub fn groups_chart(f: &FairnessResult) -> Result<String, ReportError> {
    let r = &f.report;
    let k = r.segments.len();
    svg("group shares", |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Share of each `{}` group per segment", f.protected), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), 0f64..1.0)?;
        let ids: Vec<usize> = r.segments.iter().map(|seg| seg.id).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(k)
            .x_desc("segment (suppressed cells left blank)")
            .y_desc("share of the segment")
            .x_label_formatter(&|v| position_label(*v, &ids))
            .draw()?;
        for (l, group) in r.groups.iter().enumerate() {
            let bars: Vec<Rectangle<(f64, f64)>> = r
                .segments
                .iter()
                .enumerate()
                .map(|(i, seg)| {
                    let below: f64 = seg.shares[..l].iter().map(|v| v.unwrap_or(0.0)).sum();
                    let top = below + seg.shares[l].unwrap_or(0.0);
                    Rectangle::new([(i as f64 - 0.4, below), (i as f64 + 0.4, top)], colour(l).filled())
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(group.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour(l).filled()));
        }
        chart.configure_series_labels().border_style(BLACK).background_style(WHITE.mix(0.8)).draw()?;
        Ok(())
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut t = String::from("<table><thead><tr>");
    for h in headers {
        t.push_str(&format!("<th>{}</th>", escape(h)));
    }
    t.push_str("</tr></thead><tbody>");
    for row in rows {
        t.push_str("<tr>");
        for c in row {
            t.push_str(&format!("<td>{}</td>", escape(c)));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// The report page.
pub fn html(k: &KmeansResult, fairness: Option<&FairnessResult>) -> Result<String, ReportError> {
    let s = &k.segments;
    let (seg_headers, seg_rows) = crate::table::segments_grid(k);
    let how = match (k.epsilon, s.wcss) {
        (Some(e), _) => format!(
            "Differentially private (DPLloyd at epsilon {e}): the features were scaled by their declared \
             ranges, and every iteration's sums and counts carry noise that no node drew alone; \
             the sizes are noisy and no within-cluster sum of squares is released."
        ),
        (None, Some(w)) => format!(
            "Within-cluster sum of squares {w:.2} in standardised units. Computed on secret shares: only \
             these aggregates were opened, to the operator who submitted the job; the feature means and \
             standard deviations were opened to the nodes."
        ),
        (None, None) => String::new(),
    };
    let mut body = format!(
        "<h1>Segmentation of <code>{}</code></h1>\
         <p>k-means job <code>{}</code>: {} segments of {} records on {} features. {how}</p>",
        escape(&k.dataset),
        escape(&k.job),
        s.k,
        k.count,
        s.d,
    );
    body.push_str(&sizes_chart(k)?);
    body.push_str(&profiles_chart(k)?);
    body.push_str("<h2>Segments (centroids in the features' units)</h2>");
    body.push_str(&html_table(&seg_headers, &seg_rows));
    if let Some(f) = fairness {
        let r = &f.report;
        let noise = f.epsilon.map_or(String::new(), |e| format!(" Differentially private at epsilon {e}."));
        body.push_str(&format!(
            "<h2>Fairness by <code>{}</code></h2><p>Fairness job <code>{}</code>.{noise} {}.</p>",
            escape(&f.protected),
            escape(&f.job),
            escape(&crate::table::fairness_summary(r, f.epsilon.is_some())),
        ));
        body.push_str(&groups_chart(f)?);
        let (headers, rows) = crate::table::fairness_grid(f);
        body.push_str(&html_table(&headers, &rows));
    }
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Segmentation report {}</title>\
         <style>body{{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
         th{{background:#f3f3f3}}svg{{display:block;margin:1em 0}}</style></head><body>{body}</body></html>\n",
        escape(&k.job)
    ))
}

/// Writes `report.html` and `result.json` into `dir` (created if missing); returns the page's
/// path.
pub fn write(
    dir: &Path,
    k: &KmeansResult,
    fairness: Option<&FairnessResult>,
) -> Result<PathBuf, ReportError> {
    let page = html(k, fairness)?;
    let json = crate::render::results::SegmentationView::of(k, fairness);
    let json = serde_json::to_string_pretty(&json).expect("views serialise");
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, text).map_err(|source| ReportError::Write { path: path.clone(), source })?;
        Ok::<_, ReportError>(path)
    };
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write { path: dir.to_path_buf(), source })?;
    write(dir.join("result.json"), format!("{json}\n"))?;
    write(dir.join("report.html"), page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> (KmeansResult, FairnessResult) {
        let published = protocol::kmeans::Published {
            scaling: protocol::kmeans::Scaling::Standardised,
            centres: vec![10.0, 100.0],
            scales: vec![2.0, 50.0],
            suppressed: vec![false, false],
            wcss: true,
        };
        let outcome = protocol::kmeans::outcome(
            2,
            2,
            &[65536, 0, 0, (-65536i64) as u64, 30, 12, 65536 * 5],
            &published,
        )
        .unwrap();
        let kmeans = KmeansResult {
            job: "j1".into(),
            dataset: "<customers>".into(),
            count: 42,
            features: vec!["age".into(), "income".into()],
            epsilon: None,
            min_segment: 5,
            segments: outcome,
        };
        let released = protocol::fairness::Released::exact(&[20, 10, 2, 10], 2, 2, 5, &[false, false]);
        let report = protocol::fairness::report(&released, &["a".into(), "b".into()], 5);
        let fairness = FairnessResult {
            job: "j2".into(),
            segments_job: "j1".into(),
            protected: "gender".into(),
            epsilon: None,
            report,
        };
        (kmeans, fairness)
    }

    #[test]
    fn writes_a_self_contained_page_and_the_json() {
        let (kmeans, fairness) = results();
        let dir = tempfile::tempdir().unwrap();
        let page = write(dir.path(), &kmeans, Some(&fairness)).unwrap();
        let html = std::fs::read_to_string(&page).unwrap();
        assert_eq!(html.matches("<svg").count(), 3);
        // Names are escaped; nothing is fetched from elsewhere.
        assert!(html.contains("&lt;customers&gt;") && !html.contains("<customers>"));
        assert!(
            !html.contains("http://")
                || html.matches("http://").count()
                    == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(html.contains("the table is withheld: a value is below 5 records"), "{html}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap()).unwrap();
        assert_eq!(json["kind"], "segmentation");
        let sizes: Vec<&serde_json::Value> =
            json["kmeans"]["segments"].as_array().unwrap().iter().map(|s| &s["size"]).collect();
        assert_eq!(sizes, [30, 12]);
        assert_eq!(json["fairness"]["group_totals"], serde_json::json!({"a": null, "b": null}));
    }

    #[test]
    fn a_segmentation_without_fairness_has_two_charts() {
        let (kmeans, _) = results();
        let html = html(&kmeans, None).unwrap();
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("age") && html.contains("income"));
    }
}
