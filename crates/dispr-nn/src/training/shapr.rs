//! Training SHAPR: its network's [`Weights`] with the segmentation and topological
//! losses, and with adversarial fine-tuning a discriminator's.

use burn::prelude::*;

use crate::checkpoint::Checkpoint;
use crate::config::{Network, TrainConfig};
use crate::data::{Example, batch};
use crate::shapr::{
    Discriminator, Shapr, ShaprConfig, says_predicted, says_true, segmentation_loss, topo_loss,
};
use crate::training::learner::{Learner, StepLosses, pick, step_rng, transforms};
use crate::training::state::Weights;

/// The state of training a SHAPR model: [`Weights`] of the network plus the
/// segmentation (and optionally topological) loss, and with adversarial fine-tuning the
/// [`Weights`] of the discriminator (checkpoint sections `discriminator.*`).
pub struct ShaprTrainer {
    /// Model settings.
    pub model: ShaprConfig,
    /// Training settings.
    pub train: TrainConfig,
    weights: Weights<Shapr>,
    critic: Option<Weights<Discriminator>>,
}

/// Section-name prefix of the discriminator's state in a SHAPR checkpoint.
const CRITIC: &str = "discriminator.";

impl ShaprTrainer {
    /// Fresh weights drawn from the run's seed.
    pub fn new(model: ShaprConfig, train: TrainConfig, device: &Device) -> Self {
        let weights = Weights::new(&train, device, |d| model.init(d));
        let critic = model
            .adversarial
            .as_ref()
            .map(|a| Weights::new(&train, device, |d| a.init(d)));
        Self {
            model,
            train,
            weights,
            critic,
        }
    }

    /// The state saved in a checkpoint.
    pub fn from_checkpoint(
        c: &Checkpoint,
        train: TrainConfig,
        device: &Device,
    ) -> crate::Result<Self> {
        let Network::Shapr(model) = c.header.model.clone() else {
            return Err("not a SHAPR checkpoint".into());
        };
        let weights = Weights::from_checkpoint(c, "", &train, device, |d| model.init(d))?;
        let critic = match &model.adversarial {
            Some(a) => Some(Weights::from_checkpoint(c, CRITIC, &train, device, |d| {
                a.init(d)
            })?),
            None => None,
        };
        Ok(Self {
            model,
            train,
            weights,
            critic,
        })
    }

    /// The EMA network (the one to predict with).
    pub fn ema(&self) -> &Shapr {
        self.weights.ema()
    }
}

impl Learner for ShaprTrainer {
    fn steps_done(&self) -> usize {
        self.weights.step
    }

    fn step(&mut self, examples: &[Example]) -> Result<StepLosses, f32> {
        let cfg = &self.train;
        let mut rng = step_rng(cfg, self.weights.step);
        let picks = pick(&mut rng, examples, cfg.batch);
        let k = transforms(&mut rng, cfg, self.model.grid);
        let device = self.weights.device().clone();
        let (cond, target) = batch(&picks, &k, self.model.grid, &device);
        let image = crate::shapr::image_of(cond);
        let target = (target + 1.0).div_scalar(2.0);
        let logits = self.weights.net().forward(image);
        let seg = segmentation_loss(logits.clone(), target.clone());
        let topo = if self.model.topo_weight > 0.0 {
            topo_loss(
                logits.clone(),
                target.clone(),
                &self.model.topo_dims,
                self.model.topo_grid,
            )
        } else {
            Tensor::zeros([1], &device)
        };
        let supervised = seg.clone() + topo.clone().mul_scalar(self.model.topo_weight);
        let adversarial = match (&self.model.adversarial, &self.critic) {
            (Some(a), Some(critic)) if self.weights.step >= a.after => {
                let fake = burn::tensor::activation::sigmoid(logits);
                let fooled = says_true(critic.net().forward(fake.clone()));
                Some((a.clone(), fooled, fake, target))
            }
            _ => None,
        };
        let total = match &adversarial {
            Some((a, fooled, ..)) => {
                supervised.mul_scalar(a.supervised_weight)
                    + fooled.clone().mul_scalar(a.adversarial_weight)
            }
            None => supervised,
        };
        let value: f32 = total.clone().into_scalar();
        if !value.is_finite() {
            return Err(value);
        }
        let mut parts = vec![seg.into_scalar(), topo.into_scalar()];
        let critic_step = adversarial.map(|(_, fooled, fake, target)| {
            parts.push(fooled.into_scalar());
            (fake.detach(), target)
        });
        self.weights.apply(total, cfg);
        if let Some(critic) = self.critic.as_mut() {
            match critic_step {
                Some((fake, real)) => {
                    // The discriminator's own step: true shapes → "true", the generator's
                    // (detached) predictions → "predicted".
                    let loss = says_true(critic.net().forward(real))
                        + says_predicted(critic.net().forward(fake));
                    let value: f32 = loss.clone().into_scalar();
                    if !value.is_finite() {
                        return Err(value);
                    }
                    parts.push(value);
                    critic.apply(loss, cfg);
                }
                None => parts.extend([0.0, 0.0]),
            }
        }
        Ok(StepLosses { loss: value, parts })
    }

    fn checkpoint(&self, train_cells: Vec<String>, seconds: f64) -> Checkpoint {
        let mut sections = self.weights.sections("");
        if let Some(critic) = &self.critic {
            sections.extend(critic.sections(CRITIC));
        }
        Checkpoint::new(
            Network::Shapr(self.model.clone()),
            Some(self.train.clone()),
            self.weights.step,
            train_cells,
            sections,
        )
        .with_seconds(seconds)
    }
}
