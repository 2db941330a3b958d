//! Datasets of cells: their files and labels ([`dataset`], [`class`]), the problems a
//! scan finds ([`inspect`]), cross-validation folds ([`split`]), the model's
//! conditioning input ([`conditioning`]) and where the real sample lives ([`sample`]).

pub mod class;
pub mod conditioning;
pub mod dataset;
pub mod inspect;
pub mod sample;
pub mod split;
