//! The training loop: AdamW, EMA of the weights, uniform timesteps, augmentation, a CSV
//! of losses, periodic atomic checkpoints, exact resume and a clean stop on a non-finite
//! loss. All randomness of step n comes from ChaCha8(seed, stream n), so a resumed run
//! draws exactly what the uninterrupted run would have.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::checkpoint::{self, Checkpoint};
use crate::config::{ModelConfig, Network, TrainConfig};
use crate::data::{Example, batch, transform_count};
use crate::diffusion::{q_sample, training_loss};
use crate::noise::gaussian_tensor;
use crate::shapr::{
    Discriminator, Shapr, ShaprConfig, says_predicted, says_true, segmentation_loss, topo_loss,
};
use crate::unet::UNet;
use dispr_core::schedule::NoiseSchedule;

/// Name of the losses file in a run folder (columns: step, loss, the network's two loss
/// parts ([`loss_columns`]), seconds).
pub const LOSSES_FILE: &str = "losses.csv";

/// What went wrong in a run, as one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file could not be read or written, or is damaged.
    #[error("{0}")]
    File(#[from] dispr_core::error::Error),
    /// The loss became NaN or infinite.
    #[error(
        "training diverged at step {step}: the loss is {loss}; the last good checkpoint (step {kept}) is kept in {checkpoint}; lower the learning rate and resume"
    )]
    Diverged {
        /// The failing step (1-based).
        step: usize,
        /// The loss value.
        loss: f32,
        /// Step of the checkpoint on disk.
        kept: usize,
        /// Its path.
        checkpoint: String,
    },
    /// Anything else the user must fix (bad resume, bad settings).
    #[error("{0}")]
    Invalid(String),
}

/// Progress of one step, for the caller's progress bar.
#[derive(Clone, Copy, Debug)]
pub struct StepReport {
    /// Steps done.
    pub step: usize,
    /// Steps in the run.
    pub total: usize,
    /// This step's loss.
    pub loss: f32,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// Steps done in total.
    pub steps: usize,
    /// Step the run started from (0 unless resumed).
    pub resumed_from: usize,
    /// Training seconds over all sessions.
    pub seconds: f64,
    /// Mean loss over the last 10 % of steps of this session.
    pub final_loss: f64,
    /// The checkpoint file.
    pub checkpoint: PathBuf,
}

/// The network and the diffusion settings, ready to train or sample.
#[derive(Debug)]
pub struct Model {
    /// Settings.
    pub config: ModelConfig,
    /// The network.
    pub net: UNet,
}

/// EMA: collects a module's float parameters in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().without_autodiff();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// EMA: blends a structurally identical module's parameters into this one's.
struct Blend {
    others: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let other = self.others.next().expect("same structure");
        let decay = self.decay;
        param.map(|ema| {
            // Without autodiff: a forked module keeps its tensors' autodiff association,
            // and every update would then add a node to a graph that is never consumed,
            // slowing each step more than the last (measured: 0.19 → 0.59 s per step of
            // the tiny preset over 600 steps).
            let ema = ema.without_autodiff();
            let shape = ema.dims();
            let other: Tensor<D> = other.reshape(shape);
            ema.mul_scalar(decay) + other.mul_scalar(1.0 - decay)
        })
    }
}

/// ema ← d·ema + (1 − d)·model.
pub fn ema_update<M: Module>(ema: M, model: &M, decay: f64) -> M {
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    ema.map(&mut Blend {
        others: collect.0.into_iter(),
        decay,
    })
}

/// Serializes a network's weights.
pub fn weights_to_bytes<M: Module>(net: &M) -> Vec<u8> {
    let bytes = net
        .clone()
        .into_record()
        .into_bytes()
        .expect("weights serialize");
    bytes.to_vec()
}

/// Loads weights into a network built from the same config.
pub fn weights_from_bytes<M: Module>(net: M, bytes: &[u8]) -> Result<M, String> {
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("corrupt weights: {e}"))?;
    net.try_load_record(record)
        .map_err(|e| format!("weights do not fit the model config: {e}"))
}

