//! `dispr model info` (preset settings and parameter counts) and `dispr bench model`
//! (forward, training-step and prediction timings with peak memory).

use std::path::Path;

use anyhow::Context;
use dispr_core::grid::Image;
use dispr_nn::burn::module::Module;
use dispr_nn::config::{ModelConfig, ModelKind, Network, Preset, TrainConfig, preset_description};
use dispr_nn::data::Example;
use dispr_nn::intervals::IntervalCalibration;
use dispr_nn::model::{Model, ShaprModel};
use dispr_nn::pipeline::{LoadedModel, ModelFile, SamplerRequest};
use dispr_nn::predict::{Sampling, predict_cell, predict_shapr};
use dispr_nn::sampler::{self, SamplerKind};
use dispr_nn::shapr::ShaprConfig;
use dispr_nn::training::new_learner;
use serde_json::json;

use crate::cli::{
    BenchModelArgs, ModelCalibrateArgs, ModelExportArgs, ModelInfoArgs, ModelIntervalsArgs,
};
use crate::output::print;

/// One line describing a network's settings.
fn describe(config: &Network) -> String {
    match config {
        Network::Dispr(m) => format!(
            "base {} mult {:?}  attention at {:?} + middle  strides {:?}  T={} {:?}, {:?}-prediction, {:?} loss\n       {}",
            m.unet.base_channels,
            m.unet.channel_mult,
            m.unet.attention_rates,
            m.unet.strides,
            m.diffusion.steps,
            m.diffusion.schedule,
            m.diffusion.prediction,
            m.diffusion.loss,
            preset_description(&m.preset),
        ),
        Network::Shapr(m) => format!(
            "filters {}  latent 1×{}×{}  topological loss {}",
            m.filters,
            m.grid[1] / 4,
            m.grid[2] / 4,
            if m.topo_weight > 0.0 {
                format!(
                    "λ = {} on dimensions {:?} at {}³",
                    m.topo_weight, m.topo_dims, m.topo_grid
                )
            } else {
                "off".into()
            }
        ),
    }
}

/// Runs `dispr model calibrate`.
pub fn calibrate(args: &ModelCalibrateArgs) -> anyhow::Result<()> {
    use dispr_nn::pipeline::calibrate::{self, CalibrateSettings};
    // The model's own draw, unless the flags say otherwise: recalibrating a model keeps
    // the sampler it is predicted with.
    let own = dispr_nn::pipeline::own_sampler_of(Some(&args.model))?;
    let mut model = dispr_nn::pipeline::LoadedModel::load_uncalibrated(
        Some(&args.model),
        args.draw.sampling.request().over(own)?,
        args.device,
    )?;
    let trained_with = model
        .header
        .train
        .as_ref()
        .and_then(|t| t.prior_shapes.clone());
    let dataset = super::open_dataset(&args.data)?;
    let indices =
        calibrate::calibration_cells(&model, &dataset, args.cells as usize, args.all_cells);
    let on_trained = indices
        .iter()
        .any(|&i| model.header.train_cells.contains(&dataset.cells[i].name));
    match args.prior_shapes.as_ref().or(trained_with.as_ref()) {
        Some(dir) => {
            // Every calibration cell needs its shape (the training one covers only the
            // training cells), asked for before minutes of sampling, not after.
            let given = dispr_core::data::prior::GivenPriors::new(dir)?;
            let names = indices.iter().map(|&i| dataset.cells[i].name.as_str());
            if let Some(name) = names.clone().find(|n| !given.file(n).is_file()) {
                anyhow::bail!(
                    "{}: no prior shape of the calibration cell '{name}'; pass --prior-shapes with the shapes of every cell of {}",
                    given.dir().display(),
                    args.data.display()
                );
            }
            model = model.with_prior_shapes(dir)?
        }
        // Its SHAPR trained on these very cells: its shapes of them are better than
        // any it makes of a new cell, and the scale learnt on them would be wrong.
        None if model.prior_model.is_some() && on_trained => anyhow::bail!(
            "{}: the SHAPR model it carries trained on the calibration cells; pass their cross-fitted shapes with --prior-shapes",
            args.model.display()
        ),
        None => {}
    }
    let bar = crate::progress::bar(
        indices.len() * model.predictor.evaluations(),
        "network evaluations",
    );
    bar.set_message("calibrating");
    let settings = CalibrateSettings {
        samples: args.draw.samples as usize,
        seed: args.draw.seed,
        by: args.by.into(),
    };
    let result = calibrate::calibrate(&model, &dataset, &indices, settings, &mut |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    let calibration = result?;
    let file = dispr_nn::calibration::file_for(&model.source);
    dispr_core::io::atomic::write_text_atomic(
        &file,
        &(serde_json::to_string_pretty(&calibration)? + "\n"),
    )?;
    print(&format!(
        "{}: median volume ratio {:.3} as sampled → {:.3}, on {} {} × {} samples ({}); wrote {}\n",
        calibration.size.describe(),
        calibration.median_volume_ratio_at_0,
        calibration.median_volume_ratio,
        calibration.cells.len(),
        calibration.cells_kind(),
        calibration.samples,
        calibration.sampler,
        file.display()
    ))?;
    crate::output::note(&format!(
        "dispr predict now draws with {} unless told otherwise (the model's own sampler)",
        calibration.sampler
    ));
    Ok(())
}

/// Writes `text` to `file` (a calibration carried over to an exported model), or
/// removes an old `file` when there is none to carry over.
fn carry_over(file: &std::path::Path, text: Option<String>) -> anyhow::Result<()> {
    match text {
        Some(text) => Ok(dispr_core::io::atomic::write_text_atomic(
            file,
            &(text + "\n"),
        )?),
        None => match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                anyhow::bail!("{}: cannot remove: {e}", file.display())
            }
            _ => Ok(()),
        },
    }
}

