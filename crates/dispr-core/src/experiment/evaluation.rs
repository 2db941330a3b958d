//! Evaluating predicted shapes against ground truth: per-cell records and the paper's
//! Table 1 (median, mean ± sd, n per method and measurement).
//!
//! A method's predictions live in one folder ([`crate::io::prediction_dir`]): `NAME.tif`
//! (one shape per cell) or `NAME_0.tif`, `NAME_1.tif`, … (samples of a generative
//! model). Samples are pooled, as
//! the paper pools its 5 samples per cell; their ensemble (voxel-wise mean > 0.5) is
//! reported as a method of its own, `METHOD ensemble`, together with the spread across
//! samples (generalized energy distance with d = 1 − IoU, mean voxel-wise sd).

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::grid::{Volume, format_shape};
use crate::io::tiff;
use crate::shape::metrics::{Comparison, Measure, Measurements, compare, measure, overlap};

/// The columns of Table 1: four relative errors, then overlap.
pub const TABLE_METRICS: [&str; 6] = [
    "volume",
    "surface_area",
    "roughness",
    "curvature",
    "iou",
    "dice",
];

/// What a method's name gets for the records of its ensemble: `METHOD ensemble`.
pub const ENSEMBLE_SUFFIX: &str = " ensemble";

/// Which prediction of a cell a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prediction {
    /// The method's only prediction.
    Single,
    /// Sample k of several.
    Sample(usize),
    /// The voxel-wise majority of all samples.
    Ensemble,
}

impl Prediction {
    /// `single`, `sample K` or `ensemble`.
    pub fn label(&self) -> String {
        match self {
            Prediction::Single => "single".into(),
            Prediction::Sample(k) => format!("sample {k}"),
            Prediction::Ensemble => "ensemble".into(),
        }
    }
}

/// One prediction of one cell, measured and compared with its ground truth.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Record {
    /// Method name; ensembles are `METHOD ensemble`.
    pub method: String,
    /// Cell name.
    pub cell: String,
    /// Cell class name.
    pub class: String,
    /// Which prediction.
    pub prediction: Prediction,
    /// Measurements of the prediction.
    pub predicted: Measurements,
    /// Measurements of the ground truth.
    pub truth: Measurements,
    /// Relative errors and overlap.
    pub errors: Comparison,
}

impl Record {
    /// The value of a Table 1 column (see [`TABLE_METRICS`]).
    pub fn metric(&self, name: &str) -> Option<f64> {
        match name {
            "iou" => Some(self.errors.iou),
            "dice" => Some(self.errors.dice),
            _ => Measure::ALL
                .into_iter()
                .find(|m| m.name() == name)
                .and_then(|m| self.errors.error(m)),
        }
    }
}

/// Spread of several samples of one cell.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SampleSpread {
    /// Method name.
    pub method: String,
    /// Cell name.
    pub cell: String,
    /// Number of samples.
    pub samples: usize,
    /// Generalized energy distance to the truth, d = 1 − IoU:
    /// 2·mean d(Sᵢ, G) − mean over i ≠ j of d(Sᵢ, Sⱼ).
    pub ged: f64,
    /// Mean over the voxels inside any sample of the voxel-wise standard deviation.
    pub mean_voxel_sd: f64,
}

/// Everything known about one method on one cell.
#[derive(Clone, Debug)]
pub struct CellEvaluation {
    /// Records of each prediction (samples, then the ensemble when there are several).
    pub records: Vec<Record>,
    /// The spread, when there are several samples.
    pub spread: Option<SampleSpread>,
}

/// Reads a method's predictions of one cell and compares each with the truth.
pub fn evaluate_cell(
    method: &str,
    cell: &str,
    class: &str,
    truth: &Volume<bool>,
    truth_m: &Measurements,
    files: &[PathBuf],
) -> Result<CellEvaluation> {
    let shapes: Vec<Volume<bool>> = files
        .iter()
        .map(|path| {
            let shape = tiff::read_shape(path)?;
            if shape.shape() != truth.shape() {
                return Err(Error::new(
                    path,
                    format!(
                        "prediction is {} but the ground truth of '{cell}' is {}",
                        format_shape(&shape.shape()),
                        format_shape(&truth.shape())
                    ),
                ));
            }
            Ok(shape)
        })
        .collect::<Result<_>>()?;
    Ok(evaluate_shapes(
        method, cell, class, truth, truth_m, &shapes,
    ))
}

