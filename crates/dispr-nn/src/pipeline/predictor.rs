//! A trained model ready to predict: DISPR with its sampler, or SHAPR. It turns a cell's
//! example into the distribution of its 3D shape.

use std::path::{Path, PathBuf};

use burn::prelude::Device;

use crate::calibration::{Calibration, SizeCorrection};
use crate::checkpoint::{self, Checkpoint, Header};
use crate::config::Network;
use crate::diffusion::DiffusionConfig;
use crate::intervals::IntervalCalibration;
use dispr_core::data::class::Label;
use dispr_core::data::dataset::Cell;
use dispr_core::data::framing::Framing;
use dispr_core::data::prior::{GivenPriors, PriorSource};
use dispr_core::experiment::intervals::MeasureFit;
use dispr_core::grid::{Image, Volume};

use crate::data::{Example, example, example_with_prior};
use crate::device::DeviceKind;
use crate::error::{Error, Result};
use crate::model::{Model, ShaprModel};
use crate::pipeline::run_predict::{frame_cell, unframe};
use crate::predict::{CellPrediction, Sampling, predict_cell, predict_shapr, sample_soft};
use crate::sampler::{self, Sampler, SamplerKind};

/// How a DISPR model samples (SHAPR ignores it: it predicts one shape).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerSettings {
    /// The sampler.
    pub kind: SamplerKind,
    /// Respaced sampling steps.
    pub steps: usize,
    /// DDIM's η (0: deterministic given the starting noise).
    pub eta: f64,
    /// Begin the walk at this fraction of its steps, from the model's prior shape noised
    /// to that step (SDEdit; [`crate::sampler::FromPrior`]); `None`: from pure noise.
    pub from_prior: Option<f64>,
}

impl Default for SamplerSettings {
    /// DDIM with 10 steps and η = 0: what a model without a calibration draws with.
    fn default() -> Self {
        Self {
            kind: SamplerKind::Ddim,
            steps: 10,
            eta: 0.0,
            from_prior: None,
        }
    }
}

impl SamplerSettings {
    /// The settings a sampler's name stands for ([`Sampler::name`], e.g. `ddim-10-eta1`,
    /// `ddpm-50`, `dpm++2m-10`, `ddim-10-eta1-from0.7`), as calibration files record
    /// them; `None` for any other text.
    pub fn from_name(name: &str) -> Option<Self> {
        let (name, from_prior) = match name.rsplit_once("-from") {
            Some((walk, fraction)) => {
                let fraction = sampler::begin_fraction(fraction.parse().ok()?).ok()??;
                (walk, Some(fraction))
            }
            None => (name, None),
        };
        let (kind, rest) = name.split_once('-')?;
        let kind: SamplerKind = kind.parse().ok()?;
        let (steps, eta) = match (kind, rest.split_once("-eta")) {
            (SamplerKind::Ddim, Some((steps, eta))) => (steps, eta.parse().ok()?),
            (SamplerKind::Ddim, None) => return None,
            (_, None) => (rest, 0.0),
            (_, Some(_)) => return None,
        };
        let eta: f64 = eta;
        Some(Self {
            kind,
            steps: steps.parse().ok()?,
            eta,
            from_prior,
        })
        .filter(|_| eta.is_finite() && eta >= 0.0)
    }
}

impl SamplerSettings {
    /// Network evaluations of one draw: the steps walked.
    pub fn evaluations(&self) -> usize {
        self.from_prior.map_or(self.steps, |fraction| {
            sampler::walked_steps(self.steps, fraction)
        })
    }

    /// The sampler these settings stand for, for a model trained with `diffusion`.
    pub fn sampler(&self, diffusion: &DiffusionConfig) -> Result<Box<dyn Sampler>> {
        match self.from_prior {
            None => sampler::build(self.kind, diffusion, self.steps, self.eta),
            Some(fraction) => {
                sampler::build_from_prior(self.kind, diffusion, self.steps, self.eta, fraction)
            }
        }
    }
}

/// The sampler settings a user asked for, each of them or none; the others are the
/// model's own ([`SamplerRequest::over`]). The default asks for nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SamplerRequest {
    /// The sampler.
    pub kind: Option<SamplerKind>,
    /// Respaced sampling steps.
    pub steps: Option<usize>,
    /// DDIM's η.
    pub eta: Option<f64>,
    /// The fraction of the walk begun from the prior shape; 1 asks for a walk from pure
    /// noise.
    pub from_prior: Option<f64>,
}

