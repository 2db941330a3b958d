use burn::prelude::*;
use dispr_core::class::{CellClass, Label};
use dispr_core::dataset::Cell;
use dispr_core::phantom;
use dispr_nn::config::preset;
use dispr_nn::data::example;
use dispr_nn::predict::predict_cell;
use dispr_nn::sampler::{self, SamplerKind};
use dispr_nn::train::{Model, Trainer};
fn main() {
    let d = Device::flex();
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
    };
    let (mut model, mut train) = preset("tiny").unwrap();
    if args_v() {
        model.diffusion.prediction = dispr_nn::diffusion::Prediction::V;
    }
    let args: Vec<String> = std::env::args().collect();
    train.lr = args[1].parse().unwrap();
    train.batch = args[2].parse().unwrap();
    let steps: usize = args[3].parse().unwrap();
    train.augment = false;
    let data = vec![example(&cell, model.grid).unwrap()];
    let mut t = Trainer::new(model.clone(), train, &d);
    let mut acc = 0.0;
    for i in 0..steps {
        let l = t.step(&data).unwrap();
        acc += l.loss;
        if (i + 1) % 50 == 0 {
            println!("step {} loss {:.4}", i + 1, acc / 50.0);
            acc = 0.0;
        }
    }
    let truth = cell.shape.as_ref().unwrap();
    {
        use dispr_nn::diffusion::{q_sample, reverse_step};
        let sch = model.diffusion.schedule();
        let [dd, h, w] = model.grid;
        let (cond, x0) = dispr_nn::data::batch(&[&data[0]], &[0], model.grid, &d);
        let tgt: Vec<f32> = x0.clone().into_data().try_into_vec::<f32>().unwrap();
        for tt in [0usize, 50, 200, 500, 800, 950, 999] {
            let noise = Tensor::<5>::random(
                [1, 1, dd, h, w],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &d,
            );
            let xt = q_sample(&sch, x0.clone(), noise.clone(), &[tt]);
            let ema = Model {
                config: model.clone(),
                net: t.ema().clone(),
            };
            let out = ema.denoise(cond.clone(), xt.clone(), &[tt]);
            let st = reverse_step(
                &sch,
                out.clone(),
                xt,
                &[tt],
                model.diffusion.prediction,
                true,
            );
            let eps: Vec<f32> = st.eps.into_data().try_into_vec::<f32>().unwrap();
            let nz: Vec<f32> = noise.into_data().try_into_vec::<f32>().unwrap();
            let mse: f32 = eps
                .iter()
                .zip(&nz)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                / eps.len() as f32;
            let xp: Vec<f32> = st.x0.into_data().try_into_vec::<f32>().unwrap();
            let inter = xp
                .iter()
                .zip(&tgt)
                .filter(|(a, b)| **a > 0.0 && **b > 0.0)
                .count();
            let uni = xp
                .iter()
                .zip(&tgt)
                .filter(|(a, b)| **a > 0.0 || **b > 0.0)
                .count();
            println!(
                "t={tt} eps mse {mse:.4} x0 iou {:.3}",
                inter as f64 / uni as f64
            );
        }
    }
    let ema = Model {
        config: model.clone(),
        net: t.ema().clone(),
    };
    for (name, kind, steps) in [
        ("ddim20", SamplerKind::Ddim, 20),
        ("ddpm50", SamplerKind::Ddpm, 50),
    ] {
        let s = sampler::build(kind, &model.diffusion, steps, 0.0).unwrap();
        let pr = predict_cell(
            &ema,
            &data[0],
            3,
            s.as_ref(),
            0,
            truth.shape(),
            &d,
            &mut |_, _| {},
        );
        let ious: Vec<f64> = pr
            .samples
            .iter()
            .map(|s| dispr_core::metrics::overlap(s, truth).iou)
            .collect();
        println!(
            "{name} ema ious {:?} vol pred {} true {}",
            ious,
            pr.samples[0].count(),
            truth.count()
        );
    }
    // Upper bound: truth downsampled to the grid and back.
    let tgt = data[0].target.clone().unwrap();
    let v = dispr_core::grid::Volume::new(model.grid, tgt)
        .unwrap()
        .resample(truth.shape())
        .map(|x| x > 0.0);
    println!("bound iou {}", dispr_core::metrics::overlap(&v, truth).iou);
}

fn args_v() -> bool {
    std::env::var("PRED_V").is_ok()
}