/// [`evaluate_cell`] on shapes in memory (at least one, each on the truth's grid): each
/// measured and compared with the truth, then their ensemble and spread when several.
pub fn evaluate_shapes(
    method: &str,
    cell: &str,
    class: &str,
    truth: &Volume<bool>,
    truth_m: &Measurements,
    shapes: &[Volume<bool>],
) -> CellEvaluation {
    let record = |name: String, prediction: Prediction, shape: &Volume<bool>| {
        let predicted = measure(shape);
        Record {
            method: name,
            cell: cell.to_string(),
            class: class.to_string(),
            prediction,
            predicted,
            truth: *truth_m,
            errors: compare(shape, &predicted, truth, truth_m),
        }
    };
    if shapes.len() == 1 {
        return CellEvaluation {
            records: vec![record(method.to_string(), Prediction::Single, &shapes[0])],
            spread: None,
        };
    }
    let mut records: Vec<Record> = shapes
        .iter()
        .enumerate()
        .map(|(k, s)| record(method.to_string(), Prediction::Sample(k), s))
        .collect();
    let (ensemble, mean_voxel_sd) = ensemble(shapes);
    records.push(record(
        format!("{method}{ENSEMBLE_SUFFIX}"),
        Prediction::Ensemble,
        &ensemble,
    ));
    let d = |a: &Volume<bool>, b: &Volume<bool>| 1.0 - overlap(a, b).iou;
    let n = shapes.len() as f64;
    let to_truth = shapes.iter().map(|s| d(s, truth)).sum::<f64>() / n;
    let mut between = 0.0;
    for i in 0..shapes.len() {
        for j in 0..shapes.len() {
            if i != j {
                between += d(&shapes[i], &shapes[j]);
            }
        }
    }
    between /= n * (n - 1.0);
    CellEvaluation {
        records,
        spread: Some(SampleSpread {
            method: method.to_string(),
            cell: cell.to_string(),
            samples: shapes.len(),
            ged: 2.0 * to_truth - between,
            mean_voxel_sd,
        }),
    }
}

/// The voxel-wise majority (mean > 0.5) of binary samples, and the mean voxel-wise
/// standard deviation over the voxels inside any sample.
pub fn ensemble(samples: &[Volume<bool>]) -> (Volume<bool>, f64) {
    let n = samples.len() as f64;
    let shape = samples[0].shape();
    let mut counts = vec![0u32; samples[0].len()];
    for s in samples {
        for (c, &v) in counts.iter_mut().zip(s.data()) {
            *c += v as u32;
        }
    }
    let (mut sd_sum, mut union) = (0.0, 0usize);
    for &c in &counts {
        if c > 0 {
            let p = c as f64 / n;
            sd_sum += (p * (1.0 - p)).sqrt();
            union += 1;
        }
    }
    let majority = counts.iter().map(|&c| c as f64 / n > 0.5).collect();
    (
        Volume::new(shape, majority).expect("same shape"),
        if union > 0 {
            sd_sum / union as f64
        } else {
            0.0
        },
    )
}

/// One cell of Table 1.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Method name.
    pub method: String,
    /// Column (see [`TABLE_METRICS`]).
    pub metric: String,
    /// Median (mean of the two middle values for even n).
    pub median: f64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for n = 1).
    pub sd: f64,
    /// Number of defined values pooled.
    pub n: usize,
}

/// The median of `values` (not empty; sorted in place): the middle value, or halfway
/// between the middle two — Table 1's median, the one definition in dispr.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median, mean and sample sd of `values` (not empty).
pub fn describe(values: &mut [f64]) -> (f64, f64, f64) {
    let median = median(values);
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    (median, mean, sd)
}

