//! Report files: CSV tables, box plots (PNG) and the HTML page that shows them.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::Context;
use dispr_core::experiment::calibration::Calibration;
use dispr_core::experiment::evaluation::{
    ENSEMBLE_SUFFIX, Record, SampleSpread, Summary, TABLE_METRICS, column_title,
};
use dispr_core::experiment::paired::PairedComparison;
use dispr_core::io::atomic::write_text_atomic;
use dispr_nn::sampler::SamplerKind;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::json;

/// Table 1 as CSV (`method,metric,median,mean,sd,n`).
pub fn summary_csv(rows: &[Summary]) -> anyhow::Result<String> {
    rows_csv(rows)
}

/// Any table of flat rows as CSV, one column per field (a header row first).
pub fn rows_csv<T: serde::Serialize>(rows: &[T]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Table 1 per class as CSV (`class,method,metric,median,mean,sd,n`).
pub fn class_summary_csv(rows: &[(String, Summary)]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["class", "method", "metric", "median", "mean", "sd", "n"])?;
    for (class, r) in rows {
        w.write_record([
            class.clone(),
            r.method.clone(),
            r.metric.clone(),
            r.median.to_string(),
            r.mean.to_string(),
            r.sd.to_string(),
            r.n.to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// One line per prediction: measurements of prediction and truth, errors, overlap.
pub fn records_csv(records: &[Record]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "method",
        "cell",
        "class",
        "prediction",
        "volume",
        "surface_area",
        "roughness",
        "curvature",
        "truth_volume",
        "truth_surface_area",
        "truth_roughness",
        "truth_curvature",
        "err_volume",
        "err_surface_area",
        "err_roughness",
        "err_curvature",
        "iou",
        "dice",
    ])?;
    let f = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for r in records {
        let (p, t, e) = (&r.predicted, &r.truth, &r.errors);
        w.write_record([
            r.method.clone(),
            r.cell.clone(),
            r.class.clone(),
            r.prediction.label(),
            p.volume.to_string(),
            p.surface_area.to_string(),
            p.roughness.to_string(),
            f(p.curvature),
            t.volume.to_string(),
            t.surface_area.to_string(),
            t.roughness.to_string(),
            f(t.curvature),
            f(e.volume),
            f(e.surface_area),
            f(e.roughness),
            f(e.curvature),
            e.iou.to_string(),
            e.dice.to_string(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Spread of samples per method and cell.
pub fn spread_csv(spreads: &[SampleSpread]) -> anyhow::Result<String> {
    rows_csv(spreads)
}

/// Registers the embedded font once (plots must not depend on system fonts).
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .unwrap_or_else(|_| panic!("the embedded Ubuntu Light font is valid"));
    });
}

/// One box plot PNG per Table 1 column, methods side by side; returns the file names.
pub fn box_plots(records: &[Record], out: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    register_font();
    let mut methods: Vec<String> = Vec::new();
    for r in records {
        if !methods.contains(&r.method) {
            methods.push(r.method.clone());
        }
    }
    let mut written = Vec::new();
    for metric in TABLE_METRICS {
        let groups: Vec<(String, Vec<f64>)> = methods
            .iter()
            .map(|m| {
                let values = records
                    .iter()
                    .filter(|r| &r.method == m)
                    .filter_map(|r| r.metric(metric))
                    .collect();
                (m.clone(), values)
            })
            .filter(|(_, v): &(String, Vec<f64>)| !v.is_empty())
            .collect();
        if groups.is_empty() {
            continue;
        }
        let name = format!("{metric}.png");
        let path = out.join(&name);
        draw_box_plot(&path, column_title(metric), &groups)
            .with_context(|| format!("{}: cannot draw the plot", path.display()))?;
        written.push((metric.to_string(), PathBuf::from(name)));
    }
    Ok(written)
}

/// Colours of the methods in plots (matplotlib's first six).
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Tukey box plot statistics: quartiles (linear interpolation, as numpy), whiskers at
/// the most extreme values within 1.5 IQR of the box, and the values beyond them.
struct BoxStats {
    q1: f64,
    median: f64,
    q3: f64,
    low: f64,
    high: f64,
    outliers: Vec<f64>,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

fn box_stats(values: &[f64]) -> BoxStats {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let (q1, median, q3) = (quantile(&v, 0.25), quantile(&v, 0.5), quantile(&v, 0.75));
    let (lo_fence, hi_fence) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
    let inside: Vec<f64> = v
        .iter()
        .copied()
        .filter(|x| (lo_fence..=hi_fence).contains(x))
        .collect();
    BoxStats {
        q1,
        median,
        q3,
        low: inside.first().copied().unwrap_or(q1),
        high: inside.last().copied().unwrap_or(q3),
        outliers: v
            .into_iter()
            .filter(|x| !(lo_fence..=hi_fence).contains(x))
            .collect(),
    }
}

fn draw_box_plot(path: &Path, title: &str, groups: &[(String, Vec<f64>)]) -> anyhow::Result<()> {
    let (lo, hi) = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    let hi = hi + pad;
    let n = groups.len();
    let (width, height) = ((200 * n as u32 + 160).clamp(520, 1600), 480u32);
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(8)
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .y_desc(title)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()?;
        for (i, (name, values)) in groups.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let x = i as f64;
            let b = box_stats(values);
            let stroke = colour.stroke_width(2);
            chart.draw_series([Rectangle::new(
                [(x - 0.25, b.q1), (x + 0.25, b.q3)],
                colour.mix(0.15).filled(),
            )])?;
            chart.draw_series([Rectangle::new([(x - 0.25, b.q1), (x + 0.25, b.q3)], stroke)])?;
            chart.draw_series([PathElement::new(
                vec![(x - 0.25, b.median), (x + 0.25, b.median)],
                colour.stroke_width(4),
            )])?;
            for (from, to) in [(b.q1, b.low), (b.q3, b.high)] {
                chart.draw_series([PathElement::new(vec![(x, from), (x, to)], stroke)])?;
                chart
                    .draw_series([PathElement::new(vec![(x - 0.1, to), (x + 0.1, to)], stroke)])?;
            }
            // Every value as a faint dot (deterministic jitter), outliers as open circles.
            chart.draw_series(values.iter().enumerate().map(|(k, &v)| {
                let jitter = ((k * 7919) % 101) as f64 / 101.0 * 0.3 - 0.15;
                Circle::new((x + jitter, v), 2, colour.mix(0.35).filled())
            }))?;
            chart.draw_series(
                b.outliers
                    .iter()
                    .map(|&v| Circle::new((x, v), 4, colour.stroke_width(1))),
            )?;
            let (px, py) = chart.backend_coord(&(x, lo));
            let label = format!("{name} (n={})", values.len());
            let style = TextStyle::from(("sans-serif", 17).into_font())
                .pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(label, (px, py + 10), style))?;
        }
        root.present()?;
    }
    encode_png(path, &pixels, width, height)
}

/// The sampler and number of network evaluations of a method named `SAMPLER-STEPS`
/// (e.g. `ddim-10`, as scripts/train/fast_fold_eval.sh names its settings), else None.
pub fn sampler_setting(method: &str) -> Option<(&str, usize)> {
    let (sampler, steps) = method.rsplit_once('-')?;
    sampler.parse::<SamplerKind>().ok()?;
    Some((sampler, steps.parse().ok()?))
}

/// [`sampler_setting`] of a method or of the method whose ensemble it is (`ddim-10
/// ensemble`), with whether it is the ensemble.
fn study_setting(method: &str) -> Option<(&str, usize, bool)> {
    match method.strip_suffix(ENSEMBLE_SUFFIX) {
        Some(base) => sampler_setting(base).map(|(s, n)| (s, n, true)),
        None => sampler_setting(method).map(|(s, n)| (s, n, false)),
    }
}

/// File name of the steps-versus-quality plot in a report folder.
pub const STEPS_PLOT: &str = "steps.png";

/// The steps-versus-quality plot of a sampler study: when at least two methods are
/// sampler settings (see [`sampler_setting`]), one panel per Table 1 column with the
/// median against the number of network evaluations (log axis), a line per sampler
/// (its ensembles dashed in the same colour), and every other method (the baselines)
/// as a grey dashed horizontal line. Writes [`STEPS_PLOT`] into `out` and returns
/// true; returns false when there is no study.
pub fn steps_plot(rows: &[Summary], out: &Path) -> anyhow::Result<bool> {
    // (row, sampler, steps, is the ensemble) of every row of a sampler setting.
    let settings: Vec<(&Summary, &str, usize, bool)> = rows
        .iter()
        .filter_map(|r| study_setting(&r.method).map(|(s, n, e)| (r, s, n, e)))
        .collect();
    let mut methods: Vec<&str> = settings
        .iter()
        .filter(|(_, _, _, ensemble)| !ensemble)
        .map(|(r, _, _, _)| r.method.as_str())
        .collect();
    methods.sort_unstable();
    methods.dedup();
    if methods.len() < 2 {
        return Ok(false);
    }
    register_font();
    let mut samplers: Vec<&str> = settings.iter().map(|(_, s, _, _)| *s).collect();
    samplers.sort_unstable();
    samplers.dedup();
    let mut others: Vec<&str> = Vec::new();
    for r in rows {
        if study_setting(&r.method).is_none() && !others.contains(&r.method.as_str()) {
            others.push(&r.method);
        }
    }
    let mut step_counts: Vec<usize> = settings.iter().map(|(_, _, n, _)| *n).collect();
    step_counts.sort_unstable();
    step_counts.dedup();
    let ticks: Vec<f64> = step_counts.iter().map(|&n| n as f64).collect();
    let (lo_steps, hi_steps) = (ticks[0], ticks[ticks.len() - 1]);
    let greys = [
        RGBColor(60, 60, 60),
        RGBColor(130, 130, 130),
        RGBColor(180, 180, 180),
    ];
    let (width, height) = (1500u32, 900u32);
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((2, 3));
        for (panel, metric) in panels.iter().zip(TABLE_METRICS) {
            let of_metric: Vec<&Summary> = rows.iter().filter(|r| r.metric == metric).collect();
            if of_metric.is_empty() {
                continue;
            }
            let (lo, hi) = of_metric
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
                    (a.min(r.median), b.max(r.median))
                });
            let pad = ((hi - lo) * 0.08).max(1e-3);
            let x_range = (lo_steps / 1.3)..(hi_steps * 1.3);
            let mut chart = ChartBuilder::on(panel)
                .caption(
                    format!("median {}", column_title(metric)),
                    ("sans-serif", 22),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(
                    x_range.clone().log_scale().with_key_points(ticks.clone()),
                    (lo - pad)..(hi + pad),
                )?;
            chart
                .configure_mesh()
                .x_desc("network evaluations")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.3}"))
                .light_line_style(WHITE)
                .bold_line_style(RGBColor(225, 225, 225))
                .label_style(("sans-serif", 14))
                .axis_desc_style(("sans-serif", 15))
                .draw()?;
            for (i, other) in others.iter().enumerate() {
                let Some(r) = of_metric.iter().find(|r| r.method == *other) else {
                    continue;
                };
                let colour = greys[i % greys.len()];
                chart
                    .draw_series(DashedLineSeries::new(
                        [(x_range.start, r.median), (x_range.end, r.median)],
                        8,
                        6,
                        colour.stroke_width(2),
                    ))?
                    .label(other.to_string())
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            for (i, sampler) in samplers.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                for ensemble in [false, true] {
                    let mut points: Vec<(f64, f64)> = settings
                        .iter()
                        .filter(|(r, s, _, e)| r.metric == metric && s == sampler && *e == ensemble)
                        .map(|(r, _, n, _)| (*n as f64, r.median))
                        .collect();
                    if points.is_empty() {
                        continue;
                    }
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let label = if ensemble {
                        format!("{sampler}{ENSEMBLE_SUFFIX}")
                    } else {
                        sampler.to_string()
                    };
                    let width = if ensemble { 2 } else { 3 };
                    let legend = move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(width))
                    };
                    if ensemble {
                        chart
                            .draw_series(DashedLineSeries::new(
                                points.clone(),
                                6,
                                4,
                                colour.stroke_width(width),
                            ))?
                            .label(label)
                            .legend(legend);
                    } else {
                        chart
                            .draw_series(LineSeries::new(
                                points.clone(),
                                colour.stroke_width(width),
                            ))?
                            .label(label)
                            .legend(legend);
                    }
                    chart.draw_series(points.iter().map(|&p| {
                        if ensemble {
                            Circle::new(p, 5, colour.stroke_width(2))
                        } else {
                            Circle::new(p, 5, colour.filled())
                        }
                    }))?;
                }
            }
            if metric == TABLE_METRICS[0] {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(200, 200, 200))
                    .label_font(("sans-serif", 15))
                    .position(SeriesLabelPosition::UpperRight)
                    .draw()?;
            }
        }
        root.present()?;
    }
    let path = out.join(STEPS_PLOT);
    encode_png(&path, &pixels, width, height)
        .with_context(|| format!("{}: cannot draw the plot", path.display()))?;
    Ok(true)
}