/// Runs `dispr model intervals`.
pub fn intervals(args: &ModelIntervalsArgs) -> anyhow::Result<()> {
    use dispr_core::experiment::intervals::coverage_markdown;
    let model = ModelFile::read(Some(&args.model), true)?;
    let (file, sha) = (&model.source, &model.sha256);
    let dataset = super::open_dataset(&args.data)?;
    let cells: usize = args
        .preds
        .iter()
        .map(|d| dispr_core::io::prediction_dir::read_report(d).map(|r| r.per_cell.len()))
        .sum::<Result<_, _>>()?;
    let bar = crate::progress::bar(
        dispr_core::experiment::study::work(cells, 1),
        "measurements",
    );
    bar.set_message("measuring the held-out predictions");
    let fitted = dispr_nn::pipeline::fit_intervals::fit_intervals(
        (file, sha, model.checkpoint.header.model.preset()),
        &dataset,
        &args.preds,
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let fitted = fitted?;
    // Predictions drawn as the held-out ones were get the intervals: say when that is
    // not how this model predicts by default.
    let card = model.card();
    let size = dispr_nn::calibration::size_of(model.calibration.as_ref());
    if let Some(why) = fitted.mismatch(
        &card.default_sampler,
        crate::cli::DEFAULT_SAMPLES as usize,
        &size,
    ) {
        crate::output::note(&format!(
            "note: {} predicts by default with {} and {} samples per cell ({}); these intervals apply only to predictions drawn as the held-out ones were ({why}), so pass the matching --sampler, --steps, --eta, --from-prior and --samples to dispr predict",
            file.display(),
            card.default_sampler,
            crate::cli::DEFAULT_SAMPLES,
            size.describe(),
        ));
    }
    let out = dispr_nn::intervals::file_for(file);
    dispr_core::io::atomic::write_text_atomic(
        &out,
        &(serde_json::to_string_pretty(&fitted)? + "\n"),
    )?;
    let rows: Vec<(String, _)> = fitted
        .coverage
        .iter()
        .map(|c| ("held-out".to_string(), c.clone()))
        .collect();
    print(&format!(
        "held-out predictions: {} folders\n{}90 % intervals {}; they apply to predictions drawn with {}; wrote {}\n",
        fitted.predictions.len(),
        coverage_markdown(&rows),
        fitted.summary(),
        fitted.draw(),
        out.display()
    ))
}

/// The DISPR checkpoint `c` (read from `file`), conditioned on given prior shapes, with
/// the SHAPR model at `shapr` carried as the maker of its priors: refused unless the
/// model takes given shapes, the SHAPR model works on its data grid, and SHAPR trained
/// on no cell the model did not train on (a cell the model holds out for testing).
fn with_prior_model(
    c: dispr_nn::checkpoint::Checkpoint,
    file: &std::path::Path,
    shapr: &std::path::Path,
) -> anyhow::Result<dispr_nn::checkpoint::Checkpoint> {
    use dispr_nn::checkpoint::{self, Checkpoint, PRIOR_MODEL_SECTION};
    use dispr_nn::config::Network;
    if !c.header.model.takes_given_prior() {
        anyhow::bail!(
            "{}: --prior-model applies to a model trained with --prior-shapes",
            file.display()
        );
    }
    let shapr_file = shapr;
    let s = Checkpoint::load(shapr_file)?;
    if !matches!(s.header.model, Network::Shapr(_)) {
        anyhow::bail!("{}: not a SHAPR model", shapr_file.display());
    }
    if let Some(cell) = s
        .header
        .train_cells
        .iter()
        .find(|n| !c.header.train_cells.contains(n))
    {
        anyhow::bail!(
            "{}: it trained on cell '{cell}', which the model did not train on (its prior would have seen cells held out from the model)",
            shapr_file.display()
        );
    }
    let bytes = checkpoint::to_safetensors_model(&s)
        .map_err(|e| anyhow::anyhow!("{}: {e}", shapr_file.display()))?;
    let mut c = c;
    if let Some(i) = c
        .header
        .sections
        .iter()
        .position(|s| s.name == PRIOR_MODEL_SECTION)
    {
        c.header.sections.remove(i);
        c.sections.remove(i);
    }
    let c = c.with_section(PRIOR_MODEL_SECTION, bytes);
    c.prior_model()
        .map_err(|e| anyhow::anyhow!("{}: {e}", shapr_file.display()))?;
    Ok(c)
}

/// Runs `dispr model export`.
pub fn export(args: &ModelExportArgs) -> anyhow::Result<()> {
    use dispr_nn::checkpoint::{self, Checkpoint};
    let file = checkpoint::resolve(&args.model);
    let shapr = args.prior_model.as_deref().map(checkpoint::resolve);
    let mut inputs = vec![file.as_path()];
    inputs.extend(shapr.as_deref());
    dispr_core::io::outdir::check_not_input(&args.out, &inputs)?;
    let mut c = Checkpoint::load(&file)?;
    if let Some(shapr) = &shapr {
        c = with_prior_model(c, &file, shapr)?;
    }
    let bytes = checkpoint::to_safetensors_model(&c)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    // The old checksum goes first: a crash before the new one is written leaves a model
    // without a checksum, never one with a wrong checksum.
    let mut sum_file = args.out.clone().into_os_string();
    sum_file.push(".sha256");
    match std::fs::remove_file(&sum_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "{}: cannot replace the old checksum: {}",
                std::path::Path::new(&sum_file).display(),
                dispr_core::error::describe_io(&e)
            )
        }
        _ => {}
    }
    dispr_core::io::atomic::write_atomic(&args.out, |w| std::io::Write::write_all(w, &bytes))?;
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sha = dispr_nn::shipped::sha256_hex(&bytes);
    dispr_core::io::atomic::write_text_atomic(
        std::path::Path::new(&sum_file),
        &format!("{sha}  {name}\n"),
    )?;
    // The exported EMA weights predict exactly as the checkpoint's: its calibration
    // holds for them, bound to the new file.
    let source_sha = dispr_nn::shipped::sha256_hex(
        &std::fs::read(&file).with_context(|| format!("{}: cannot read", file.display()))?,
    );
    let calibration = dispr_nn::calibration::Calibration::load_for(&file, &source_sha)?
        .map(|mut c| {
            c.model_sha256 = sha.clone();
            serde_json::to_string_pretty(&c)
        })
        .transpose()?;
    carry_over(&dispr_nn::calibration::file_for(&args.out), calibration)?;
    let intervals = IntervalCalibration::load_for(&file, &source_sha)?
        .map(|mut c| {
            c.model_sha256 = sha.clone();
            serde_json::to_string_pretty(&c)
        })
        .transpose()?;
    carry_over(&dispr_nn::intervals::file_for(&args.out), intervals)?;
    print(&format!(
        "wrote {} ({} {} model, step {}, {:.1} MB) and its SHA-256 {sha}\n",
        args.out.display(),
        c.header.model.kind(),
        c.header.model.preset(),
        c.header.step,
        bytes.len() as f64 / 1e6
    ))
}

