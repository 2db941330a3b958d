//! Per-cell 90 % intervals whose coverage is measured, not assumed: split-conformal
//! calibration on held-out predictions.
//!
//! A cell's samples give, for each measure, a mean `m` and a coefficient of variation
//! `cv = sd / m`. On cells that the predicting model never saw (e.g. the five folds of
//! a cross-validation), each cell's score is how far its truth `y` lies from its
//! samples, in units of their spread:
//!
//! `score = |ln(y / m)| / (cv + floor)`, with `floor` the median `cv` over those cells,
//!
//! so that a cell whose samples agree (cv ≈ 0) still gets an interval. The calibrated
//! interval of any cell is then `m · exp(±q · (cv + floor))`, with `q` the
//! ⌈(n + 1) · 0.9⌉-th smallest of the n scores: if the cells to come are exchangeable
//! with those n, it holds the truth for at least 90 % of them (split-conformal
//! prediction; Angelopoulos & Bates, *A gentle introduction to conformal prediction*,
//! 2021, normalized scores). Ratios, not differences: the interval does not depend on
//! the units (voxels or µm).
//!
//! That guarantee is a promise about exchangeable cells, so it is also measured: with
//! the cells in groups (the folds), each group's cells are judged by a fit on the other
//! groups only (cross-fitting), and the share covered is reported with a bootstrap
//! interval over cells — beside the coverage of what an uncalibrated prediction
//! reports, the samples' own 5–95 % range. (That bootstrap resamples cells and holds
//! each fold's fit fixed, so it is somewhat narrower than the variation over fits.)
//! The fixture values that check this module
//! are written by `scripts/fixtures/make_intervals_fixtures.py` (numpy).

use serde::{Deserialize, Serialize};

use crate::experiment::evaluation::{Prediction, Record, median};
use crate::experiment::paired::bootstrap_interval;
use crate::experiment::uncertainty::Spread;
use crate::shape::metrics::Measure;

/// The share of cells a calibrated interval is meant to hold the truth of.
pub const COVERAGE: f64 = 0.90;

/// One held-out cell's samples of one measure, its truth, and its group (the fold of
/// the model that predicted it).
#[derive(Clone, Debug, PartialEq)]
pub struct HeldOut {
    /// The group (fold), for cross-fitting.
    pub group: usize,
    /// The samples' values.
    pub samples: Vec<f64>,
    /// The true value.
    pub truth: f64,
}

/// The calibrated interval of one measure: `mean · exp(±q · (cv + floor))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasureFit {
    /// The measure.
    pub measure: Measure,
    /// The conformal quantile of the scores.
    pub q: f64,
    /// The spread added to every cell's cv: the median cv of the cells fitted on (1
    /// when all of them had cv 0, e.g. one sample each).
    pub floor: f64,
    /// Cells fitted on.
    pub cells: usize,
}

/// A cell's centre and relative spread (mean, sd / mean), when the mean is positive.
fn centre(spread: &Spread) -> Option<(f64, f64)> {
    (spread.mean > 0.0 && spread.mean.is_finite()).then(|| (spread.mean, spread.sd / spread.mean))
}

impl MeasureFit {
    /// The calibrated 90 % interval of a cell whose samples' spread is `spread`; `None`
    /// when their mean is not positive (no ratio to scale).
    pub fn interval(&self, spread: &Spread) -> Option<[f64; 2]> {
        let (mean, cv) = centre(spread)?;
        let half = self.q * (cv + self.floor);
        Some([mean * (-half).exp(), mean * half.exp()])
    }
}

/// The cells of `cells` that can be scored: samples with a positive mean, a positive
/// truth; as (cell index, mean, cv).
fn usable(cells: &[HeldOut]) -> Vec<(usize, f64, f64)> {
    cells
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.samples.is_empty() && c.truth > 0.0 && c.truth.is_finite())
        .filter_map(|(i, c)| centre(&Spread::of(&c.samples)).map(|(m, cv)| (i, m, cv)))
        .collect()
}

/// The fewest scorable cells a fit needs: ⌈(n + 1) · 0.9⌉ ≤ n.
pub fn min_cells() -> usize {
    (1..)
        .find(|&n| conformal_rank(n) <= n)
        .unwrap_or(usize::MAX)
}

/// The 1-based rank of the conformal quantile among `n` scores.
fn conformal_rank(n: usize) -> usize {
    // A small tolerance keeps (n + 1) · 0.9 that is an integer from rounding up.
    ((n as f64 + 1.0) * COVERAGE - 1e-9).ceil() as usize
}