/// Writes RGB pixels as a PNG, atomically.
pub fn encode_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> anyhow::Result<()> {
    dispr_core::io::atomic::write_atomic(path, |w| {
        let mut encoder = png::Encoder::new(w, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())
    })?;
    Ok(())
}

/// Everything an evaluation report page shows.
pub struct ReportTables<'a> {
    /// The ground truth's dataset folder.
    pub data: &'a Path,
    /// Table 1.
    pub rows: &'a [Summary],
    /// Table 1 per class.
    pub by_class: &'a [(String, Summary)],
    /// Box plots: (metric, file name).
    pub plots: &'a [(String, PathBuf)],
    /// Spread of samples per cell.
    pub spreads: &'a [SampleSpread],
    /// Paired per-cell comparisons with the baselines.
    pub paired: &'a [PairedComparison],
    /// Calibration of the sample sets.
    pub calibration: &'a [Calibration],
}

/// The report page's template (minijinja; auto-escaped as HTML).
const PAGE_TEMPLATE: &str = include_str!("../templates/report.html");

/// Writes the report page `index.html` from [`PAGE_TEMPLATE`].
pub fn write_html(out: &Path, tables: &ReportTables) -> anyhow::Result<()> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", PAGE_TEMPLATE)
        .context("the report template")?;
    let html = env
        .get_template("report.html")
        .and_then(|t| t.render(page(out, tables)))
        .context("rendering the report")?;
    write_text_atomic(&out.join("index.html"), &html)?;
    Ok(())
}

