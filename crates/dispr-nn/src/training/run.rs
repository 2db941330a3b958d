//! A training run in a folder: the loop that steps a [`Learner`], logs its losses,
//! writes checkpoints, resumes exactly and stops cleanly on a non-finite loss.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;

use crate::checkpoint::{self, Checkpoint};
use crate::config::{Network, TrainConfig};
use crate::data::Example;
use crate::error::Error;
use crate::training::learner::{Learner, learner_from_checkpoint, loss_columns, new_learner};
use dispr_core::data::prior::PriorBank;

/// Name of the losses file in a run folder (columns: step, loss, the network's two loss
/// parts ([`loss_columns`]), seconds).
pub const LOSSES_FILE: &str = "losses.csv";

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

/// A training run in a folder: `checkpoint.dispr`, `losses.csv`, `config.json`.
pub struct Run {
    /// The run folder.
    pub dir: PathBuf,
    /// Model settings.
    pub model: Network,
    /// Training settings.
    pub train: TrainConfig,
    /// µm per pixel of the training images, when known (recorded in the checkpoint).
    pub pixel_size_um: Option<f64>,
    /// The reference cells of the model's prior, when it has one (saved with every
    /// checkpoint, [`checkpoint::PRIOR_SECTION`]).
    pub prior: Option<PriorBank>,
}

