//! The folder of a sharded prediction run: `dispr predict --shard K/N --out OUT` writes
//! a whole prediction folder of its own cells into `OUT/shard-K-of-N/` (each shard holds
//! its own folder, so N shards run at once without sharing a lock), and
//! [`merge_shards`] gathers the N of them into `OUT` itself, which then holds exactly
//! what an unsharded run writes there.
//!
//! ```text
//! OUT/shard-1-of-4/…               a prediction folder (prediction_dir) per shard
//! OUT/shard-4-of-4/…
//! OUT/NAME_0.tif, probability/, …  after merging: every cell, as one run writes them
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::data::shard::Shard;
use crate::error::{Error, Result};
use crate::io::journal::Journal;
use crate::io::prediction_dir::{CellTiming, PredictReport, PredictionDir, read_report};

/// The shard folders (`shard-K-of-N`) inside `dir`, by shard number; none when `dir`
/// holds none or cannot be read.
pub fn shard_dirs(dir: &Path) -> Vec<(Shard, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut shards: Vec<(Shard, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Some((Shard::from_folder(e.file_name().to_str()?)?, e.path())))
        .collect();
    shards.sort_by_key(|(s, _)| (s.count, s.index));
    shards
}

/// The reports of all N shards of the run in `dir`, in shard order, checked to belong
/// to one run: the same N, every shard present and finished, the same cells, model,
/// sampler, samples and seed.
pub fn shard_reports(dir: &Path) -> Result<Vec<(PathBuf, PredictReport)>> {
    let shards = shard_dirs(dir);
    let Some((first, _)) = shards.first() else {
        return Err(Error::new(
            dir,
            "holds no shard folders (shard-K-of-N, written by dispr predict --shard K/N)",
        ));
    };
    let count = first.count;
    if let Some((other, _)) = shards.iter().find(|(s, _)| s.count != count) {
        return Err(Error::new(
            dir,
            format!(
                "holds shards of runs split {count} and {} ways; keep one run's shards",
                other.count
            ),
        ));
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !shards.iter().any(|(s, _)| s.index == *k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::new(
            dir,
            format!(
                "shard {} of {count} is missing: run dispr predict --shard K/{count} for it first",
                missing.join(", ")
            ),
        ));
    }
    let mut reports: Vec<(PathBuf, PredictReport)> = Vec::new();
    for (shard, shard_dir) in shards {
        if !shard_dir
            .join(crate::io::prediction_dir::REPORT_FILE)
            .is_file()
        {
            return Err(Error::new(
                &shard_dir,
                format!(
                    "shard {shard} has not finished (no predict.json): rerun it; it resumes at its first unfinished cell"
                ),
            ));
        }
        let report = read_report(&shard_dir)?;
        let Some(run) = &report.shard else {
            return Err(Error::new(&shard_dir, "predict.json names no shard"));
        };
        if run.shard != shard {
            return Err(Error::new(
                &shard_dir,
                format!("predict.json says it is shard {}", run.shard),
            ));
        }
        if let Some((_, first)) = reports.first() {
            let differs = [
                (first.model_sha256 != report.model_sha256, "model"),
                (first.sampler != report.sampler, "sampler"),
                (first.samples != report.samples, "samples per cell"),
                (first.seed != report.seed, "seed"),
                (first.size != report.size, "size correction (level, scale)"),
                (first.intervals != report.intervals, "calibrated intervals"),
                (
                    first.shard.as_ref().map(|r| &r.run_cells) != Some(&run.run_cells),
                    "cells",
                ),
            ];
            if let Some((_, what)) = differs.iter().find(|(d, _)| *d) {
                return Err(Error::new(
                    &shard_dir,
                    format!(
                        "shard {shard} differs from shard 1 in its {what}: the shards are not of one run"
                    ),
                ));
            }
        }
        reports.push((shard_dir, report));
    }
    Ok(reports)
}

/// Gathers the N shards of the run in `out` into `out` itself: every cell's files,
/// and the report of the whole run, in the order an unsharded run predicts the cells
/// (its times are summed over the shards; [`PredictReport::uncertainty`] is left for
/// the caller, e.g. [`crate::io::prediction_dir::cell_uncertainty`]). Writes no
/// `predict.json`: call [`PredictionDir::write_report`].
pub fn merge_shards(out: &PredictionDir) -> Result<PredictReport> {
    let reports = shard_reports(out.path())?;
    let (_, first) = &reports[0];
    let run_cells = first
        .shard
        .as_ref()
        .map(|r| r.run_cells.clone())
        .unwrap_or_default();
    let journals = reports
        .iter()
        .map(|(dir, _)| Journal::read(dir))
        .collect::<Result<Vec<_>>>()?;
    // The merged folder's journal lists every cell, so a rerun of the whole (unsharded)
    // prediction into it keeps them.
    let mut journal = Journal::open(out)?;
    // Each cell's shard and time, looked up once (a screen has 10⁵ cells).
    let predicted: HashMap<&str, (&PathBuf, &CellTiming)> = reports
        .iter()
        .flat_map(|(dir, r)| r.per_cell.iter().map(move |t| (t.cell.as_str(), (dir, t))))
        .collect();
    let mut per_cell = Vec::with_capacity(run_cells.len());
    for name in &run_cells {
        let Some(&(dir, timing)) = predicted.get(name.as_str()) else {
            return Err(Error::new(
                out.path(),
                format!("no shard predicted cell '{name}'"),
            ));
        };
        out.copy_cell(dir, name)?;
        if let Some(entry) = journals.iter().find_map(|j| j.get(name)) {
            journal.record(entry.clone())?;
        }
        per_cell.push(timing.clone());
    }
    let seconds_total: f64 = reports.iter().map(|(_, r)| r.seconds_total).sum();
    let cells = per_cell.len();
    let resumed: usize = reports.iter().map(|(_, r)| r.resumed).sum();
    Ok(PredictReport {
        cells,
        seconds_total,
        seconds_per_cell: seconds_total / (cells - resumed.min(cells)).max(1) as f64,
        per_cell,
        resumed,
        shard: None,
        merged_shards: reports.len(),
        uncertainty: Vec::new(),
        ..first.clone()
    })
}
