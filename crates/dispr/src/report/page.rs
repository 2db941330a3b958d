//! The report page, `index.html`: a minijinja template filled with a study's tables.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dispr_core::experiment::evaluation::{TABLE_METRICS, column_title};
use dispr_core::experiment::paired::higher_is_better;
use dispr_core::experiment::study::Study;
use dispr_core::io::atomic::write_text_atomic;
use serde_json::json;

use super::steps::STEPS_PLOT;

/// The report page's template (minijinja; auto-escaped as HTML).
const PAGE_TEMPLATE: &str = include_str!("../../templates/report.html");

/// The study's sections, shared by the report page and `dispr reproduce`'s page; its
/// links start with `base` (the report folder, relative to the page).
const STUDY_TEMPLATE: &str = include_str!("../../templates/study.html");

/// File name of the report page in a report folder.
pub const PAGE: &str = "index.html";

/// Writes the report page [`PAGE`] from [`PAGE_TEMPLATE`] and the page's `content`
/// ([`content`]).
pub fn write_html(out: &Path, content: &serde_json::Value) -> anyhow::Result<()> {
    let html = render(("report.html", PAGE_TEMPLATE), content)?;
    write_text_atomic(&out.join(PAGE), &html)?;
    Ok(())
}

/// Renders the page template `(name, text)`, which may include the study's sections
/// (`{% include "study.html" %}`, [`STUDY_TEMPLATE`]), with `content`.
pub fn render((name, text): (&str, &str), content: &serde_json::Value) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template(name, text)
        .with_context(|| format!("the template {name}"))?;
    env.add_template("study.html", STUDY_TEMPLATE)
        .context("the template study.html")?;
    env.get_template(name)
        .and_then(|t| t.render(content))
        .with_context(|| format!("rendering {name}"))
}

/// A number as the page shows it.
fn num(x: f64) -> String {
    format!("{x:.3}")
}

