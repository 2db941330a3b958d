//! What each unit does, by calling the library: synthesis, training, prediction, the
//! baselines, the evaluation, the features and the classification.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use dispr_core::baseline::nearest::{self, References};
use dispr_core::baseline::{self, Baseline, depth_of};
use dispr_core::data::dataset::Dataset;
use dispr_core::experiment::classify::{
    Augmentation, ClassifyConfig, FeatureTable, folds as classifier_folds, read_features,
};
use dispr_core::experiment::classify_study::ClassifyStudy;
use dispr_core::experiment::feature_table::{
    feature_jobs, feature_table, feature_table_csv, generated_feature_table,
};
use dispr_core::experiment::study::{self, Method};
use dispr_core::io::atomic::write_text_atomic;
use dispr_core::io::prediction_dir::PredictionDir;
use dispr_nn::checkpoint::{self, Checkpoint};
use dispr_nn::pipeline::{LoadedModel, PredictSettings, SamplerSettings, plan, predict_dataset};
use dispr_nn::training::Run;
use serde::Serialize;
use serde_json::{Value, json};

use super::Settings;
use super::budget::{Plan, setting_name};
use super::units::{BaselineKind, Layout, Unit, clear};

/// What every unit reads.
pub struct Context<'a> {
    /// The budget's plan.
    pub plan: &'a Plan,
    /// The run's folders.
    pub layout: &'a Layout,
    /// The cells studied.
    pub dataset: &'a Dataset,
    /// The command's settings (data, device, command line, jobs).
    pub settings: &'a Settings,
}

