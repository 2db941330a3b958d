//! The steps-versus-quality plot of a sampler study: Table 1's medians against the
//! number of network evaluations, one line per sampler.

use std::ops::Range;
use std::path::Path;

use anyhow::Context;
use dispr_core::experiment::evaluation::{ENSEMBLE_SUFFIX, Summary, TABLE_METRICS, column_title};
use dispr_nn::pipeline::SamplerSettings;
use dispr_nn::sampler::SamplerKind;
use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::plot::{Figure, PALETTE, save_figure};

/// The line and number of network evaluations of a method named after its sampler
/// setting: `SAMPLER-STEPS` (e.g. `ddim-10`, as scripts/train/fast_fold_eval.sh names
/// its settings; line `ddim`) or a sampler's full name, as `dispr predict` records it
/// (`ddim-10-eta1`, line `ddim-eta1`; `ddim-10-eta1-from0.7`, line `ddim-eta1-from0.7`,
/// 7 evaluations); else None.
pub fn sampler_setting(method: &str) -> Option<(String, usize)> {
    let (sampler, rest) = method.split_once('-')?;
    if let Some(settings) = SamplerSettings::from_name(method) {
        let tail = rest.strip_prefix(&settings.steps.to_string())?;
        return Some((format!("{sampler}{tail}"), settings.evaluations()));
    }
    sampler.parse::<SamplerKind>().ok()?;
    Some((sampler.to_string(), rest.parse().ok()?))
}

/// [`sampler_setting`] of a method or of the method whose ensemble it is (`ddim-10
/// ensemble`), with whether it is the ensemble.
fn study_setting(method: &str) -> Option<(String, usize, bool)> {
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
/// as a dashed horizontal line. Writes [`STEPS_PLOT`] into `out` and returns
/// true; returns false when there is no study.
pub fn steps_plot(rows: &[Summary], out: &Path) -> anyhow::Result<bool> {
    let Some(study) = SamplerStudy::of(rows) else {
        return Ok(false);
    };
    let path = out.join(STEPS_PLOT);
    save_figure(&path, &StepsFigure { study, rows })
        .with_context(|| format!("{}: cannot draw the plot", path.display()))?;
    Ok(true)
}

/// The six panels of the steps plot.
struct StepsFigure<'a> {
    study: SamplerStudy<'a>,
    rows: &'a [Summary],
}

impl Figure for StepsFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1500, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        for (panel, metric) in root.split_evenly((2, 3)).iter().zip(TABLE_METRICS) {
            draw_panel(panel, &self.study, self.rows, metric)?;
        }
        Ok(())
    }
}

/// One row of Table 1 that belongs to a sampler setting.
struct Setting<'a> {
    row: &'a Summary,
    /// The sampler line it belongs to (its name without the steps).
    sampler: String,
    steps: usize,
    ensemble: bool,
}

/// The sampler settings of a Table 1, and what the plot needs to know about them.
struct SamplerStudy<'a> {
    settings: Vec<Setting<'a>>,
    /// Sampler lines, sorted.
    samplers: Vec<String>,
    /// Methods that are not sampler settings (the baselines), in order.
    others: Vec<&'a str>,
    /// The network evaluations, sorted: the x axis's key points.
    ticks: Vec<f64>,
}

impl<'a> SamplerStudy<'a> {
    /// The study in `rows`, if at least two methods are sampler settings.
    fn of(rows: &'a [Summary]) -> Option<Self> {
        let settings: Vec<Setting> = rows
            .iter()
            .filter_map(|row| {
                study_setting(&row.method).map(|(sampler, steps, ensemble)| Setting {
                    row,
                    sampler,
                    steps,
                    ensemble,
                })
            })
            .collect();
        let mut methods: Vec<&str> = settings
            .iter()
            .filter(|s| !s.ensemble)
            .map(|s| s.row.method.as_str())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        if methods.len() < 2 {
            return None;
        }
        let mut samplers: Vec<String> = settings.iter().map(|s| s.sampler.clone()).collect();
        samplers.sort_unstable();
        samplers.dedup();
        let mut others: Vec<&str> = Vec::new();
        for r in rows {
            if study_setting(&r.method).is_none() && !others.contains(&r.method.as_str()) {
                others.push(&r.method);
            }
        }
        let mut steps: Vec<usize> = settings.iter().map(|s| s.steps).collect();
        steps.sort_unstable();
        steps.dedup();
        Some(Self {
            settings,
            samplers,
            others,
            ticks: steps.iter().map(|&n| n as f64).collect(),
        })
    }

    /// The x range: the step counts with a margin on the log axis.
    fn x_range(&self) -> Range<f64> {
        (self.ticks[0] / 1.3)..(self.ticks[self.ticks.len() - 1] * 1.3)
    }

