//! A trained model's card: what it was trained on and how, the input it expects and its
//! calibration — one definition for `dispr model info` and the Python package.

use serde::Serialize;

use dispr_core::data::class::Label;

use crate::calibration::Calibration;
use crate::checkpoint::{EXTRA_PREFIX, Header};
use crate::config::{ModelKind, Network, PriorConfig};
use crate::intervals::IntervalCalibration;
use crate::pipeline::own_sampling;

/// Training cells of one class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassCount {
    /// The class (`unlabeled` for names that carry none).
    pub class: String,
    /// Cells of the main (real) data.
    pub real: usize,
    /// Extra (e.g. synthetic) cells.
    pub extra: usize,
}

/// What a trained model was trained on and how.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCard {
    /// The model file, or the built-in model's label.
    pub file: String,
    /// The SHA-256 of the model file.
    pub sha256: String,
    /// `dispr` or `shapr`.
    pub model: ModelKind,
    /// The network's preset.
    pub preset: String,
    /// Its trainable parameters.
    pub parameters: usize,
    /// The sampler `dispr predict` uses unless told otherwise (e.g. `ddim-10-eta0`).
    pub default_sampler: String,
    /// How many of its training cells, nearest by mask, make the prior shape it is
    /// conditioned on (`dispr train --prior-k`); `None`: no such prior.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_k: Option<usize>,
    /// Whether it is conditioned on a prior shape given with every cell (`dispr train
    /// --prior-shapes`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub given_prior: bool,
    /// Whether it carries the SHAPR model that makes those shapes itself (`dispr model
    /// export --prior-model`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub prior_model: bool,
    /// Optimisation steps done.
    pub steps: usize,
    /// Training seconds, over all sessions.
    pub seconds: f64,
    /// Cells of the main (real) data it trained on.
    pub real_cells: usize,
    /// Extra (`--extra-data`, e.g. synthetic) cells it trained on.
    pub extra_cells: usize,
    /// Its training cells per class (by their names' class prefixes).
    pub classes: Vec<ClassCount>,
    /// The fold held out, e.g. `fold 0 of 5 (split seed 0)`; `None`: none.
    pub held_out: Option<String>,
    /// The crop (height, width) of image and mask the network sees.
    pub input: [usize; 2],
    /// µm per pixel of its training images, when known.
    pub pixel_size_um: Option<f64>,
    /// The size correction of its soft samples, when calibrated.
    pub calibration: Option<Calibration>,
    /// Its calibrated 90 % intervals, when it has them ([`crate::intervals`]).
    pub intervals: Option<IntervalCalibration>,
    /// How it was measured: a five-fold study of its recipe (Markdown), when one is
    /// known (the built-in model's: [`crate::shipped::STUDY`]).
    pub study: Option<String>,
}

impl ModelCard {
    /// What the card's network line says of its prior, e.g. `, conditioned on the
    /// nearest-9 prior shape of its training cells`; empty without a prior.
    fn prior_text(&self) -> String {
        let what = match (self.prior_k, self.given_prior, self.prior_model) {
            (Some(k), ..) => PriorConfig::Nearest { k }.describe(),
            (None, true, true) => "a prior shape of every cell made by the SHAPR model it carries (or given with --prior-shapes)".into(),
            (None, true, false) => PriorConfig::Given {
                given: crate::config::GivenPrior::Files,
            }
            .describe(),
            (None, false, _) => return String::new(),
        };
        format!(", conditioned on {what}")
    }

