//! `dispr bench …`: timings quoted in notes and docs, always with the machine they ran on.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use dispr_core::data::dataset::load_cell;
use dispr_core::grid::Volume;
use dispr_core::shape::mesh::marching_cubes;
use dispr_core::shape::metrics::{measure, roughness};
use rayon::prelude::*;
use serde_json::json;

use crate::cli::{BenchMetricsArgs, BenchSynthArgs};
use crate::output::print;

/// The dataset to benchmark on: `--data`, or the real sample beside the repository.
fn bench_data(data: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match data {
        Some(dir) => Ok(dir.clone()),
        None => dispr_core::data::sample::real_sample_dir().context(
            "no dataset given and the real sample was not found at ../shared/data/rbc-sample; pass --data DIR",
        ),
    }
}

/// Median and minimum of `repeat` timings of `f`, in seconds. The minimum is the least
/// disturbed by other work on a shared machine; the median is the typical run.
pub(crate) fn time_runs(repeat: u32, mut f: impl FnMut()) -> serde_json::Value {
    let mut times: Vec<f64> = (0..repeat)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    json!({ "median_s": times[times.len() / 2], "min_s": times[0], "runs": repeat })
}

/// The machine a figure was measured on.
pub(crate) fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    json!({
        "cpu": cpu,
        "threads": dispr_nn::device::cpu_threads(),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "dispr": env!("CARGO_PKG_VERSION"),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

/// Peak resident memory of this process so far, in MiB (Linux; null elsewhere).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// `dispr bench metrics`.
pub fn metrics(args: &BenchMetricsArgs) -> anyhow::Result<()> {
    let dir = bench_data(&args.data)?;
    let dataset = super::open_dataset(&dir)?;
    let shapes: Vec<Volume<bool>> = dataset
        .cells
        .par_iter()
        .map(|c| load_cell(c).map(|cell| cell.shape))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("{}: the benchmark needs 3D shapes (obj/)", dir.display()))?;
    let first = &shapes[0];
    let repeat = args.repeat;
    let one_cell = time_runs(repeat * 3, || {
        std::hint::black_box(measure(first));
    });
    let mesh = time_runs(repeat * 3, || {
        std::hint::black_box(marching_cubes(first));
    });
    let rough = time_runs(repeat * 3, || {
        std::hint::black_box(roughness(first));
    });
    let all = time_runs(repeat, || {
        let _: Vec<_> = std::hint::black_box(shapes.par_iter().map(measure).collect());
    });
    let report = json!({
        "benchmark": "metrics",
        "machine": machine(),
        "data": std::fs::canonicalize(&dir).unwrap_or(dir.clone()).display().to_string(),
        "grid": first.shape(),
        "cells": shapes.len(),
        "one_cell": one_cell,
        "one_cell_parts": { "marching_cubes": mesh, "roughness": rough },
        "all_cells": all,
        "peak_rss_mib": peak_rss_mib(),
    });
    print(&(serde_json::to_string_pretty(&report)? + "\n"))
}

/// `dispr bench synth`: generate and write N cells into a temporary folder.
pub fn synth(args: &BenchSynthArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let n = args.n as usize;
    let started = Instant::now();
    super::synth::synthesize(
        dir.path(),
        n,
        0,
        &dispr_core::data::class::CellClass::ALL,
        false,
    )?;
    let total = started.elapsed().as_secs_f64();
    let report = json!({
        "benchmark": "synth",
        "machine": machine(),
        "cells": n,
        "total_s": total,
        "per_cell_ms": total * 1000.0 / n as f64,
        "peak_rss_mib": peak_rss_mib(),
    });
    print(&(serde_json::to_string_pretty(&report)? + "\n"))
}
