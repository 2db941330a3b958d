//! Datasets of cells: their files and labels ([`dataset`], [`class`]), the problems a
//! scan finds ([`inspect`]), a cell of any crop in the model's field ([`framing`]),
//! the cells of a field of view with a label image ([`field`]), how intensities are read whatever the pixel type
//! ([`intensity`]), cross-validation folds ([`split`]), one of N parts of a prediction
//! run ([`shard`]), the model's conditioning input ([`conditioning`]), its prior shape
//! drawn from reference cells ([`prior`]) and where the real sample lives ([`sample`]).

pub mod class;
pub mod conditioning;
pub mod dataset;
pub mod field;
pub mod framing;
pub mod inspect;
pub mod intensity;
pub mod prior;
pub mod sample;
pub mod shard;
pub mod split;
