//! The command-line surface: every command, flag and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Predict the 3D shape of a cell from a single 2D microscopy image (DISPR).
///
/// Datasets are folders in the SHAPR/DISPR layout: DIR/{image,mask,obj}/NAME.tif (or
/// DIR/{train,test}/{image,mask,obj}/NAME.tif), 2D images and masks and 3D (z, y, x)
/// shapes paired by NAME. The class of each cell comes from its name
/// (A_cell_clusters…, B_keratocytes…, C_knizocytes…, D_multilobate_cells…,
/// E_acanthocytes…, -0.33_stomatocyte_I… for the SDE series) or from DIR/labels.csv.
#[derive(Debug, Parser)]
#[command(
    name = "dispr",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and split datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Measure speed and memory (prints JSON with the machine it ran on).
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// `dispr bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time all shape measurements (mesh, area, roughness, curvature) of real cells.
    ///
    /// Times one cell (median of repeats) and all cells of the dataset (in parallel over
    /// the available cores), excluding file reading. Compare with
    /// scripts/bench/reference_metrics.py (scikit-image + scipy + trimesh).
    Metrics(BenchMetricsArgs),
}

/// Flags of `dispr bench metrics`.
#[derive(Debug, Args)]
pub struct BenchMetricsArgs {
    /// Dataset with 3D shapes [default: the real sample at ../shared/data/rbc-sample].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
}

/// `dispr data …`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Check a dataset: cells per class, grid sizes, value ranges and every problem.
    ///
    /// Reads every file. Exits with status 1 when any problem is found (a file that
    /// cannot be read, a missing partner file, a wrong shape, an empty mask, …), after
    /// listing all of them, one line each.
    Info(InfoArgs),
    /// Assign every cell to a stratified cross-validation fold.
    ///
    /// Writes `name,class,fold` (CSV). Stratified by class; the same seed gives the same
    /// folds on every machine, whatever order the files are listed in.
    Folds(FoldsArgs),
}

/// Flags of `dispr data info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Dataset folder.
    pub dir: PathBuf,
    /// Print the report as JSON (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr data folds`.
#[derive(Debug, Args)]
pub struct FoldsArgs {
    /// Dataset folder.
    pub dir: PathBuf,
    /// Number of folds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub folds: u32,
    /// Seed of the random assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the CSV here (atomically) instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}