impl SamplerRequest {
    /// Asks for exactly `settings`.
    pub fn exactly(settings: SamplerSettings) -> Self {
        Self {
            kind: Some(settings.kind),
            steps: Some(settings.steps),
            // η is DDIM's alone: asked of another sampler it is refused.
            eta: (settings.kind == SamplerKind::Ddim).then_some(settings.eta),
            from_prior: Some(settings.from_prior.unwrap_or(1.0)),
        }
    }

    /// The settings asked for, the rest taken from `own` (η is DDIM's alone: another
    /// sampler has 0). An η asked of another sampler is refused
    /// ([`Error::BadSetting`]), not dropped unseen.
    pub fn over(self, own: SamplerSettings) -> Result<SamplerSettings> {
        let kind = self.kind.unwrap_or(own.kind);
        let eta = match (kind, self.eta) {
            (SamplerKind::Ddim, asked) => asked.unwrap_or(own.eta),
            (_, None) => 0.0,
            (_, Some(eta)) => {
                let whose = match self.kind {
                    Some(_) => "the sampler asked for",
                    None => "the model's own sampler",
                };
                return Err(Error::BadSetting(format!(
                    "eta {eta}: η belongs to the ddim sampler, and {whose} is {} (ask for the ddim sampler, or give no η)",
                    kind.name()
                )));
            }
        };
        let steps = self.steps.unwrap_or(own.steps);
        Ok(SamplerSettings {
            kind,
            steps,
            eta,
            from_prior: match self.from_prior {
                Some(fraction) => sampler::begin_fraction(fraction)
                    .map_err(|e| Error::BadSetting(format!("from-prior: {e}")))?,
                // The model's own begin fraction gives way to the whole walk when the
                // steps asked for leave it too few (`--steps 2` of a walk begun at 0.7):
                // an asked fraction that does is refused instead.
                None => own.from_prior.filter(|&fraction| {
                    sampler::walked_steps(steps, fraction) >= sampler::MIN_WALKED_STEPS
                }),
            },
        })
    }
}

/// A model's own sampler: the one its calibration was learnt with (its scale and
/// intervals hold for that draw), else [`SamplerSettings::default`].
pub fn own_sampling(calibration: Option<&Calibration>) -> SamplerSettings {
    calibration
        .and_then(|c| SamplerSettings::from_name(&c.sampler))
        .unwrap_or_default()
}

/// The own sampler ([`own_sampling`]) of the model in `model` (a checkpoint file or run
/// folder; `None`: the built-in model). A calibration beside it that cannot be read, or
/// that belongs to another model, counts as none: `dispr model calibrate` replaces it. A
/// copy of the built-in model's file without its calibration has the built-in's.
pub fn own_sampler_of(model: Option<&Path>) -> Result<SamplerSettings> {
    let calibration = match model {
        None => crate::shipped::calibration()?,
        Some(path) => {
            let file = checkpoint::resolve(path);
            let bytes = std::fs::read(&file)
                .map_err(|e| dispr_core::Error::io(&file, "cannot read checkpoint", e))?;
            let sha256 = crate::shipped::sha256_hex(&bytes);
            match Calibration::load_for(&file, &sha256).ok().flatten() {
                None if sha256 == crate::shipped::sha256_hex(crate::shipped::BYTES) => {
                    crate::shipped::calibration()?
                }
                beside => beside,
            }
        }
    };
    Ok(own_sampling(calibration.as_ref()))
}

/// What one cell's prediction asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// Shapes to sample (SHAPR: always one).
    pub samples: usize,
    /// Run seed, mixed with the cell's name.
    pub seed: u64,
    /// How DISPR's soft samples become shapes (the model's size correction, or none).
    pub size: SizeCorrection,
}

/// Which network predicts, loaded and ready.
pub enum Predictor {
    /// DISPR: the diffusion model and its sampler.
    Dispr(Box<Model>, Box<dyn Sampler>),
    /// SHAPR: one deterministic shape per cell.
    Shapr(Box<ShaprModel>),
}

