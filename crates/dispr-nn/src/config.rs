//! Model and training configurations and the named presets. A [`ModelConfig`] is all it
//! takes to rebuild a trained network (checkpoints store it as JSON); a [`TrainConfig`]
//! holds the optimisation settings of a run.

use dispr_core::data::conditioning::conditioning_channels;
use serde::{Deserialize, Serialize};

use crate::diffusion::{DiffusionConfig, LossKind, Prediction, ScheduleKind};
use crate::shapr::ShaprConfig;
use crate::unet::UNetConfig;

/// Which network a model is, with its settings: what a checkpoint's header holds.
/// Serialized with an explicit tag, `{"network": "dispr", …settings}` (checkpoint format
/// 3 on); [`Network::from_json`] also reads the untagged settings of older files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "network", rename_all = "lowercase")]
pub enum Network {
    /// The DISPR diffusion model.
    Dispr(ModelConfig),
    /// SHAPR, with or without the topological loss.
    Shapr(ShaprConfig),
}

/// [`Network`] as checkpoint formats 1 and 2 (and hand-written configs) spell it: the
/// settings alone, the kind told by their fields.
#[derive(Deserialize)]
#[serde(untagged)]
enum UntaggedNetwork {
    Dispr(ModelConfig),
    Shapr(ShaprConfig),
}

impl Network {
    /// The prior shape it is conditioned on: DISPR's, when it has one; SHAPR: none.
    pub fn prior(&self) -> Option<PriorConfig> {
        match self {
            Network::Dispr(m) => m.prior,
            Network::Shapr(_) => None,
        }
    }

    /// Whether it is conditioned on a prior shape given with every cell
    /// ([`PriorConfig::Given`]).
    pub fn takes_given_prior(&self) -> bool {
        matches!(self.prior(), Some(PriorConfig::Given { .. }))
    }

    /// Its trainable parameters (the network is built on the CPU to count them).
    pub fn parameters(&self) -> usize {
        use burn::module::Module;
        let device = burn::prelude::Device::flex();
        match self {
            Network::Dispr(m) => m.unet.init(&device).num_params(),
            Network::Shapr(m) => m.init(&device).num_params(),
        }
    }
}

impl Network {
    /// A network from JSON: tagged (`{"network": "dispr", …}`), or untagged as older
    /// checkpoints and hand-written configs have it.
    pub fn from_json(value: serde_json::Value) -> crate::Result<Self> {
        if value.get("network").is_some() {
            return serde_json::from_value(value).map_err(|e| e.to_string().into());
        }
        match serde_json::from_value(value) {
            Ok(UntaggedNetwork::Dispr(m)) => Ok(Self::Dispr(m)),
            Ok(UntaggedNetwork::Shapr(m)) => Ok(Self::Shapr(m)),
            Err(_) => Err("neither DISPR nor SHAPR settings".into()),
        }
    }
}

/// Which network a model is, as `dispr train --model` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ModelKind {
    /// The DISPR diffusion model.
    Dispr,
    /// SHAPR, the deterministic baseline.
    Shapr,
}

impl ModelKind {
    /// Every kind.
    pub const ALL: [ModelKind; 2] = [ModelKind::Dispr, ModelKind::Shapr];

    /// `dispr` or `shapr`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dispr => "dispr",
            Self::Shapr => "shapr",
        }
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A named preset: a network and its training settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Preset {
    /// The DISPR paper's U-Net at 64³, for GPUs.
    Paper,
    /// A CPU-sized model at 32³.
    Small,
    /// The shipped CPU-fast model (DISPR only).
    Fast,
    /// For tests: 16³, seconds to train.
    Tiny,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 4] = [Preset::Paper, Preset::Small, Preset::Fast, Preset::Tiny];

    /// Its name, as presets are spelled on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Small => "small",
            Self::Fast => "fast",
            Self::Tiny => "tiny",
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown preset '{name}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

impl Network {
    /// DISPR or SHAPR.
    pub fn kind(&self) -> ModelKind {
        match self {
            Self::Dispr(_) => ModelKind::Dispr,
            Self::Shapr(_) => ModelKind::Shapr,
        }
    }