/// Table 1: for each method (in order of first appearance) and column, the statistics
/// of all its records (samples pooled).
pub fn summarize(records: &[Record]) -> Vec<Summary> {
    let mut methods: Vec<&str> = Vec::new();
    for r in records {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let mut rows = Vec::new();
    for method in methods {
        for metric in TABLE_METRICS {
            let mut values: Vec<f64> = records
                .iter()
                .filter(|r| r.method == method)
                .filter_map(|r| r.metric(metric))
                .collect();
            if values.is_empty() {
                continue;
            }
            let (median, mean, sd) = describe(&mut values);
            rows.push(Summary {
                method: method.to_string(),
                metric: metric.to_string(),
                median,
                mean,
                sd,
                n: values.len(),
            });
        }
    }
    rows
}

/// Table 1 per class: the rows of [`summarize`] for each class's records, with the class
/// (in the order classes first appear).
pub fn summarize_by_class(records: &[Record]) -> Vec<(String, Summary)> {
    let mut classes: Vec<&str> = Vec::new();
    for r in records {
        if !classes.contains(&r.class.as_str()) {
            classes.push(&r.class);
        }
    }
    let mut rows = Vec::new();
    for class in classes {
        let subset: Vec<Record> = records
            .iter()
            .filter(|r| r.class == class)
            .cloned()
            .collect();
        rows.extend(
            summarize(&subset)
                .into_iter()
                .map(|s| (class.to_string(), s)),
        );
    }
    rows
}

/// Table 1 as Markdown: one row per method, one column per metric, cells
/// `median (mean ± sd)`, and n.
pub fn table_markdown(rows: &[Summary]) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for r in rows {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let mut s = String::from("| method | n |");
    for m in TABLE_METRICS {
        let _ = write!(s, " {} |", column_title(m));
    }
    s.push_str("\n|---|---:|");
    s.push_str(&"---|".repeat(TABLE_METRICS.len()));
    s.push('\n');
    for method in methods {
        let n = rows
            .iter()
            .find(|r| r.method == method && r.metric == "iou")
            .map_or(0, |r| r.n);
        let _ = write!(s, "| {method} | {n} |");
        for metric in TABLE_METRICS {
            match rows
                .iter()
                .find(|r| r.method == method && r.metric == metric)
            {
                Some(r) => {
                    let _ = write!(s, " {:.3} ({:.3} ± {:.3}) |", r.median, r.mean, r.sd);
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}

/// A column's title in tables and plots.
pub fn column_title(metric: &str) -> &'static str {
    match metric {
        "volume" => "volume error",
        "surface_area" => "surface area error",
        "roughness" => "roughness error",
        "curvature" => "curvature error",
        "iou" => "IoU",
        "dice" => "Dice",
        _ => "value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics() {
        let (median, mean, sd) = describe(&mut [4.0, 1.0, 3.0, 2.0]);
        assert_eq!((median, mean), (2.5, 2.5));
        assert!((sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(describe(&mut [7.0]), (7.0, 7.0, 0.0));
    }

    #[test]
    fn ensemble_and_spread() {
        let truth = Volume::from_fn([2, 1, 4], |[_, _, x]| x < 2);
        let samples = [
            Volume::from_fn([2, 1, 4], |[_, _, x]| x < 2),
            Volume::from_fn([2, 1, 4], |[_, _, x]| x < 3),
            Volume::from_fn([2, 1, 4], |[_, _, x]| x < 1),
        ];
        let (ens, sd) = ensemble(&samples);
        assert_eq!(ens, truth);
        // Voxel 0: all in (sd 0); voxel 1: 2/3; voxel 2: 1/3 → sd √(2/9) each.
        assert!((sd - 2.0 * (2.0f64 / 9.0).sqrt() / 3.0).abs() < 1e-12);
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = samples
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let p = dir.path().join(format!("c_{k}.tif"));
                tiff::write_shape(&p, s).unwrap();
                p
            })
            .collect();
        let tm = measure(&truth);
        let eval = evaluate_cell("m", "c", "cluster", &truth, &tm, &files).unwrap();
        assert_eq!(eval.records.len(), 4);
        assert_eq!(eval.records[3].method, "m ensemble");
        assert_eq!(eval.records[3].errors.iou, 1.0);
        let spread = eval.spread.unwrap();
        // d to truth: 0, 1/3, 1/2; between: d(0,1)=1/3, d(0,2)=1/2, d(1,2)=2/3.
        let expected = 2.0 * (0.0 + 1.0 / 3.0 + 0.5) / 3.0 - (1.0 / 3.0 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((spread.ged - expected).abs() < 1e-12);
        let rows = summarize(&eval.records);
        assert_eq!(
            rows.iter()
                .find(|r| r.method == "m" && r.metric == "iou")
                .unwrap()
                .n,
            3
        );
        let md = table_markdown(&rows);
        assert!(md.contains("| m ensemble | 1 |"), "{md}");
    }
}
