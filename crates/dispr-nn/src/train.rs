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
use crate::config::{ModelConfig, TrainConfig};
use crate::data::{Example, batch, transform_count};
use crate::diffusion::{q_sample, training_loss};
use crate::noise::gaussian_tensor;
use crate::unet::UNet;
use dispr_core::schedule::NoiseSchedule;

/// Name of the losses file in a run folder.
pub const LOSSES_FILE: &str = "losses.csv";
const LOSSES_HEADER: &str = "step,loss,mse,vb,seconds";

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
            let shape = ema.dims();
            let other: Tensor<D> = other.reshape(shape);
            ema.mul_scalar(decay) + other.mul_scalar(1.0 - decay)
        })
    }
}

/// ema ← d·ema + (1 − d)·model.
pub fn ema_update(ema: UNet, model: &UNet, decay: f64) -> UNet {
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    ema.map(&mut Blend {
        others: collect.0.into_iter(),
        decay,
    })
}

/// Serializes a network's weights.
pub fn weights_to_bytes(net: &UNet) -> Vec<u8> {
    let bytes = net
        .clone()
        .into_record()
        .into_bytes()
        .expect("weights serialize");
    bytes.to_vec()
}

/// Loads weights into a network built from the same config.
pub fn weights_from_bytes(net: UNet, bytes: &[u8]) -> Result<UNet, String> {
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("corrupt weights: {e}"))?;
    net.try_load_record(record)
        .map_err(|e| format!("weights do not fit the model config: {e}"))
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
        let c = Checkpoint::load(&file)?;
        let bytes = c
            .section("ema")
            .or_else(|| c.section("model"))
            .ok_or_else(|| dispr_core::error::Error::new(&file, "checkpoint holds no weights"))?;
        let net = weights_from_bytes(c.header.model.unet.init(device), bytes)
            .map_err(|e| dispr_core::error::Error::new(&file, e))?;
        Ok(Self {
            config: c.header.model,
            net,
        })
    }

    /// The network output for x_t with its conditioning, at original timesteps `t`.
    pub fn denoise(&self, conditioning: Tensor<5>, xt: Tensor<5>, t: &[usize]) -> Tensor<5> {
        self.net.forward(Tensor::cat(vec![conditioning, xt], 1), t)
    }
}

/// The state of training: network, EMA copy, optimizer, step. One [`Trainer::step`] is
/// one optimisation step; [`Run`] adds files around it.
pub struct Trainer {
    /// Model settings.
    pub model: ModelConfig,
    /// Training settings.
    pub train: TrainConfig,
    /// Steps done.
    pub step: usize,
    net: UNet,
    ema: UNet,
    optim: ModuleOptimizer,
    schedule: NoiseSchedule,
    autodiff: Device,
}

/// The losses of one step.
#[derive(Clone, Copy, Debug)]
pub struct StepLosses {
    /// Total loss.
    pub loss: f32,
    /// MSE(ε) part.
    pub mse: f32,
    /// Variational-bound part.
    pub vb: f32,
}

impl Trainer {
    fn adamw(train: &TrainConfig) -> AdamWConfig {
        AdamWConfig::new().with_weight_decay(train.weight_decay as f32)
    }

    /// Fresh weights drawn from the run's seed.
    pub fn new(model: ModelConfig, train: TrainConfig, device: &Device) -> Self {
        let autodiff = device.clone().autodiff();
        let net = Model::new(model.clone(), train.seed, &autodiff).net;
        let ema = net.clone().fork(device);
        Self {
            schedule: model.diffusion.schedule(),
            optim: Self::adamw(&train).init(),
            model,
            train,
            step: 0,
            net,
            ema,
            autodiff,
        }
    }