/// Runs `dispr model info`.
pub fn info(args: &ModelInfoArgs) -> anyhow::Result<()> {
    let mut card = None;
    let configs: Vec<(Network, Option<usize>)> = match (&args.model, &args.preset) {
        (Some(path), _) => {
            let builtin = path.as_os_str() == "builtin";
            let file = ModelFile::read((!builtin).then_some(path.as_path()), true)?;
            let c_card = file.card();
            let c = file.checkpoint;
            card = Some(c_card);
            vec![(c.header.model, Some(c.header.step))]
        }
        (None, Some(preset)) => ModelKind::ALL
            .into_iter()
            .filter(|&kind| Network::presets(kind).contains(preset))
            .map(|kind| {
                Network::preset_for(kind, *preset)
                    .map(|(n, _)| (n, None))
                    .map_err(anyhow::Error::msg)
            })
            .collect::<anyhow::Result<_>>()?,
        (None, None) => ModelKind::ALL
            .into_iter()
            .flat_map(|kind| {
                Network::presets(kind).iter().map(move |&p| {
                    (
                        Network::preset_for(kind, p).expect("built-in preset").0,
                        None,
                    )
                })
            })
            .collect(),
    };
    let mut rows = Vec::new();
    let mut text = String::new();
    for (config, steps) in configs {
        let params = config.parameters();
        let grid = config.grid();
        text.push_str(&format!(
            "{:<5} {:<6} {:>10} parameters  grid {}×{}×{}  {}{}\n",
            config.kind(),
            config.preset(),
            format_count(params),
            grid[0],
            grid[1],
            grid[2],
            describe(&config),
            steps
                .map(|s| format!(" (trained {s} steps)"))
                .unwrap_or_default(),
        ));
        rows.push(json!({ "model": config.kind(), "preset": config.preset(), "parameters": params, "config": config, "trained_steps": steps }));
    }
    if let (Some(card), Some(row)) = (&card, rows.first_mut()) {
        text.push_str(&card.text());
        row["card"] = serde_json::to_value(card)?;
    }
    if args.json {
        print(&(serde_json::to_string_pretty(&rows)? + "\n"))
    } else {
        print(&text)
    }
}

