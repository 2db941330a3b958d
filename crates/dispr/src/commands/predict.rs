//! `dispr predict`: sample 3D shapes of every cell with a trained DISPR model (or predict
//! one shape per cell with a SHAPR model).

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{Context, bail};
use dispr_core::mesh::io::write_mesh;
use dispr_core::mesh::marching_cubes;
use dispr_core::outdir::{OutputDir, check_not_input, sample_name_clash};
use dispr_core::tiff_io::{write_shape, write_volume};
use dispr_nn::checkpoint::{self, Checkpoint};
use dispr_nn::config::Network;
use dispr_nn::predict::{Sampling, predict_cell, predict_shapr};
use dispr_nn::sampler::{self, Sampler, SamplerKind};
use dispr_nn::train::{Model, ShaprModel};
use serde_json::json;

use crate::cli::PredictArgs;
use crate::output::print;
use crate::progress;

/// The loaded model: DISPR with its sampler, or SHAPR.
enum Predictor {
    Dispr(Box<Model>, Box<dyn Sampler>),
    Shapr(Box<ShaprModel>),
}

/// Runs `dispr predict`.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let device = dispr_nn::device::parse(&args.device).map_err(anyhow::Error::msg)?;
    let kind: SamplerKind = args.sampler.parse().map_err(anyhow::Error::msg)?;
    let (ckpt_path, ckpt) = match &args.model {
        Some(path) => {
            let file = checkpoint::resolve(path);
            let c = Checkpoint::load(&file)?;
            (file, c)
        }
        None => (
            dispr_nn::shipped::label().to_path_buf(),
            dispr_nn::shipped::checkpoint().map_err(anyhow::Error::msg)?,
        ),
    };
    let predictor = match &ckpt.header.model {
        Network::Dispr(_) => {
            let model = Model::from_checkpoint(&ckpt, &ckpt_path, &device)?;
            let sampler =
                sampler::build(kind, &model.config.diffusion, args.steps as usize, args.eta)
                    .map_err(anyhow::Error::msg)?;
            Predictor::Dispr(Box::new(model), sampler)
        }
        Network::Shapr(_) => Predictor::Shapr(Box::new(ShaprModel::from_checkpoint(
            &ckpt, &ckpt_path, &device,
        )?)),
    };
    let header = ckpt.header;

    let dataset = super::open_dataset(&args.data)?;
    let mut inputs = vec![args.data.as_path()];
    if args.model.is_some() {
        inputs.push(ckpt_path.as_path());
    }
    check_not_input(&args.out, &inputs)?;
    let out = OutputDir::acquire(&args.out)?;
    let trained: HashSet<&str> = header.train_cells.iter().map(String::as_str).collect();
    let wanted: HashSet<&str> = args.cells.iter().map(String::as_str).collect();
    if let Some(missing) = args
        .cells
        .iter()
        .find(|n| !dataset.cells.iter().any(|c| &c.name == *n))
    {
        bail!("{}: no cell named '{missing}'", args.data.display());
    }
    let mut skipped = 0;
    let indices: Vec<usize> = (0..dataset.cells.len())
        .filter(|&i| {
            let name = dataset.cells[i].name.as_str();
            if !wanted.is_empty() && !wanted.contains(name) {
                return false;
            }
            if !args.all_cells && trained.contains(name) {
                skipped += 1;
                return false;
            }
            true
        })
        .collect();
    if indices.is_empty() {
        bail!(
            "{}: every selected cell was in the model's training set; pass --all-cells to predict them anyway",
            args.data.display()
        );
    }
    if skipped > 0 {
        eprintln!(
            "predicting {} cells; skipping {skipped} the model trained on (--all-cells includes them)",
            indices.len()
        );
    }
    let names: Vec<&str> = indices
        .iter()
        .map(|&i| dataset.cells[i].name.as_str())
        .collect();
    if let Some((a, b)) = sample_name_clash(&names) {
        bail!(
            "{}: cells '{a}' and '{b}' cannot share one prediction folder: '{b}.tif' would read as sample {} of '{a}'; rename one of them",
            args.data.display(),
            &b[a.len() + 1..]
        );
    }
    let cells = super::train::load_cells(&dataset, &indices)?;
    let files: Vec<_> = indices.iter().map(|&i| &dataset.cells[i]).collect();
    let examples = super::train::examples(&cells, &files, &header.model)?;

    let data_grid = header.model.data_grid();
    let (evaluations, method, samples) = match &predictor {
        Predictor::Dispr(_, sampler) => {
            (sampler.evaluations(), sampler.name(), args.samples as usize)
        }
        Predictor::Shapr(_) => (1, "shapr (deterministic, one shape)".to_string(), 1),
    };
    let deterministic = matches!(predictor, Predictor::Shapr(_));
    let bar = progress::bar(indices.len() * evaluations, "network evaluations");
    bar.set_message(method.clone());
    let began = Instant::now();
    let mut per_cell = Vec::new();
    for (i, example) in examples.iter().enumerate() {
        let base = (i * evaluations) as u64;
        let prediction = match &predictor {
            Predictor::Dispr(model, sampler) => predict_cell(
                model,
                example,
                Sampling {
                    sampler: sampler.as_ref(),
                    samples,
                    seed: args.seed,
                },
                data_grid,
                &device,
                &mut |done, _| bar.set_position(base + done as u64),
            ),
            Predictor::Shapr(model) => {
                let p = predict_shapr(model, example, data_grid, &device);
                bar.set_position(base + 1);
                p
            }
        };
        let name = &example.name;
        let file = format!("{name}.tif");
        if deterministic {
            // One shape per cell: NAME.tif, as the baselines write it.
            write_shape(&out.file(&file)?, &prediction.ensemble)?;
            out.remove_stale_samples(name, 0)?;
        } else {
            for (k, s) in prediction.samples.iter().enumerate() {
                write_shape(&out.file(format!("{name}_{k}.tif"))?, s)?;
            }
            out.remove_stale_samples(name, prediction.samples.len())?;
            // A SHAPR run's single shape in the same folder would be read instead.
            out.remove_if_ours(&file)?;
        }
        let probability = out.file(format!("probability/{file}"))?;
        write_volume(&probability, &prediction.probability)?;
        if !deterministic {
            write_volume(&out.file(format!("std/{file}"))?, &prediction.std)?;
        }
        write_shape(&out.file(format!("ensemble/{file}"))?, &prediction.ensemble)?;
        let mesh = marching_cubes(&prediction.ensemble);
        write_mesh(&out.file(format!("mesh/{name}.stl"))?, &mesh)?;
        per_cell.push(json!({ "cell": name, "seconds": prediction.seconds }));
    }
    bar.finish_and_clear();
    let seconds = began.elapsed().as_secs_f64();
    let report = json!({
        "model": ckpt_path.display().to_string(),
        "model_kind": header.model.kind(),
        "preset": header.model.preset(),
        "trained_steps": header.step,
        "sampler": method,
        "network_evaluations_per_cell": evaluations,
        "samples": samples,
        "seed": args.seed,
        "device": args.device,
        "threads": dispr_nn::device::cpu_threads(),
        "cells": per_cell.len(),
        "seconds_total": seconds,
        "seconds_per_cell": seconds / per_cell.len() as f64,
        "per_cell": per_cell,
    });
    dispr_core::fsio::write_text_atomic(
        &out.file("predict.json")?,
        &serde_json::to_string_pretty(&report).context("report")?,
    )?;
    print(&format!(
        "predicted {} cells × {} samples with {} in {seconds:.1} s ({:.1} s per cell); wrote {}\n",
        per_cell.len(),
        samples,
        method,
        seconds / per_cell.len() as f64,
        args.out.display()
    ))?;
    Ok(())
}