/// Fits `measure`'s interval on held-out `cells`; an error saying why when fewer than
/// [`min_cells`] of them can be scored.
pub fn fit(measure: Measure, cells: &[HeldOut]) -> Result<MeasureFit, String> {
    let usable = usable(cells);
    let n = usable.len();
    if conformal_rank(n) > n {
        return Err(format!(
            "{}: {n} held-out cells with a positive value, a 90 % interval needs at least {}",
            measure.name(),
            min_cells()
        ));
    }
    let mut cvs: Vec<f64> = usable.iter().map(|u| u.2).collect();
    let floor = match median(&mut cvs) {
        f if f > 0.0 => f,
        _ => 1.0,
    };
    let mut scores: Vec<f64> = usable
        .iter()
        .map(|&(i, m, cv)| (cells[i].truth / m).ln().abs() / (cv + floor))
        .collect();
    scores.sort_by(f64::total_cmp);
    Ok(MeasureFit {
        measure,
        q: scores[conformal_rank(n) - 1],
        floor,
        cells: n,
    })
}

/// How well the intervals of one measure hold the truth, before and after calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// The measure.
    pub measure: Measure,
    /// Cells counted (with a positive truth and sample mean).
    pub cells: usize,
    /// Share of them whose truth lies within their samples' 5–95 % range (what an
    /// uncalibrated prediction reports as its 90 % interval).
    pub samples_range: f64,
    /// Median over cells of that range's high / low end (its width, as a ratio); `None`
    /// when no cell's range has a positive low end.
    pub samples_range_width: Option<f64>,
    /// Share whose truth lies within the calibrated interval fitted on the other groups
    /// only (cross-fitted); `None` with fewer than two groups, or a group whose others
    /// are too few to fit on.
    pub calibrated: Option<f64>,
    /// 95 % bootstrap interval over cells of `calibrated`.
    pub calibrated_ci: Option<[f64; 2]>,
    /// Median over cells of the cross-fitted interval's high / low end.
    pub calibrated_width: Option<f64>,
    /// The fit on all the cells (what a model stores and `dispr predict` applies).
    pub fit: MeasureFit,
}

/// `measure`'s coverage before and after calibration on held-out `cells` (the fit on
/// all of them, cross-fitted coverage over their groups); an error when too few cells
/// can be scored.
pub fn coverage(measure: Measure, cells: &[HeldOut]) -> Result<Coverage, String> {
    let fit_all = fit(measure, cells)?;
    let usable = usable(cells);
    let spreads: Vec<Spread> = usable
        .iter()
        .map(|&(i, _, _)| Spread::of(&cells[i].samples))
        .collect();
    let truth = |k: usize| cells[usable[k].0].truth;
    let within = |k: usize, [low, high]: [f64; 2]| low <= truth(k) && truth(k) <= high;
    let share = |hits: &[bool]| hits.iter().filter(|&&h| h).count() as f64 / hits.len() as f64;
    let raw_hits: Vec<bool> = (0..usable.len())
        .map(|k| within(k, [spreads[k].low, spreads[k].high]))
        .collect();
    let mut raw_widths: Vec<f64> = spreads
        .iter()
        .filter(|s| s.low > 0.0)
        .map(|s| s.high / s.low)
        .collect();
    let mut groups: Vec<usize> = usable.iter().map(|&(i, _, _)| cells[i].group).collect();
    groups.sort_unstable();
    groups.dedup();
    let cross = if groups.len() < 2 {
        None
    } else {
        let mut hits = vec![false; usable.len()];
        let mut widths = Vec::with_capacity(usable.len());
        let mut complete = true;
        for &g in &groups {
            let others: Vec<HeldOut> = cells.iter().filter(|c| c.group != g).cloned().collect();
            let Ok(f) = fit(measure, &others) else {
                complete = false;
                break;
            };
            for k in (0..usable.len()).filter(|&k| cells[usable[k].0].group == g) {
                let interval = f
                    .interval(&spreads[k])
                    .expect("a usable cell has a mean > 0");
                hits[k] = within(k, interval);
                widths.push(interval[1] / interval[0]);
            }
        }
        complete.then_some((hits, widths))
    };
    let (calibrated, calibrated_ci, calibrated_width) = match cross {
        Some((hits, mut widths)) => {
            let ones: Vec<f64> = hits.iter().map(|&h| f64::from(u8::from(h))).collect();
            let (low, high) = bootstrap_interval(&ones, |v| v.iter().sum::<f64>() / v.len() as f64);
            (
                Some(share(&hits)),
                Some([low, high]),
                Some(median(&mut widths)),
            )
        }
        None => (None, None, None),
    };
    Ok(Coverage {
        measure,
        cells: usable.len(),
        samples_range: share(&raw_hits),
        samples_range_width: (!raw_widths.is_empty()).then(|| median(&mut raw_widths)),
        calibrated,
        calibrated_ci,
        calibrated_width,
        fit: fit_all,
    })
}