/// A model file (or the built-in model) with its predictor and what its header says.
pub struct LoadedModel {
    /// The file it came from, or the built-in model's label.
    pub source: PathBuf,
    /// The checkpoint's header: settings, training cells, steps.
    pub header: Header,
    /// The predictor.
    pub predictor: Predictor,
    /// The device its tensors live on.
    pub device: Device,
    /// Which device that is.
    pub device_kind: DeviceKind,
    /// The SHA-256 of the model file (or of the built-in model).
    pub sha256: String,
    /// The size correction of its soft samples, when the model has a calibration
    /// ([`crate::calibration`]; the built-in model's is built in too).
    pub calibration: Option<Calibration>,
    /// Its calibrated 90 % intervals, when it has them ([`crate::intervals`]).
    pub intervals: Option<IntervalCalibration>,
    /// Where its prior shapes come from, when it is conditioned on one
    /// ([`dispr_core::data::prior`]): the reference cells in its file, or the folder
    /// given with [`LoadedModel::with_prior_shapes`].
    pub prior: Option<PriorSource>,
    /// The SHAPR model whose prediction of each cell is its prior, when it is
    /// conditioned on given prior shapes and carries one ([`Checkpoint::prior_model`]);
    /// shapes given with [`LoadedModel::with_prior_shapes`] take its place.
    pub prior_model: Option<Box<ShaprModel>>,
}

/// A model file (or the built-in model) as read, before any network is built: what
/// [`LoadedModel`] loads and what a model's card is made from.
pub struct ModelFile {
    /// The file it came from, or the built-in model's label.
    pub source: PathBuf,
    /// Its checkpoint.
    pub checkpoint: Checkpoint,
    /// The SHA-256 of the file (or of the built-in model).
    pub sha256: String,
    /// Its size calibration, when read and present.
    pub calibration: Option<Calibration>,
    /// Its interval calibration, when read and present.
    pub intervals: Option<IntervalCalibration>,
}

impl ModelFile {
    /// Reads a checkpoint file or run folder (`None`: the model built into dispr), with
    /// the calibrations beside it when `calibrated`.
    pub fn read(model: Option<&Path>, calibrated: bool) -> Result<Self> {
        let Some(path) = model else {
            let (calibration, intervals) = if calibrated {
                (crate::shipped::calibration()?, crate::shipped::intervals()?)
            } else {
                (None, None)
            };
            return Ok(Self {
                source: crate::shipped::label().to_path_buf(),
                checkpoint: crate::shipped::checkpoint()?,
                sha256: crate::shipped::sha256_hex(crate::shipped::BYTES),
                calibration,
                intervals,
            });
        };
        let file = checkpoint::resolve(path);
        let checkpoint = Checkpoint::load(&file)?;
        let bytes = std::fs::read(&file)
            .map_err(|e| dispr_core::Error::io(&file, "cannot read checkpoint", e))?;
        let sha256 = crate::shipped::sha256_hex(&bytes);
        let (calibration, intervals) = if calibrated {
            (
                Calibration::load_for(&file, &sha256)?,
                IntervalCalibration::load_for(&file, &sha256)?,
            )
        } else {
            (None, None)
        };
        Ok(Self {
            source: file,
            checkpoint,
            sha256,
            calibration,
            intervals,
        })
    }

    /// The model's card: what it was trained on, its input, its calibrations.
    pub fn card(&self) -> crate::card::ModelCard {
        card(
            &self.checkpoint.header,
            &self.source,
            &self.sha256,
            self.calibration.as_ref(),
            self.intervals.as_ref(),
        )
    }
}

/// The card of a model read from `source` (the built-in model's with its study).
fn card(
    header: &Header,
    source: &Path,
    sha256: &str,
    calibration: Option<&Calibration>,
    intervals: Option<&IntervalCalibration>,
) -> crate::card::ModelCard {
    let mut card =
        crate::card::ModelCard::new(header, &source.display().to_string(), sha256, calibration);
    card.intervals = intervals.cloned();
    if source == crate::shipped::label() {
        card.study = Some(crate::shipped::STUDY.to_string());
    }
    card
}

impl LoadedModel {
    /// Loads a checkpoint file or run folder (`None`: the model built into dispr) onto
    /// `device`, with its calibration, drawing with exactly `sampling` (see
    /// [`LoadedModel::load_drawing`] for the model's own sampler).
    pub fn load(
        model: Option<&Path>,
        sampling: SamplerSettings,
        device_kind: DeviceKind,
    ) -> Result<Self> {
        Self::load_as(model, SamplerRequest::exactly(sampling), device_kind, true)
    }