    /// The preset it started from.
    pub fn preset(&self) -> &str {
        match self {
            Self::Dispr(m) => &m.preset,
            Self::Shapr(m) => &m.preset,
        }
    }

    /// The working grid (z, y, x).
    pub fn grid(&self) -> [usize; 3] {
        match self {
            Self::Dispr(m) => m.grid,
            Self::Shapr(m) => m.grid,
        }
    }

    /// The data grid (z, y, x) predictions are returned on.
    pub fn data_grid(&self) -> [usize; 3] {
        match self {
            Self::Dispr(m) => m.data_grid,
            Self::Shapr(m) => m.data_grid,
        }
    }

    /// The data grid, to set it from the training data.
    pub fn data_grid_mut(&mut self) -> &mut [usize; 3] {
        match self {
            Self::Dispr(m) => &mut m.data_grid,
            Self::Shapr(m) => &mut m.data_grid,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> crate::Result<()> {
        for grid in [self.grid(), self.data_grid()] {
            if grid.iter().any(|&n| n > MAX_GRID) {
                return Err(format!(
                    "grid {grid:?} is larger than dispr's limit of {MAX_GRID} voxels per axis"
                )
                .into());
            }
        }
        match self {
            Self::Dispr(m) => m.validate(),
            Self::Shapr(m) => m.validate(),
        }
    }

    /// The presets a network kind has (SHAPR has no `fast`).
    pub fn presets(kind: ModelKind) -> &'static [Preset] {
        match kind {
            ModelKind::Shapr => &crate::shapr::PRESETS,
            ModelKind::Dispr => &Preset::ALL,
        }
    }

    /// A network kind's preset and its training settings.
    pub fn preset_for(kind: ModelKind, preset: Preset) -> crate::Result<(Self, TrainConfig)> {
        let (dispr, train) = settings(preset);
        match kind {
            ModelKind::Dispr => Ok((Self::Dispr(dispr), train)),
            ModelKind::Shapr => Ok((
                Self::Shapr(crate::shapr::preset(preset)?),
                TrainConfig {
                    lr: 5e-4,
                    batch: 4,
                    ema_decay: 0.99,
                    steps: if preset == Preset::Tiny { 200 } else { 3000 },
                    ..train
                },
            )),
        }
    }
}

/// The largest working or data grid along any axis (a bound on what a checkpoint's
/// header can make dispr allocate).
pub const MAX_GRID: usize = 1024;

/// Everything that defines a trained model besides its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The preset it started from (informative).
    pub preset: String,
    /// Working grid (z, y, x) the network sees: volumes and conditioning are resampled
    /// to it for training, and samples are resampled back to the data grid.
    pub grid: [usize; 3],
    /// The data grid (z, y, x) of the training volumes: predictions are returned on it,
    /// and images must be (y, x) of it.
    pub data_grid: [usize; 3],
    /// The network.
    pub unet: UNetConfig,
    /// The diffusion process.
    pub diffusion: DiffusionConfig,
    /// A prior shape as a further conditioning channel ([`dispr_core::data::prior`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<PriorConfig>,
}

/// The prior shape a model is conditioned on ([`dispr_core::data::prior`]). Written as
/// `{"k": K}` or `{"given": "files"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, expecting = r#"a prior: {"k": K} or {"given": "files"}"#)]
pub enum PriorConfig {
    /// The share of the `k` training cells whose masks overlap the cell's most that hold
    /// each voxel; the model file carries those cells' masks and shapes.
    Nearest {
        /// Reference cells averaged.
        k: usize,
    },
    /// A shape given with every cell, at training and at prediction.
    Given {
        /// Where the shapes come from.
        given: GivenPrior,
    },
}

/// Where a given prior shape comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GivenPrior {
    /// A folder of `NAME.tif` shapes (`--prior-shapes`).
    Files,
}

impl PriorConfig {
    /// What the model is conditioned on, for cards and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Nearest { k } => format!("the nearest-{k} prior shape of its training cells"),
            Self::Given { .. } => "a prior shape given with every cell (--prior-shapes)".into(),
        }
    }
}

