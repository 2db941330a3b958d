//! dispr-nn's integration tests as one test binary: burn's generic code is compiled once
//! for all of them (a test binary per file compiled it once each, minutes apiece), and
//! the files' tests run side by side. A module per area.

mod common;

mod checkpoint_properties;
mod diffusion;
mod prior;
mod shapr;
mod training;