/// The held-out cells of `method`'s sample records for `measure`, in order of first
/// appearance; `group_of` gives a cell's group (fold). Cells whose truth or a sample
/// has no value of the measure (curvature of an empty shape) are left out.
pub fn held_out_cells(
    records: &[Record],
    method: &str,
    measure: Measure,
    group_of: &dyn Fn(&str) -> usize,
) -> Vec<HeldOut> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_cell: std::collections::HashMap<&str, (Option<f64>, Vec<Option<f64>>)> =
        std::collections::HashMap::new();
    for r in records
        .iter()
        .filter(|r| r.method == method && matches!(r.prediction, Prediction::Sample(_)))
    {
        let entry = by_cell.entry(&r.cell).or_insert_with(|| {
            order.push(&r.cell);
            (measure.of(&r.truth), Vec::new())
        });
        entry.1.push(measure.of(&r.predicted));
    }
    order
        .into_iter()
        .filter_map(|cell| {
            let (truth, samples) = &by_cell[cell];
            let samples: Option<Vec<f64>> = samples.iter().copied().collect();
            Some(HeldOut {
                group: group_of(cell),
                samples: samples?,
                truth: (*truth)?,
            })
        })
        .collect()
}

/// One row of `intervals.csv`: a method's [`Coverage`] of one measure, flat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageRow {
    /// Method name.
    pub method: String,
    /// Measure name.
    pub measure: String,
    /// Cells counted.
    pub cells: usize,
    /// [`Coverage::samples_range`].
    pub samples_range: f64,
    /// [`Coverage::samples_range_width`].
    pub samples_range_width: Option<f64>,
    /// [`Coverage::calibrated`].
    pub calibrated: Option<f64>,
    /// Lower end of [`Coverage::calibrated_ci`].
    pub calibrated_low: Option<f64>,
    /// Upper end of [`Coverage::calibrated_ci`].
    pub calibrated_high: Option<f64>,
    /// [`Coverage::calibrated_width`].
    pub calibrated_width: Option<f64>,
    /// [`MeasureFit::q`] of the fit on all cells.
    pub q: f64,
    /// [`MeasureFit::floor`] of the fit on all cells.
    pub floor: f64,
}

/// The rows of `intervals.csv`.
pub fn coverage_rows(rows: &[(String, Coverage)]) -> Vec<CoverageRow> {
    rows.iter()
        .map(|(method, c)| CoverageRow {
            method: method.clone(),
            measure: c.measure.name().to_string(),
            cells: c.cells,
            samples_range: c.samples_range,
            samples_range_width: c.samples_range_width,
            calibrated: c.calibrated,
            calibrated_low: c.calibrated_ci.map(|c| c[0]),
            calibrated_high: c.calibrated_ci.map(|c| c[1]),
            calibrated_width: c.calibrated_width,
            q: c.fit.q,
            floor: c.fit.floor,
        })
        .collect()
}

