//! Training on the `tiny` preset: checkpoint round trip, exact resume, a clean stop on a
//! non-finite loss, and an end-to-end overfit of one cell that samples it back.

use crate::common::{device, phantom_cell};
use burn::prelude::*;
use dispr_core::data::class::CellClass;
use dispr_core::shape::metrics::overlap;
use dispr_nn::Error as TrainError;
use dispr_nn::checkpoint::Checkpoint;
use dispr_nn::checkpoint::{WeightEncoding, weights_from_bytes};
use dispr_nn::config::{ModelConfig, Network, TrainConfig, preset};
use dispr_nn::data::{Example, example};
use dispr_nn::model::Model;
use dispr_nn::predict::{Sampling, predict_cell};
use dispr_nn::sampler::{self, SamplerKind};
use dispr_nn::training::{Run, read_losses};

/// The network output of `weights` on a fixed input.
fn outputs(model: &ModelConfig, weights: &[u8], encoding: WeightEncoding) -> Vec<f32> {
    let net = weights_from_bytes(model.unet.init(&device()), weights, encoding).unwrap();
    let [d, h, w] = model.grid;
    let x = Tensor::<5>::ones([1, 3, d, h, w], &device()).mul_scalar(0.3);
    net.forward(x, &[123])
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
}

fn tiny() -> (ModelConfig, TrainConfig) {
    preset("tiny").unwrap()
}

fn examples(config: &ModelConfig, n: usize) -> Vec<Example> {
    (0..n)
        .map(|i| example(&phantom_cell(i, CellClass::Keratocyte), config.grid, None).unwrap())
        .collect()
}

fn run(dir: &std::path::Path, steps: usize, every: usize) -> Run {
    let (model, mut train) = tiny();
    train.steps = steps;
    train.checkpoint_every = every;
    Run {
        dir: dir.to_path_buf(),
        model: Network::Dispr(model),
        train,
        pixel_size_um: None,
        prior: None,
    }
}

#[test]
fn a_resumed_run_repeats_the_uninterrupted_one_exactly() {
    let (model, _) = tiny();
    let data = examples(&model, 3);
    let whole = tempfile::tempdir().unwrap();
    let parts = tempfile::tempdir().unwrap();
    run(whole.path(), 8, 4)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    // Interrupted after its checkpoint at step 4 (a 5th step was logged, then lost).
    run(parts.path(), 5, 4)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    let mut steps_seen = Vec::new();
    let summary = run(parts.path(), 8, 4)
        .train(&data, true, &device(), &mut |r| steps_seen.push(r.step))
        .unwrap();
    // The checkpoint at the end of the short run was at step 5: resume continues there.
    assert_eq!(summary.resumed_from, 5);
    assert_eq!(steps_seen, vec![6, 7, 8]);
    let a = read_losses(whole.path()).unwrap();
    let b = read_losses(parts.path()).unwrap();
    assert_eq!(a.len(), 8);
    assert_eq!(a, b, "same loss sequence");
    // And the same weights, EMA and raw (compared through the networks' outputs).
    let ca = Checkpoint::load(&whole.path().join("checkpoint.dispr")).unwrap();
    let cb = Checkpoint::load(&parts.path().join("checkpoint.dispr")).unwrap();
    assert_eq!(cb.header.step, 8);
    for section in ["ema", "model"] {
        let out = |c: &Checkpoint| {
            let encoding = WeightEncoding::of_section(c.header.format, section);
            outputs(&model, c.section(section).unwrap(), encoding)
        };
        assert!(out(&ca) == out(&cb), "{section} weights differ");
    }
}

#[test]
fn resume_drops_losses_logged_after_the_last_checkpoint() {
    let (model, _) = tiny();
    let data = examples(&model, 2);
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), 3, 2)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    // Simulate a kill after step 3 was logged but before its checkpoint: rewrite the
    // checkpoint as of step 2 by training a fresh run to 2.
    let fresh = tempfile::tempdir().unwrap();
    run(fresh.path(), 2, 2)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    std::fs::copy(
        fresh.path().join("checkpoint.dispr"),
        dir.path().join("checkpoint.dispr"),
    )
    .unwrap();
    run(dir.path(), 4, 2)
        .train(&data, true, &device(), &mut |_| {})
        .unwrap();
    let steps: Vec<usize> = read_losses(dir.path())
        .unwrap()
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(steps, vec![1, 2, 3, 4]);
}

#[test]
fn checkpointed_weights_give_the_same_network() {
    let (model, _) = tiny();
    let data = examples(&model, 1);
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), 2, 2)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    let a = Model::load(dir.path(), &device()).unwrap();
    let b = Model::load(&dir.path().join("checkpoint.dispr"), &device()).unwrap();
    let [d, h, w] = model.grid;
    let x = Tensor::<5>::ones([1, 3, d, h, w], &device());
    let ya: Vec<f32> = a
        .net
        .forward(x.clone(), &[5])
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let yb: Vec<f32> = b
        .net
        .forward(x, &[5])
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert_eq!(ya, yb);
    assert!(
        ya.iter().any(|v| *v != 0.0),
        "trained weights are not the zero init"
    );

    // A truncated checkpoint is refused with a message naming the file.
    let path = dir.path().join("checkpoint.dispr");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Model::load(dir.path(), &device()).unwrap_err().to_string();
    assert!(
        err.contains("checkpoint.dispr") && err.contains("truncated"),
        "{err}"
    );
    // Resuming from it fails the same way, without touching the file.
    let e = run(dir.path(), 4, 2)
        .train(&data, true, &device(), &mut |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap().len(), bytes.len() / 2);
}