    /// The (evaluations, median) points of one sampler line's settings or of their
    /// ensembles.
    fn points(&self, metric: &str, sampler: &str, ensemble: bool) -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = self
            .settings
            .iter()
            .filter(|s| s.row.metric == metric && s.sampler == sampler && s.ensemble == ensemble)
            .map(|s| (s.steps as f64, s.row.median))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    }
}

/// A panel's chart: log steps across, the median up.
type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<WithKeyPoints<LogCoord<f64>>, RangedCoordf64>>;

/// The panel of one Table 1 column (nothing when no method has it).
fn draw_panel<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    study: &SamplerStudy,
    rows: &[Summary],
    metric: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let of_metric: Vec<&Summary> = rows.iter().filter(|r| r.metric == metric).collect();
    if of_metric.is_empty() {
        return Ok(());
    }
    let (lo, hi) = of_metric
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
            (a.min(r.median), b.max(r.median))
        });
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let mut chart = ChartBuilder::on(panel)
        .caption(
            format!("median {}", column_title(metric)),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            study
                .x_range()
                .log_scale()
                .with_key_points(study.ticks.clone()),
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
    draw_baselines(&mut chart, study, &of_metric)?;
    for (i, sampler) in study.samplers.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        for ensemble in [false, true] {
            let points = study.points(metric, sampler, ensemble);
            if !points.is_empty() {
                draw_sampler(&mut chart, sampler, ensemble, colour, points)?;
            }
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
    Ok(())
}

/// Every method that is not a sampler setting, as a dashed horizontal line.
fn draw_baselines<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    study: &SamplerStudy,
    of_metric: &[&Summary],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    // Colours of their own (the samplers take the palette's first ones) and two dash
    // patterns, so that baselines with close medians stay apart.
    const COLOURS: [RGBColor; 7] = [
        RGBColor(60, 60, 60),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(23, 190, 207),
        RGBColor(227, 119, 194),
        RGBColor(188, 189, 34),
        RGBColor(150, 150, 150),
    ];
    let x_range = study.x_range();
    for (i, other) in study.others.iter().enumerate() {
        let Some(r) = of_metric.iter().find(|r| r.method == *other) else {
            continue;
        };
        let colour = COLOURS[i % COLOURS.len()];
        let (dash, gap) = if i % 2 == 0 { (8, 6) } else { (3, 4) };
        chart
            .draw_series(DashedLineSeries::new(
                [(x_range.start, r.median), (x_range.end, r.median)],
                dash,
                gap,
                colour.stroke_width(2),
            ))?
            .label(other.to_string())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    Ok(())
}

/// One sampler's line (dashed and thinner for its ensembles), with a dot per setting
/// (hollow for the ensembles).
fn draw_sampler<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    sampler: &str,
    ensemble: bool,
    colour: RGBColor,
    points: Vec<(f64, f64)>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let label = if ensemble {
        format!("{sampler}{ENSEMBLE_SUFFIX}")
    } else {
        sampler.to_string()
    };
    let width = if ensemble { 2 } else { 3 };
    let legend = move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(width));
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
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(width)))?
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let setting = |line: &str, evaluations| Some((line.to_string(), evaluations));
        assert_eq!(sampler_setting("ddim-10"), setting("ddim", 10));
        assert_eq!(sampler_setting("dpm++2m-5"), setting("dpm++2m", 5));
        assert_eq!(sampler_setting("ddpm-1000"), setting("ddpm", 1000));
        // Full sampler names: η is part of the line, a walk begun from the prior takes
        // its share of the steps.
        assert_eq!(sampler_setting("ddim-10-eta1"), setting("ddim-eta1", 10));
        assert_eq!(sampler_setting("ddim-20-eta0"), setting("ddim-eta0", 20));
        assert_eq!(
            sampler_setting("ddim-10-eta1-from0.7"),
            setting("ddim-eta1-from0.7", 7)
        );
        assert_eq!(
            sampler_setting("ddpm-20-from0.5"),
            setting("ddpm-from0.5", 10)
        );
        for not_a_setting in [
            "cylinder",
            "ddim",
            "ddim-x",
            "euler-10",
            "ddim-",
            "ddim-10-eta1-from2",
        ] {
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
            rows.push(row("ddim-10-eta1-from0.7", metric, 0.15));
            rows.push(row("ddim-20-eta1-from0.7", metric, 0.14));
        }
        assert!(steps_plot(&rows, dir.path()).unwrap());
        let file = std::fs::File::open(dir.path().join(STEPS_PLOT)).unwrap();
        let reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        assert_eq!((reader.info().width, reader.info().height), (1500, 900));
        let svg = std::fs::read_to_string(dir.path().join("steps.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("network evaluations"));
    }
}
