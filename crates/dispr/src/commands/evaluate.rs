//! `dispr evaluate`: Table 1, per-cell records, box plots and an HTML page.

use std::path::{Path, PathBuf};

use dispr_core::data::dataset::Dataset;
use dispr_core::experiment::study::{self, Method, Study};

use crate::cli::EvaluateArgs;
use crate::output::{print, print_json};
use crate::{progress, report};

/// Parses `NAME=DIR` (or `DIR`, named after the folder).
fn parse_methods(specs: &[String]) -> anyhow::Result<Vec<Method>> {
    // A NAME=DIR given several times with one name pools its folders (e.g. one per
    // fold), in order; a bare DIR is a method of its own (two of one folder name are
    // refused as a name used twice).
    let mut methods: Vec<(String, Vec<PathBuf>, Vec<&String>, bool)> = Vec::new();
    for spec in specs {
        let (name, dir, named) = match spec.split_once('=') {
            Some((n, d)) => (n.trim().to_string(), PathBuf::from(d), true),
            None => {
                let dir = PathBuf::from(spec);
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, dir, false)
            }
        };
        match methods
            .iter_mut()
            .find(|(n, _, _, pooled)| *n == name && named && *pooled)
        {
            Some((_, dirs, specs, _)) => {
                dirs.push(dir);
                specs.push(spec);
            }
            None => methods.push((name, vec![dir], vec![spec], named)),
        }
    }
    methods
        .into_iter()
        .map(|(name, dirs, specs, _)| {
            let specs: Vec<String> = specs.iter().map(|s| format!("--pred {s}")).collect();
            Method::pooled(name, dirs).map_err(|e| anyhow::anyhow!("{}: {e}", specs.join(" ")))
        })
        .collect()
}

/// A flag's value that cannot work here (exit 2).
fn bad(problem: String) -> anyhow::Error {
    dispr_nn::Error::BadSetting(problem).into()
}

/// `dispr evaluate`.
pub fn run(args: &EvaluateArgs) -> anyhow::Result<()> {
    let methods = parse_methods(&args.preds)?;
    let mut dataset = super::open_dataset(&args.data)?;
    if let Some(fold) = args.fold.iter().find(|&&f| f >= args.folds) {
        return Err(bad(format!(
            "--fold {fold} is out of range for --folds {}",
            args.folds
        )));
    }
    if let Some(name) = dataset.unknown_name(&args.cells) {
        return Err(bad(format!(
            "--cells: {} has no cell named '{name}'",
            args.data.display()
        )));
    }
    if !args.fold.is_empty() {
        let folds = dataset.folds(args.folds as usize, args.split_seed)?;
        let mut index = 0;
        dataset.cells.retain(|_| {
            index += 1;
            args.fold.contains(&(folds[index - 1] as u32))
        });
    }
    if !args.cells.is_empty() {
        dataset.cells.retain(|c| args.cells.contains(&c.name));
        if dataset.cells.is_empty() {
            return Err(bad(
                "--cells: none of these cells is in the --fold given".into()
            ));
        }
    }
    for b in &args.baselines {
        if !methods.iter().any(|m| &m.name == b) {
            return Err(bad(format!(
                "--baseline {b}: no method of that name (--pred NAME=DIR)"
            )));
        }
    }
    let baselines = (!args.baselines.is_empty()).then_some(args.baselines.as_slice());
    let study = evaluate_into(&dataset, &methods, baselines, &args.out)?;
    if args.json {
        return print_json(&serde_json::json!({
            "out": args.out,
            "report": args.out.join(report::page::PAGE),
            "cells": study.cells,
            "methods": study.methods,
            "table": study.rows,
            "per_cell": study.per_cell,
            "paired": study.paired,
            "calibration": study.calibration,
        }));
    }
    print(&format!(
        "{}report: {}\n",
        study.summary(&args.out),
        args.out.join(report::page::PAGE).display()
    ))
}

/// Evaluates `methods` on `dataset` with a progress bar and writes the whole report
/// into `out` (also the last step of `dispr demo`).
pub fn evaluate_into(
    dataset: &Dataset,
    methods: &[Method],
    baselines: Option<&[String]>,
    out: &Path,
) -> anyhow::Result<Study> {
    let bar = progress::bar(
        study::work(dataset.cells.len(), methods.len()),
        "cells × methods",
    );
    bar.set_message("evaluating");
    let study = study::evaluate(dataset, methods, baselines, &|| bar.inc(1));
    bar.finish_and_clear();
    let study = study?;
    report::write_report(out, &study)?;
    Ok(study)
}