    /// The card of a model with checkpoint header `header`, read from `file` (SHA-256
    /// `sha256`) with its `calibration`.
    pub fn new(
        header: &Header,
        file: &str,
        sha256: &str,
        calibration: Option<&Calibration>,
    ) -> Self {
        let extra_cells = header
            .train_cells
            .iter()
            .filter(|n| n.starts_with(EXTRA_PREFIX))
            .count();
        let held_out = header.train.as_ref().and_then(|t| {
            t.fold
                .map(|f| format!("fold {f} of {} (split seed {})", t.folds, t.split_seed))
        });
        let [_, h, w] = header.model.data_grid();
        let mut classes: Vec<ClassCount> = Vec::new();
        for name in &header.train_cells {
            let (stem, extra) = match name.strip_prefix(EXTRA_PREFIX) {
                Some(stem) => (stem, true),
                None => (name.as_str(), false),
            };
            let class = Label::from_file_stem(stem).name().to_string();
            let i = match classes.iter().position(|c| c.class == class) {
                Some(i) => i,
                None => {
                    classes.push(ClassCount {
                        class,
                        real: 0,
                        extra: 0,
                    });
                    classes.len() - 1
                }
            };
            match extra {
                true => classes[i].extra += 1,
                false => classes[i].real += 1,
            }
        }
        // What `dispr predict` draws with by default: the model's own sampler.
        let settings = own_sampling(calibration);
        let default_sampler = match &header.model {
            Network::Dispr(m) => settings
                .sampler(&m.diffusion)
                .map_or_else(|e| format!("none ({e})"), |s| s.name()),
            Network::Shapr(_) => "shapr (deterministic, one shape)".to_string(),
        };
        Self {
            file: file.to_string(),
            sha256: sha256.to_string(),
            model: header.model.kind(),
            preset: header.model.preset().to_string(),
            parameters: header.model.parameters(),
            default_sampler,
            prior_k: match header.model.prior() {
                Some(PriorConfig::Nearest { k }) => Some(k),
                _ => None,
            },
            given_prior: header.model.takes_given_prior(),
            prior_model: header
                .sections
                .iter()
                .any(|s| s.name == crate::checkpoint::PRIOR_MODEL_SECTION),
            steps: header.step,
            seconds: header.seconds,
            real_cells: header.train_cells.len() - extra_cells,
            extra_cells,
            classes,
            held_out,
            input: [h, w],
            pixel_size_um: header.pixel_size_um,
            calibration: calibration.cloned(),
            intervals: None,
            study: None,
        }
    }

    /// The card as indented lines of text (`dispr model info`).
    pub fn text(&self) -> String {
        let [dh, dw] = self.input;
        let scale = match self.pixel_size_um {
            Some(p) => format!(
                "at {p} µm per pixel (cells of another stated pixel size are resampled to it)"
            ),
            None => "of unknown pixel size (cells are taken at their own)".to_string(),
        };
        let mut text = format!(
            "      file {}\n      SHA-256 {}\n      trained {} steps in {:.0} s on {} cells of the main data{}{}\n      input: {dh}×{dw} crops (image and mask) {scale}, intensities scaled by the pixel type's full scale (uint8 / 255)\n",
            self.file,
            self.sha256,
            self.steps,
            self.seconds,
            self.real_cells,
            if self.extra_cells > 0 {
                format!(" and {} extra (synthetic) cells", self.extra_cells)
            } else {
                String::new()
            },
            self.held_out
                .as_deref()
                .map(|f| format!("; held out: {f}"))
                .unwrap_or_default(),
        );
        let classes: Vec<String> = self
            .classes
            .iter()
            .map(|c| match c.extra {
                0 => format!("{} {}", c.class, c.real),
                e => format!("{} {} + {e}", c.class, c.real),
            })
            .collect();
        text.push_str(&format!(
            "      classes (real + extra cells): {}\n      network: {} preset, {} parameters{}; default sampler {}{}\n",
            classes.join(", "),
            self.preset,
            self.parameters,
            self.prior_text(),
            self.default_sampler,
            match &self.calibration {
                Some(c) if c.sampler == self.default_sampler => " (its calibration's)",
                _ => "",
            }
        ));
        match &self.calibration {
            Some(k) => text.push_str(&format!(
                "      size: {}, calibrated on {} {} × {} samples ({}): median volume ratio {:.3} as sampled → {:.3}\n",
                k.size.describe(),
                k.cells.len(),
                k.cells_kind(),
                k.samples,
                k.sampler,
                k.median_volume_ratio_at_0,
                k.median_volume_ratio
            )),
            None if self.model == ModelKind::Dispr => {
                text.push_str("      size: level 0, as sampled (not calibrated: `dispr model calibrate`)\n")
            }
            None => {}
        }
        match &self.intervals {
            Some(i) => text.push_str(&format!("      90 % intervals {}\n", i.summary())),
            None if self.model == ModelKind::Dispr => text.push_str(
                "      90 % intervals: the samples' own range, not calibrated (`dispr model intervals`)\n",
            ),
            None => {}
        }
        if let Some(study) = &self.study {
            for line in study.lines() {
                match line.is_empty() {
                    true => text.push('\n'),
                    false => text.push_str(&format!("      {line}\n")),
                }
            }
        }
        text
    }
}
