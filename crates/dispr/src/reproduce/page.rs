//! The run's one page, `OUT/report/index.html`: what was run (a methods paragraph to
//! copy, versions, seeds, command lines, model SHA-256s, the machine), Table 1 and its
//! companions (the evaluation's own sections), Fig. 5 and the timing of every unit.
//! Self-contained: every picture is embedded, so it opens offline.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use dispr_core::io::atomic::write_text_atomic;
use dispr_nn::checkpoint::{self, Checkpoint};
use serde_json::{Value, json};

use super::budget::setting_name;
use super::stages::{AUGMENTATION_SOURCES, Context, EMPTY_SHAPES, TABLE1_PAGE_JSON, fig5_rows};
use super::units::{Record, Unit};
use crate::report::page::{PAGE, embedded, render};

const TEMPLATE: &str = include_str!("../../templates/reproduce.html");

/// Writes the page from what the units left; its path.
pub fn write(ctx: &Context, units: &[Unit]) -> anyhow::Result<PathBuf> {
    let layout = ctx.layout;
    let report = layout.report();
    let table1 = layout.table1().join(TABLE1_PAGE_JSON);
    let text = std::fs::read_to_string(&table1)
        .with_context(|| format!("{}: cannot read", table1.display()))?;
    let mut content: serde_json::Map<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the evaluation's page", table1.display()))?;
    content.insert("base".into(), json!("table1/"));
    content.insert("run".into(), run_facts(ctx)?);
    content.insert("methods_text".into(), json!(methods_paragraph(ctx)?));
    content.insert("models".into(), json!(models(ctx)?));
    content.insert("fig5".into(), json!(fig5_rows(layout)?));
    let empty = layout.fig5().join("features").join(EMPTY_SHAPES);
    let empty = std::fs::read_to_string(&empty)
        .with_context(|| format!("{}: cannot read", empty.display()))?;
    content.insert("empty_shapes".into(), json!(empty.lines().count()));
    content.insert("confusions".into(), json!(confusions(&report)?));
    content.insert("units".into(), json!(timings(ctx, units)?));
    let html = render(("reproduce.html", TEMPLATE), &Value::Object(content))?;
    let page = report.join(PAGE);
    write_text_atomic(&page, &html)?;
    Ok(page)
}

/// The facts of the run: command, versions, data, seeds, machine.
fn run_facts(ctx: &Context) -> anyhow::Result<Value> {
    let plan = ctx.plan;
    let classes: Vec<String> = ctx
        .dataset
        .class_counts()
        .iter()
        .map(|(c, n)| format!("{n} {c}"))
        .collect();
    let records = std::fs::read_dir(ctx.layout.done())
        .map(|d| d.filter_map(|e| e.ok()).count())
        .unwrap_or(0);
    Ok(json!({
        "command": ctx.settings.command_line.join(" "),
        "version": env!("CARGO_PKG_VERSION"),
        "budget": plan.budget.name(),
        "data": std::fs::canonicalize(&ctx.settings.data).unwrap_or(ctx.settings.data.clone()).display().to_string(),
        "cells": ctx.dataset.cells.len(),
        "classes": classes.join(", "),
        "folds": plan.folds,
        "split_seed": plan.split_seed,
        "sample_seed": plan.sample_seed,
        "samples": plan.samples,
        "sampler": setting_name(&plan.sampler),
        "steps_study": plan.steps_study.iter().map(setting_name).collect::<Vec<_>>().join(", "),
        "trees": plan.trees,
        "machine": machine(),
        "jobs": ctx.settings.jobs.max(1),
        "units_done": records,
    }))
}

/// The CPU, cores, threads, memory and system of this machine, in a line.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_string(), |s| s.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB", kb / 1024.0 / 1024.0)
        });
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|s| s.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    format!(
        "{cpu}, {cores} cores available, {} compute threads{memory}, {os}",
        rayon::current_num_threads()
    )
}

