//! Training a DISPR model: the U-Net's [`Weights`] and the diffusion loss.

use burn::prelude::*;
use dispr_core::schedule::NoiseSchedule;
use rand::RngExt;

use crate::checkpoint::Checkpoint;
use crate::config::{ModelConfig, Network, TrainConfig};
use crate::data::{Example, batch};
use crate::diffusion::{q_sample, training_loss};
use crate::noise::gaussian_tensor;
use crate::training::learner::{Learner, StepLosses, pick, step_rng, transforms};
use crate::training::state::Weights;
use crate::unet::UNet;

/// The state of training a DISPR model: [`Weights`] of the U-Net plus the diffusion
/// loss. One [`Learner::step`] is one optimisation step; [`Run`] adds files around it.
pub struct Trainer {
    /// Model settings.
    pub model: ModelConfig,
    /// Training settings.
    pub train: TrainConfig,
    weights: Weights<UNet>,
    schedule: NoiseSchedule,
}

impl Trainer {
    /// Fresh weights drawn from the run's seed.
    pub fn new(model: ModelConfig, train: TrainConfig, device: &Device) -> Self {
        let weights = Weights::new(&train, device, |d| model.unet.init(d));
        Self {
            schedule: model.diffusion.schedule(),
            model,
            train,
            weights,
        }
    }

    /// The state saved in a checkpoint (weights, EMA, optimizer, step).
    pub fn from_checkpoint(
        c: &Checkpoint,
        train: TrainConfig,
        device: &Device,
    ) -> crate::Result<Self> {
        let Network::Dispr(model) = c.header.model.clone() else {
            return Err("not a DISPR checkpoint".into());
        };
        let weights = Weights::from_checkpoint(c, "", &train, device, |d| model.unet.init(d))?;
        Ok(Self {
            schedule: model.diffusion.schedule(),
            model,
            train,
            weights,
        })
    }

    /// The EMA network (the one to sample from).
    pub fn ema(&self) -> &UNet {
        self.weights.ema()
    }
}

impl Learner for Trainer {
    fn steps_done(&self) -> usize {
        self.weights.step
    }

    fn step(&mut self, examples: &[Example]) -> Result<StepLosses, f32> {
        let cfg = &self.train;
        let [d, h, w] = self.model.grid;
        let mut rng = step_rng(cfg, self.weights.step);
        let picks = pick(&mut rng, examples, cfg.batch);
        let t: Vec<usize> = (0..cfg.batch)
            .map(|_| rng.random_range(0..self.schedule.len()))
            .collect();
        let k = transforms(&mut rng, cfg, self.model.grid);
        let device = self.weights.device().clone();
        let (cond, x0) = batch(&picks, &k, self.model.grid, &device);
        let noise = gaussian_tensor(&mut rng, [cfg.batch, 1, d, h, w], &device);
        let xt = q_sample(&self.schedule, x0.clone(), noise.clone(), &t);
        let output = self
            .weights
            .net()
            .forward(Tensor::cat(vec![cond, xt.clone()], 1), &t);
        let loss = training_loss(
            &self.model.diffusion,
            &self.schedule,
            output,
            x0,
            xt,
            noise,
            &t,
        );
        let value: f32 = loss.total.clone().into_scalar();
        if !value.is_finite() {
            return Err(value);
        }
        let losses = StepLosses {
            loss: value,
            parts: vec![loss.mse.into_scalar(), loss.vb.into_scalar()],
        };
        self.weights.apply(loss.total, cfg);
        Ok(losses)
    }

    fn checkpoint(&self, train_cells: Vec<String>, seconds: f64) -> Checkpoint {
        Checkpoint::new(
            Network::Dispr(self.model.clone()),
            Some(self.train.clone()),
            self.weights.step,
            train_cells,
            self.weights.sections(""),
        )
        .with_seconds(seconds)
    }
}
