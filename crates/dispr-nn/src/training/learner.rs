//! What a training run drives: the [`Learner`] trait, one optimisation step at a time,
//! and what the learners share — the random stream of a step, the cells of a batch and
//! their augmentation.

use burn::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::Checkpoint;
use crate::config::{Network, TrainConfig};
use crate::data::{Example, transform_count};
use crate::training::{ShaprTrainer, Trainer};

/// The losses of one step: the total and its parts (DISPR: MSE and variational bound;
/// SHAPR: segmentation and topological loss, and with adversarial fine-tuning the
/// generator's adversarial loss and the discriminator's loss).
#[derive(Clone, Debug)]
pub struct StepLosses {
    /// Total loss (of the network being trained; not the discriminator's).
    pub loss: f32,
    /// The parts, named by [`loss_columns`].
    pub parts: Vec<f32>,
}

/// Names of a network's loss parts, the losses CSV's columns.
pub fn loss_columns(network: &Network) -> Vec<&'static str> {
    match network {
        Network::Dispr(_) => vec!["mse", "vb"],
        Network::Shapr(m) if m.adversarial.is_some() => {
            vec![
                "segmentation",
                "topological",
                "adversarial",
                "discriminator",
            ]
        }
        Network::Shapr(_) => vec!["segmentation", "topological"],
    }
}

/// What [`Run`] drives: one optimisation step at a time, and the state to checkpoint.
pub trait Learner {
    /// Steps done.
    fn steps_done(&self) -> usize;
    /// One optimisation step on a batch drawn from `examples`; `Err(loss)` when the loss
    /// is not finite (the weights are then left as they were).
    fn step(&mut self, examples: &[Example]) -> Result<StepLosses, f32>;
    /// A checkpoint of the current state.
    fn checkpoint(&self, train_cells: Vec<String>, seconds: f64) -> Checkpoint;
}

/// The random stream of step `step` (0-based) of a run: everything a step draws comes
/// from it, so a resumed run draws what the uninterrupted one would have.
pub(crate) fn step_rng(train: &TrainConfig, step: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(train.seed);
    rng.set_stream(step as u64 + 1);
    rng
}

/// Draws the cells of a batch.
pub(crate) fn pick<'a>(
    rng: &mut ChaCha8Rng,
    examples: &'a [Example],
    batch: usize,
) -> Vec<&'a Example> {
    (0..batch)
        .map(|_| &examples[rng.random_range(0..examples.len())])
        .collect()
}

/// Draws the xy transform of each batch item (identity when augmentation is off).
pub(crate) fn transforms(
    rng: &mut ChaCha8Rng,
    train: &TrainConfig,
    grid: [usize; 3],
) -> Vec<usize> {
    let count = if train.augment {
        transform_count(grid[1], grid[2])
    } else {
        1
    };
    (0..train.batch)
        .map(|_| rng.random_range(0..count))
        .collect()
}

/// A fresh learner for `network`.
pub fn new_learner(network: &Network, train: TrainConfig, device: &Device) -> Box<dyn Learner> {
    match network {
        Network::Dispr(m) => Box::new(Trainer::new(m.clone(), train, device)),
        Network::Shapr(m) => Box::new(ShaprTrainer::new(m.clone(), train, device)),
    }
}

/// The learner saved in a checkpoint.
pub fn learner_from_checkpoint(
    c: &Checkpoint,
    train: TrainConfig,
    device: &Device,
) -> crate::Result<Box<dyn Learner>> {
    Ok(match c.header.model {
        Network::Dispr(_) => Box::new(Trainer::from_checkpoint(c, train, device)?),
        Network::Shapr(_) => Box::new(ShaprTrainer::from_checkpoint(c, train, device)?),
    })
}