/// The `ema` weights of a checkpoint (or its `model` weights when it has no EMA) loaded
/// into `net`; errors name the file.
pub fn load_weights<M: Module>(
    c: &Checkpoint,
    file: &Path,
    net: M,
) -> Result<M, dispr_core::error::Error> {
    let bytes = c
        .section("ema")
        .or_else(|| c.section("model"))
        .ok_or_else(|| dispr_core::error::Error::new(file, "checkpoint holds no weights"))?;
    weights_from_bytes(net, bytes).map_err(|e| dispr_core::error::Error::new(file, e))
}

/// The error for a checkpoint that holds another kind of model than `wanted`.
fn wrong_kind(c: &Checkpoint, file: &Path, wanted: &str) -> dispr_core::error::Error {
    dispr_core::error::Error::new(
        file,
        format!(
            "holds a {} model, not a {wanted} one",
            c.header.model.kind()
        ),
    )
}

impl Model {
    /// A fresh network with weights drawn from `seed`.
    pub fn new(config: ModelConfig, seed: u64, device: &Device) -> Self {
        device.seed(seed);
        let net = config.unet.init(device);
        Self { config, net }
    }

    /// Loads the EMA weights (the ones to sample from) of a checkpoint file or run folder.
    pub fn load(path: &Path, device: &Device) -> Result<Self, dispr_core::error::Error> {
        let file = checkpoint::resolve(path);
        Self::from_checkpoint(&Checkpoint::load(&file)?, &file, device)
    }

    /// The EMA weights of a loaded checkpoint; `file` names it in errors.
    pub fn from_checkpoint(
        c: &Checkpoint,
        file: &Path,
        device: &Device,
    ) -> Result<Self, dispr_core::error::Error> {
        let Network::Dispr(config) = c.header.model.clone() else {
            return Err(wrong_kind(c, file, "DISPR"));
        };
        let net = load_weights(c, file, config.unet.init(device))?;
        Ok(Self { config, net })
    }

    /// The network output for x_t with its conditioning, at original timesteps `t`.
    pub fn denoise(&self, conditioning: Tensor<5>, xt: Tensor<5>, t: &[usize]) -> Tensor<5> {
        self.net.forward(Tensor::cat(vec![conditioning, xt], 1), t)
    }
}

/// A trained SHAPR network, ready to predict.
#[derive(Debug)]
pub struct ShaprModel {
    /// Settings.
    pub config: ShaprConfig,
    /// The network.
    pub net: Shapr,
}

impl ShaprModel {
    /// Loads the EMA weights of a SHAPR checkpoint file or run folder.
    pub fn load(path: &Path, device: &Device) -> Result<Self, dispr_core::error::Error> {
        let file = checkpoint::resolve(path);
        Self::from_checkpoint(&Checkpoint::load(&file)?, &file, device)
    }

    /// The EMA weights of a loaded SHAPR checkpoint; `file` names it in errors.
    pub fn from_checkpoint(
        c: &Checkpoint,
        file: &Path,
        device: &Device,
    ) -> Result<Self, dispr_core::error::Error> {
        let Network::Shapr(config) = c.header.model.clone() else {
            return Err(wrong_kind(c, file, "SHAPR"));
        };
        let net = load_weights(c, file, config.init(device))?;
        Ok(Self { config, net })
    }
}

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

    /// Fresh weights from `init`, drawn from the run's seed.
    pub fn new(train: &TrainConfig, device: &Device, init: impl Fn(&Device) -> M) -> Self {
        let autodiff = device.clone().autodiff();
        autodiff.seed(train.seed);
        let net = init(&autodiff);
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
    ) -> Result<Self, String> {
        let section = |name: &str| {
            let name = format!("{prefix}{name}");
            c.section(&name)
                .ok_or_else(|| format!("checkpoint has no '{name}' section"))
        };
        let autodiff = device.clone().autodiff();
        let net = weights_from_bytes(init(&autodiff), section("model")?)?;
        let ema = weights_from_bytes(init(device), section("ema")?)?;
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
            (format!("{prefix}model"), weights_to_bytes(&self.net)),
            (format!("{prefix}ema"), weights_to_bytes(&self.ema)),
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

/// The random stream of step `step` (0-based) of a run: everything a step draws comes
/// from it, so a resumed run draws what the uninterrupted one would have.
fn step_rng(train: &TrainConfig, step: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(train.seed);
    rng.set_stream(step as u64 + 1);
    rng
}

/// Draws the cells of a batch.
fn pick<'a>(rng: &mut ChaCha8Rng, examples: &'a [Example], batch: usize) -> Vec<&'a Example> {
    (0..batch)
        .map(|_| &examples[rng.random_range(0..examples.len())])
        .collect()
}

