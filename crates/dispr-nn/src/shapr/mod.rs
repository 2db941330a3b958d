//! SHAPR (Waibel et al., 2022), the deterministic learned baseline of the DISPR paper:
//! an encoder of the 2-channel image (mask, masked image) down to a sigmoid latent of
//! 1 × h/4 × w/4, and a decoder of transposed 3D convolutions that grows it into a
//! volume — first along z alone, then along all axes — ending in one sigmoid channel.
//! Trained with (1 − Dice) + binary cross-entropy, optionally plus the topological loss
//! of Waibel et al. (MICCAI 2022): the q = 2 Wasserstein distance between the
//! persistence diagrams of the downsampled prediction and truth ([`topo_loss`]).
//!
//! The settings and presets are here, the network in [`network`], its losses in
//! [`losses`].
//!
//! The encoder's (1,3,3) convolutions and (1,2,2) pooling of the original act on a
//! volume of depth 1, so they are written here as the identical 2D convolutions and 2D
//! pooling.

mod losses;
mod network;

pub use losses::{says_predicted, says_true, segmentation_loss, topo_loss};
pub use network::{Discriminator, Shapr, image_of};

use serde::{Deserialize, Serialize};

use crate::config::Preset;

/// GroupNorm groups of every SHAPR layer.
const GROUPS: usize = 4;

/// Everything that defines a SHAPR model besides its weights (stored in checkpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShaprConfig {
    /// The preset it started from (informative).
    pub preset: String,
    /// Working grid (z, y, x): the image is resampled to (y, x), the output is this grid.
    pub grid: [usize; 3],
    /// The data grid (z, y, x): predictions are returned on it.
    pub data_grid: [usize; 3],
    /// Channels of the first encoder level (then 2× and 4×).
    pub filters: usize,
    /// Weight λ of the topological loss (0: plain SHAPR).
    pub topo_weight: f64,
    /// Homology dimensions the topological loss compares.
    pub topo_dims: Vec<usize>,
    /// Edge of the cubic grid the volumes are averaged down to for the topological loss.
    pub topo_grid: usize,
    /// Adversarial fine-tuning with a 3D discriminator, if on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<AdversarialConfig>,
}

/// SHAPR's adversarial fine-tuning: from step `after` on, a 3D discriminator learns to
/// tell true shapes from predicted ones, and the generator's loss becomes
/// `supervised_weight · (segmentation + λ·topological) + adversarial_weight · adversarial`
/// (10 : 1 in the SHAPR paper).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdversarialConfig {
    /// The step from which the discriminator trains and the adversarial term counts.
    pub after: usize,
    /// Weight of the supervised loss.
    pub supervised_weight: f64,
    /// Weight of the adversarial loss.
    pub adversarial_weight: f64,
    /// Channels of the discriminator's first layer (then 2×, 4×).
    pub filters: usize,
}

impl AdversarialConfig {
    /// The SHAPR paper's weights (10 : 1), starting at step `after`.
    pub fn starting_at(after: usize) -> Self {
        Self {
            after,
            supervised_weight: 10.0,
            adversarial_weight: 1.0,
            filters: 8,
        }
    }
}

/// The SHAPR presets (SHAPR is fast already: it has no `fast` preset).
pub const PRESETS: [Preset; 3] = [Preset::Paper, Preset::Small, Preset::Tiny];

/// The SHAPR presets: the same names as DISPR's.
pub fn preset(preset: Preset) -> crate::Result<ShaprConfig> {
    let name = preset.name();
    let (grid, filters) = match preset {
        Preset::Paper => (64, 16),
        Preset::Small => (32, 16),
        Preset::Tiny => (16, 4),
        Preset::Fast => {
            return Err(
                format!("SHAPR has no preset '{name}' (it has: paper, small, tiny)").into(),
            );
        }
    };
    Ok(ShaprConfig {
        preset: name.to_string(),
        grid: [grid; 3],
        data_grid: [64, 64, 64],
        filters,
        topo_weight: 0.0,
        topo_dims: vec![0, 1, 2],
        topo_grid: 16.min(grid),
        adversarial: None,
    })
}

impl ShaprConfig {
    /// Checks that the numbers fit together; the message says which does not.
    pub fn validate(&self) -> crate::Result<()> {
        let [d, h, w] = self.grid;
        if h != w || h % 4 != 0 || h < 8 {
            return Err(format!(
                "SHAPR needs a square image grid divisible by 4 (at least 8), got {h}×{w}"
            )
            .into());
        }
        if !d.is_power_of_two() || d < 4 {
            return Err(format!(
                "SHAPR's decoder doubles z from 1: the grid depth must be a power of two ≥ 4, got {d}"
            ).into());
        }
        if self.filters == 0 || !self.filters.is_multiple_of(GROUPS) {
            return Err(format!(
                "filters must be a positive multiple of {GROUPS}, got {}",
                self.filters
            )
            .into());
        }
        if self.topo_weight < 0.0 || !self.topo_weight.is_finite() {
            return Err(format!(
                "the topological weight must be ≥ 0, got {}",
                self.topo_weight
            )
            .into());
        }
        if self.topo_dims.iter().any(|&k| k > 2) {
            return Err(format!(
                "homology dimensions are 0, 1 and 2, got {:?}",
                self.topo_dims
            )
            .into());
        }
        if let Some(a) = &self.adversarial {
            if a.filters == 0 || !a.filters.is_multiple_of(GROUPS) {
                return Err(format!(
                    "discriminator filters must be a positive multiple of {GROUPS}, got {}",
                    a.filters
                )
                .into());
            }
            if self.grid.iter().any(|&g| g < 8) {
                return Err("the discriminator needs a grid of at least 8³".into());
            }
            if !(a.supervised_weight >= 0.0 && a.adversarial_weight >= 0.0) {
                return Err("adversarial loss weights must be ≥ 0".into());
            }
        }
        if self.topo_weight > 0.0
            && (self.topo_grid == 0 || self.grid.iter().any(|g| g % self.topo_grid != 0))
        {
            return Err(format!(
                "the topological grid {} must divide the grid {:?}",
                self.topo_grid, self.grid
            )
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;

    #[test]
    fn output_has_the_grid_shape_for_every_preset() {
        let device = Device::flex();
        for name in [Preset::Tiny, Preset::Small] {
            let cfg = preset(name).unwrap();
            let net = cfg.init(&device);
            let [d, h, w] = cfg.grid;
            let out = net.forward(Tensor::zeros([2, 2, h, w], &device));
            assert_eq!(out.dims(), [2, 1, d, h, w], "{name}");
        }
        assert!(
            preset(Preset::Fast)
                .unwrap_err()
                .to_string()
                .contains("no preset 'fast'")
        );
    }
}