    /// [`LoadedModel::load`] drawing with what `request` asks for and, for the rest,
    /// the model's own sampler ([`own_sampling`]): what `dispr predict` does.
    pub fn load_drawing(
        model: Option<&Path>,
        request: SamplerRequest,
        device_kind: DeviceKind,
    ) -> Result<Self> {
        Self::load_as(model, request, device_kind, true)
    }

    /// [`LoadedModel::load`] without reading any calibration (no size correction): what `dispr
    /// model calibrate` measures, whatever calibration file lies beside the model.
    pub fn load_uncalibrated(
        model: Option<&Path>,
        sampling: SamplerSettings,
        device_kind: DeviceKind,
    ) -> Result<Self> {
        Self::load_as(model, SamplerRequest::exactly(sampling), device_kind, false)
    }

    fn load_as(
        model: Option<&Path>,
        request: SamplerRequest,
        device_kind: DeviceKind,
        calibrated: bool,
    ) -> Result<Self> {
        let device = device_kind.open()?;
        let ModelFile {
            source,
            checkpoint: ckpt,
            sha256,
            calibration,
            intervals,
        } = ModelFile::read(model, calibrated)?;
        let own = own_sampling(calibration.as_ref());
        let predictor = Predictor::from_checkpoint(&ckpt, &source, request.over(own)?, &device)
            .map_err(
                |e| match (request == SamplerRequest::default(), &calibration) {
                    (true, Some(c)) => dispr_core::Error::new(
                        &source,
                        format!("its calibration's sampler {}: {e}", c.sampler),
                    )
                    .into(),
                    _ => e,
                },
            )?;
        let prior = ckpt
            .prior_bank()
            .map_err(|e| dispr_core::Error::new(&source, e.to_string()))?
            .map(PriorSource::Nearest);
        let prior_model = ckpt
            .prior_model()
            .map_err(|e| dispr_core::Error::new(&source, e.to_string()))?
            .map(|c| ShaprModel::from_checkpoint(&c, &source, &device).map(Box::new))
            .transpose()?;
        Ok(Self {
            source,
            header: ckpt.header,
            predictor,
            device,
            device_kind,
            sha256,
            calibration,
            intervals,
            prior,
            prior_model,
        })
    }

    /// Reads the cells' prior shapes from `dir` (`dispr predict --prior-shapes`), for a
    /// model conditioned on given shapes; errors for any other model, which would
    /// ignore them.
    pub fn with_prior_shapes(mut self, dir: &Path) -> Result<Self> {
        if !self.header.model.takes_given_prior() {
            return Err(dispr_core::Error::new(
                &self.source,
                "the model is not conditioned on given prior shapes; --prior-shapes does not apply",
            )
            .into());
        }
        self.prior = Some(PriorSource::Given(GivenPriors::new(dir)?));
        Ok(self)
    }

    /// A cell's example for this model: its conditioning on the working grid, with its
    /// prior shape when the model has one (from its reference cells, the given folder,
    /// or its prior model's prediction of the cell, in that order).
    pub fn example(&self, cell: &Cell) -> Result<Example> {
        let grid = self.header.model.grid();
        let in_cell = |e: crate::Error| Error::Invalid(format!("cell '{}': {e}", cell.name));
        match (&self.prior, &self.prior_model) {
            (None, Some(shapr)) => {
                let prior = self.predicted_prior(shapr, cell).map_err(in_cell)?;
                example_with_prior(cell, grid, Some(&prior)).map_err(in_cell)
            }
            (None, None) if self.header.model.takes_given_prior() => {
                Err(dispr_core::Error::new(
                    &self.source,
                    "the model is conditioned on a prior shape given with every cell: pass the folder of them (--prior-shapes)",
                )
                .into())
            }
            _ => example(cell, grid, self.prior.as_ref()).map_err(in_cell),
        }
    }

    /// A cell's example in its [`Framing`]: shapes given in files are in the cell's own
    /// frame, so they need the cell as it is (a framing that is the identity).
    pub fn framed_example(&self, cell: &Cell, framing: &Framing) -> Result<Example> {
        if matches!(self.prior, Some(PriorSource::Given(_))) && !framing.is_identity() {
            let [h, w] = framing.field;
            return Err(Error::Invalid(format!(
                "cell '{}': prior shapes given in files need crops of exactly {h}×{w} pixels at the model's pixel size; this {}×{} cell would have to be framed",
                cell.name, framing.input[0], framing.input[1]
            )));
        }
        self.example(cell)
    }