/// 9770000 → "9,770,000".
fn format_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Peak resident memory since the last [`reset_peak_memory`], in MiB (Linux; None
/// elsewhere).
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the kernel's peak-RSS counter (Linux ≥ 4.0), so each measurement is its own.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Times `f` once to warm up and `repeat` more times ([`super::bench::time_runs`]),
/// adding the peak memory over the timed runs.
fn timed(repeat: u32, mut f: impl FnMut()) -> serde_json::Value {
    f();
    reset_peak_memory();
    let mut times = super::bench::time_runs(repeat, f);
    times["peak_memory_mib"] = json!(peak_memory_mib());
    times
}

/// Whether pixel (y, x) of an h × w field lies in the probe cell: a centred disc of
/// radius a third of the field.
fn in_probe_disc(y: usize, x: usize, [h, w]: [usize; 2]) -> bool {
    let r = h.min(w) as f32 / 3.0;
    let (dy, dx) = (y as f32 - h as f32 / 2.0, x as f32 - w as f32 / 2.0);
    dy * dy + dx * dx < r * r
}

/// A synthetic example on the model's grid: a centred disc mask and a ball target.
fn probe_example(grid: [usize; 3]) -> Example {
    let [d, h, w] = grid;
    let mut conditioning = vec![0f32; 2 * d * h * w];
    let mut target = vec![-1f32; d * h * w];
    let r = h.min(w) as f32 / 3.0;
    for z in 0..d {
        for y in 0..h {
            for x in 0..w {
                let (dy, dx) = (y as f32 - h as f32 / 2.0, x as f32 - w as f32 / 2.0);
                let i = (z * h + y) * w + x;
                if in_probe_disc(y, x, [h, w]) {
                    conditioning[i] = 1.0;
                    conditioning[d * h * w + i] = 0.5;
                    let dz = z as f32 - d as f32 / 2.0;
                    if dy * dy + dx * dx + 4.0 * dz * dz < r * r {
                        target[i] = 1.0;
                    }
                }
            }
        }
    }
    Example {
        name: "probe".into(),
        conditioning,
        target: Some(target),
    }
}

/// Runs `dispr bench model`.
pub fn bench(args: &BenchModelArgs) -> anyhow::Result<()> {
    let device = args.device.open().map_err(anyhow::Error::msg)?;
    // A trained model is read first, so that a wrong path fails before any timing.
    let file_model = args
        .model
        .as_deref()
        .map(|path| load_bench_model(args, path))
        .transpose()?;
    let sampler_kind = args.sampler;
    let mut networks = Vec::new();
    for &kind in &args.models {
        for &preset in &args.presets {
            // A preset only some models have (`fast`) is timed for those.
            let elsewhere = args
                .models
                .iter()
                .any(|&k| Network::presets(k).contains(&preset));
            if Network::presets(kind).contains(&preset) || !elsewhere {
                networks.push(Network::preset_for(kind, preset).map_err(anyhow::Error::msg)?);
            }
        }
    }
    for file in &args.config {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("{}: cannot read", file.display()))?;
        let network = serde_json::from_str(&text)
            .map_err(|e| dispr_nn::Error::Invalid(e.to_string()))
            .and_then(Network::from_json)
            .map_err(|e| anyhow::anyhow!("{}: not a model config: {e}", file.display()))?;
        network
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let (_, train) =
            Network::preset_for(network.kind(), Preset::Small).map_err(anyhow::Error::msg)?;
        networks.push((network, train));
    }
    let mut results = Vec::new();
    for (network, train) in networks {
        crate::output::note(&format!(
            "timing {} preset '{}' …",
            network.kind(),
            network.preset()
        ));
        let mut row = match &network {
            Network::Dispr(config) => bench_dispr(args, sampler_kind, config.clone(), &device)?,
            Network::Shapr(config) => bench_shapr(args, config.clone(), &device),
        };
        if !args.no_train {
            let mut learner = new_learner(
                &network,
                TrainConfig {
                    batch: args.batch as usize,
                    ..train
                },
                &device,
            );
            let examples = vec![probe_example(network.grid())];
            row["train_step"] = timed(args.repeat, || {
                learner
                    .step(&examples)
                    .expect("finite loss on the probe cell");
            });
        }
        results.push(row);
    }
    if let Some(model) = &file_model {
        results.push(bench_model_file(args, model)?);
    }
    let mut report = json!({
        "machine": super::bench::machine(),
        "device": args.device.name(),
        "results": results,
    });
    if args.paper_protocol {
        report["paper_protocol"] = paper_protocol(args, &device, &mut report["results"])?;
    }
    print(&(serde_json::to_string_pretty(&report)? + "\n"))
}

