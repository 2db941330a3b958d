//! The command line's tests as one test binary (one build and link instead of one per
//! file, and the files' tests run side by side): a module per area, each driving the
//! `dispr` binary as a user would.

mod common;

mod cli_data;
mod cli_intervals;
mod cli_model;
mod cli_own_cells;
mod cli_promises;
mod cli_reproduce;
mod cli_shapes;
mod cli_shards;
mod cli_synth;
