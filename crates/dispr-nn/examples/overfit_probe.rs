//! The measurement behind the `small` and `tiny` presets' v-prediction (docs/model.md):
//! overfit the tiny model to one synthetic cell, then report, per timestep, how well the
//! network's x₀ estimate matches the cell, and the IoU of sampled shapes.
//!
//! ```text
//! cargo run --release -p dispr-nn --example overfit_probe -- epsilon 3e-3 4 300
//! cargo run --release -p dispr-nn --example overfit_probe -- v 3e-3 4 300
//! ```
//! Arguments: prediction (epsilon|v), learning rate, batch, steps.

use burn::prelude::*;
use dispr_core::data::class::{CellClass, Label};
use dispr_core::data::dataset::Cell;
use dispr_core::grid::Volume;
use dispr_core::phantom;
use dispr_core::shape::metrics::overlap;
use dispr_nn::config::preset;
use dispr_nn::data::{batch, example};
use dispr_nn::diffusion::{Prediction, q_sample, reverse_step};
use dispr_nn::model::Model;
use dispr_nn::predict::{Sampling, predict_cell};
use dispr_nn::sampler::{self, SamplerKind};
use dispr_nn::training::{Learner, Trainer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: overfit_probe epsilon|v LR BATCH STEPS");
        std::process::exit(2);
    }
    let device = Device::flex();
    let p = phantom::generate(2023, 0, CellClass::Multilobate);
    let cell = Cell {
        name: p.name.clone(),
        label: Label::Class {
            class: CellClass::Multilobate,
            sde_score: None,
        },
        image: p.image.map(|v| v as f32 / 255.0),
        mask: p.mask.clone(),
        shape: Some(p.obj.clone()),
        pixel_size: None,
    };
    let (mut model, mut train) = preset("tiny").unwrap();
    model.diffusion.prediction = match args[1].as_str() {
        "v" => Prediction::V,
        _ => Prediction::Epsilon,
    };
    train.lr = args[2].parse().expect("learning rate");
    train.batch = args[3].parse().expect("batch");
    let steps: usize = args[4].parse().expect("steps");
    train.augment = false;
    let data = vec![example(&cell, model.grid, None).unwrap()];
    let mut trainer = Trainer::new(model.clone(), train, &device);
    let mut sum = 0.0;
    for i in 0..steps {
        sum += trainer.step(&data).expect("finite loss").loss;
        if (i + 1) % 50 == 0 {
            println!("step {} mean loss {:.4}", i + 1, sum / 50.0);
            sum = 0.0;
        }
    }
    let ema = Model {
        config: model.clone(),
        net: trainer.ema().clone(),
    };
    let schedule = model.diffusion.schedule();
    let [d, h, w] = model.grid;
    let (cond, x0) = batch(&[&data[0]], &[0], model.grid, &device);
    let target: Vec<f32> = x0.clone().into_data().try_into_vec::<f32>().unwrap();
    for t in [0usize, 50, 200, 500, 800, 950, 999] {
        let noise = Tensor::<5>::random(
            [1, 1, d, h, w],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let xt = q_sample(&schedule, x0.clone(), noise, &[t]);
        let out = ema.denoise(cond.clone(), xt.clone(), &[t]);
        let step = reverse_step(&schedule, out, xt, &[t], model.diffusion.prediction, true);
        let x0_hat: Vec<f32> = step.x0.into_data().try_into_vec::<f32>().unwrap();
        let both = x0_hat
            .iter()
            .zip(&target)
            .filter(|(a, b)| **a > 0.0 && **b > 0.0);
        let either = x0_hat
            .iter()
            .zip(&target)
            .filter(|(a, b)| **a > 0.0 || **b > 0.0);
        println!(
            "t={t:4}: IoU of the x0 estimate {:.3}",
            both.count() as f64 / either.count() as f64
        );
    }
    let truth = cell.shape.as_ref().unwrap();
    for (kind, steps) in [(SamplerKind::Ddim, 20), (SamplerKind::Ddpm, 50)] {
        let s = sampler::build(kind, &model.diffusion, steps, 0.0).unwrap();
        let pred = predict_cell(
            &ema,
            &data[0],
            Sampling {
                sampler: s.as_ref(),
                samples: 3,
                seed: 0,
                size: dispr_core::size_correction::SizeCorrection::NONE,
            },
            truth.shape(),
            &device,
            &mut |_, _| {},
        );
        let ious: Vec<String> = pred
            .shapes
            .samples
            .iter()
            .map(|s| format!("{:.3}", overlap(s, truth).iou))
            .collect();
        println!("{}: sample IoU {}", s.name(), ious.join(", "));
    }
    let bound = Volume::new(model.grid, data[0].target.clone().unwrap())
        .unwrap()
        .resample(truth.shape())
        .map(|x| x > 0.0);
    println!(
        "upper bound (the cell through the working grid): IoU {:.3}",
        overlap(&bound, truth).iou
    );
}
