//! `dispr evaluate`: Table 1, per-cell records, box plots and an HTML page.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use dispr_core::data::dataset::load_cell;
use dispr_core::experiment::calibration::{Calibration, calibration, calibration_markdown};
use dispr_core::experiment::evaluation::{
    CellEvaluation, Record, SampleSpread, evaluate_cell, summarize, summarize_by_class,
    table_markdown,
};
use dispr_core::experiment::paired::{PairedComparison, compare_all, paired_markdown};
use dispr_core::io::atomic::write_text_atomic;
use dispr_core::io::prediction_dir::prediction_files;
use dispr_core::shape::metrics::{Measurements, measure};
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::cli::EvaluateArgs;
use crate::output::print;
use crate::{progress, report};

/// A method to evaluate: its name and prediction folder.
struct Method {
    name: String,
    dir: PathBuf,
}

/// Parses `NAME=DIR` (or `DIR`, named after the folder).
fn parse_methods(specs: &[String]) -> anyhow::Result<Vec<Method>> {
    let mut seen = HashSet::new();
    specs
        .iter()
        .map(|spec| {
            let (name, dir) = match spec.split_once('=') {
                Some((n, d)) => (n.trim().to_string(), PathBuf::from(d)),
                None => {
                    let dir = PathBuf::from(spec);
                    let name = dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (name, dir)
                }
            };
            if name.is_empty() || name.contains(',') {
                bail!("--pred {spec}: the method name must be non-empty and without commas");
            }
            if !dir.is_dir() {
                bail!(
                    "{}: prediction folder not found (--pred {spec})",
                    dir.display()
                );
            }
            if !seen.insert(name.clone()) {
                bail!("--pred {spec}: the method name '{name}' is used twice");
            }
            Ok(Method { name, dir })
        })
        .collect()
}

/// `dispr evaluate`.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let methods = parse_methods(&args.preds)?;
    let mut dataset = super::open_dataset(&args.data)?;
    if !dataset.has_shapes() {
        bail!(
            "{}: evaluation needs ground-truth shapes in obj/",
            args.data.display()
        );
    }
    if let Some(fold) = args.fold {
        if fold >= args.folds {
            bail!("--fold {fold} is out of range for --folds {}", args.folds);
        }
        let folds = dataset
            .folds(args.folds as usize, args.split_seed)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.data.display()))?;
        let mut index = 0;
        dataset.cells.retain(|_| {
            index += 1;
            folds[index - 1] == fold as usize
        });
    }
    // Every prediction must exist before any work starts: a missing file is a mistake.
    let mut jobs = Vec::new();
    for (ci, cell) in dataset.cells.iter().enumerate() {
        for (mi, method) in methods.iter().enumerate() {
            jobs.push((ci, mi, prediction_files(&method.dir, &cell.name)?));
        }
    }
    let bar = progress::bar(dataset.cells.len(), "cells");
    bar.set_message("measuring ground truth");
    let truths: Vec<(dispr_core::Volume<bool>, Measurements)> = dataset
        .cells
        .par_iter()
        .progress_with(bar.clone())
        .map(|files| {
            let shape = load_cell(files)?.shape.expect("has_shapes checked");
            let m = measure(&shape);
            Ok((shape, m))
        })
        .collect::<Result<_, dispr_core::Error>>()?;
    bar.finish_and_clear();
    let bar = progress::bar(jobs.len(), "predictions");
    bar.set_message("evaluating");
    let evaluations: Vec<CellEvaluation> = jobs
        .par_iter()
        .progress_with(bar.clone())
        .map(|(ci, mi, files)| {
            let cell = &dataset.cells[*ci];
            let (truth, truth_m) = &truths[*ci];
            evaluate_cell(
                &methods[*mi].name,
                &cell.name,
                cell.label.name(),
                truth,
                truth_m,
                files,
            )
        })
        .collect::<Result<_, dispr_core::Error>>()?;
    bar.finish_and_clear();
    // Records in the order the methods were given, each method's ensemble after it.
    let mut ordered: Vec<Record> = Vec::new();
    let mut spreads: Vec<SampleSpread> = Vec::new();
    for (mi, method) in methods.iter().enumerate() {
        let of_method = || {
            jobs.iter()
                .zip(&evaluations)
                .filter(move |(job, _)| job.1 == mi)
                .map(|(_, e)| e)
        };
        for eval in of_method() {
            ordered.extend(
                eval.records
                    .iter()
                    .filter(|r| r.method == method.name)
                    .cloned(),
            );
        }
        for eval in of_method() {
            ordered.extend(
                eval.records
                    .iter()
                    .filter(|r| r.method != method.name)
                    .cloned(),
            );
            spreads.extend(eval.spread.clone());
        }
    }
    let rows = summarize(&ordered);
    let out = &args.out;
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the report folder", out.display()))?;
    let markdown = table_markdown(&rows);
    write_text_atomic(&out.join("table.md"), &markdown)?;
    write_text_atomic(
        &out.join("table.json"),
        &(serde_json::to_string_pretty(&rows)? + "\n"),
    )?;
    write_text_atomic(&out.join("table.csv"), &report::summary_csv(&rows)?)?;
    let by_class = summarize_by_class(&ordered);
    write_text_atomic(
        &out.join("table_by_class.csv"),
        &report::class_summary_csv(&by_class)?,
    )?;
    write_text_atomic(&out.join("cells.csv"), &report::records_csv(&ordered)?)?;
    if !spreads.is_empty() {
        write_text_atomic(&out.join("spread.csv"), &report::spread_csv(&spreads)?)?;
    }
    let checks = distribution_checks(args, &methods, &ordered, out)?;
    let plots = report::box_plots(&ordered, out)?;
    // A stale steps plot from an earlier study in this folder would mislead.
    if !report::steps_plot(&rows, out)? {
        let _ = std::fs::remove_file(out.join(report::STEPS_PLOT));
    }
    report::write_html(
        out,
        &report::ReportTables {
            data: &dataset.root,
            rows: &rows,
            by_class: &by_class,
            plots: &plots,
            spreads: &spreads,
            paired: &checks.paired,
            calibration: &checks.calibration,
        },
    )?;
    print(&format!(
        "{markdown}\ncells: {}, methods: {}; relative errors |pred − truth| / truth, cells: median (mean ± sd)\n{}{}report: {}\n",
        dataset.cells.len(),
        methods.len(),
        checks.paired_text,
        checks.calibration_text,
        out.join("index.html").display()
    ))
}

