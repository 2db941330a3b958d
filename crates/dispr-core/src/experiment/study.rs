//! A whole evaluation, as `dispr evaluate` runs it: every method's predictions of every
//! cell of a dataset against the ground truth. [`evaluate`] gives a [`Study`] — Table 1
//! overall and per class, the per-cell records, the spread of sample sets, per-cell
//! paired comparisons with the baselines, the calibration of sample sets and of their
//! 90 % intervals — and
//! [`Study::write_tables`] writes its files; this module is the one definition of that
//! folder's tables (the HTML page and plots around them are the command line's).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::data::dataset::{Dataset, load_cell};
use crate::error::{Error, Result};
use crate::experiment::calibration::{Calibration, calibration, calibration_markdown};
use crate::experiment::cell_medians::{CellMedian, cell_medians, cell_medians_markdown};
use crate::experiment::evaluation::{
    CellEvaluation, ENSEMBLE_SUFFIX, Record, SampleSpread, Summary, evaluate_cell, summarize,
    summarize_by_class, table_markdown,
};
use crate::experiment::intervals::{self, Coverage, coverage_markdown, held_out_cells};
use crate::experiment::paired::{PairedComparison, compare_all, paired_markdown};
use crate::io::atomic::write_text_atomic;
use crate::io::prediction_dir::{find_prediction_files, prediction_files};
use crate::shape::metrics::{Measure, measure};

/// A method to evaluate: its name (a column value in every table) and the folder of its
/// predictions ([`crate::io::prediction_dir`]), or several folders pooled — one per
/// cross-validation fold, each cell predicted in exactly one of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Method {
    /// Its name in the tables.
    pub name: String,
    /// Its prediction folders (at least one; see [`Method::dirs`]).
    dirs: Vec<PathBuf>,
}

impl Method {
    /// A method named `name` with predictions in `dir`: the name must be non-empty and
    /// without commas (it is a CSV field), the folder must exist.
    pub fn new(name: impl Into<String>, dir: impl Into<PathBuf>) -> Result<Self> {
        Self::pooled(name, vec![dir.into()])
    }

    /// A method whose predictions are pooled from `dirs` (e.g. one folder per fold; a
    /// cell found in two of them is an error when evaluated).
    pub fn pooled(name: impl Into<String>, dirs: Vec<PathBuf>) -> Result<Self> {
        let name = name.into();
        let Some(first) = dirs.first() else {
            return Err(Error::invalid(format!(
                "method '{name}' has no prediction folder"
            )));
        };
        if name.trim().is_empty() || name.contains(',') {
            return Err(Error::new(
                first,
                format!("method name '{name}' must be non-empty and without commas"),
            ));
        }
        if let Some(missing) = dirs.iter().find(|d| !d.is_dir()) {
            return Err(Error::new(missing, "prediction folder not found"));
        }
        if let Some((i, twice)) = dirs
            .iter()
            .enumerate()
            .find(|(i, d)| dirs[..*i].contains(d))
        {
            return Err(Error::new(
                twice,
                format!(
                    "the method name '{name}' is used twice for this folder (folder {} of its {})",
                    i + 1,
                    dirs.len()
                ),
            ));
        }
        Ok(Self { name, dirs })
    }

    /// Its prediction folders.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Its first prediction folder (the one errors about the method name).
    pub fn dir(&self) -> &Path {
        &self.dirs[0]
    }

    /// The prediction files of cell `name`, from whichever of the method's folders
    /// holds them; an error when none does, or more than one.
    pub fn prediction_files(&self, cell: &str) -> Result<Vec<PathBuf>> {
        self.locate(cell).map(|(_, files)| files)
    }

    /// [`Method::prediction_files`] with the index of the folder that holds them (its
    /// group, e.g. the fold, in cross-fitted [`crate::experiment::intervals`]).
    pub fn locate(&self, cell: &str) -> Result<(usize, Vec<PathBuf>)> {
        if let [dir] = self.dirs.as_slice() {
            return prediction_files(dir, cell).map(|files| (0, files));
        }
        self.find(cell)?.ok_or_else(|| {
            Error::new(
                self.dir(),
                format!(
                    "no prediction for cell '{cell}' (expected {cell}.tif or {cell}_0.tif, …) in any of the {} folders of method '{}'",
                    self.dirs.len(),
                    self.name
                ),
            )
        })
    }