/// Draws the xy transform of each batch item (identity when augmentation is off).
fn transforms(rng: &mut ChaCha8Rng, train: &TrainConfig, grid: [usize; 3]) -> Vec<usize> {
    let count = if train.augment {
        transform_count(grid[1], grid[2])
    } else {
        1
    };
    (0..train.batch)
        .map(|_| rng.random_range(0..count))
        .collect()
}

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
    ) -> Result<Self, String> {
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
    ) -> Result<Self, String> {
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

/// A training run in a folder: `checkpoint.dispr`, `losses.csv`, `config.json`.
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// Model settings.
    pub model: Network,
    /// Training settings.
    pub train: TrainConfig,
}

impl Run {
    /// The checkpoint path.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join(checkpoint::FILE_NAME)
    }

    /// Trains on `examples` (all with targets) until `train.steps`, resuming from the
    /// run's checkpoint when `resume` is set. `on_step` is called after every step.
    pub fn train(
        &self,
        examples: &[Example],
        resume: bool,
        device: &Device,
        on_step: &mut dyn FnMut(StepReport),
    ) -> Result<TrainSummary, TrainError> {
        let cfg = &self.train;
        let names: Vec<String> = examples.iter().map(|e| e.name.clone()).collect();
        if examples.is_empty() {
            return Err(TrainError::Invalid("no training cells".into()));
        }
        if cfg.batch == 0 || cfg.checkpoint_every == 0 {
            return Err(TrainError::Invalid(
                "--batch and --checkpoint-every must be at least 1".into(),
            ));
        }
        let ckpt_path = self.checkpoint_path();
        let losses_path = self.dir.join(LOSSES_FILE);
        let (mut trainer, mut seconds) = if resume {
            let c = Checkpoint::load(&ckpt_path)?;
            if c.header.model != self.model {
                return Err(TrainError::Invalid(format!(
                    "{}: the run was trained with another model config; resume without changing --preset",
                    ckpt_path.display()
                )));
            }
            if c.header.train_cells != names {
                return Err(TrainError::Invalid(format!(
                    "{}: the run was trained on other cells ({} then, {} now); resume with the same --data and --fold",
                    ckpt_path.display(),
                    c.header.train_cells.len(),
                    names.len()
                )));
            }
            let trainer = learner_from_checkpoint(&c, cfg.clone(), device)
                .map_err(|e| dispr_core::error::Error::new(&ckpt_path, e))?;
            (trainer, c.header.seconds)
        } else {
            (new_learner(&self.model, cfg.clone(), device), 0.0)
        };
        let start = trainer.steps_done();
        if start > cfg.steps {
            return Err(TrainError::Invalid(format!(
                "{}: the run is already at step {start}, beyond --steps {}",
                ckpt_path.display(),
                cfg.steps
            )));
        }
        dispr_core::fsio::write_text_atomic(
            &self.dir.join("config.json"),
            &serde_json::to_string_pretty(&serde_json::json!({
                "model": self.model, "train": self.train
            }))
            .expect("config serializes"),
        )?;
        let header = format!("step,loss,{},seconds", loss_columns(&self.model).join(","));
        let (mut losses, earlier) = open_losses(&losses_path, &header, start)?;
        let write_err = |e: std::io::Error| {
            dispr_core::error::Error::new(&losses_path, format!("cannot write: {e}"))
        };
        let mut kept = start;
        let mut recent = Vec::new();
        while trainer.steps_done() < cfg.steps {
            let began = Instant::now();
            let l = trainer
                .step(examples)
                .map_err(|loss| TrainError::Diverged {
                    step: trainer.steps_done() + 1,
                    loss,
                    kept,
                    checkpoint: ckpt_path.display().to_string(),
                })?;
            seconds += began.elapsed().as_secs_f64();
            let done = trainer.steps_done();
            let parts: Vec<String> = l.parts.iter().map(f32::to_string).collect();
            writeln!(losses, "{done},{},{},{seconds:.3}", l.loss, parts.join(","))
                .map_err(write_err)?;
            recent.push(l.loss as f64);
            if done % cfg.checkpoint_every == 0 || done == cfg.steps {
                losses.flush().map_err(write_err)?;
                trainer
                    .checkpoint(names.clone(), seconds)
                    .save(&ckpt_path)?;
                kept = done;
            }
            on_step(StepReport {
                step: done,
                total: cfg.steps,
                loss: l.loss,
            });
        }
        if !ckpt_path.is_file() {
            trainer
                .checkpoint(names.clone(), seconds)
                .save(&ckpt_path)?;
        }
        // The mean of the last tenth of this session's steps, or of the earlier ones
        // when a finished run is resumed and no step was taken.
        let logged = if recent.is_empty() { &earlier } else { &recent };
        let tail = logged.len().div_ceil(10).max(1).min(logged.len());
        let final_loss = if tail == 0 {
            f64::NAN
        } else {
            logged[logged.len() - tail..].iter().sum::<f64>() / tail as f64
        };
        Ok(TrainSummary {
            steps: cfg.steps,
            resumed_from: start,
            seconds,
            final_loss,
            checkpoint: ckpt_path,
        })
    }
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
) -> Result<Box<dyn Learner>, String> {
    Ok(match c.header.model {
        Network::Dispr(_) => Box::new(Trainer::from_checkpoint(c, train, device)?),
        Network::Shapr(_) => Box::new(ShaprTrainer::from_checkpoint(c, train, device)?),
    })
}