    /// The prior model's shape of `cell` (thresholded at ½ on the data grid, as its
    /// predictions are written) as occupancy on the working grid: the very shape a
    /// `--prior-shapes` folder of its predictions would give.
    fn predicted_prior(&self, shapr: &ShaprModel, cell: &Cell) -> crate::Result<Volume<f32>> {
        let input = example(cell, shapr.config.grid, None)?;
        let predicted = predict_shapr(shapr, &input, self.header.model.data_grid(), &self.device);
        Ok(predicted.shapes.samples[0].occupancy(self.header.model.grid()))
    }

    /// The model's card: what it was trained on, its input, its calibration.
    pub fn card(&self) -> crate::card::ModelCard {
        card(
            &self.header,
            &self.source,
            &self.sha256,
            self.calibration.as_ref(),
            self.intervals.as_ref(),
        )
    }

    /// The calibrated 90 % intervals for a prediction of `samples` per cell with this
    /// model's sampler and size correction, when it has them and they were measured so.
    pub fn interval_fits(&self, samples: usize) -> Option<&[MeasureFit]> {
        self.intervals
            .as_ref()?
            .applies_to(&self.predictor.method(), samples, &self.size())
    }

    /// One line on the 90 % intervals a prediction of `samples` per cell reports:
    /// calibrated (and how they were measured), or the samples' own range and why.
    pub fn interval_note(&self, samples: usize) -> String {
        let own = "90 % intervals (p05, p95): the samples' own 5–95 % range, not calibrated";
        match &self.intervals {
            None if self.predictor.is_deterministic() => {
                "one deterministic shape per cell: no interval".to_string()
            }
            None => format!("{own} (`dispr model intervals` measures them on held-out cells)"),
            Some(i) => match i.mismatch(&self.predictor.method(), samples, &self.size()) {
                None => format!(
                    "90 % intervals (lo90, hi90): {} (none for a cell resampled or shrunk to the model's field)",
                    i.summary()
                ),
                Some(why) => format!(
                    "{own}: the model's interval calibration holds for {}, this prediction draws {why}",
                    i.draw()
                ),
            },
        }
    }

    /// How its soft samples become shapes: the calibrated size correction, else none.
    pub fn size(&self) -> SizeCorrection {
        crate::calibration::size_of(self.calibration.as_ref())
    }

    /// What a user should know about the calibration in use: that it was measured with
    /// another sampler than this prediction's (it is applied all the same).
    pub fn calibration_note(&self) -> Option<String> {
        let c = self.calibration.as_ref()?;
        let now = self.predictor.method();
        (c.sampler != now).then(|| {
            format!(
                "note: the model's {} was calibrated with {}; predicting with {now} uses it all the same (`dispr model calibrate` with these sampler flags measures it anew)",
                c.size.describe(),
                c.sampler
            )
        })
    }
}

impl LoadedModel {
    /// Predicts one cell from its image (intensities in [0, 1]) and mask of any size, as
    /// `dispr predict` predicts a dataset's cell: the cell is placed in the model's field
    /// ([`dispr_core::data::framing`]) and its `samples` shapes (one for SHAPR) are
    /// placed back over it, `[model depth, image height, image width]`; the `seed` is
    /// mixed with `name`.
    pub fn predict_image(
        &self,
        name: &str,
        image: &Image<f32>,
        mask: &Image<bool>,
        samples: usize,
        seed: u64,
    ) -> Result<CellPrediction> {
        if samples == 0 {
            return Err(Error::Invalid(
                "at least one sample per cell is needed".into(),
            ));
        }
        let network = &self.header.model;
        let cell = Cell {
            name: name.to_string(),
            label: Label::Unlabeled,
            image: image.clone(),
            mask: mask.clone(),
            shape: None,
            pixel_size: None,
        };
        let fit = dispr_core::data::framing::Fit {
            model_pixel_um: self.header.pixel_size_um,
            ..Default::default()
        };
        let (cell, framing) = frame_cell(&cell, network, fit)
            .map_err(|problem| Error::Invalid(format!("cell '{name}': {problem}")))?;
        let example = self.framed_example(&cell, &framing)?;
        let draw = Draw {
            samples: self.predictor.samples(samples),
            seed,
            size: self.size(),
        };
        let prediction = self.predictor.predict(
            &example,
            draw,
            network.data_grid(),
            &self.device,
            &mut |_, _| {},
        );
        Ok(CellPrediction {
            shapes: unframe(prediction.shapes, &framing),
            ..prediction
        })
    }
}

