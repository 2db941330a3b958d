//! The trained networks, ready to predict: a DISPR [`Model`] (U-Net and diffusion
//! settings) and a [`ShaprModel`], each loaded from a checkpoint's EMA weights.

use std::path::Path;

use burn::prelude::*;

use crate::checkpoint::{self, Checkpoint, load_weights};
use crate::config::{ModelConfig, Network};
use crate::shapr::{Shapr, ShaprConfig};
use crate::unet::UNet;

/// The network and the diffusion settings, ready to train or sample.
#[derive(Debug)]
pub struct Model {
    /// Settings.
    pub config: ModelConfig,
    /// The network.
    pub net: UNet,
}

/// Loads a model from a checkpoint file or run folder with `from_checkpoint`.
fn load_file<T>(
    path: &Path,
    from_checkpoint: impl FnOnce(&Checkpoint, &Path) -> Result<T, dispr_core::error::Error>,
) -> Result<T, dispr_core::error::Error> {
    let file = checkpoint::resolve(path);
    from_checkpoint(&Checkpoint::load(&file)?, &file)
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
        let net = crate::device::seeded_init(seed, device, |d| config.unet.init(d));
        Self { config, net }
    }

    /// Loads the EMA weights (the ones to sample from) of a checkpoint file or run folder.
    pub fn load(path: &Path, device: &Device) -> Result<Self, dispr_core::error::Error> {
        load_file(path, |c, file| Self::from_checkpoint(c, file, device))
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
        load_file(path, |c, file| Self::from_checkpoint(c, file, device))
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