/// Opens the losses CSV for appending, keeping only the whole rows up to `step` (a
/// resumed run rewrites what the killed one logged after its last checkpoint, and drops a
/// row the kill cut short); returns the writer and the kept rows' losses.
type LossesLog = (std::io::BufWriter<std::fs::File>, Vec<f64>);
fn open_losses(path: &Path, header: &str, step: usize) -> Result<LossesLog, TrainError> {
    let err =
        |e: std::io::Error| dispr_core::error::Error::new(path, dispr_core::error::describe_io(&e));
    let mut kept = String::from(header);
    kept.push('\n');
    let mut losses = Vec::new();
    if step > 0 {
        let columns = header.split(',').count();
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // Only whole rows, each ending in a line break: a kill can cut the last one short.
        for line in text
            .split_inclusive('\n')
            .skip(1)
            .filter_map(|l| l.strip_suffix('\n'))
        {
            let fields: Vec<&str> = line.split(',').collect();
            let (Some(row_step), Some(loss)) = (
                fields[0].parse::<usize>().ok(),
                fields.get(1).and_then(|l| l.parse::<f64>().ok()),
            ) else {
                continue;
            };
            let whole =
                fields.len() == columns && fields[1..].iter().all(|f| f.parse::<f64>().is_ok());
            if whole && row_step <= step {
                kept.push_str(line);
                kept.push('\n');
                losses.push(loss);
            }
        }
    }
    dispr_core::fsio::write_text_atomic(path, &kept)?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(err)?;
    Ok((std::io::BufWriter::new(file), losses))
}

/// Reads a run's losses CSV: (step, loss) rows.
pub fn read_losses(dir: &Path) -> Result<Vec<(usize, f32)>, String> {
    let text = std::fs::read_to_string(dir.join(LOSSES_FILE)).map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split(',');
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect())
}