/// Progress inside a unit: done, total, of what.
pub type Progress<'a> = &'a (dyn Fn(usize, usize, &'static str) + Sync);

/// The sources of Fig. 5's augmentation: DISPR (a table per fold) and the baselines
/// that learn nothing.
pub const AUGMENTATION_SOURCES: [&str; 3] = ["dispr", "cylinder", "ellipsoid"];

impl Context<'_> {
    /// Each cell's fold.
    fn folds(&self) -> anyhow::Result<Vec<usize>> {
        Ok(self.dataset.folds(self.plan.folds, self.plan.split_seed)?)
    }

    /// The cells of `fold` (`held_out`) or of the other folds.
    fn cells_of(&self, fold: usize, held_out: bool) -> anyhow::Result<Vec<usize>> {
        Ok(self
            .folds()?
            .iter()
            .enumerate()
            .filter(|&(_, &f)| (f == fold) == held_out)
            .map(|(i, _)| i)
            .collect())
    }

    /// The dataset restricted to `cells`.
    fn subset(&self, cells: &[usize]) -> Dataset {
        let mut d = self.dataset.clone();
        let keep: HashSet<usize> = cells.iter().copied().collect();
        let mut i = 0;
        d.cells.retain(|_| {
            i += 1;
            keep.contains(&(i - 1))
        });
        d
    }

    fn features_dir(&self) -> PathBuf {
        self.layout.fig5().join("features")
    }
}

/// Runs one unit.
pub fn run_unit(ctx: &Context, unit: &Unit, progress: Progress) -> anyhow::Result<()> {
    match *unit {
        Unit::Synthetic(i) => synthesize(ctx, i),
        Unit::Train { network, fold } => train(ctx, network, fold, progress),
        Unit::Baseline(kind) => baseline(ctx, kind, progress),
        Unit::Predict {
            network,
            fold,
            setting,
        } => {
            let sampling = setting.map_or(ctx.plan.sampler, |s| ctx.plan.steps_study[s]);
            let cells = ctx.cells_of(fold, true)?;
            let out = ctx.layout.predictions(&unit.method(ctx.plan), Some(fold));
            predict(ctx, (network, fold), sampling, &cells, true, &out, progress)
        }
        Unit::Augment { fold } => {
            let cells = ctx.cells_of(fold, false)?;
            let out = ctx.layout.predictions("augment-dispr", Some(fold));
            predict(
                ctx,
                (0, fold),
                ctx.plan.sampler,
                &cells,
                false,
                &out,
                progress,
            )
        }
        Unit::Evaluate => evaluate(ctx, progress),
        Unit::Features => features(ctx, progress),
        Unit::Classify => classify(ctx),
    }
}

fn synthesize(ctx: &Context, i: usize) -> anyhow::Result<()> {
    let set = &ctx.plan.synthetic[i];
    let dir = ctx.layout.synthetic(set.name);
    clear(&dir)?;
    let csv = crate::commands::synth::synthesize(&dir, set.n, set.seed, &set.classes, false)?;
    write_text_atomic(&dir.join("synth.csv"), &csv)?;
    Ok(())
}

fn train(ctx: &Context, network: usize, fold: usize, progress: Progress) -> anyhow::Result<()> {
    let spec = &ctx.plan.networks[network];
    let dir = ctx.layout.model(spec.name, fold);
    let file = dir.join(checkpoint::FILE_NAME);
    let resume = file.exists();
    let (mut model, mut train) = if resume {
        let c = Checkpoint::load(&file)?;
        let train = c
            .header
            .train
            .with_context(|| format!("{}: not a training run", file.display()))?;
        (c.header.model, train)
    } else {
        spec.settings(fold, ctx.plan.folds, ctx.plan.split_seed)
    };
    // The synthetic cells are this run's, wherever the run folder is now (a run moved or
    // restored on another machine resumes; the cells' names are checked by the run).
    train.extra_data = match spec.synthetic {
        true => ctx
            .plan
            .synthetic
            .iter()
            .map(|s| ctx.layout.synthetic(s.name))
            .collect(),
        false => Vec::new(),
    };
    train.steps = spec.steps;
    let extra: Vec<Dataset> = train
        .extra_data
        .iter()
        .map(|d| crate::commands::open_dataset(d))
        .collect::<anyhow::Result<_>>()?;
    let set = plan(ctx.dataset, &extra, &mut model, &train, resume)?;
    let run = Run {
        dir,
        model,
        train,
        pixel_size_um: set.pixel_size_um,
        prior: set.prior.clone(),
    };
    let device = ctx.settings.device.open()?;
    run.train(&set.examples, resume, &device, &mut |r| {
        progress(r.step, r.total, "steps")
    })?;
    Ok(())
}

/// Predicts `cells` with the fold model `(network, fold)` into `out`. `held_out`: the
/// cells must be ones the model never trained on (checked).
fn predict(
    ctx: &Context,
    (network, fold): (usize, usize),
    sampling: SamplerSettings,
    cells: &[usize],
    held_out: bool,
    out: &std::path::Path,
    progress: Progress,
) -> anyhow::Result<()> {
    let spec = &ctx.plan.networks[network];
    let model_dir = ctx.layout.model(spec.name, fold);
    let model = LoadedModel::load(Some(&model_dir), sampling, ctx.settings.device)?;
    if held_out {
        let trained: HashSet<&str> = model
            .header
            .train_cells
            .iter()
            .map(|s| s.as_str())
            .collect();
        if let Some(&i) = cells
            .iter()
            .find(|&&i| trained.contains(ctx.dataset.cells[i].name.as_str()))
        {
            bail!(
                "{}: the model of fold {fold} trained on cell '{}', which it is to predict",
                model_dir.display(),
                ctx.dataset.cells[i].name
            );
        }
    }
    let data = ctx.settings.data.as_path();
    let dir = PredictionDir::create(out, &[data])?;
    let settings = PredictSettings {
        samples: match spec.kind {
            dispr_nn::config::ModelKind::Dispr => ctx.plan.samples,
            dispr_nn::config::ModelKind::Shapr => 1,
        },
        seed: ctx.plan.sample_seed,
        command_line: ctx.settings.command_line.clone(),
        inputs: vec![data.display().to_string()],
        ..Default::default()
    };
    let total = cells.len() * model.predictor.evaluations();
    predict_dataset(&model, ctx.dataset, cells, settings, &dir, &mut |done| {
        progress(done, total, "network evaluations")
    })?;
    Ok(())
}

fn baseline(ctx: &Context, kind: BaselineKind, progress: Progress) -> anyhow::Result<()> {
    let dir = ctx.layout.predictions(&kind.method(ctx.plan), None);
    clear(&dir)?;
    let out = PredictionDir::create(&dir, &[ctx.settings.data.as_path()])?;
    let cells = ctx.dataset.cells.len();
    let done = AtomicUsize::new(0);
    let tick = || progress(done.fetch_add(1, Ordering::Relaxed) + 1, cells, "cells");
    let failures = match kind {
        BaselineKind::Cylinder | BaselineKind::Ellipsoid => {
            let b = match kind {
                BaselineKind::Cylinder => Baseline::Cylinder,
                _ => Baseline::Ellipsoid,
            };
            baseline::predict_dataset(b, ctx.dataset, depth_of(ctx.dataset)?, &out, &tick)
        }
        BaselineKind::Nearest => {
            let references = References::OtherFolds {
                folds: ctx.plan.folds,
                seed: ctx.plan.split_seed,
            };
            nearest::predict_dataset(
                ctx.dataset,
                references,
                ctx.plan.nearest_k,
                None,
                &out,
                &tick,
            )?
            .failures
        }
    };
    if let Some(first) = failures.first() {
        bail!("{first} ({} of {cells} cells failed)", failures.len());
    }
    Ok(())
}

/// Table 1's methods: DISPR's sampler settings, SHAPR's, then the baselines.
fn methods(ctx: &Context) -> anyhow::Result<Vec<Method>> {
    let plan = ctx.plan;
    let pooled = |name: String| -> anyhow::Result<Method> {
        let dirs = (0..plan.folds)
            .map(|k| ctx.layout.predictions(&name, Some(k)))
            .collect();
        Ok(Method::pooled(name, dirs)?)
    };
    let mut methods = Vec::new();
    for s in &plan.steps_study {
        methods.push(pooled(setting_name(s))?);
    }
    for n in &plan.networks[1..] {
        methods.push(pooled(n.name.to_string())?);
    }
    for b in [
        BaselineKind::Cylinder,
        BaselineKind::Ellipsoid,
        BaselineKind::Nearest,
    ] {
        let name = b.method(plan);
        let dir = ctx.layout.predictions(&name, None);
        methods.push(Method::new(name, dir)?);
    }
    Ok(methods)
}

/// The methods every other is compared with, per cell and paired.
pub fn paired_baselines(plan: &Plan) -> Vec<String> {
    let mut b: Vec<String> = vec!["cylinder".into(), "ellipsoid".into(), plan.nearest_name()];
    b.extend(plan.networks[1..].iter().map(|n| n.name.to_string()));
    b
}

/// The file beside Table 1's report that holds its page's content (for the run's page).
pub const TABLE1_PAGE_JSON: &str = "page.json";

fn evaluate(ctx: &Context, progress: Progress) -> anyhow::Result<()> {
    let methods = methods(ctx)?;
    let baselines = paired_baselines(ctx.plan);
    let total = study::work(ctx.dataset.cells.len(), methods.len());
    let done = AtomicUsize::new(0);
    let tick = || {
        progress(
            done.fetch_add(1, Ordering::Relaxed) + 1,
            total,
            "cells × methods",
        )
    };
    let study = study::evaluate(ctx.dataset, &methods, Some(&baselines), &tick)?;
    let out = ctx.layout.table1();
    let page = crate::report::write_report(&out, &study)?;
    write_text_atomic(&out.join(TABLE1_PAGE_JSON), &serde_json::to_string(&page)?)?;
    Ok(())
}

fn features(ctx: &Context, progress: Progress) -> anyhow::Result<()> {
    let dir = ctx.features_dir();
    let mut tables: Vec<(String, Dataset, Option<PathBuf>)> =
        vec![("real".into(), ctx.dataset.clone(), None)];
    for fold in 0..ctx.plan.folds {
        let cells = ctx.cells_of(fold, false)?;
        tables.push((
            format!("dispr-fold{fold}"),
            ctx.subset(&cells),
            Some(ctx.layout.predictions("augment-dispr", Some(fold))),
        ));
    }
    for b in [BaselineKind::Cylinder, BaselineKind::Ellipsoid] {
        let name = b.method(ctx.plan);
        let pred = ctx.layout.predictions(&name, None);
        tables.push((name, ctx.dataset.clone(), Some(pred)));
    }
    let jobs: Vec<_> = tables
        .iter()
        .map(|(_, d, pred)| feature_jobs(d, pred.as_deref()))
        .collect::<Result<_, _>>()?;
    let total: usize = jobs.iter().map(Vec::len).sum();
    let done = AtomicUsize::new(0);
    let tick = || progress(done.fetch_add(1, Ordering::Relaxed) + 1, total, "shapes");
    let mut left_out = Vec::new();
    for ((name, _, pred), jobs) in tables.iter().zip(&jobs) {
        // Features in voxel units: the real and the predicted shapes share one grid.
        let table = match pred {
            None => feature_table(jobs, None, &tick)?,
            // A generated shape can be empty (no features): it is left out, and counted.
            Some(_) => {
                let (table, empty) = generated_feature_table(jobs, None, &tick)?;
                left_out.extend(empty);
                table
            }
        };
        write_text_atomic(
            &dir.join(format!("{name}.csv")),
            &feature_table_csv(&table)?,
        )?;
    }
    let listed: String = left_out
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    write_text_atomic(&dir.join(EMPTY_SHAPES), &listed)?;
    Ok(())
}

/// The file (in Fig. 5's features folder) that lists the generated shapes left out of
/// the augmentation tables because they were empty, one per line.
pub const EMPTY_SHAPES: &str = "empty_shapes.txt";

/// The classifier's settings (the paper's: 5 folds, 1000 trees of depth ≤ 10; the
/// folds are the study's, so that fold k's test cells are DISPR fold k's).
fn classifier(plan: &Plan) -> ClassifyConfig {
    ClassifyConfig {
        folds: plan.folds,
        seed: plan.split_seed,
        trees: plan.trees,
        depth: 10,
        augment_classes: None,
    }
}

fn classify(ctx: &Context) -> anyhow::Result<()> {
    let dir = ctx.features_dir();
    let read = |name: &str| read_features(&dir.join(format!("{name}.csv")));
    let real = read("real")?;
    let config = classifier(ctx.plan);
    // The no-leak rule per fold needs the classifier's folds to be the networks'.
    let mine = classifier_folds(&real, &config)?;
    let theirs = ctx.folds()?;
    let by_name: std::collections::HashMap<&str, usize> = ctx
        .dataset
        .cells
        .iter()
        .zip(&theirs)
        .map(|(c, &f)| (c.name.as_str(), f))
        .collect();
    if real
        .rows
        .iter()
        .zip(&mine)
        .any(|(r, f)| by_name.get(r.source.as_str()) != Some(f))
    {
        bail!("the classifier's folds differ from the networks' folds (a bug in dispr)");
    }
    let per_fold: Vec<FeatureTable> = (0..ctx.plan.folds)
        .map(|k| read(&format!("dispr-fold{k}")))
        .collect::<Result<_, _>>()?;
    for source in AUGMENTATION_SOURCES {
        let shared;
        let augmentation = match source {
            "dispr" => Augmentation::PerFold(&per_fold),
            other => {
                shared = read(other)?;
                Augmentation::Shared(&shared)
            }
        };
        let study = ClassifyStudy::run(&real, Some(augmentation), &config).with_context(|| {
            format!(
                "{}: the features of the real shapes and of the {source} shapes",
                dir.display()
            )
        })?;
        let out = ctx.layout.fig5().join(source);
        let sources = json!({
            "features": "../features/real.csv",
            "augment": match source {
                "dispr" => "../features/dispr-fold{K}.csv (fold K trains on the table of the model that held fold K out)".to_string(),
                other => format!("../features/{other}.csv"),
            },
        });
        study.write_tables(&out, &real, sources)?;
        crate::report::draw_confusion(
            &out.join("confusion.png"),
            "without augmentation",
            &study.plain,
        )?;
        if let Some(a) = &study.augmented {
            crate::report::draw_confusion(
                &out.join("confusion_augmented.png"),
                &format!("with {source} shapes"),
                a,
            )?;
        }
    }
    Ok(())
}

/// One row of Fig. 5's table.
#[derive(Clone, Debug, Serialize)]
pub struct Fig5Row {
    /// "without augmentation" or "with SOURCE shapes".
    pub condition: String,
    /// Augmentation rows added over the folds' training sets.
    pub added: usize,
    /// Macro F1 over all cells [95 % interval].
    pub macro_f1: String,
    /// Weighted F1 over all cells [95 % interval].
    pub weighted_f1: String,
    /// Macro F1 per fold, mean ± sd.
    pub macro_folds: String,
    /// Accuracy with − without, [95 % interval], McNemar p (augmented rows only).
    pub change: Option<String>,
}

/// Fig. 5's rows: without augmentation, then with each source's shapes.
pub fn fig5_rows(layout: &Layout) -> anyhow::Result<Vec<Fig5Row>> {
    let mut rows = Vec::new();
    for (i, source) in AUGMENTATION_SOURCES.iter().enumerate() {
        let path = layout.fig5().join(source).join("classification.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let j: Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let interval = |f: &Value, key: &str| {
            format!(
                "{:.3} [{:.3}, {:.3}]",
                f[key].as_f64().unwrap_or(f64::NAN),
                f[format!("{}_low", &key[..key.len() - 3])]
                    .as_f64()
                    .unwrap_or(f64::NAN),
                f[format!("{}_high", &key[..key.len() - 3])]
                    .as_f64()
                    .unwrap_or(f64::NAN)
            )
        };
        let folds = |o: &Value| {
            let v: Vec<f64> = o["macro_f1"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                / (v.len().max(2) - 1) as f64)
                .sqrt();
            format!("{mean:.3} ± {sd:.3}")
        };
        let row = |condition: String, o: &Value, f: &Value, change| Fig5Row {
            condition,
            added: o["augmented"].as_array().map_or(0, |a| {
                a.iter().filter_map(Value::as_u64).sum::<u64>() as usize
            }),
            macro_f1: interval(f, "macro_f1"),
            weighted_f1: interval(f, "weighted_f1"),
            macro_folds: folds(o),
            change,
        };
        if i == 0 {
            rows.push(row(
                "without augmentation".into(),
                &j["without"],
                &j["f1_over_cells"]["without"],
                None,
            ));
        }
        let e = &j["with_against_without"]["all_cells"];
        let change = format!(
            "{:+.3} [{:+.3}, {:+.3}], p = {:.3} ({} gained, {} lost)",
            e["difference"].as_f64().unwrap_or(f64::NAN),
            e["ci_low"].as_f64().unwrap_or(f64::NAN),
            e["ci_high"].as_f64().unwrap_or(f64::NAN),
            e["mcnemar_p"].as_f64().unwrap_or(f64::NAN),
            e["gained"],
            e["lost"]
        );
        rows.push(row(
            format!("with {source} shapes"),
            &j["with"],
            &j["f1_over_cells"]["with"],
            Some(change),
        ));
    }
    Ok(rows)
}

/// Fig. 5 as a markdown table.
pub fn fig5_markdown(ctx: &Context) -> anyhow::Result<String> {
    let mut md = String::from(
        "| condition | rows added | macro F1 [95 % CI] | weighted F1 [95 % CI] | macro F1 per fold | accuracy change [95 % CI], McNemar p |\n|---|---:|---|---|---|---|\n",
    );
    for r in fig5_rows(ctx.layout)? {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.condition,
            r.added,
            r.macro_f1,
            r.weighted_f1,
            r.macro_folds,
            r.change.as_deref().unwrap_or("–")
        ));
    }
    Ok(md)
}