/// A paragraph for a methods section, from the plan.
fn methods_paragraph(ctx: &Context) -> anyhow::Result<String> {
    let plan = ctx.plan;
    let dispr = plan.dispr();
    let (_, train) = dispr.settings(0, plan.folds, plan.split_seed);
    let synthetic: usize = plan.synthetic.iter().map(|s| s.n).sum();
    let shapr: Vec<String> = plan.networks[1..]
        .iter()
        .map(|n| match &n.topo {
            Some((w, dims)) => format!(
                "{} (SHAPR with the topological loss, λ = {w}, homology dimensions {:?}; {} preset, {} steps)",
                n.name, dims, n.preset.name(), n.steps
            ),
            None => format!("{} ({} preset, {} steps)", n.name, n.preset.name(), n.steps),
        })
        .collect();
    let features = dispr_core::experiment::features::feature_names().len();
    Ok(format!(
        "We ran dispr {version} (dispr reproduce --budget {budget}) on {cells} cells with 3D shapes ({classes}). \
         The cells were split into {folds} folds stratified by class (seed {split_seed}); for each fold, every network was trained on the other folds and predicted the held-out cells, so that every cell was predicted by models that never saw it. \
         DISPR: the {preset} preset ({params} parameters), {steps} steps of batch {batch}, AdamW (learning rate {lr}), EMA of the weights ({ema}), random flips and rotations, with {synthetic} synthetic cells (dispr synth) added to every fold's training set; {samples} samples per cell with {sampler} (sampling seed {sample_seed}). \
         Baselines: {shapr}; the cylinder and the ellipsoid fitted to the 2D mask; and {nearest}, the voxel-wise majority of the {k} cells of the other folds whose masks overlap the cell's most. \
         Shapes were compared with the true ones by the relative errors of volume, surface area, roughness and mean curvature, and by IoU and Dice (docs/metrics.md); Table 1 pools every prediction as the paper does, and the per-cell tables give medians over cells with 95 % bootstrap intervals and paired Wilcoxon signed-rank tests against each baseline (n = cells). \
         Classification (Fig. 5): a random forest ({trees} trees, depth ≤ 10) on {features} morphological features of the real shapes, {folds}-fold stratified cross-validation on the same folds; with augmentation, each fold's training set also holds the features of the predicted shapes of its own training cells of the three smallest classes (never of a test cell); DISPR's augmentation shapes for fold k come from the model trained with fold k held out, so no test cell reached the classifier through the generator either.",
        version = env!("CARGO_PKG_VERSION"),
        budget = plan.budget.name(),
        cells = ctx.dataset.cells.len(),
        classes = ctx
            .dataset
            .class_counts()
            .iter()
            .map(|(c, n)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", "),
        folds = plan.folds,
        split_seed = plan.split_seed,
        preset = dispr.preset.name(),
        params = dispr
            .settings(0, plan.folds, plan.split_seed)
            .0
            .parameters(),
        steps = dispr.steps,
        batch = train.batch,
        lr = train.lr,
        ema = train.ema_decay,
        samples = plan.samples,
        sampler = setting_name(&plan.sampler),
        sample_seed = plan.sample_seed,
        shapr = shapr.join("; "),
        nearest = plan.nearest_name(),
        k = plan.nearest_k,
        trees = plan.trees,
    ))
}

/// Every fold model: its steps, training time and SHA-256.
fn models(ctx: &Context) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    for n in &ctx.plan.networks {
        for fold in 0..ctx.plan.folds {
            let file = ctx.layout.model(n.name, fold).join(checkpoint::FILE_NAME);
            let bytes =
                std::fs::read(&file).with_context(|| format!("{}: cannot read", file.display()))?;
            let header = Checkpoint::load(&file)?.header;
            rows.push(json!({
                "name": n.name,
                "fold": fold,
                "steps": header.step,
                "seconds": format!("{:.0}", header.seconds),
                "cells": header.train_cells.len(),
                "sha256": dispr_nn::shipped::sha256_hex(&bytes),
                "file": relative(&ctx.layout.root, &file),
            }));
        }
    }
    Ok(rows)
}

/// Fig. 5's confusion matrices, embedded: without, then with each source.
fn confusions(report: &Path) -> anyhow::Result<Vec<Value>> {
    let fig5 = Path::new("fig5");
    let mut pictures = vec![json!({
        "title": "without augmentation",
        "src": embedded(report, &fig5.join(AUGMENTATION_SOURCES[0]).join("confusion.png"))?,
    })];
    for source in AUGMENTATION_SOURCES {
        pictures.push(json!({
            "title": format!("with {source} shapes"),
            "src": embedded(report, &fig5.join(source).join("confusion_augmented.png"))?,
        }));
    }
    Ok(pictures)
}

/// Each unit's time (a training's over all its sessions), and the time per stage.
fn timings(ctx: &Context, units: &[Unit]) -> anyhow::Result<Value> {
    let mut rows = Vec::new();
    let mut stages: Vec<(&'static str, f64)> = Vec::new();
    let mut total = 0.0;
    for unit in units {
        let id = unit.id(ctx.plan);
        let Some(record) = Record::read(ctx.layout, &id)? else {
            continue;
        };
        let seconds = match unit {
            Unit::Train { network, fold } => {
                let file = ctx
                    .layout
                    .model(ctx.plan.networks[*network].name, *fold)
                    .join(checkpoint::FILE_NAME);
                Checkpoint::load(&file)
                    .map(|c| c.header.seconds)
                    .unwrap_or(record.seconds)
            }
            _ => record.seconds,
        };
        let stage = match unit {
            Unit::Synthetic(_) => "synthetic cells",
            Unit::Train { .. } => "training",
            Unit::Baseline(_) => "baselines",
            Unit::Predict { .. } => "prediction (Table 1)",
            Unit::Augment { .. } => "prediction (Fig. 5)",
            Unit::Evaluate => "evaluation",
            Unit::Features => "features",
            Unit::Classify => "classification",
        };
        match stages.iter_mut().find(|(s, _)| *s == stage) {
            Some((_, t)) => *t += seconds,
            None => stages.push((stage, seconds)),
        }
        total += seconds;
        rows.push(json!({"id": id, "description": record.description, "seconds": format!("{seconds:.1}")}));
    }
    Ok(json!({
        "rows": rows,
        "stages": stages.iter().map(|(s, t)| json!({"stage": s, "seconds": format!("{t:.0}"), "share": format!("{:.0}", 100.0 * t / total.max(1e-9))})).collect::<Vec<_>>(),
        "total": format!("{total:.0}"),
        "total_hours": format!("{:.2}", total / 3600.0),
    }))
}

/// `path` relative to `root`, for display.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
