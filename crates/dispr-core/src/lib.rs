//! dispr-core: everything in dispr that needs no ML framework.
//!
//! Data flow of the whole toolkit (DESIGN.md): TIFF / dataset → conditioning → sampler
//! (model) → volume → binary shape → mesh → metrics / features → report. This crate owns
//! everything but the model:
//!
//! * data: grids ([`grid`]), the TIFF format ([`tiff_io`]), datasets and their labels
//!   ([`dataset`], [`class`], [`inspect`]), cross-validation splits ([`split`]), the
//!   model's conditioning input ([`conditioning`]), atomic output ([`fsio`]) and
//!   output folders owned by one run ([`outdir`]);
//! * shapes: filters ([`filters`]), meshes ([`mesh`]), measurements ([`metrics`]), the
//!   geometric baselines ([`ellipse`], [`baseline`]), the retrieval baseline
//!   ([`nearest`]), Table 1 ([`evaluation`]), paired comparisons
//!   per cell ([`paired`]) and the calibration of sample sets ([`calibration`]);
//! * synthetic cells of all six classes ([`phantom`]);
//! * topology for SHAPR's topological loss: persistence diagrams ([`persistence`]) and
//!   their Wasserstein matching ([`wasserstein`]), the loss's targets ([`topology`]);
//! * classification: features ([`features`]) and the random forest ([`classify`]);
//! * the diffusion process's noise schedules as numbers ([`schedule`]), shared with the
//!   neural crate.

#![warn(missing_docs)]

pub mod baseline;
pub mod calibration;
pub mod class;
pub mod classify;
pub mod conditioning;
pub mod dataset;
pub mod ellipse;
pub mod error;
pub mod evaluation;
pub mod features;
pub mod filters;
pub mod fsio;
pub mod grid;
pub mod inspect;
pub mod mesh;
pub mod metrics;
pub mod nearest;
pub mod outdir;
pub mod paired;
pub mod persistence;
pub mod phantom;
pub mod sample;
pub mod schedule;
pub mod split;
pub mod tiff_io;
pub mod topology;
pub mod wasserstein;

pub use error::{Error, Result};
pub use grid::{Image, Volume};
