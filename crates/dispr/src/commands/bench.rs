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

use dispr_core::io::prediction_dir::PredictionDir;
use dispr_nn::pipeline::{LoadedModel, PredictSettings, predict_dataset};

use crate::cli::{BenchMetricsArgs, BenchSynthArgs, BenchThroughputArgs};
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

/// `dispr bench throughput`: whole predictions of real cells per device, and the wall
/// time they project for a large screen on many workers.
pub fn throughput(args: &BenchThroughputArgs) -> anyhow::Result<()> {
    let dir = bench_data(&args.data)?;
    let dataset = super::open_dataset(&dir)?;
    let mut by_name: Vec<usize> = (0..dataset.cells.len()).collect();
    by_name.sort_by(|&a, &b| dataset.cells[a].name.cmp(&dataset.cells[b].name));
    let n = (args.cells as usize).min(by_name.len().saturating_sub(1));
    anyhow::ensure!(
        n >= 1,
        "{}: the benchmark needs at least 2 cells (one to warm up)",
        dir.display()
    );
    let (warm_up, timed) = (&by_name[..1], &by_name[1..=n]);
    let settings = PredictSettings {
        samples: args.draw.samples as usize,
        seed: args.draw.seed,
        inputs: vec![dir.display().to_string()],
        ..PredictSettings::default()
    };
    let mut rows = Vec::new();
    for &device in &args.devices {
        crate::output::note(&format!("timing {n} cells on {device} …"));
        let model =
            LoadedModel::load_drawing(args.model.as_deref(), args.draw.sampling.request(), device)?;
        let scratch = tempfile::tempdir().context("cannot create a temporary folder")?;
        let out = |name: &str| PredictionDir::create(&scratch.path().join(name), &[&dir]);
        // The first cell pays for loading and, on a GPU, compiling the kernels.
        let started = Instant::now();
        predict_dataset(
            &model,
            &dataset,
            warm_up,
            settings.clone(),
            &out("warm-up")?,
            &mut |_| {},
        )?;
        let first_cell_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        predict_dataset(
            &model,
            &dataset,
            timed,
            settings.clone(),
            &out("timed")?,
            &mut |_| {},
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let per_second = n as f64 / seconds;
        let projected: Vec<_> = args
            .workers
            .iter()
            .map(|&w| {
                let hours = args.total as f64 / (per_second * f64::from(w)) / 3600.0;
                json!({ "workers": w, "hours": hours })
            })
            .collect();
        rows.push(json!({
            "device": device.name(),
            "sampler": model.predictor.method(),
            "cells": n,
            "seconds": seconds,
            "cells_per_second": per_second,
            "seconds_per_cell": seconds / n as f64,
            "first_cell_s": first_cell_s,
            "projected": projected,
        }));
    }
    let report = json!({
        "benchmark": "throughput",
        "machine": machine(),
        "data": std::fs::canonicalize(&dir).unwrap_or(dir.clone()).display().to_string(),
        "model": args.model.as_ref().map_or("built-in".into(), |m| m.display().to_string()),
        "samples": args.draw.samples,
        "total_cells": args.total,
        "how": "cells per second of one worker measured on the timed cells (files written); \
                projected hours = total / (cells per second × workers), for workers that \
                each have cores or a GPU of their own",
        "results": rows,
        "peak_rss_mib": peak_rss_mib(),
    });
    print(&(serde_json::to_string_pretty(&report)? + "\n"))
}