/// A trained model (`builtin`: the shipped one) drawing with its own sampler, at
/// --predict-steps when given, as `dispr predict` would; refused when it needs prior
/// shapes from files, which a bench has none of.
fn load_bench_model(args: &BenchModelArgs, path: &Path) -> anyhow::Result<LoadedModel> {
    let builtin = path.as_os_str() == "builtin";
    let request = SamplerRequest {
        steps: args.predict_steps.map(|s| s as usize),
        ..SamplerRequest::default()
    };
    let model = LoadedModel::load_drawing((!builtin).then_some(path), request, args.device)?;
    if model.header.model.takes_given_prior() && model.prior_model.is_none() {
        anyhow::bail!(
            "{}: the model is conditioned on a prior shape given with every cell and carries no model to make it; time the file `dispr model export --prior-model SHAPR` writes",
            model.source.display()
        );
    }
    Ok(model)
}

/// One cell's full prediction by a trained model, through
/// [`LoadedModel::predict_image`] as `dispr predict` makes it, prior model included.
fn bench_model_file(
    args: &BenchModelArgs,
    model: &LoadedModel,
) -> anyhow::Result<serde_json::Value> {
    crate::output::note(&format!(
        "timing one cell's prediction by {} …",
        model.source.display()
    ));
    // The probe cell of `probe_example`, as an image and mask of the model's field.
    let [_, h, w] = model.header.model.data_grid();
    let mask: Vec<bool> = (0..h * w)
        .map(|i| in_probe_disc(i / w, i % w, [h, w]))
        .collect();
    let image = mask.iter().map(|&m| if m { 0.6 } else { 0.05 }).collect();
    let image = Image::new([h, w], image).expect("h × w values");
    let mask = Image::new([h, w], mask).expect("h × w values");
    let samples = model.predictor.samples(args.samples as usize);
    let mut failed = None;
    let time = timed(args.repeat, || {
        if let Err(e) = model.predict_image("probe", &image, &mask, samples, 0) {
            failed.get_or_insert(e);
        }
    });
    if let Some(e) = failed {
        return Err(anyhow::Error::new(e).context(format!("timing {}", model.source.display())));
    }
    let card = model.card();
    let prior = match (card.prior_model, card.prior_k) {
        (true, _) => "the prediction of the SHAPR model it carries".to_string(),
        (false, Some(k)) => format!("the nearest {k} of its reference cells"),
        (false, None) => "none".to_string(),
    };
    let prior_evaluations = usize::from(model.prior_model.is_some());
    Ok(json!({
        "model": model.header.model.kind().to_string(),
        "preset": model.header.model.preset(),
        "source": model.source.display().to_string(),
        "sha256": model.sha256,
        "prior": prior,
        "predict_one_cell": {
            "sampler": model.predictor.method(),
            "samples": samples,
            "network_evaluations": model.predictor.evaluations() + prior_evaluations,
            "threads": dispr_nn::device::cpu_threads(),
            "time": time,
        },
    }))
}