    /// [`Method::locate`], with `None` when none of its folders holds the cell; an error
    /// only for files that are there but wrong, or a cell in two folders.
    pub fn find(&self, cell: &str) -> Result<Option<(usize, Vec<PathBuf>)>> {
        let mut found: Vec<(&PathBuf, Vec<PathBuf>, usize)> = Vec::new();
        for (i, d) in self.dirs.iter().enumerate() {
            if let Some(files) = find_prediction_files(d, cell)? {
                found.push((d, files, i));
            }
        }
        match found.as_slice() {
            [] => Ok(None),
            [(_, files, i)] => Ok(Some((*i, files.clone()))),
            [(a, _, _), (b, _, _), ..] => Err(Error::new(
                b,
                format!(
                    "cell '{cell}' has predictions of method '{}' here and in {} (pooled folders must each hold other cells, e.g. one fold each)",
                    self.name,
                    a.display()
                ),
            )),
        }
    }
}

/// The methods that are baselines when none are named: the cylinder, the ellipsoid and
/// every `nearest…` lookup.
pub fn default_baselines(methods: &[Method]) -> Vec<String> {
    methods
        .iter()
        .map(|m| m.name.clone())
        .filter(|n| matches!(n.as_str(), "cylinder" | "ellipsoid") || n.starts_with("nearest"))
        .collect()
}

/// Everything an evaluation found.
#[derive(Clone, Debug)]
pub struct Study {
    /// The dataset's folder.
    pub data: PathBuf,
    /// Cells evaluated.
    pub cells: usize,
    /// Method names, in the order given.
    pub methods: Vec<String>,
    /// One record per prediction: each method's records, then its ensemble's.
    pub records: Vec<Record>,
    /// Table 1.
    pub rows: Vec<Summary>,
    /// Table 1 per class.
    pub by_class: Vec<(String, Summary)>,
    /// Table 1 per cell: medians over cells with 95 % bootstrap intervals.
    pub per_cell: Vec<CellMedian>,
    /// Spread of every sample set.
    pub spreads: Vec<SampleSpread>,
    /// Every method and ensemble, per cell and paired, against every baseline.
    pub paired: Vec<PairedComparison>,
    /// Calibration of every method with several samples per cell.
    pub calibration: Vec<Calibration>,
    /// The 90 % intervals of every method with several samples per cell, per measure:
    /// the samples' own range against the conformal calibration, cross-fitted over the
    /// method's folders ([`crate::experiment::intervals`]); measures with too few cells
    /// are left out.
    pub intervals: Vec<(String, Coverage)>,
}

/// [`Study::intervals`] of `records`; `groups`: each (method, cell)'s folder index.
fn interval_coverage(
    methods: &[Method],
    records: &[Record],
    groups: &HashMap<(String, String), usize>,
) -> Vec<(String, Coverage)> {
    let mut out = Vec::new();
    for m in methods {
        for measure in Measure::ALL {
            let cells = held_out_cells(records, &m.name, measure, &|cell| {
                groups[&(m.name.clone(), cell.to_string())]
            });
            if cells.iter().all(|c| c.samples.len() < 2) {
                break;
            }
            if let Ok(c) = intervals::coverage(measure, &cells) {
                out.push((m.name.clone(), c));
            }
        }
    }
    out
}

/// An error when `method` lacks the predictions of the cells `missing` (of `cells`):
/// one cell names the files expected; several, how many and which.
fn check_complete(method: &Method, missing: &[&str], cells: usize) -> Result<()> {
    match missing {
        [] => return Ok(()),
        [one] => {
            method.locate(one)?;
        }
        _ => {}
    }
    Err(Error::new(
        method.dir(),
        format!(
            "method '{}' has no prediction for {} of the {cells} cells ({}); evaluate only the cells it predicted",
            method.name,
            missing.len(),
            crate::text::first_few(missing)
        ),
    ))
}

/// How many times [`evaluate`] calls `on_progress`: once per cell's truth, once per
/// method and cell.
pub fn work(cells: usize, methods: usize) -> usize {
    cells * (1 + methods)
}