/// A PNG of the report folder as a `data:` URI, so that the page is one self-contained
/// file (it opens offline, mailed or moved, with every picture in it).
pub(crate) fn embedded(out: &Path, file: &Path) -> anyhow::Result<String> {
    use base64::Engine;
    let path = out.join(file);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{}: cannot embed the picture in the page", path.display()))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// The picture `name` of the report folder embedded, if the folder has it.
fn embedded_if_any(out: &Path, name: &str) -> anyhow::Result<Option<String>> {
    match out.join(name).is_file() {
        true => embedded(out, Path::new(name)).map(Some),
        false => Ok(None),
    }
}

/// What the report template shows, as numbers formatted for reading, with its pictures
/// embedded: the study's tables and the `plots` (Table 1 column, PNG file name) in
/// `out`.
pub fn content(
    out: &Path,
    study: &Study,
    plots: &[(String, PathBuf)],
) -> anyhow::Result<serde_json::Value> {
    let spread = (!study.spreads.is_empty()).then(|| {
        let mut geds: Vec<f64> = study.spreads.iter().map(|s| s.ged).collect();
        let (median, mean, _) = dispr_core::experiment::evaluation::describe(&mut geds);
        json!({"median": num(median), "mean": num(mean), "cells": study.spreads.len()})
    });
    let plots: Vec<_> = plots
        .iter()
        .map(|(metric, file)| {
            Ok(json!({"src": embedded(out, file)?, "file": file.display().to_string(), "alt": column_title(metric)}))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(json!({
        "base": "",
        "data": study.data.display().to_string(),
        "columns": TABLE_METRICS.map(column_title),
        "methods": method_rows(study),
        "spread": spread,
        "classes": class_rows(study),
        "per_cell": per_cell_rows(study),
        "paired": paired_rows(study),
        "calibration": calibration_rows(study),
        "intervals": interval_rows(study),
        "predictions_png": embedded_if_any(out, "predictions.png")?,
        "cells_png": embedded_if_any(out, "cells.png")?,
        "steps_plot": embedded_if_any(out, STEPS_PLOT)?,
        "plots": plots,
    }))
}

/// The methods of Table 1, in order of first appearance.
fn methods(study: &Study) -> Vec<&str> {
    let mut methods: Vec<&str> = Vec::new();
    for r in &study.rows {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    methods
}

/// Table 1: per method, `median (mean ± sd)` of each column; `best` marks the best
/// median of a column (lowest error, highest overlap; ties all marked).
fn method_rows(study: &Study) -> Vec<serde_json::Value> {
    let rows = &study.rows;
    let best = |metric: &str| {
        let medians = rows.iter().filter(|r| r.metric == metric).map(|r| r.median);
        if higher_is_better(metric) {
            medians.fold(f64::NEG_INFINITY, f64::max)
        } else {
            medians.fold(f64::INFINITY, f64::min)
        }
    };
    methods(study)
        .into_iter()
        .map(|method| {
            let values: Vec<_> = TABLE_METRICS
                .iter()
                .map(|metric| {
                    rows.iter()
                        .find(|r| r.method == method && r.metric == *metric)
                        .map(|r| {
                            json!({
                                "median": num(r.median),
                                "mean": num(r.mean),
                                "sd": num(r.sd),
                                "best": num(r.median) == num(best(metric)),
                            })
                        })
                })
                .collect();
            let n = rows.iter().find(|r| r.method == method).map_or(0, |r| r.n);
            json!({"name": method, "n": n, "values": values})
        })
        .collect()
}

/// Table 1 per cell: each method's medians over cells with their 95 % intervals.
fn per_cell_rows(study: &Study) -> Vec<serde_json::Value> {
    let mut methods: Vec<&str> = Vec::new();
    for r in &study.per_cell {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    methods
        .into_iter()
        .map(|method| {
            let rows: Vec<_> = study
                .per_cell
                .iter()
                .filter(|r| r.method == method)
                .collect();
            let values: Vec<_> = TABLE_METRICS
                .iter()
                .map(|metric| {
                    rows.iter()
                        .find(|r| r.metric == *metric)
                        .map(|r| format!("{} [{}, {}]", num(r.median), num(r.low), num(r.high)))
                })
                .collect();
            let cells = rows.iter().map(|r| r.cells).max().unwrap_or(0);
            json!({"name": method, "cells": cells, "values": values})
        })
        .collect()
}

/// Medians per class (where a method works and where it does not); none for one class.
fn class_rows(study: &Study) -> Vec<serde_json::Value> {
    let by_class = &study.by_class;
    let mut classes: Vec<&str> = Vec::new();
    for (c, _) in by_class {
        if !classes.contains(&c.as_str()) {
            classes.push(c);
        }
    }
    let mut rows = Vec::new();
    if classes.len() < 2 {
        return rows;
    }
    for class in &classes {
        for method in methods(study) {
            let cell = |metric: &str| {
                by_class
                    .iter()
                    .find(|(c, r)| c == class && r.method == method && r.metric == metric)
                    .map(|(_, r)| r)
            };
            let Some(first) = cell("iou") else {
                continue;
            };
            let medians: Vec<_> = TABLE_METRICS
                .iter()
                .map(|m| cell(m).map(|r| num(r.median)))
                .collect();
            rows.push(json!({"class": class, "method": method, "n": first.n, "medians": medians}));
        }
    }
    rows
}

/// The per-cell paired comparisons with the baselines.
fn paired_rows(study: &Study) -> Vec<serde_json::Value> {
    study
        .paired
        .iter()
        .map(|r| {
            json!({
                "method": r.method,
                "baseline": r.baseline,
                "metric": column_title(&r.metric),
                "cells": r.cells,
                "difference": format!("{:+.3} [{:+.3}, {:+.3}]", r.median_difference, r.ci_low, r.ci_high),
                "significant": r.significantly_better(),
                "better": format!("{:.0}", 100.0 * r.better_share),
                "p": format!("{:.2e}", r.wilcoxon_p),
            })
        })
        .collect()
}

/// The calibration of the sample sets.
fn calibration_rows(study: &Study) -> Vec<serde_json::Value> {
    study
        .calibration
        .iter()
        .map(|r| {
            let ranks: Vec<String> = r.ranks.iter().map(usize::to_string).collect();
            json!({
                "method": r.method,
                "measure": r.measure,
                "cells": r.cells,
                "samples": r.samples,
                "coverage": format!("{:.2}", r.coverage),
                "expected": format!("{:.2}", r.expected),
                "ranks": ranks.join(" "),
            })
        })
        .collect()
}

/// The 90 % intervals' coverage, before and after calibration.
fn interval_rows(study: &Study) -> Vec<serde_json::Value> {
    let f2 = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| format!("{v:.2}"));
    study
        .intervals
        .iter()
        .map(|(method, c)| {
            json!({
                "method": method,
                "measure": c.measure.name(),
                "cells": c.cells,
                "samples_range": format!("{:.2}", c.samples_range),
                "samples_range_width": f2(c.samples_range_width),
                "calibrated": match (c.calibrated, c.calibrated_ci) {
                    (Some(v), Some([l, h])) => format!("{v:.2} [{l:.2}, {h:.2}]"),
                    _ => "—".to_string(),
                },
                "calibrated_width": f2(c.calibrated_width),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dispr_core::experiment::evaluation::Summary;

    /// The page lists every method and escapes names, so a cell or method name never
    /// becomes markup.
    #[test]
    fn the_report_page_shows_table_1_and_escapes_names() {
        let tmp = tempfile::tempdir().unwrap();
        let rows: Vec<Summary> = ["<b>dispr</b>", "cylinder"]
            .iter()
            .flat_map(|m| {
                TABLE_METRICS.iter().map(move |metric| Summary {
                    method: m.to_string(),
                    metric: metric.to_string(),
                    median: 0.25,
                    mean: 0.5,
                    sd: 0.125,
                    n: 7,
                })
            })
            .collect();
        let study = Study {
            data: PathBuf::from("data & co"),
            cells: 7,
            methods: vec!["<b>dispr</b>".into(), "cylinder".into()],
            records: Vec::new(),
            rows,
            by_class: Vec::new(),
            per_cell: Vec::new(),
            spreads: Vec::new(),
            paired: Vec::new(),
            calibration: Vec::new(),
            intervals: Vec::new(),
        };
        let plots = [("iou".to_string(), PathBuf::from("box_iou.png"))];
        // A missing picture is an error, not a broken image in the page.
        assert!(content(tmp.path(), &study, &plots).is_err());
        std::fs::write(tmp.path().join("box_iou.png"), b"\x89PNG").unwrap();
        write_html(tmp.path(), &content(tmp.path(), &study, &plots).unwrap()).unwrap();
        let html = std::fs::read_to_string(tmp.path().join("index.html")).unwrap();
        // Self-contained: the picture is in the page, not beside it.
        assert!(
            html.contains(r#"<img src="data:image/png;base64,iVBORw==""#),
            "{html}"
        );
        assert!(!html.contains(r#"src="box_iou.png""#) && !html.contains("http"));
        assert!(
            html.contains("&lt;b&gt;dispr&lt;&#x2f;b&gt;")
                || html.contains("&lt;b&gt;dispr&lt;/b&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>dispr</b>"));
        assert!(html.contains("data &amp; co"));
        assert!(html.contains("<b>0.250</b> (0.500 ± 0.125)"));
        assert!(html.contains("title=\"box_iou.png\""));
        assert!(!html.contains("Per cell, paired"), "no empty sections");
    }
}
