//! A network under training: its weights, their EMA, the optimizer state and the step
//! count, saved to and restored from checkpoint sections.

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::checkpoint::{Checkpoint, WeightEncoding, weights_from_bytes, weights_to_bytes};
use crate::config::TrainConfig;
use crate::training::ema::ema_update;

/// A network under training: its weights, their EMA, the optimizer and the step count —
/// the part of training that does not depend on which network or loss it is.
pub struct Weights<M: Module> {
    /// Steps done.
    pub step: usize,
    net: M,
    ema: M,
    optim: ModuleOptimizer,
    autodiff: Device,
}

impl<M: Module> Weights<M> {
    fn adamw(train: &TrainConfig) -> AdamWConfig {
        AdamWConfig::new().with_weight_decay(train.weight_decay as f32)
    }

    /// Fresh weights from `init`, drawn from the run's seed (on the CPU, so the same on
    /// every device: [`crate::device::seeded_init`]).
    pub fn new(train: &TrainConfig, device: &Device, init: impl Fn(&Device) -> M) -> Self {
        let autodiff = device.clone().autodiff();
        let net = crate::device::seeded_init(train.seed, &autodiff, init);
        let ema = net.clone().fork(device);
        Self {
            step: 0,
            net,
            ema,
            optim: Self::adamw(train).init(),
            autodiff,
        }
    }

    /// The state saved in a checkpoint (weights, EMA, optimizer, step) under section
    /// names starting with `prefix` ("" for the main network).
    pub fn from_checkpoint(
        c: &Checkpoint,
        prefix: &str,
        train: &TrainConfig,
        device: &Device,
        init: impl Fn(&Device) -> M,
    ) -> crate::Result<Self> {
        let section = |name: &str| {
            let name = format!("{prefix}{name}");
            c.section(&name)
                .ok_or_else(|| format!("checkpoint has no '{name}' section"))
        };
        let autodiff = device.clone().autodiff();
        let encoding = |name| WeightEncoding::of_section(c.header.format, name);
        let net = weights_from_bytes(init(&autodiff), section("model")?, encoding("model"))?;
        let ema = weights_from_bytes(init(device), section("ema")?, encoding("ema"))?;
        let optim = Self::adamw(train)
            .init()
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(
                section("optimizer")?.to_vec(),
            ))
            .map_err(|e| format!("corrupt optimizer state: {e}"))?;
        Ok(Self {
            step: c.header.step,
            net,
            ema,
            optim,
            autodiff,
        })
    }

    /// The device the network trains on (with autodiff).
    pub fn device(&self) -> &Device {
        &self.autodiff
    }

    /// The network being trained.
    pub fn net(&self) -> &M {
        &self.net
    }

    /// The EMA network (the one to predict with).
    pub fn ema(&self) -> &M {
        &self.ema
    }

    /// Backpropagates `loss`, steps the optimizer and updates the EMA, whose effective
    /// decay is min(decay, (1 + n)/(10 + n)) at step n.
    pub fn apply(&mut self, loss: Tensor<1>, train: &TrainConfig) {
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(train.lr, self.net.clone(), grads);
        self.step += 1;
        let n = self.step as f64;
        let decay = train.ema_decay.min((1.0 + n) / (10.0 + n));
        self.ema = ema_update(self.ema.clone(), &self.net, decay);
    }

    /// The checkpoint sections `model`, `ema`, `optimizer`, their names prefixed with
    /// `prefix`.
    pub fn sections(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        vec![
            (
                format!("{prefix}model"),
                weights_to_bytes(&self.net, WeightEncoding::BurnRecord),
            ),
            (
                format!("{prefix}ema"),
                weights_to_bytes(&self.ema, WeightEncoding::Safetensors),
            ),
            (
                format!("{prefix}optimizer"),
                self.optim
                    .into_bytes()
                    .expect("optimizer state serializes")
                    .to_vec(),
            ),
        ]
    }
}