    /// The state saved in a checkpoint (weights, EMA, optimizer, step).
    pub fn from_checkpoint(
        c: &Checkpoint,
        train: TrainConfig,
        device: &Device,
    ) -> Result<Self, String> {
        let section = |name: &str| {
            c.section(name)
                .ok_or_else(|| format!("checkpoint has no '{name}' section"))
        };
        let model = c.header.model.clone();
        let autodiff = device.clone().autodiff();
        let net = weights_from_bytes(model.unet.init(&autodiff), section("model")?)?;
        let ema = weights_from_bytes(model.unet.init(device), section("ema")?)?;
        let optim = Self::adamw(&train)
            .init()
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(
                section("optimizer")?.to_vec(),
            ))
            .map_err(|e| format!("corrupt optimizer state: {e}"))?;
        Ok(Self {
            schedule: model.diffusion.schedule(),
            model,
            train,
            step: c.header.step,
            net,
            ema,
            optim,
            autodiff,
        })
    }

    /// One optimisation step on a batch drawn from `examples`; `Err(loss)` when the loss
    /// is not finite (the weights are then left as they were).
    pub fn step(&mut self, examples: &[Example]) -> Result<StepLosses, f32> {
        let cfg = &self.train;
        let [d, h, w] = self.model.grid;
        let transforms = if cfg.augment {
            transform_count(h, w)
        } else {
            1
        };
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(self.step as u64 + 1);
        let picks: Vec<&Example> = (0..cfg.batch)
            .map(|_| &examples[rng.random_range(0..examples.len())])
            .collect();
        let t: Vec<usize> = (0..cfg.batch)
            .map(|_| rng.random_range(0..self.schedule.len()))
            .collect();
        let k: Vec<usize> = (0..cfg.batch)
            .map(|_| rng.random_range(0..transforms))
            .collect();
        let (cond, x0) = batch(&picks, &k, self.model.grid, &self.autodiff);
        let noise = gaussian_tensor(&mut rng, [cfg.batch, 1, d, h, w], &self.autodiff);
        let xt = q_sample(&self.schedule, x0.clone(), noise.clone(), &t);
        let output = self.net.forward(Tensor::cat(vec![cond, xt.clone()], 1), &t);
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
            mse: loss.mse.clone().into_scalar(),
            vb: loss.vb.clone().into_scalar(),
        };
        let grads = GradientsParams::from_grads(loss.total.backward(), &self.net);
        self.net = self.optim.step(cfg.lr, self.net.clone(), grads);
        self.step += 1;
        let n = self.step as f64;
        let decay = cfg.ema_decay.min((1.0 + n) / (10.0 + n));
        self.ema = ema_update(self.ema.clone(), &self.net, decay);
        Ok(losses)
    }

    /// The EMA network (the one to sample from).
    pub fn ema(&self) -> &UNet {
        &self.ema
    }

    /// A checkpoint of the current state.
    pub fn checkpoint(&self, train_cells: Vec<String>, seconds: f64) -> Checkpoint {
        Checkpoint::new(
            self.model.clone(),
            Some(self.train.clone()),
            self.step,
            train_cells,
            vec![
                ("model", weights_to_bytes(&self.net)),
                ("ema", weights_to_bytes(&self.ema)),
                (
                    "optimizer",
                    self.optim
                        .into_bytes()
                        .expect("optimizer state serializes")
                        .to_vec(),
                ),
            ],
        )
        .with_seconds(seconds)
    }
}

/// A training run in a folder: `checkpoint.dispr`, `losses.csv`, `config.json`.
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// Model settings.
    pub model: ModelConfig,
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
            let trainer = Trainer::from_checkpoint(&c, cfg.clone(), device)
                .map_err(|e| dispr_core::error::Error::new(&ckpt_path, e))?;
            (trainer, c.header.seconds)
        } else {
            (Trainer::new(self.model.clone(), cfg.clone(), device), 0.0)
        };
        let start = trainer.step;
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
        let mut losses = open_losses(&losses_path, start)?;
        let write_err = |e: std::io::Error| {
            dispr_core::error::Error::new(&losses_path, format!("cannot write: {e}"))
        };
        let mut kept = start;
        let mut recent = Vec::new();
        while trainer.step < cfg.steps {
            let began = Instant::now();
            let l = trainer
                .step(examples)
                .map_err(|loss| TrainError::Diverged {
                    step: trainer.step + 1,
                    loss,
                    kept,
                    checkpoint: ckpt_path.display().to_string(),
                })?;
            seconds += began.elapsed().as_secs_f64();
            let done = trainer.step;
            writeln!(losses, "{done},{},{},{},{seconds:.3}", l.loss, l.mse, l.vb)
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
        let tail = recent.len().div_ceil(10).max(1);
        let final_loss = if recent.is_empty() {
            f64::NAN
        } else {
            recent[recent.len() - tail..].iter().sum::<f64>() / tail as f64
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

/// Opens the losses CSV for appending, keeping only the rows up to `step` (a resumed run
/// rewrites what the killed one logged after its last checkpoint).
fn open_losses(path: &Path, step: usize) -> Result<std::io::BufWriter<std::fs::File>, TrainError> {
    let err =
        |e: std::io::Error| dispr_core::error::Error::new(path, dispr_core::error::describe_io(&e));
    let mut kept = String::from(LOSSES_HEADER);
    kept.push('\n');
    if step > 0 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines().skip(1) {
            let row_step: usize = match line.split(',').next().and_then(|s| s.parse().ok()) {
                Some(s) => s,
                None => continue,
            };
            if row_step <= step {
                kept.push_str(line);
                kept.push('\n');
            }
        }
    }
    dispr_core::fsio::write_text_atomic(path, &kept)?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(err)?;
    Ok(std::io::BufWriter::new(file))
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