/// The paper's protocol — the `paper` preset, 1000 ancestral steps, SAMPLES samples —
/// estimated from one measured network evaluation on a batch of SAMPLES (running all
/// 1000 takes hours on a CPU; the sampler's own arithmetic is negligible beside the
/// network). Adds the speed-up to every row with a timed prediction.
fn paper_protocol(
    args: &BenchModelArgs,
    device: &dispr_nn::Device,
    results: &mut serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let (Network::Dispr(config), _) =
        Network::preset_for(ModelKind::Dispr, Preset::Paper).map_err(anyhow::Error::msg)?
    else {
        unreachable!("preset_for(\"dispr\", …) gives a DISPR model")
    };
    crate::output::note(&format!(
        "timing one network evaluation of the paper preset on a batch of {} …",
        args.samples
    ));
    let model = Model::new(config.clone(), 0, device);
    let one_evaluation = time_forward(&model, args.samples as usize, 1, device);
    let per_evaluation = one_evaluation["median_s"].as_f64().unwrap_or(f64::NAN);
    let steps = config.diffusion.steps;
    let estimate = per_evaluation * steps as f64;
    for row in results.as_array_mut().into_iter().flatten() {
        if let Some(t) = row["predict_one_cell"]["time"]["median_s"].as_f64() {
            row["predict_one_cell"]["speedup_over_paper_protocol"] = json!(estimate / t);
        }
    }
    Ok(json!({
        "preset": "paper",
        "sampler": format!("ddpm-{steps}"),
        "samples": args.samples,
        "one_network_evaluation": one_evaluation,
        "estimated_prediction_s": estimate,
        "how": format!("{steps} × the measured time of one batch-{} network evaluation", args.samples),
    }))
}