impl ModelConfig {
    /// Conditions the model on a prior (`None`: no prior), with the
    /// network's input channels to match.
    pub fn with_prior(mut self, prior: Option<PriorConfig>) -> Self {
        self.prior = prior;
        self.unet.in_channels = conditioning_channels(prior.is_some()) + 1;
        self
    }
}

/// Optimisation settings of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay (the paper: 0).
    pub weight_decay: f64,
    /// Cells per step.
    pub batch: usize,
    /// EMA decay of the weights; the effective decay is min(decay, (1+n)/(10+n)) at
    /// step n, so short runs still get a useful average.
    pub ema_decay: f64,
    /// Total optimisation steps.
    pub steps: usize,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: usize,
    /// Seed of the run (weights, batches, noise, augmentation).
    pub seed: u64,
    /// Random flips and 90° rotations in xy.
    pub augment: bool,
    /// Held-out fold (cells of this fold are never trained on), if any.
    pub fold: Option<usize>,
    /// Number of folds of the split.
    pub folds: usize,
    /// Seed of the fold split (as `dispr data folds --seed`).
    pub split_seed: u64,
    /// Further datasets (e.g. synthetic cells) whose cells are all trained on, in every
    /// fold; the held-out fold is taken from the main dataset only.
    #[serde(default)]
    pub extra_data: Vec<std::path::PathBuf>,
    /// The folder of the training cells' prior shapes, for a model conditioned on given
    /// ones ([`PriorConfig::Given`], `dispr train --prior-shapes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_shapes: Option<std::path::PathBuf>,
}

/// One-line description of each preset, for `--help` and `dispr model info`.
pub fn preset_description(name: &str) -> &'static str {
    match name {
        "paper" => {
            "the DISPR paper's U-Net at 64³: base 32, mult 1-2-3-4, z never downsampled, attention at rate 4 + middle, learned variance, hybrid loss"
        }
        "small" => {
            "a CPU-sized model at 32³: base 8, mult 1-2-4, isotropic downsampling, attention at the 8³ level + middle, v-prediction, learned variance, hybrid loss"
        }
        "fast" => {
            "the CPU-fast model at 32³ (the shipped one): as small with base 4 channels; five samples of a cell in ~3 s on 2 cores with 10 DDIM steps"
        }
        "tiny" => "for tests only: 16³, base 8, two levels, v-prediction",
        _ => "unknown preset",
    }
}

/// The model and training settings of the preset called `name`.
pub fn preset(name: &str) -> crate::Result<(ModelConfig, TrainConfig)> {
    Ok(settings(name.parse()?))
}

