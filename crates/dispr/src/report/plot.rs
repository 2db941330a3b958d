//! Drawing: the embedded font, PNG output, figures written as PNG and SVG
//! ([`Figure`], [`save_figure`]), box plots of Table 1's columns and the classification
//! experiment's confusion matrices.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::Context;
use dispr_core::experiment::evaluation::{Record, TABLE_METRICS, column_title};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font of every plot, embedded so that plots never depend on system fonts:
/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/DejaVu-LICENSE`), which has the
/// Greek letters, minus sign and ± that axis titles use.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once.
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans font is valid"));
    });
}

/// Writes RGB pixels as a PNG, atomically.
pub fn encode_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> anyhow::Result<()> {
    dispr_core::io::atomic::write_atomic(path, |w| {
        let mut encoder = png::Encoder::new(w, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(rgb).map_err(std::io::Error::other)
    })?;
    Ok(())
}

/// A plot drawn twice from one description: as PNG for pages and as SVG (vector,
/// editable text) for papers.
pub trait Figure {
    /// Width and height in pixels (the SVG's in user units).
    fn size(&self) -> (u32, u32);
    /// Draws onto `root`, which is already white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static;
}

/// Writes `figure` as the PNG `png` and as the SVG beside it (same name, `.svg`), each
/// atomically.
pub fn save_figure(png: &Path, figure: &impl Figure) -> anyhow::Result<()> {
    register_font();
    let (width, height) = figure.size();
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    encode_png(png, &pixels, width, height)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    dispr_core::io::atomic::write_text_atomic(&png.with_extension("svg"), &svg)?;
    Ok(())
}

/// One box plot PNG (and SVG) per Table 1 column, methods side by side; returns the file names.
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
        let plot = BoxPlot {
            title: column_title(metric),
            groups,
        };
        save_figure(&path, &plot)
            .with_context(|| format!("{}: cannot draw the plot", path.display()))?;
        written.push((metric.to_string(), PathBuf::from(name)));
    }
    Ok(written)
}

/// Colours of the methods in plots (matplotlib's first six).
pub const PALETTE: [RGBColor; 6] = [
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

/// Box plots of one Table 1 column, one box per method (with its values as dots).
struct BoxPlot<'a> {
    title: &'a str,
    groups: Vec<(String, Vec<f64>)>,
}

impl Figure for BoxPlot<'_> {
    fn size(&self) -> (u32, u32) {
        ((200 * self.groups.len() as u32 + 160).clamp(520, 1600), 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw_box_plot(root, self.title, &self.groups)
    }
}

fn draw_box_plot<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    groups: &[(String, Vec<f64>)],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
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
    {
        let mut chart = ChartBuilder::on(root)
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
    }
    Ok(())
}

/// A confusion matrix as a heatmap PNG (and SVG): cells shaded by the row-normalised
/// fraction, labelled with the count.
pub fn draw_confusion(
    path: &Path,
    title: &str,
    outcome: &dispr_core::experiment::classify::Outcome,
) -> anyhow::Result<()> {
    save_figure(path, &Confusion { title, outcome })
}

/// The confusion-matrix figure.
struct Confusion<'a> {
    title: &'a str,
    outcome: &'a dispr_core::experiment::classify::Outcome,
}

/// Side of a confusion-matrix cell, and the margins left and above.
const CONFUSION_CELL: usize = 90;
const CONFUSION_LEFT: usize = 150;
const CONFUSION_TOP: usize = 70;

impl Figure for Confusion<'_> {
    fn size(&self) -> (u32, u32) {
        let k = self.outcome.classes.len();
        (
            (CONFUSION_LEFT + k * CONFUSION_CELL + 20) as u32,
            (CONFUSION_TOP + k * CONFUSION_CELL + 60) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (title, outcome) = (self.title, self.outcome);
        let k = outcome.classes.len();
        let (cell, left, top) = (CONFUSION_CELL, CONFUSION_LEFT, CONFUSION_TOP);
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
        Ok(())
    }
}
