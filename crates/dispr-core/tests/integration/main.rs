//! dispr-core's integration tests as one test binary (one build and link, and the files'
//! tests run side by side): a module per area.

mod crosscheck;
mod persistence;
mod phantom_stats;
mod properties;
mod scale;