impl Predictor {
    /// The predictor of a loaded checkpoint; `file` names it in errors.
    pub fn from_checkpoint(
        ckpt: &Checkpoint,
        file: &Path,
        sampling: SamplerSettings,
        device: &Device,
    ) -> Result<Self> {
        Ok(match &ckpt.header.model {
            Network::Dispr(_) => {
                let model = Model::from_checkpoint(ckpt, file, device)?;
                if sampling.from_prior.is_some() && model.config.prior.is_none() {
                    return Err(Error::BadSetting(format!(
                        "{}: the model has no prior shape to begin the walk from (from-prior needs a model trained with --prior-k or --prior-shapes); leave it out",
                        file.display()
                    )));
                }
                let sampler = sampling.sampler(&model.config.diffusion)?;
                Self::Dispr(Box::new(model), sampler)
            }
            Network::Shapr(_) => {
                Self::Shapr(Box::new(ShaprModel::from_checkpoint(ckpt, file, device)?))
            }
        })
    }

    /// What predicts, e.g. `ddim-10-eta0` or SHAPR's description.
    pub fn method(&self) -> String {
        match self {
            Self::Dispr(_, sampler) => sampler.name(),
            Self::Shapr(_) => "shapr (deterministic, one shape)".to_string(),
        }
    }

    /// Network evaluations per cell (all samples of a cell run as one batch).
    pub fn evaluations(&self) -> usize {
        match self {
            Self::Dispr(_, sampler) => sampler.evaluations(),
            Self::Shapr(_) => 1,
        }
    }

    /// The samples a cell gets when `requested` are asked for (SHAPR: always one).
    pub fn samples(&self, requested: usize) -> usize {
        match self {
            Self::Dispr(..) => requested,
            Self::Shapr(_) => 1,
        }
    }