/// Evaluates every method on every cell of `dataset` (which needs ground-truth shapes),
/// comparing with `baselines` (method names; [`default_baselines`] when `None`). Every
/// prediction must exist before any work starts: a missing file is a mistake, not a
/// cell to skip. Parallel over cells; `on_progress` is called after each unit of
/// [`work`].
pub fn evaluate(
    dataset: &Dataset,
    methods: &[Method],
    baselines: Option<&[String]>,
    on_progress: &(dyn Fn() + Sync),
) -> Result<Study> {
    if !dataset.has_shapes() {
        return Err(Error::new(
            &dataset.root,
            "evaluation needs ground-truth shapes in obj/",
        ));
    }
    let baselines = check_methods(methods, baselines)?;
    let mut jobs = Vec::new();
    let mut groups: HashMap<(String, String), usize> = HashMap::new();
    let mut missing: Vec<Vec<&str>> = vec![Vec::new(); methods.len()];
    for (ci, cell) in dataset.cells.iter().enumerate() {
        for (mi, method) in methods.iter().enumerate() {
            match method.find(&cell.name)? {
                Some((group, files)) => {
                    groups.insert((method.name.clone(), cell.name.clone()), group);
                    jobs.push((ci, mi, files));
                }
                None => missing[mi].push(cell.name.as_str()),
            }
        }
    }
    for (method, missing) in methods.iter().zip(&missing) {
        check_complete(method, missing, dataset.cells.len())?;
    }
    let truths = dataset
        .cells
        .par_iter()
        .map(|files| {
            let shape = load_cell(files)?
                .shape
                .ok_or_else(|| Error::new(&files.image, "no ground-truth shape"))?;
            let m = measure(&shape);
            on_progress();
            Ok((shape, m))
        })
        .collect::<Result<Vec<_>>>()?;
    let evaluations: Vec<(usize, CellEvaluation)> = jobs
        .par_iter()
        .map(|(ci, mi, files)| {
            let cell = &dataset.cells[*ci];
            let (truth, truth_m) = &truths[*ci];
            let name = &methods[*mi].name;
            let e = evaluate_cell(name, &cell.name, cell.label.name(), truth, truth_m, files);
            on_progress();
            e.map(|e| (*mi, e))
        })
        .collect::<Result<_>>()?;
    let (records, spreads) = in_method_order(methods, &evaluations);
    let paired = compare_with_baselines(methods, &records, &baselines);
    Ok(Study {
        data: dataset.root.clone(),
        cells: dataset.cells.len(),
        methods: methods.iter().map(|m| m.name.clone()).collect(),
        rows: summarize(&records),
        by_class: summarize_by_class(&records),
        per_cell: cell_medians(&records),
        calibration: calibration(&records),
        intervals: interval_coverage(methods, &records, &groups),
        records,
        spreads,
        paired,
    })
}

/// Refuses a method name given twice or a baseline that is not a method; returns the
/// baselines.
fn check_methods(methods: &[Method], baselines: Option<&[String]>) -> Result<Vec<String>> {
    for (i, m) in methods.iter().enumerate() {
        if methods[..i].iter().any(|o| o.name == m.name) {
            return Err(Error::new(
                m.dir(),
                format!("the method name '{}' is used twice", m.name),
            ));
        }
    }
    match baselines {
        None => Ok(default_baselines(methods)),
        Some(names) => match names
            .iter()
            .find(|b| !methods.iter().any(|m| &m.name == *b))
        {
            Some(b) => Err(Error::invalid(format!(
                "baseline '{b}' is not one of the methods evaluated"
            ))),
            None => Ok(names.to_vec()),
        },
    }
}