/// The model and training settings of a preset.
pub fn settings(preset: Preset) -> (ModelConfig, TrainConfig) {
    let name = preset.name();
    let paper_diffusion = DiffusionConfig {
        schedule: ScheduleKind::Linear,
        steps: 1000,
        loss: LossKind::Hybrid,
        learned_variance: true,
        prediction: Prediction::Epsilon,
    };
    let train = |lr: f64, batch: usize, ema_decay: f64, steps: usize| TrainConfig {
        lr,
        weight_decay: 0.0,
        batch,
        ema_decay,
        steps,
        checkpoint_every: 100,
        seed: 2023,
        augment: true,
        fold: None,
        folds: 5,
        split_seed: 0,
        extra_data: Vec::new(),
        prior_shapes: None,
    };
    // `small`'s network; `fast` is the same with half the channels.
    let small = UNetConfig {
        in_channels: 3,
        out_channels: 2,
        base_channels: 8,
        channel_mult: vec![1, 2, 4],
        res_blocks: 1,
        attention_rates: vec![4],
        heads: 1,
        groups: 4,
        strides: vec![[2, 2, 2]; 2],
        dropout: 0.0,
    };
    let (grid, unet, train) = match name {
        "paper" => (
            [64, 64, 64],
            UNetConfig {
                in_channels: 3,
                out_channels: 2,
                base_channels: 32,
                channel_mult: vec![1, 2, 3, 4],
                res_blocks: 1,
                attention_rates: vec![4],
                heads: 1,
                groups: 32,
                strides: vec![[1, 2, 2]; 3],
                dropout: 0.0,
            },
            train(1e-4, 1, 0.9999, 100_000),
        ),
        "small" => ([32, 32, 32], small, train(5e-4, 2, 0.999, 20_000)),
        "fast" => (
            // Chosen by `dispr bench model` over scripts/bench/fast-candidates/ (docs/fast.md):
            // halving the channels of `small` halves the time of a prediction.
            [32, 32, 32],
            UNetConfig {
                base_channels: 4,
                groups: 2,
                ..small
            },
            train(5e-4, 4, 0.999, 3_000),
        ),
        _ => (
            [16, 16, 16],
            UNetConfig {
                in_channels: 3,
                out_channels: 2,
                base_channels: 8,
                channel_mult: vec![1, 2],
                res_blocks: 1,
                attention_rates: vec![2],
                heads: 1,
                groups: 4,
                strides: vec![[2, 2, 2]],
                dropout: 0.0,
            },
            train(1e-3, 2, 0.99, 200),
        ),
    };
    let mut diffusion = paper_diffusion;
    if name != "paper" {
        // Measured (docs/model.md): with ε-prediction a model learns the shape from the
        // conditioning only slowly, because at high noise ε carries almost none of x₀.
        diffusion.prediction = Prediction::V;
    }
    (
        ModelConfig {
            preset: name.to_string(),
            grid,
            data_grid: [64, 64, 64],
            unet,
            diffusion,
            prior: None,
        },
        train,
    )
}

impl ModelConfig {
    /// Checks the parts and that the grid suits the network's downsampling.
    pub fn validate(&self) -> crate::Result<()> {
        self.unet.validate()?;
        self.diffusion.validate()?;
        let m = self.unet.grid_multiple();
        for a in 0..3 {
            if self.grid[a] == 0 || !self.grid[a].is_multiple_of(m[a]) {
                return Err(format!(
                    "grid {:?} is not divisible by the network's downsampling {:?}",
                    self.grid, m
                )
                .into());
            }
        }
        let inputs = conditioning_channels(self.prior.is_some()) + 1;
        if self.unet.in_channels != inputs {
            return Err(format!(
                "the network takes {} input channels, but its conditioning and noisy volume are {inputs}",
                self.unet.in_channels
            )
            .into());
        }
        if self.prior == Some(PriorConfig::Nearest { k: 0 }) {
            return Err("the prior needs at least 1 neighbour".into());
        }
        if self.diffusion.learned_variance != (self.unet.out_channels == 2) {
            return Err("learned variance needs exactly 2 output channels".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_unknown_names_are_refused() {
        for name in Preset::ALL.map(Preset::name) {
            let (model, train) = preset(name).unwrap();
            model.validate().unwrap();
            assert!(train.batch >= 1 && train.lr > 0.0);
            assert_ne!(preset_description(name), "unknown preset");
        }
        let err = preset("huge").unwrap_err().to_string();
        assert!(
            err.contains("unknown preset 'huge'") && err.contains("paper"),
            "{err}"
        );
    }

    #[test]
    fn paper_preset_is_the_reference_configuration() {
        let (m, t) = preset("paper").unwrap();
        assert_eq!(m.grid, [64, 64, 64]);
        assert_eq!(m.unet.channel_mult, vec![1, 2, 3, 4]);
        // z is never downsampled.
        assert!(m.unet.strides.iter().all(|s| s[0] == 1));
        assert_eq!(m.unet.grid_multiple(), [1, 8, 8]);
        assert_eq!(
            (m.unet.groups, m.unet.heads, m.unet.out_channels),
            (32, 1, 2)
        );
        assert_eq!(m.diffusion.steps, 1000);
        assert_eq!(
            (t.lr, t.batch, t.ema_decay, t.weight_decay),
            (1e-4, 1, 0.9999, 0.0)
        );
    }
}