/// What the report template shows, as numbers formatted for reading.
fn page(out: &Path, tables: &ReportTables) -> serde_json::Value {
    let ReportTables {
        data,
        rows,
        by_class,
        plots,
        spreads,
        paired,
        calibration,
    } = *tables;
    let num = |x: f64| format!("{x:.3}");
    let mut methods: Vec<&str> = Vec::new();
    for r in rows {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let method_rows: Vec<_> = methods
        .iter()
        .map(|method| {
            let values: Vec<_> = TABLE_METRICS
                .iter()
                .map(|metric| {
                    rows.iter()
                        .find(|r| r.method == *method && r.metric == *metric)
                        .map(|r| json!({"median": num(r.median), "mean": num(r.mean), "sd": num(r.sd)}))
                })
                .collect();
            let n = rows.iter().find(|r| r.method == *method).map_or(0, |r| r.n);
            json!({"name": method, "n": n, "values": values})
        })
        .collect();
    let spread = (!spreads.is_empty()).then(|| {
        let mut geds: Vec<f64> = spreads.iter().map(|s| s.ged).collect();
        let (median, mean, _) = dispr_core::experiment::evaluation::describe(&mut geds);
        json!({"median": num(median), "mean": num(mean), "cells": spreads.len()})
    });
    // Medians per class: where a method works and where it does not.
    let mut classes: Vec<&str> = Vec::new();
    for (c, _) in by_class {
        if !classes.contains(&c.as_str()) {
            classes.push(c);
        }
    }
    let mut class_rows = Vec::new();
    if classes.len() > 1 {
        for class in &classes {
            for method in &methods {
                let cell = |metric: &str| {
                    by_class
                        .iter()
                        .find(|(c, r)| c == class && r.method == *method && r.metric == metric)
                        .map(|(_, r)| r)
                };
                let Some(first) = cell("iou") else {
                    continue;
                };
                let medians: Vec<_> = TABLE_METRICS
                    .iter()
                    .map(|m| cell(m).map(|r| num(r.median)))
                    .collect();
                class_rows.push(
                    json!({"class": class, "method": method, "n": first.n, "medians": medians}),
                );
            }
        }
    }
    let paired_rows: Vec<_> = paired
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
        .collect();
    let calibration_rows: Vec<_> = calibration
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
        .collect();
    let plots: Vec<_> = plots
        .iter()
        .map(|(metric, file)| json!({"file": file.display().to_string(), "alt": column_title(metric)}))
        .collect();
    json!({
        "data": data.display().to_string(),
        "columns": TABLE_METRICS.map(column_title),
        "methods": method_rows,
        "spread": spread,
        "classes": class_rows,
        "paired": paired_rows,
        "calibration": calibration_rows,
        "predictions_png": out.join("predictions.png").is_file(),
        "cells_png": out.join("cells.png").is_file(),
        "steps_plot": out.join(STEPS_PLOT).is_file().then_some(STEPS_PLOT),
        "plots": plots,
    })
}

/// A confusion matrix as a heatmap PNG: cells shaded by the row-normalised fraction,
/// labelled with the count.
pub fn draw_confusion(
    path: &Path,
    title: &str,
    outcome: &dispr_core::experiment::classify::Outcome,
) -> anyhow::Result<()> {
    register_font();
    let k = outcome.classes.len();
    let cell = 90usize;
    let (left, top) = (150usize, 70usize);
    let (width, height) = (left + k * cell + 20, top + k * cell + 60);
    let mut pixels = vec![255u8; width * height * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width as u32, height as u32))
            .into_drawing_area();
        let text = |size: i32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
        root.draw(&Text::new(
            format!("confusion matrix, {title}"),
            (10, 10),
            text(20),
        ))?;
        for (r, row) in outcome.confusion.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (c, &count) in row.iter().enumerate() {
                let fraction = if total > 0 {
                    count as f64 / total as f64
                } else {
                    0.0
                };
                let shade = (255.0 * (1.0 - 0.75 * fraction)) as u8;
                let (x0, y0) = ((left + c * cell) as i32, (top + r * cell) as i32);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell as i32 - 2, y0 + cell as i32 - 2)],
                    RGBColor(shade, shade, 255).filled(),
                ))?;
                let style = text(18).pos(Pos::new(HPos::Center, VPos::Center));
                root.draw(&Text::new(
                    count.to_string(),
                    (x0 + cell as i32 / 2, y0 + cell as i32 / 2),
                    style,
                ))?;
            }
            let style = text(15).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(
                outcome.classes[r].clone(),
                (left as i32 - 8, (top + r * cell + cell / 2) as i32),
                style,
            ))?;
        }
        for (c, name) in outcome.classes.iter().enumerate() {
            let style = text(15).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(
                name.clone(),
                (
                    (left + c * cell + cell / 2) as i32,
                    (top + k * cell + 6) as i32,
                ),
                style,
            ))?;
        }
        let style = text(14).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            "columns: predicted class, rows: true class".to_string(),
            ((left + k * cell / 2) as i32, (top + k * cell + 32) as i32),
            style,
        ))?;
        root.present()?;
    }
    encode_png(path, &pixels, width as u32, height as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let tables = ReportTables {
            data: Path::new("data & co"),
            rows: &rows,
            by_class: &[],
            plots: &[("iou".to_string(), PathBuf::from("box_iou.png"))],
            spreads: &[],
            paired: &[],
            calibration: &[],
        };
        write_html(tmp.path(), &tables).unwrap();
        let html = std::fs::read_to_string(tmp.path().join("index.html")).unwrap();
        assert!(
            html.contains("&lt;b&gt;dispr&lt;&#x2f;b&gt;")
                || html.contains("&lt;b&gt;dispr&lt;/b&gt;"),
            "{html}"
        );
        assert!(!html.contains("<b>dispr</b>"));
        assert!(html.contains("data &amp; co"));
        assert!(html.contains("<b>0.250</b> (0.500 ± 0.125)"));
        assert!(html.contains("<img src=\"box_iou.png\""));
        assert!(!html.contains("Per cell, paired"), "no empty sections");
    }

    fn row(method: &str, metric: &str, median: f64) -> Summary {
        Summary {
            method: method.into(),
            metric: metric.into(),
            median,
            mean: median,
            sd: 0.0,
            n: 1,
        }
    }

    #[test]
    fn sampler_settings_are_read_from_method_names() {
        assert_eq!(sampler_setting("ddim-10"), Some(("ddim", 10)));
        assert_eq!(sampler_setting("dpm++2m-5"), Some(("dpm++2m", 5)));
        assert_eq!(sampler_setting("ddpm-1000"), Some(("ddpm", 1000)));
        for not_a_setting in ["cylinder", "ddim", "ddim-x", "euler-10", "ddim-"] {
            assert_eq!(sampler_setting(not_a_setting), None, "{not_a_setting}");
        }
    }

    #[test]
    fn the_steps_plot_is_drawn_only_for_a_sampler_study() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = Vec::new();
        for metric in TABLE_METRICS {
            rows.push(row("ddim-10", metric, 0.2));
            rows.push(row("cylinder", metric, 0.4));
            rows.push(row("ddim-10 ensemble", metric, 0.18));
        }
        // A setting's ensemble is not a second setting.
        assert!(!steps_plot(&rows, dir.path()).unwrap());
        assert!(!dir.path().join(STEPS_PLOT).exists());
        for metric in TABLE_METRICS {
            rows.push(row("ddpm-50", metric, 0.25));
        }
        assert!(steps_plot(&rows, dir.path()).unwrap());
        let file = std::fs::File::open(dir.path().join(STEPS_PLOT)).unwrap();
        let reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        assert_eq!((reader.info().width, reader.info().height), (1500, 900));
    }
}