/// A table of coverages: Markdown, one row per method and measure.
pub fn coverage_markdown(rows: &[(String, Coverage)]) -> String {
    let mut s = String::from(
        "| method | measure | cells | samples' 5–95 % range holds the truth | its width (high/low) | calibrated 90 % interval, cross-fitted [95 % CI] | its width |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    let opt = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| format!("{v:.2}"));
    for (method, c) in rows {
        let calibrated = match (c.calibrated, c.calibrated_ci) {
            (Some(v), Some([l, h])) => format!("{v:.3} [{l:.3}, {h:.3}]"),
            _ => "—".to_string(),
        };
        s.push_str(&format!(
            "| {method} | {} | {} | {:.3} | {} | {calibrated} | {} |\n",
            c.measure.name(),
            c.cells,
            c.samples_range,
            opt(c.samples_range_width),
            opt(c.calibrated_width),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_nine_cells_for_a_ninety_percent_interval() {
        assert_eq!(min_cells(), 9);
        assert_eq!(conformal_rank(9), 9);
        assert_eq!(conformal_rank(19), 18);
        assert_eq!(conformal_rank(99), 90);
        let cells: Vec<HeldOut> = (0..8)
            .map(|i| HeldOut {
                group: 0,
                samples: vec![1.0, 2.0],
                truth: 1.0 + i as f64,
            })
            .collect();
        let err = fit(Measure::Volume, &cells).unwrap_err();
        assert!(
            err.contains("8 held-out cells") && err.contains("at least 9"),
            "{err}"
        );
    }

    #[test]
    fn a_cell_without_a_positive_value_is_left_out_and_its_interval_is_none() {
        let mut cells: Vec<HeldOut> = (0..10)
            .map(|i| HeldOut {
                group: i % 2,
                samples: vec![10.0, 12.0, 11.0],
                truth: 9.0 + i as f64 * 0.5,
            })
            .collect();
        cells.push(HeldOut {
            group: 0,
            samples: vec![0.0, 0.0],
            truth: 3.0,
        });
        cells.push(HeldOut {
            group: 1,
            samples: vec![1.0],
            truth: 0.0,
        });
        let c = coverage(Measure::Roughness, &cells).unwrap();
        assert_eq!(c.cells, 10);
        assert_eq!(c.fit.cells, 10);
        assert!(c.fit.interval(&Spread::of(&[0.0, 0.0])).is_none());
        // Ten cells: the quantile is the largest score, so every cell is held in-sample.
        for cell in &cells[..10] {
            let [low, high] = c.fit.interval(&Spread::of(&cell.samples)).unwrap();
            assert!(low <= cell.truth && cell.truth <= high);
        }
    }

    #[test]
    fn one_sample_per_cell_scales_by_the_log_ratio_alone() {
        let cells: Vec<HeldOut> = (1..=19)
            .map(|i| HeldOut {
                group: 0,
                samples: vec![100.0],
                truth: 100.0 * (i as f64 / 100.0).exp(),
            })
            .collect();
        let f = fit(Measure::Volume, &cells).unwrap();
        assert_eq!(f.floor, 1.0);
        // 18th of 19 scores: ln ratio 0.18.
        assert!((f.q - 0.18).abs() < 1e-12, "{}", f.q);
        let [low, high] = f.interval(&Spread::of(&[50.0])).unwrap();
        assert!(
            (low - 50.0 * (-0.18f64).exp()).abs() < 1e-9
                && (high / 50.0 - 0.18f64.exp()).abs() < 1e-12
        );
    }

    /// Values from `scripts/fixtures/make_intervals_fixtures.py` (numpy's quantile with
    /// `method="inverted_cdf"`, percentiles with linear interpolation).
    #[test]
    fn fits_and_coverages_match_numpy() {
        let text = include_str!("../../tests/fixtures/intervals.json");
        let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
        let cells: Vec<HeldOut> = fixture["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| HeldOut {
                group: c["group"].as_u64().unwrap() as usize,
                samples: c["samples"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect(),
                truth: c["truth"].as_f64().unwrap(),
            })
            .collect();
        let expected = &fixture["expected"];
        let c = coverage(Measure::Volume, &cells).unwrap();
        let close = |a: f64, key: &str| {
            let b = expected[key].as_f64().unwrap();
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{key}: {a} vs numpy {b}"
            );
        };
        close(c.fit.q, "q");
        close(c.fit.floor, "floor");
        close(c.cells as f64, "cells");
        close(c.samples_range, "samples_range");
        close(c.samples_range_width.unwrap(), "samples_range_width");
        close(c.calibrated.unwrap(), "calibrated");
        close(c.calibrated_width.unwrap(), "calibrated_width");
        for (k, group_q) in expected["group_q"].as_array().unwrap().iter().enumerate() {
            let others: Vec<HeldOut> = cells.iter().filter(|c| c.group != k).cloned().collect();
            let f = fit(Measure::Volume, &others).unwrap();
            let b = group_q.as_f64().unwrap();
            assert!((f.q - b).abs() < 1e-9, "group {k}: {} vs numpy {b}", f.q);
        }
        let [low, high] = c.calibrated_ci.unwrap();
        assert!(low <= c.calibrated.unwrap() && c.calibrated.unwrap() <= high);
    }
}