#[test]
fn a_diverging_run_stops_and_keeps_its_last_good_checkpoint() {
    let (model, _) = tiny();
    let data = examples(&model, 2);
    let dir = tempfile::tempdir().unwrap();
    let mut r = run(dir.path(), 2, 2);
    r.train(&data, false, &device(), &mut |_| {}).unwrap();
    let good = std::fs::read(r.checkpoint_path()).unwrap();
    // An absurd learning rate sends the weights to infinity within a few steps.
    r.train.lr = 1e30;
    r.train.steps = 40;
    let err = r.train(&data, true, &device(), &mut |_| {}).unwrap_err();
    let TrainError::Diverged { step, kept, .. } = &err else {
        panic!("expected divergence, got {err}");
    };
    assert!(*step > 2, "{err}");
    assert!(err.to_string().contains("last good checkpoint"), "{err}");
    let kept_ckpt = Checkpoint::load(&r.checkpoint_path()).unwrap();
    assert_eq!(kept_ckpt.header.step, *kept);
    if *kept == 2 {
        assert_eq!(std::fs::read(r.checkpoint_path()).unwrap(), good);
    }
}

/// Overfits the tiny model to one cell, then samples it back from its conditioning.
#[test]
fn a_tiny_model_overfits_one_cell_and_samples_it_back() {
    let (model, mut train) = tiny();
    let cell = phantom_cell(0, CellClass::Multilobate);
    let data = vec![example(&cell, model.grid, None).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    train.steps = 200;
    train.checkpoint_every = 200;
    train.batch = 2;
    train.lr = 5e-3;
    train.augment = false;
    let r = Run {
        dir: dir.path().to_path_buf(),
        model: Network::Dispr(model.clone()),
        train,
        pixel_size_um: None,
        prior: None,
    };
    r.train(&data, false, &device(), &mut |_| {}).unwrap();
    let trained = Model::load(dir.path(), &device()).unwrap();
    let s = sampler::build(SamplerKind::Ddim, &model.diffusion, 20, 0.0).unwrap();
    let truth = cell.shape.as_ref().unwrap();
    let p = predict_cell(
        &trained,
        &data[0],
        Sampling {
            sampler: s.as_ref(),
            samples: 3,
            seed: 0,
            size: dispr_core::size_correction::SizeCorrection::NONE,
        },
        truth.shape(),
        &device(),
        &mut |_, _| {},
    );
    for (k, sample) in p.shapes.samples.iter().enumerate() {
        let iou = overlap(sample, truth).iou;
        eprintln!("sample {k}: IoU {iou:.3}");
        assert!(iou >= 0.8, "sample {k}: IoU {iou:.3}");
    }
}

/// Counts the parameters of a module that carry an autodiff association.
struct CountAutodiff(usize);

impl burn::module::ModuleVisitor for CountAutodiff {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        if param.val().is_autodiff() {
            self.0 += 1;
        }
    }
}

#[test]
fn the_ema_weights_stay_outside_the_autodiff_graph() {
    // An EMA tensor tracked by autodiff gains a graph node at every update that no
    // backward pass consumes: the run slows down step after step (it did, 0.19 → 0.59 s
    // per tiny step over 600 steps, until this was fixed).
    let (model, train) = tiny();
    let mut weights = dispr_nn::training::Weights::new(&train, &device(), |d| model.unet.init(d));
    let [d, h, w] = model.grid;
    for _ in 0..3 {
        let x = Tensor::<5>::ones([1, 3, d, h, w], weights.device()).mul_scalar(0.3);
        let loss = weights.net().forward(x, &[10]).powi_scalar(2).mean();
        weights.apply(loss, &train);
    }
    let mut count = CountAutodiff(0);
    weights.ema().visit(&mut count);
    assert_eq!(count.0, 0, "EMA parameters tracked by autodiff");
}

/// Networks drawn at once on several threads (as `dispr reproduce --jobs 2` starts two
/// trainings) get the weights their seeds give, as if drawn one after the other: the
/// backends' generators are global to the process.
#[test]
fn networks_drawn_at_once_on_several_threads_get_their_seeds_weights() {
    let (config, _) = tiny();
    // Every tensor's bytes, by name (the file may order its tensors freely).
    let weights = |seed: u64| {
        let model = Model::new(config.clone(), seed, &device());
        let bytes = dispr_nn::checkpoint::weights_to_bytes(&model.net, WeightEncoding::Safetensors);
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut tensors: Vec<(String, Vec<u8>)> = file
            .tensors()
            .into_iter()
            .map(|(name, t)| (name, t.data().to_vec()))
            .collect();
        tensors.sort();
        tensors
    };
    let alone: Vec<_> = (0..2).map(weights).collect();
    assert!(alone[0] == weights(0), "one seed, one network");
    assert!(alone[0] != alone[1]);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2u64)
            .map(|seed| {
                let weights = &weights;
                scope.spawn(move || (0..6).map(|_| weights(seed)).collect::<Vec<_>>())
            })
            .collect();
        for (seed, thread) in threads.into_iter().enumerate() {
            for drawn in thread.join().unwrap() {
                assert!(
                    drawn == alone[seed],
                    "seed {seed}: other weights when drawn at once"
                );
            }
        }
    });
}