/// Times one forward pass of a DISPR network on a random batch of `b`.
fn time_forward(
    model: &Model,
    b: usize,
    repeat: u32,
    device: &dispr_nn::Device,
) -> serde_json::Value {
    let [d, h, w] = model.config.grid;
    let input = dispr_nn::Tensor::<5>::random(
        [b, model.config.unet.in_channels, d, h, w],
        dispr_nn::burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    let t = vec![500usize; b];
    timed(repeat, || {
        let out = model.net.forward(input.clone(), &t);
        let _: Vec<f32> = out
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32");
    })
}

/// Forward pass and one-cell prediction of a SHAPR preset.
fn bench_shapr(
    args: &BenchModelArgs,
    config: ShaprConfig,
    device: &dispr_nn::Device,
) -> serde_json::Value {
    let b = args.batch as usize;
    let [_, h, w] = config.grid;
    let model = ShaprModel {
        net: config.init(device),
        config: config.clone(),
    };
    let input = dispr_nn::Tensor::<4>::random(
        [b, 2, h, w],
        dispr_nn::burn::tensor::Distribution::Normal(0.0, 1.0),
        device,
    );
    let forward = timed(args.repeat, || {
        let _: Vec<f32> = model
            .net
            .forward(input.clone())
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("f32");
    });
    let example = probe_example(config.grid);
    let mut row = json!({
        "model": "shapr",
        "preset": config.preset,
        "parameters": model.net.num_params(),
        "grid": config.grid,
        "batch": b,
        "forward": forward,
    });
    if args.predict_steps.is_some() {
        row["predict_one_cell"] = json!({
            "sampler": "shapr (one deterministic shape)",
            "samples": 1,
            "network_evaluations": 1,
            "time": timed(1, || {
                predict_shapr(&model, &example, config.data_grid, device);
            }),
        });
    }
    row
}

/// Forward pass and one-cell prediction of a DISPR preset.
fn bench_dispr(
    args: &BenchModelArgs,
    sampler_kind: SamplerKind,
    config: ModelConfig,
    device: &dispr_nn::Device,
) -> anyhow::Result<serde_json::Value> {
    let model = Model::new(config.clone(), 0, device);
    let example = probe_example(config.grid);
    let b = args.batch as usize;
    let forward = time_forward(&model, b, args.repeat, device);
    let mut row = json!({
        "model": "dispr",
        "preset": config.preset,
        "parameters": model.net.num_params(),
        "grid": config.grid,
        "batch": b,
        "forward": forward,
    });
    if let Some(steps) = args.predict_steps {
        let s = sampler::build(sampler_kind, &config.diffusion, steps as usize, 0.0)
            .map_err(anyhow::Error::msg)?;
        let n = args.samples as usize;
        let prediction = timed(args.repeat, || {
            predict_cell(
                &model,
                &example,
                Sampling {
                    sampler: s.as_ref(),
                    samples: n,
                    seed: 0,
                    size: dispr_core::size_correction::SizeCorrection::NONE,
                },
                config.data_grid,
                device,
                &mut |_, _| {},
            );
        });
        row["predict_one_cell"] = json!({
            "sampler": s.name(),
            "samples": n,
            "network_evaluations": s.evaluations(),
            "threads": dispr_nn::device::cpu_threads(),
            "time": prediction,
        });
    }
    Ok(row)
}