/// The records in the order the methods were given, each method's ensemble after it,
/// and the spreads of the sample sets.
fn in_method_order(
    methods: &[Method],
    evaluations: &[(usize, CellEvaluation)],
) -> (Vec<Record>, Vec<SampleSpread>) {
    let mut records: Vec<Record> = Vec::new();
    let mut spreads: Vec<SampleSpread> = Vec::new();
    for (mi, method) in methods.iter().enumerate() {
        let of_method = || {
            evaluations
                .iter()
                .filter(move |(m, _)| *m == mi)
                .map(|(_, e)| e)
        };
        let own = |r: &&Record| r.method == method.name;
        for eval in of_method() {
            records.extend(eval.records.iter().filter(own).cloned());
        }
        for eval in of_method() {
            records.extend(eval.records.iter().filter(|r| !own(r)).cloned());
            spreads.extend(eval.spread.clone());
        }
    }
    (records, spreads)
}

/// Every method and its ensemble (a method of its own in Table 1), per cell and paired,
/// against every baseline.
fn compare_with_baselines(
    methods: &[Method],
    records: &[Record],
    baselines: &[String],
) -> Vec<PairedComparison> {
    let mut compared: Vec<String> = Vec::new();
    for m in methods {
        compared.push(m.name.clone());
        let ensemble = format!("{}{ENSEMBLE_SUFFIX}", m.name);
        if records.iter().any(|r| r.method == ensemble) {
            compared.push(ensemble);
        }
    }
    let compared: Vec<&str> = compared.iter().map(String::as_str).collect();
    let baselines: Vec<&str> = baselines.iter().map(String::as_str).collect();
    compare_all(records, &compared, &baselines)
}

/// The files [`Study::write_tables`] writes, each only when it has rows; an earlier
/// study's file that this one has no rows for is removed (it would mislead).
pub mod files {
    /// Table 1 in Markdown.
    pub const TABLE_MD: &str = "table.md";
    /// Table 1 in JSON.
    pub const TABLE_JSON: &str = "table.json";
    /// Table 1 in CSV (`method,metric,median,mean,sd,n`).
    pub const TABLE_CSV: &str = "table.csv";
    /// Table 1 per class in CSV (`class,method,metric,median,mean,sd,n`).
    pub const TABLE_BY_CLASS_CSV: &str = "table_by_class.csv";
    /// Table 1 per cell in Markdown: medians over cells with 95 % bootstrap intervals.
    pub const TABLE_PER_CELL_MD: &str = "table_per_cell.md";
    /// Table 1 per cell in CSV (`method,metric,cells,median,low,high`).
    pub const TABLE_PER_CELL_CSV: &str = "table_per_cell.csv";
    /// One line per prediction.
    pub const CELLS_CSV: &str = "cells.csv";
    /// The spread of every sample set.
    pub const SPREAD_CSV: &str = "spread.csv";
    /// Paired comparisons in Markdown.
    pub const PAIRED_MD: &str = "paired.md";
    /// Paired comparisons in CSV.
    pub const PAIRED_CSV: &str = "paired.csv";
    /// Calibration in Markdown.
    pub const CALIBRATION_MD: &str = "calibration.md";
    /// Calibration in CSV.
    pub const CALIBRATION_CSV: &str = "calibration.csv";
    /// The 90 % intervals' coverage before and after calibration, in Markdown.
    pub const INTERVALS_MD: &str = "intervals.md";
    /// The same in CSV, with each measure's fit on all cells.
    pub const INTERVALS_CSV: &str = "intervals.csv";
}