    /// DISPR's `samples` soft samples of one cell on `data_grid`, before any threshold
    /// (`None` for SHAPR).
    pub fn soft_samples(
        &self,
        example: &Example,
        samples: usize,
        seed: u64,
        data_grid: [usize; 3],
        device: &Device,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> Option<Vec<dispr_core::grid::Volume<f32>>> {
        let Self::Dispr(model, sampler) = self else {
            return None;
        };
        Some(sample_soft(
            model,
            example,
            Sampling {
                sampler: sampler.as_ref(),
                samples,
                seed,
                size: SizeCorrection::NONE,
            },
            data_grid,
            device,
            on_step,
        ))
    }

    /// True for a method with one deterministic shape per cell.
    pub fn is_deterministic(&self) -> bool {
        matches!(self, Self::Shapr(_))
    }

    /// Predicts one cell as `draw` asks, on `data_grid`. `on_step(done, total)` follows
    /// the network evaluations.
    pub fn predict(
        &self,
        example: &Example,
        draw: Draw,
        data_grid: [usize; 3],
        device: &Device,
        on_step: &mut dyn FnMut(usize, usize),
    ) -> CellPrediction {
        let Draw {
            samples,
            seed,
            size,
        } = draw;
        match self {
            Self::Dispr(model, sampler) => predict_cell(
                model,
                example,
                Sampling {
                    sampler: sampler.as_ref(),
                    samples,
                    seed,
                    size,
                },
                data_grid,
                device,
                on_step,
            ),
            Self::Shapr(model) => {
                let p = predict_shapr(model, example, data_grid, device);
                on_step(1, 1);
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelKind, Network, Preset};

    #[test]
    fn a_copy_of_the_built_in_model_draws_as_the_built_in_one() {
        let built_in = own_sampler_of(None).unwrap();
        assert_eq!(
            Some(built_in),
            SamplerSettings::from_name(&crate::shipped::calibration().unwrap().unwrap().sampler)
        );
        assert!(built_in.from_prior.is_some(), "{built_in:?}");
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("mine.safetensors");
        std::fs::write(&copy, crate::shipped::BYTES).unwrap();
        assert_eq!(own_sampler_of(Some(&copy)).unwrap(), built_in);
        // A calibration beside the copy is its own; one of another model counts as none.
        let file = crate::calibration::file_for(&copy);
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(own_sampler_of(Some(&copy)).unwrap(), built_in);
        assert!(own_sampler_of(Some(&dir.path().join("missing.dispr"))).is_err());
    }

    #[test]
    fn a_sampler_name_reads_back_as_its_settings() {
        let Ok((Network::Dispr(model), _)) = Network::preset_for(ModelKind::Dispr, Preset::Tiny)
        else {
            panic!("the tiny preset is a DISPR model")
        };
        let diffusion = model.diffusion;
        for kind in [
            SamplerKind::Ddpm,
            SamplerKind::Ddim,
            SamplerKind::DpmSolver2M,
        ] {
            for steps in [2, 10, 50] {
                for eta in [0.0, 0.5, 1.0] {
                    let eta = if kind == SamplerKind::Ddim { eta } else { 0.0 };
                    // (Two steps cannot be begun part-way: at least two remain.)
                    let fractions = [None, Some(0.5), Some(0.7)];
                    for from_prior in fractions.into_iter().filter(|f| f.is_none() || steps > 2) {
                        let settings = SamplerSettings {
                            kind,
                            steps,
                            eta,
                            from_prior,
                        };
                        let name = settings.sampler(&diffusion).unwrap().name();
                        assert_eq!(SamplerSettings::from_name(&name), Some(settings), "{name}");
                    }
                }
            }
        }
        for bad in [
            "",
            "ddim",
            "ddim-10",
            "ddim-x-eta0",
            "ddim-10-etax",
            "ddpm-10-eta1",
            "ddim-10-eta-1",
            "euler-10",
            "ddim-10-eta1-from1",
            "ddim-10-eta1-from0",
            "ddim-10-eta1-fromx",
        ] {
            assert_eq!(SamplerSettings::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_request_replaces_only_what_it_asks_and_refuses_eta_off_ddim() {
        let own = SamplerSettings {
            kind: SamplerKind::Ddim,
            steps: 10,
            eta: 1.0,
            from_prior: Some(0.7),
        };
        let ask = |kind, steps, eta| SamplerRequest {
            kind,
            steps,
            eta,
            from_prior: None,
        };
        assert_eq!(SamplerRequest::default().over(own).unwrap(), own);
        assert_eq!(SamplerRequest::exactly(own).over(own).unwrap(), own);
        assert_eq!(
            ask(None, Some(20), None).over(own).unwrap(),
            SamplerSettings { steps: 20, ..own }
        );
        // A fraction of 1 asks for a walk from pure noise.
        let from_noise = SamplerRequest {
            from_prior: Some(1.0),
            ..SamplerRequest::default()
        };
        assert_eq!(from_noise.over(own).unwrap().from_prior, None);
        // Too few steps for the model's own begin fraction: the whole walk, not a refusal
        // (3 steps still walk 2 of them from the prior).
        assert_eq!(
            ask(None, Some(2), None).over(own).unwrap(),
            SamplerSettings {
                steps: 2,
                from_prior: None,
                ..own
            }
        );
        assert_eq!(
            ask(None, Some(3), None).over(own).unwrap(),
            SamplerSettings { steps: 3, ..own }
        );
        let plain = SamplerSettings::default();
        assert_eq!(SamplerRequest::exactly(plain).over(own).unwrap(), plain);
        let ddpm = SamplerSettings {
            kind: SamplerKind::Ddpm,
            ..plain
        };
        assert_eq!(SamplerRequest::exactly(ddpm).over(own).unwrap(), ddpm);
        // Another sampler drops the model's own η; one asked of it is a bad setting.
        let ddpm = ask(Some(SamplerKind::Ddpm), None, None).over(own).unwrap();
        assert_eq!((ddpm.kind, ddpm.eta), (SamplerKind::Ddpm, 0.0));
        for (request, whose) in [
            (
                ask(Some(SamplerKind::Ddpm), None, Some(1.0)),
                "sampler asked for is ddpm",
            ),
            (ask(None, None, Some(0.0)), "own sampler is dpm++2m"),
        ] {
            let own = match request.kind {
                Some(_) => own,
                None => SamplerSettings {
                    kind: SamplerKind::DpmSolver2M,
                    eta: 0.0,
                    ..own
                },
            };
            match request.over(own) {
                Err(Error::BadSetting(message)) => assert!(message.contains(whose), "{message}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