impl Run {
    /// The checkpoint path.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join(checkpoint::FILE_NAME)
    }

    /// The checkpoint of the learner's state, with the run's pixel size and prior bank.
    fn checkpoint(&self, trainer: &dyn Learner, names: &[String], seconds: f64) -> Checkpoint {
        let c = trainer
            .checkpoint(names.to_vec(), seconds)
            .with_pixel_size(self.pixel_size_um);
        match &self.prior {
            Some(bank) => c.with_section(checkpoint::PRIOR_SECTION, bank.to_bytes()),
            None => c,
        }
    }

    /// Trains on `examples` (all with targets) until `train.steps`, resuming from the
    /// run's checkpoint when `resume` is set. `on_step` is called after every step.
    pub fn train(
        &self,
        examples: &[Example],
        resume: bool,
        device: &Device,
        on_step: &mut dyn FnMut(StepReport),
    ) -> Result<TrainSummary, Error> {
        let cfg = &self.train;
        let names: Vec<String> = examples.iter().map(|e| e.name.clone()).collect();
        if examples.is_empty() {
            return Err(Error::Invalid("no training cells".into()));
        }
        if cfg.batch == 0 || cfg.checkpoint_every == 0 {
            return Err(Error::Invalid(
                "the batch size and the checkpoint interval must be at least 1".into(),
            ));
        }
        let ckpt_path = self.checkpoint_path();
        let losses_path = self.dir.join(LOSSES_FILE);
        let (mut trainer, mut seconds) = if resume {
            let c = Checkpoint::load(&ckpt_path)?;
            if c.header.model != self.model {
                return Err(Error::Invalid(format!(
                    "{}: the run was trained with another model config; resume it with its own preset",
                    ckpt_path.display()
                )));
            }
            if c.header.train_cells != names {
                return Err(Error::Invalid(format!(
                    "{}: the run was trained on other cells ({} then, {} now); resume it on the same data and fold",
                    ckpt_path.display(),
                    c.header.train_cells.len(),
                    names.len()
                )));
            }
            let trainer = learner_from_checkpoint(&c, cfg.clone(), device)
                .map_err(|e| dispr_core::error::Error::new(&ckpt_path, e.to_string()))?;
            (trainer, c.header.seconds)
        } else {
            (new_learner(&self.model, cfg.clone(), device), 0.0)
        };
        let start = trainer.steps_done();
        if start < cfg.steps {
            // Training changes the checkpoint: its calibration no longer holds.
            let stale = crate::calibration::file_for(&ckpt_path);
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(dispr_core::error::Error::io(&stale, "cannot remove", e).into());
                }
                _ => {}
            }
        }
        if start > cfg.steps {
            return Err(Error::Invalid(format!(
                "{}: the run is already at step {start}, beyond the {} steps asked for",
                ckpt_path.display(),
                cfg.steps
            )));
        }
        dispr_core::io::atomic::write_text_atomic(
            &self.dir.join("config.json"),
            &serde_json::to_string_pretty(&serde_json::json!({
                "model": self.model, "train": self.train
            }))
            .expect("config serializes"),
        )?;
        let mut header = vec!["step".to_string(), "loss".to_string()];
        header.extend(loss_columns(&self.model).iter().map(|c| c.to_string()));
        header.push("seconds".into());
        let (mut losses, earlier) = open_losses(&losses_path, &header, start)?;
        let write_err =
            |e: std::io::Error| dispr_core::error::Error::io(&losses_path, "cannot write", e);
        let csv_err = |e: csv::Error| {
            dispr_core::error::Error::new(&losses_path, format!("cannot write: {e}"))
        };
        let mut kept = start;
        let mut recent = Vec::new();
        while trainer.steps_done() < cfg.steps {
            let began = Instant::now();
            let l = trainer.step(examples).map_err(|loss| Error::Diverged {
                step: trainer.steps_done() + 1,
                loss,
                kept,
                checkpoint: ckpt_path.display().to_string(),
            })?;
            seconds += began.elapsed().as_secs_f64();
            let done = trainer.steps_done();
            let mut row = vec![done.to_string(), l.loss.to_string()];
            row.extend(l.parts.iter().map(f32::to_string));
            row.push(format!("{seconds:.3}"));
            losses.write_record(&row).map_err(csv_err)?;
            recent.push(l.loss as f64);
            if done % cfg.checkpoint_every == 0 || done == cfg.steps {
                losses.flush().map_err(write_err)?;
                self.checkpoint(trainer.as_ref(), &names, seconds)
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
            self.checkpoint(trainer.as_ref(), &names, seconds)
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

/// Opens the losses CSV for appending, keeping only the whole rows up to `step` (a
/// resumed run rewrites what the killed one logged after its last checkpoint, and drops a
/// row the kill cut short); returns the writer and the kept rows' losses.
type LossesLog = (csv::Writer<std::io::BufWriter<std::fs::File>>, Vec<f64>);
fn open_losses(path: &Path, header: &[String], step: usize) -> Result<LossesLog, Error> {
    let csv_err = |e: csv::Error| dispr_core::error::Error::new(path, format!("cannot write: {e}"));
    let mut kept = csv::Writer::from_writer(Vec::new());
    kept.write_record(header).map_err(csv_err)?;
    let mut losses = Vec::new();
    if step > 0 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // Only whole rows, each ending in a line break: a kill can cut the last one short.
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(whole.as_bytes());
        for record in reader.records().flatten() {
            let numbers =
                record.len() == header.len() && record.iter().all(|f| f.parse::<f64>().is_ok());
            let row_step = record.get(0).and_then(|f| f.parse::<usize>().ok());
            let loss = record.get(1).and_then(|f| f.parse::<f64>().ok());
            if let (true, Some(row_step), Some(loss)) = (numbers, row_step, loss)
                && row_step <= step
            {
                kept.write_record(&record).map_err(csv_err)?;
                losses.push(loss);
            }
        }
    }
    let kept = kept
        .into_inner()
        .map_err(|e| dispr_core::error::Error::new(path, format!("cannot write: {e}")))?;
    dispr_core::io::atomic::write_atomic(path, |w| w.write_all(&kept))?;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| dispr_core::error::Error::io(path, "", e))?;
    Ok((
        csv::Writer::from_writer(std::io::BufWriter::new(file)),
        losses,
    ))
}

/// Reads a run's losses CSV: (step, loss) rows.
pub fn read_losses(dir: &Path) -> crate::Result<Vec<(usize, f32)>> {
    let path = dir.join(LOSSES_FILE);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .map_err(|e| dispr_core::error::Error::new(&path, format!("cannot read: {e}")))?;
    Ok(reader
        .records()
        .flatten()
        .filter_map(|r| Some((r.get(0)?.parse().ok()?, r.get(1)?.parse().ok()?)))
        .collect())
}