impl Study {
    /// Writes the study's tables into `out` (created if needed), each atomically.
    pub fn write_tables(&self, out: &Path) -> Result<()> {
        use files::*;
        std::fs::create_dir_all(out)
            .map_err(|e| Error::io(out, "cannot create the report folder", e))?;
        let table = |name: &str, text: Option<String>| -> Result<()> {
            let path = out.join(name);
            match text {
                Some(text) => write_text_atomic(&path, &text),
                None => match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(Error::io(&path, "cannot remove a stale table", e))
                    }
                    _ => Ok(()),
                },
            }
        };
        let csv = |name: &str, text: std::result::Result<String, csv::Error>| {
            text.map(Some)
                .map_err(|e| Error::new(out.join(name), format!("cannot write CSV: {e}")))
        };
        let json = serde_json::to_string_pretty(&self.rows)
            .map_err(|e| Error::new(out.join(TABLE_JSON), e.to_string()))?;
        table(TABLE_MD, Some(table_markdown(&self.rows)))?;
        table(TABLE_JSON, Some(json + "\n"))?;
        table(TABLE_CSV, csv(TABLE_CSV, rows_csv(&self.rows))?)?;
        let by_class = class_summary_csv(&self.by_class);
        table(TABLE_BY_CLASS_CSV, csv(TABLE_BY_CLASS_CSV, by_class)?)?;
        table(CELLS_CSV, csv(CELLS_CSV, records_csv(&self.records))?)?;
        table(
            TABLE_PER_CELL_MD,
            Some(cell_medians_markdown(&self.per_cell)),
        )?;
        table(
            TABLE_PER_CELL_CSV,
            csv(TABLE_PER_CELL_CSV, rows_csv(&self.per_cell))?,
        )?;
        // The tables below exist only when they have rows.
        let spread = match self.spreads.is_empty() {
            true => None,
            false => csv(SPREAD_CSV, rows_csv(&self.spreads))?,
        };
        table(SPREAD_CSV, spread)?;
        let (paired_md, paired_csv) = match self.paired.is_empty() {
            true => (None, None),
            false => (
                Some(paired_markdown(&self.paired)),
                csv(PAIRED_CSV, rows_csv(&self.paired))?,
            ),
        };
        table(PAIRED_MD, paired_md)?;
        table(PAIRED_CSV, paired_csv)?;
        let (calibration_md, calibration_csv) = match self.calibration.is_empty() {
            true => (None, None),
            false => (
                Some(calibration_markdown(&self.calibration)),
                csv(CALIBRATION_CSV, rows_csv(&self.calibration))?,
            ),
        };
        table(CALIBRATION_MD, calibration_md)?;
        table(CALIBRATION_CSV, calibration_csv)?;
        let (intervals_md, intervals_csv) = match self.intervals.is_empty() {
            true => (None, None),
            false => (
                Some(coverage_markdown(&self.intervals)),
                csv(
                    INTERVALS_CSV,
                    rows_csv(&intervals::coverage_rows(&self.intervals)),
                )?,
            ),
        };
        table(INTERVALS_MD, intervals_md)?;
        table(INTERVALS_CSV, intervals_csv)
    }

    /// What `dispr evaluate` prints: Table 1, counts, a line on the paired comparisons
    /// and the calibration table (`out` is where the tables were written).
    pub fn summary(&self, out: &Path) -> String {
        let mut s = format!(
            "{}\ncells: {}, methods: {}; relative errors |pred − truth| / truth, cells: median (mean ± sd)\n",
            table_markdown(&self.rows),
            self.cells,
            self.methods.len()
        );
        if !self.per_cell.is_empty() {
            s += &format!(
                "per cell (n = cells), medians with 95 % bootstrap intervals:\n{}",
                cell_medians_markdown(&self.per_cell)
            );
        }
        if !self.paired.is_empty() {
            let better = self
                .paired
                .iter()
                .filter(|p| p.significantly_better())
                .count();
            s += &format!(
                "per cell, paired with the baselines (n = cells): {} comparisons, {better} with the 95 % bootstrap interval on the method's better side; {}\n",
                self.paired.len(),
                out.join(files::PAIRED_MD).display()
            );
        }
        if !self.calibration.is_empty() {
            s += &format!(
                "calibration of the samples (n = cells):\n{}",
                calibration_markdown(&self.calibration)
            );
        }
        if !self.intervals.is_empty() {
            s += &format!(
                "90 % intervals per cell, the samples' own against calibrated on the other folds (n = cells):\n{}",
                coverage_markdown(&self.intervals)
            );
        }
        s
    }
}

/// Any table of flat rows as CSV, one column per field (a header row first).
fn rows_csv<T: serde::Serialize>(rows: &[T]) -> std::result::Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    finish(w)
}

fn finish(w: csv::Writer<Vec<u8>>) -> std::result::Result<String, csv::Error> {
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}

/// Table 1 per class (`class,method,metric,median,mean,sd,n`).
fn class_summary_csv(rows: &[(String, Summary)]) -> std::result::Result<String, csv::Error> {
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
    finish(w)
}

/// One line per prediction: measurements of prediction and truth, errors, overlap.
fn records_csv(records: &[Record]) -> std::result::Result<String, csv::Error> {
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
    finish(w)
}
