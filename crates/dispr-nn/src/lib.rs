//! dispr's neural parts on burn: the conditional 3D U-Net ([`unet`]), the diffusion
//! process ([`diffusion`]) and its samplers ([`sampler`]) as separate pieces, training
//! with checkpoints and exact resume ([`train`], [`checkpoint`]), and the prediction
//! pipeline ([`predict`]), and the trained model that ships inside the binary
//! ([`shipped`]). Numbers that need no tensors (schedules, metrics, data) live in
//! `dispr-core`.
#![warn(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod diffusion;
pub mod noise;
pub mod predict;
pub mod sampler;
pub mod shapr;
pub mod shipped;
pub mod train;
pub mod unet;

pub use burn;
pub use burn::prelude::{Device, Tensor};
