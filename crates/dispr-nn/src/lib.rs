//! dispr's neural parts on burn, and the pipeline every front end calls.
//!
//! * the conditional 3D U-Net ([`unet`]), the diffusion process ([`diffusion`]) and its
//!   samplers ([`sampler`], one file each) as separate pieces; SHAPR's settings, network
//!   and losses ([`shapr`]);
//! * a trained model's card ([`card`]): what it was trained on, its input, its level;
//! * model and training settings with their presets ([`config`]), the trained networks
//!   ready to predict ([`model`]) and their files — a run's checkpoint and the
//!   safetensors file a model is shared as ([`checkpoint`]), like the model built into
//!   dispr ([`shipped`]);
//! * training with exact resume ([`training`]) on examples made from cells ([`data`]);
//! * one cell's prediction ([`predict`]), the calibrated level of its soft samples
//!   ([`calibration`]), its calibrated 90 % intervals ([`intervals`]) and the pipeline from datasets to prediction
//!   folders and training sets ([`pipeline`]);
//! * where tensors live ([`device`]) and the crate's [`Error`].
//!
//! Numbers that need no tensors (schedules, metrics, data) live in `dispr-core`.
//!
//! Predicting a cell's 3D shape with the model built into dispr, from a 2D image and
//! mask (here a synthetic cell):
//!
//! ```
//! use dispr_core::data::class::CellClass;
//! use dispr_core::phantom;
//! use dispr_nn::device::DeviceKind;
//! use dispr_nn::pipeline::{LoadedModel, SamplerRequest};
//!
//! // The built-in model, drawing with its own sampler (the one it was calibrated with).
//! let model = LoadedModel::load_drawing(None, SamplerRequest::default(), DeviceKind::Cpu)?;
//! let cell = phantom::generate(7, 0, CellClass::Knizocyte);
//! let image = cell.image.map(|v| v as f32 / 255.0);
//! let prediction = model.predict_image(&cell.name, &image, &cell.mask, 3, 0)?;
//! let shapes = &prediction.shapes; // samples, probability, std, ensemble (64³)
//! assert_eq!(shapes.samples.len(), 3);
//! assert!(shapes.ensemble.count() > 0);
//! # Ok::<(), dispr_nn::Error>(())
//! ```
#![warn(missing_docs)]

pub mod beside;
pub mod calibration;
pub mod card;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod diffusion;
pub mod error;
pub mod intervals;
pub mod model;
pub mod noise;
pub mod pipeline;
pub mod predict;
pub mod sampler;
pub mod shapr;
pub mod shipped;
pub mod training;
pub mod unet;

pub use burn;
pub use burn::prelude::{Device, Tensor};
pub use error::{Error, Result};
