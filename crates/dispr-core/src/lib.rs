//! dispr-core: everything in dispr that needs no ML framework.
//!
//! Data flow of the whole toolkit (DESIGN.md): TIFF / dataset → conditioning → sampler
//! (model) → volume → binary shape → mesh → metrics / features → report. This crate owns
//! everything but the model, in folders that show its parts:
//!
//! * [`grid`]: the 2D images and 3D volumes everything works on;
//! * [`io`]: the TIFF format, atomic writes, output folders owned by one run and the
//!   layout of a prediction folder ([`io::prediction_dir`]);
//! * [`data`]: datasets of cells and their labels, the problems a scan finds,
//!   cross-validation folds and the model's conditioning input;
//! * [`shape`]: filters, meshes, the measurements of Table 1 and ellipse fits;
//! * [`baseline`]: shapes without learning — cylinder and ellipsoid from the mask, and
//!   the retrieval of similar training cells ([`baseline::nearest`]);
//! * [`experiment`]: Table 1, paired per-cell comparisons, calibration of sample sets,
//!   and the classification experiment (features, random forest); a whole evaluation of
//!   several methods and the tables it writes ([`experiment::study`]);
//! * [`topology`]: SHAPR's topological loss — persistence diagrams and their matching;
//! * [`phantom`]: synthetic cells of all six classes;
//! * [`scale`]: pixel and voxel sizes in µm, where they were read, and the units of a
//!   table;
//! * [`schedule`]: the diffusion process's noise schedules as numbers, shared with the
//!   neural crate; [`text`]: counts in words for messages.
//!
//! Every failure is an [`Error`] naming the file it is about (or the setting at fault),
//! with the I/O or TIFF error underneath kept as its source.
//!
//! A synthetic cell's true 3D shape against the cylinder guessed from its 2D mask, with
//! the paper's measures:
//!
//! ```
//! use dispr_core::baseline::{Baseline, predict};
//! use dispr_core::data::class::CellClass;
//! use dispr_core::phantom;
//! use dispr_core::shape::metrics::{compare, measure};
//!
//! let cell = phantom::generate(7, 0, CellClass::Knizocyte);
//! let cylinder = predict(Baseline::Cylinder, &cell.mask, 64).expect("a cell in the mask");
//! let errors = compare(&cylinder, &measure(&cylinder), &cell.obj, &measure(&cell.obj));
//! assert!(errors.iou > 0.2 && errors.volume.unwrap() < 1.0);
//! ```

#![warn(missing_docs)]

pub mod baseline;
pub mod data;
pub mod error;
pub mod experiment;
pub mod grid;
pub mod io;
pub mod phantom;
pub mod scale;
pub mod schedule;
pub mod shape;
pub mod size_correction;
pub mod text;
pub mod topology;

pub use error::{Error, Result};
pub use grid::{Image, Volume};