/// The per-cell checks of an evaluation, as rows and as printed text.
struct DistributionChecks {
    paired: Vec<PairedComparison>,
    calibration: Vec<Calibration>,
    paired_text: String,
    calibration_text: String,
}

/// Per-cell paired comparisons with the baselines (paired.{md,csv}) and the calibration
/// of methods with several samples (calibration.{md,csv}); the texts are empty when
/// there is nothing to show.
fn distribution_checks(
    args: &EvaluateArgs,
    methods: &[Method],
    records: &[Record],
    out: &std::path::Path,
) -> anyhow::Result<DistributionChecks> {
    let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    let baselines: Vec<&str> = if args.baselines.is_empty() {
        names
            .iter()
            .copied()
            .filter(|n| matches!(*n, "cylinder" | "ellipsoid") || n.starts_with("nearest"))
            .collect()
    } else {
        for b in &args.baselines {
            if !names.contains(&b.as_str()) {
                bail!("--baseline {b}: no method of that name (--pred NAME=DIR)");
            }
        }
        args.baselines.iter().map(String::as_str).collect()
    };
    // A method's ensemble is compared too (it is a method of its own in Table 1).
    let mut compared: Vec<String> = Vec::new();
    for n in &names {
        compared.push(n.to_string());
        let ens = format!("{n}{}", dispr_core::experiment::evaluation::ENSEMBLE_SUFFIX);
        if records.iter().any(|r| r.method == ens) {
            compared.push(ens);
        }
    }
    let compared: Vec<&str> = compared.iter().map(String::as_str).collect();
    let paired = compare_all(records, &compared, &baselines);
    // Tables of an earlier evaluation in this folder that this one has not would mislead.
    for stale in [
        "paired.md",
        "paired.csv",
        "calibration.md",
        "calibration.csv",
    ] {
        let _ = std::fs::remove_file(out.join(stale));
    }
    let paired_md = if paired.is_empty() {
        String::new()
    } else {
        let md = paired_markdown(&paired);
        write_text_atomic(&out.join("paired.md"), &md)?;
        write_text_atomic(&out.join("paired.csv"), &report::rows_csv(&paired)?)?;
        let better = paired.iter().filter(|p| p.significantly_better()).count();
        format!(
            "per cell, paired with the baselines (n = cells): {} comparisons, {better} with the 95 % bootstrap interval on the method's better side; {}\n",
            paired.len(),
            out.join("paired.md").display()
        )
    };
    let calibration = calibration(records);
    let calibration_md = if calibration.is_empty() {
        String::new()
    } else {
        let md = calibration_markdown(&calibration);
        write_text_atomic(&out.join("calibration.md"), &md)?;
        write_text_atomic(
            &out.join("calibration.csv"),
            &report::rows_csv(&calibration)?,
        )?;
        format!("calibration of the samples (n = cells):\n{md}")
    };
    Ok(DistributionChecks {
        paired,
        calibration,
        paired_text: paired_md,
        calibration_text: calibration_md,
    })
}
