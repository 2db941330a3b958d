//! The command-line surface: every command, flag and its help text.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use dispr_core::data::shard::Shard;
use dispr_nn::config::{ModelKind, Preset};
use dispr_nn::device::DeviceKind;
use dispr_nn::sampler::SamplerKind;

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
    /// CPU threads for the network and the measurements [default: RAYON_NUM_THREADS,
    /// else one per core].
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Print only results and errors: no progress, no notes on standard error.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more on standard error: each cell's time, and progress lines in a log
    /// every 5 s (instead of 30 s).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and split datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Measure 3D shapes: volume, surface area, roughness, curvature, mesh volume.
    ///
    /// Definitions (METRICS.md): volume = voxels inside (v / max(v) > 0.5);
    /// surface_area = area of the marching-cubes mesh (one voxel of zero padding, level
    /// 0.5, Lewiner's method); roughness = voxels where the shape smoothed by a Gaussian
    /// (σ = 2 voxels, reflected borders, truncated at 4σ) and thresholded at 0.5 differs
    /// from the shape; curvature = integral mean curvature of the mesh / its area
    /// (≈ 1/r for a sphere of radius r); mesh_volume = volume enclosed by the mesh.
    /// All in voxel units.
    #[command(after_help = "Example: dispr measure rbc-sample/obj")]
    Measure(MeasureArgs),
    /// Compare predicted shapes with ground truth: relative errors, IoU and Dice.
    ///
    /// PRED and TRUTH are two files, or two folders paired by file name (TRUTH may be a
    /// dataset, whose obj/ is used). A prediction may be NAME.tif or samples NAME_0.tif,
    /// NAME_1.tif, …; relative error = |m(pred) − m(truth)| / m(truth).
    #[command(after_help = "Example: dispr metrics pred/cylinder rbc-sample")]
    Metrics(MetricsArgs),
    /// Write the surface mesh of a 3D shape as STL, PLY or OBJ (by extension).
    #[command(
        after_help = "Example: dispr mesh rbc-sample/obj/A_cell_clusters000604.tif --out cell.stl"
    )]
    Mesh(MeshArgs),
    /// Baselines that learn nothing: cylinder, ellipsoid (from the 2D mask alone) or
    /// nearest (a lookup of reference shapes).
    ///
    /// An ellipse (centre, semi-axes a ≥ b, angle) is fitted by direct least squares to
    /// the hole-filled mask outline. cylinder: the mask extruded along z over a height of
    /// (a + b)/2 voxels, centred on the middle slice; ellipsoid: semi-axes a and b in xy,
    /// rotated as the ellipse, and (a + b)/4 along z, centred at (ellipse centre, middle
    /// slice). nearest: the voxel-wise majority of the 3D shapes of the --k reference
    /// cells whose 2D masks overlap the cell's mask most (IoU; ties by name; a cell is
    /// never its own neighbour). With no --reference (or --reference equal to --data) it
    /// is cross-validated: a cell's references are the cells of the other folds of the
    /// --folds/--split-seed split (as `dispr data folds` and `dispr train --fold`).
    /// Writes OUT/NAME.tif (uint8 0/255) for every cell; nearest also OUT/neighbours.csv.
    ///
    /// Example: dispr baseline nearest --data rbc-sample --out baselines/nearest
    Baseline(BaselineArgs),
    /// Evaluate methods against ground truth: Table 1, per-cell CSV, box plots, HTML.
    ///
    /// For each method (--pred NAME=DIR) and cell of the dataset, reads DIR/NAME.tif or
    /// the samples DIR/NAME_0.tif, …; samples are pooled as in the paper and their
    /// ensemble (voxel-wise majority) is reported as "NAME ensemble". Writes
    /// table.{csv,json,md}, table_per_cell.{csv,md} (medians over cells with 95 %
    /// bootstrap intervals), cells.csv, spread.csv (several samples), one box plot PNG
    /// and SVG per measurement and index.html (one self-contained file) into the report
    /// folder.
    #[command(
        after_help = "Example: dispr evaluate --data rbc-sample --pred dispr=pred/dispr --pred cylinder=pred/cylinder --out report"
    )]
    Evaluate(EvaluateArgs),
    /// Models: the presets, a model's card, export, size calibration and intervals.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Train a DISPR diffusion model, or the SHAPR baseline (or resume a run).
    ///
    /// --model shapr trains SHAPR (one deterministic shape per cell), with --topo-weight
    /// the topological loss of the MICCAI 2022 paper. Writes RUN/checkpoint.dispr (weights, EMA weights, optimizer state, step; written
    /// atomically every --checkpoint-every steps), RUN/losses.csv and RUN/config.json.
    /// With --fold K, the cells of fold K (stratified split, as `dispr data folds`) are
    /// held out for testing. A killed run continues where it stopped with --resume.
    #[command(
        after_help = "Example: dispr train --data rbc-sample --out runs/small-f0 --preset small --fold 0"
    )]
    Train(TrainArgs),
    /// Predict 3D shapes of every cell with a trained model.
    ///
    /// Three inputs: a dataset (--data, crops of any size), a field of view with a label
    /// image (--image FIELD.tif [--labels LABELS.tif]), or one cell (IMAGE MASK). Each
    /// cell is placed in the model's 64×64 field by its mask and its prediction placed
    /// back over it (docs/intensity.md says how intensities of any pixel type are read).
    /// A field's cells are named FIELD_K after their label K; each cell's outputs are on
    /// its crop, whose origin in the field OUT/cells.csv lists with every skipped cell
    /// and the reason.
    ///
    /// Writes OUT/NAME_0.tif … (uint8 0/255 samples, ready for `dispr evaluate`),
    /// OUT/probability/NAME.tif (fraction of samples per voxel, float32),
    /// OUT/std/NAME.tif (voxel-wise standard deviation, float32), OUT/ensemble/NAME.tif
    /// (majority of the samples), OUT/mesh/NAME.stl (its surface), OUT/predict.json
    /// (settings and timings), OUT/cells.csv (each cell's samples summarised, with
    /// intervals) and OUT/index.html (the run's page: that table and a gallery row per
    /// cell, OUT/gallery/NAME.png). A cell of another pixel size than the model's (both
    /// known) is resampled to it, and its outputs mapped back to its own pixels. A SHAPR
    /// model writes one shape per cell, OUT/NAME.tif, its
    /// sigmoid output as the probability, the ensemble and mesh (no std/, no sampler
    /// flags). A model trained with a held-out fold predicts that fold's cells unless
    /// --all-cells is given. A rerun after an interruption keeps the cells the first run
    /// finished (OUT/journal.jsonl) and predicts the rest; --shard K/N splits a run
    /// over N jobs (e.g. a SLURM array, scripts/slurm/).
    ///
    /// Examples: dispr predict --data my-crops --out pred;
    /// dispr predict --image field.tif --out pred (with field_cp_masks.tif beside it);
    /// dispr predict cell.tif cell_mask.tif --out pred;
    /// dispr predict --data my-crops --out pred --shard 2/4
    Predict(PredictArgs),
    /// Join the shards of a sharded prediction (`dispr predict --shard K/N --out OUT`)
    /// into OUT: every cell's files, predict.json, cells.csv and index.html, as an
    /// unsharded run writes them (cell files byte for byte). Refuses shards that are
    /// missing, unfinished or of another run.
    ///
    /// Example: dispr merge pred
    Merge(MergeArgs),
    /// Morphological features of 3D shapes (for classification): one CSV row per shape.
    ///
    /// Columns: name, class, source (the cell a shape belongs to: itself for ground
    /// truth, the cell of a prediction), then the features defined below. With --pred,
    /// the shapes are the predictions DIR/NAME.tif or DIR/NAME_0.tif, … of every cell of
    /// --data (whose labels they take); without it, the dataset's own obj/ shapes.
    #[command(after_help = "Example: dispr features --data rbc-sample --out features.csv")]
    Features(FeaturesArgs),
    /// Random-forest classification of cells from their features, with and without
    /// augmentation by generated shapes (the paper's Fig. 5).
    ///
    /// Stratified k-fold cross-validation (every cell tested once); macro and weighted F1
    /// per fold (mean ± sd), per-class precision/recall/F1 and the confusion matrix summed
    /// over folds. With --augment, rows of that CSV (features of generated shapes, whose
    /// `source` column names the real cell they came from) of the augmented classes
    /// (default: the three smallest) join a fold's training set only when their source
    /// cell is in that training set — never a test set. Writes summary.md,
    /// classification.json, per_class.csv, confusion*.csv/png and folds.csv.
    #[command(
        after_help = "Example: dispr classify --features features.csv --augment generated.csv --out classify"
    )]
    Classify(ClassifyArgs),
    /// Run the main job on built-in defaults: synthetic cells of every class, 3D shape
    /// predictions, meshes, evaluation and an HTML report (no arguments, no network).
    ///
    /// The predictions come from the DISPR model built into dispr (models/dispr-fast),
    /// beside the cylinder and ellipsoid baselines from the mask. Writes into --out
    /// (default ./dispr-demo; a folder made by an earlier demo is reused) and prints the
    /// report's path.
    ///
    /// Example: dispr demo --out my-demo
    Demo(DemoArgs),
    /// Reproduce the paper on a dataset with 3D shapes: Table 1 and Fig. 5, one page.
    ///
    /// Five-fold cross-validation of DISPR (the shipped recipe), SHAPR, topological
    /// SHAPR, the cylinder, the ellipsoid and nearest-9 (every cell predicted by models
    /// that never saw it); Table 1 pooled, per class, per cell with bootstrap intervals
    /// and paired tests; box plots; the steps-versus-quality plot; the random forest of
    /// Fig. 5 without and with augmentation by predicted shapes; the time of every
    /// stage. Writes OUT/report/index.html (self-contained). Resumable: run the same
    /// command again after an interruption and it keeps every finished unit (a trained
    /// model, a prediction), continuing a training from its last checkpoint.
    /// --budget quick takes minutes on 2 cores (5 cells per class, tiny networks, few
    /// steps: a test of the pipeline, not of the model); full is the real study (hours;
    /// docs/reproduce.md).
    ///
    /// Example: dispr reproduce --data rbc-sample --out paper --budget quick
    Reproduce(ReproduceArgs),
    /// Make a synthetic dataset of red blood cells (all six classes) in the real layout.
    ///
    /// Each cell is a signed-distance shape model of its class (SDE shapes from
    /// spherocyte to echinocyte III with their SDE scores, acanthocytes, keratocytes,
    /// knizocytes, multilobate cells, clusters) imaged as PHANTOMS.md describes: membrane
    /// and cytoplasm stain, anisotropic point-spread function, photon and read noise.
    /// The ground truth is the hole-filled blurred stain above a threshold, elongated
    /// along z like the real segmentations. Class counts follow the full dataset
    /// (602 SDE / 69 cluster / 12 multilobate / 31 keratocyte / 23 knizocyte / 88
    /// acanthocyte), scaled to --n with at least one cell per class. A seed gives the
    /// same bytes on every machine. Writes OUT/{image,mask,obj}/NAME.tif and
    /// OUT/synth.csv (the parameters of every cell).
    #[command(after_help = "Example: dispr synth --out synthetic --n 60 --seed 1")]
    Synth(SynthArgs),
    /// Measure speed and memory (prints JSON with the machine it ran on).
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Flags of `dispr measure`.
#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// 3D TIFF files, or folders of them (a dataset's obj/ is used).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// One JSON object per volume (JSON Lines) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

/// The scale of 3D volumes, over what their TIFF metadata states.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct ScaleArgs {
    /// µm per pixel in x and y [default: the file's ImageJ/OME/resolution metadata;
    /// without it, results are in voxels].
    #[arg(long, value_name = "UM", value_parser = parse_length, allow_negative_numbers = true)]
    pub pixel_size: Option<f64>,
    /// µm between z slices [default: the file's ImageJ spacing or OME PhysicalSizeZ,
    /// else the pixel size].
    #[arg(long, value_name = "UM", value_parser = parse_length, allow_negative_numbers = true)]
    pub z_step: Option<f64>,
}

/// A length in µm within dispr's range (exit 2 otherwise).
pub fn parse_length(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of micrometres"))?;
    dispr_core::scale::check_length("the", value)
}

/// Flags of `dispr metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Predicted shape file, or folder of predictions.
    pub pred: PathBuf,
    /// Ground-truth shape file, or folder (or dataset) of them.
    pub truth: PathBuf,
    /// One JSON object per prediction (JSON Lines) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr mesh`.
#[derive(Debug, Args)]
pub struct MeshArgs {
    /// 3D TIFF (any pixel type; binarized at half its maximum).
    pub volume: PathBuf,
    /// Output mesh: .stl (binary), .ply or .obj; in µm when the scale is known.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

/// Flags of `dispr baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Which baseline.
    #[arg(value_parser = ["cylinder", "ellipsoid", "nearest"])]
    pub kind: String,
    /// Dataset (image/ and mask/ are enough).
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder for NAME.tif shapes.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of z slices of the output [default: the dataset's obj depth, else 64]
    /// (cylinder, ellipsoid; at most 4096, as for any stack dispr reads).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=dispr_core::io::tiff::MAX_PAGES as i64))]
    pub depth: Option<u16>,
    /// nearest: the dataset with 3D shapes to look up [default: --data, cross-validated
    /// over its folds].
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// nearest: number of neighbours whose shapes vote.
    #[arg(long, default_value_t = dispr_core::baseline::nearest::DEFAULT_K as u32, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,
    /// nearest: write the N nearest shapes themselves as samples NAME_0.tif …
    /// NAME_{N-1}.tif instead of the majority of --k (a retrieval distribution, to
    /// compare calibration with); N ≤ --k.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub samples: Option<u32>,
    /// nearest, cross-validated: number of folds of the split.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub folds: u32,
    /// nearest, cross-validated: seed of the split.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
}

/// Flags of `dispr evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Dataset with ground-truth shapes (obj/).
    #[arg(long)]
    pub data: PathBuf,
    /// A method's predictions as NAME=DIR (or DIR, named after the folder); repeat for
    /// several methods. One NAME given several times pools its folders, e.g. one per
    /// cross-validation fold (each cell must be in exactly one of them).
    #[arg(long = "pred", required = true, value_name = "NAME=DIR")]
    pub preds: Vec<String>,
    /// Evaluate only the test cells of this fold (0-based; the split of `dispr data
    /// folds` and `dispr train --fold`); repeat it to pool several folds (`--fold 0
    /// --fold 1`: their predictions given once per fold, as for all five).
    #[arg(long)]
    pub fold: Vec<u32>,
    /// Number of folds of that split.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub folds: u32,
    /// Seed of that split.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Evaluate only these cells (comma-separated names), e.g. those a `dispr predict
    /// --cells` run predicted; with --fold, those of them in the fold.
    #[arg(long, value_delimiter = ',')]
    pub cells: Vec<String>,
    /// Methods that are baselines: every other method is compared with each of them
    /// per cell (paired.md) [default: the methods named cylinder, ellipsoid or nearest…].
    #[arg(long = "baseline", value_name = "NAME")]
    pub baselines: Vec<String>,
    /// Report folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Print a JSON summary on standard output instead of text (for scripts).
    #[arg(long)]
    pub json: bool,
}

/// `dispr bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time `dispr synth`: generating and writing N synthetic cells.
    #[command(after_help = "Example: dispr bench synth --n 100")]
    Synth(BenchSynthArgs),
    /// Time all shape measurements (mesh, area, roughness, curvature) of real cells.
    ///
    /// Times one cell (median of repeats) and all cells of the dataset (in parallel over
    /// the available cores), excluding file reading. Compare with
    /// scripts/bench/reference_metrics.py (scikit-image + scipy + trimesh).
    #[command(after_help = "Example: dispr bench metrics --data rbc-sample")]
    Metrics(BenchMetricsArgs),
    /// Time the network: one forward pass and one training step per preset, with peak
    /// memory, and optionally a full prediction of one cell.
    #[command(after_help = "Example: dispr bench model --paper-protocol")]
    Model(BenchModelArgs),
    /// Time whole predictions of real cells (loading, sampling, writing every file) per
    /// device: cells per second of one worker (this process, with its --threads), and
    /// the wall time that projects for a screen of --total cells on 1, 4 and 64 such
    /// workers (e.g. SLURM array tasks, each with its own cores or GPU; workers that
    /// share cores do not add up).
    #[command(after_help = "Example: dispr bench throughput --cells 8 --devices cpu,wgpu")]
    Throughput(BenchThroughputArgs),
}

/// Flags of `dispr bench throughput`.
#[derive(Debug, Args)]
pub struct BenchThroughputArgs {
    /// Trained model [default: the built-in model].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Dataset of cells [default: the real sample at ../shared/data/rbc-sample].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Cells timed per device (the first by name), after one warm-up cell.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub cells: u32,
    /// Devices to time (comma-separated): cpu, and cuda/wgpu in builds with them.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu")]
    pub devices: Vec<DeviceKind>,
    /// The screen the projection is for, in cells.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub total: u64,
    /// Worker counts of the projection (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,4,64", value_parser = clap::value_parser!(u32).range(1..))]
    pub workers: Vec<u32>,
    #[command(flatten)]
    pub draw: DrawArgs,
}

/// Flags of `dispr bench synth`.
#[derive(Debug, Args)]
pub struct BenchSynthArgs {
    /// Number of cells.
    #[arg(long, default_value_t = 825)]
    pub n: u32,
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
    #[command(after_help = "Example: dispr data info rbc-sample")]
    Info(InfoArgs),
    /// Draw a gallery PNG: per cell its image, mask and three projections of its shape.
    #[command(after_help = "Example: dispr data preview rbc-sample --out gallery.png")]
    Preview(PreviewArgs),
    /// Assign every cell to a stratified cross-validation fold.
    ///
    /// Writes `name,class,fold` (CSV). Stratified by class; the same seed gives the same
    /// folds on every machine, whatever order the files are listed in.
    #[command(after_help = "Example: dispr data folds rbc-sample --folds 5 --out folds.csv")]
    Folds(FoldsArgs),
}

/// The dataset folder of a `dispr data` command: given as it is (`dispr data info DIR`)
/// or, as every other command takes it, with `--data DIR`.
#[derive(Debug, Args)]
pub struct DatasetDir {
    /// Dataset folder (image/, mask/ and obj/ inside).
    #[arg(value_name = "DIR", required_unless_present = "data")]
    dir: Option<PathBuf>,
    /// The dataset folder, as other commands take it.
    #[arg(long, value_name = "DIR", conflicts_with = "dir")]
    data: Option<PathBuf>,
}

impl DatasetDir {
    /// The folder, however it was given.
    pub fn path(&self) -> &Path {
        self.dir
            .as_deref()
            .or(self.data.as_deref())
            .expect("clap requires DIR or --data")
    }
}

/// Flags of `dispr data info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub dir: DatasetDir,
    /// Print the report as JSON (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr data preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub dir: DatasetDir,
    /// Output PNG (NAME.png).
    #[arg(long, value_parser = parse_png_path)]
    pub out: PathBuf,
    /// Cells shown per class (the first ones by name) [default: 2, or 12 for a dataset
    /// without classes].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub per_class: Option<u32>,
}

/// A path for a PNG file: its name must end in `.png`, as the file will be one.
fn parse_png_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("png") => Ok(path),
        _ => Err(format!(
            "'{text}': the gallery is a PNG image: name it NAME.png"
        )),
    }
}

/// Flags of `dispr features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Dataset (labels, and shapes unless --pred).
    #[arg(long)]
    pub data: PathBuf,
    /// Folder of predicted shapes to describe instead of the dataset's obj/.
    #[arg(long)]
    pub pred: Option<PathBuf>,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

/// Flags of `dispr classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Features of the real cells (`dispr features`).
    #[arg(long)]
    pub features: PathBuf,
    /// Features of generated shapes to add to training sets (`dispr features --pred`).
    #[arg(long)]
    pub augment: Option<PathBuf>,
    /// Classes to augment (comma-separated) [default: the three smallest].
    #[arg(long, value_delimiter = ',')]
    pub augment_classes: Vec<String>,
    /// Number of folds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub folds: u32,
    /// Seed of the folds and the forest.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Trees in the forest.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..))]
    pub trees: u16,
    /// Maximum tree depth.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub depth: u16,
    /// Report folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Print a JSON summary on standard output instead of text (for scripts).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(long, default_value = "dispr-demo")]
    pub out: PathBuf,
    /// Synthetic cells per class.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub per_class: u32,
    /// Seed of the synthetic cells (and of the sampling).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Shapes the model samples per cell.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub samples: u32,
    /// Network evaluations per sample, with the built-in model's own sampler [default:
    /// its own, 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub steps: Option<u32>,
    /// Device of the model: cpu, or cuda/wgpu in builds with those features.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Flags of `dispr reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Dataset with images, masks, 3D shapes (obj/) and classes (labels.csv).
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder (new, or the folder of an interrupted run of the same command).
    #[arg(long)]
    pub out: PathBuf,
    /// quick (minutes; a test of the pipeline) or full (the real study; hours).
    #[arg(long, value_enum, default_value_t = crate::reproduce::Budget::Full)]
    pub budget: crate::reproduce::Budget,
    /// Units run at once where independent (trainings, predictions), each on its share
    /// of the threads; on 2 cores, 2 trains about 1.5× faster than 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
    /// Device of the networks: cpu, or cuda/wgpu in builds with those features.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Flags of `dispr synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output folder (created; must not already hold a dataset unless --overwrite).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of cells.
    #[arg(long, default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub n: u32,
    /// Seed: the same seed gives the same dataset, byte for byte.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only these classes (comma-separated: sde, cluster, multilobate, keratocyte,
    /// knizocyte, acanthocyte).
    #[arg(long, value_delimiter = ',')]
    pub classes: Vec<String>,
    /// Also write OUT/preview.png, a gallery of two cells per class.
    #[arg(long)]
    pub preview: bool,
    /// Replace the files of an existing dataset in OUT.
    #[arg(long)]
    pub overwrite: bool,
}

/// Flags of `dispr data folds`.
#[derive(Debug, Args)]
pub struct FoldsArgs {
    #[command(flatten)]
    pub dir: DatasetDir,
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

/// `dispr model …`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Settings and parameter count of a preset (all presets without --preset).
    #[command(after_help = "Example: dispr model info --model builtin")]
    Info(ModelInfoArgs),
    /// Write a trained model for sharing: its EMA weights only (no optimizer state), and
    /// its SHA-256 beside it as FILE.sha256 (how models/dispr-fast.safetensors is made).
    #[command(
        after_help = "Example: dispr model export --model runs/small-f0 --out small.safetensors"
    )]
    Export(ModelExportArgs),
    /// Learn the size correction of a DISPR model's samples on its own training cells
    /// (or, with --all-cells, on your cells with 3D shapes): the scale (default) by which each sample is enlarged about its centroid, or the
    /// threshold level, at which their median volume matches the truth's
    /// (docs/accuracy.md). Writes the calibration beside the model file
    /// (RUN/checkpoint.dispr.calibration.json); `dispr predict` uses it from then on,
    /// draws with the sampler it was learnt with (the model's own: its present
    /// calibration's, else DDIM 10 η 0, unless flags say otherwise) and records it in
    /// predict.json.
    #[command(
        after_help = "Example: dispr model calibrate --model runs/small-f0 --data rbc-sample"
    )]
    Calibrate(ModelCalibrateArgs),
    /// Fit the 90 % interval `dispr predict` reports for each cell and measure, on
    /// held-out predictions of the model's recipe (e.g. the five folds of `dispr
    /// reproduce`): split-conformal, its coverage measured fold by fold on folds it was
    /// not fitted on. Writes it beside the model file (FILE.intervals.json); `dispr
    /// predict` then reports lo90/hi90 in cells.csv and says so.
    #[command(
        after_help = "Example: dispr model intervals --model runs/all/checkpoint.dispr --data rbc-sample --pred cv/fold0 --pred cv/fold1 --pred cv/fold2 --pred cv/fold3 --pred cv/fold4"
    )]
    Intervals(ModelIntervalsArgs),
}

/// Flags of `dispr model intervals`.
#[derive(Debug, Args)]
pub struct ModelIntervalsArgs {
    /// The model the intervals are for: run folder or checkpoint file.
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset the held-out cells come from, with their 3D shapes (obj/).
    #[arg(long)]
    pub data: PathBuf,
    /// A `dispr predict` folder of held-out cells, predicted by a model of the same
    /// preset that never trained on them; once per fold (at least two, to measure the
    /// coverage).
    #[arg(long = "pred", required = true, value_name = "DIR")]
    pub preds: Vec<PathBuf>,
}

/// How a DISPR model samples (`dispr predict`, `dispr model calibrate`): each flag given
/// replaces that setting of the model's own sampler, the one its size calibration was
/// learnt with (its scale and intervals hold for that draw), else DDIM 10 steps η 0.
/// `dispr model calibrate` starts from the same, and the sampler it calibrates with
/// becomes the model's own.
#[derive(Debug, Args, Clone, Copy)]
pub struct SamplerArgs {
    /// Sampler: ddpm (ancestral, the paper), ddim, or dpm++2m (DPM-Solver++(2M))
    /// [default: the model's own, else ddim, which measured best at 10 steps
    /// (docs/fast.md)].
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerKind>,
    /// Network evaluations (respaced steps; the paper: ddpm with 1000) [default: the
    /// model's own sampler's, else 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub steps: Option<u32>,
    /// DDIM's η (0 = deterministic given the start noise; refused for another sampler)
    /// [default: the model's own sampler's, else 0].
    #[arg(long, value_parser = parse_eta)]
    pub eta: Option<f64>,
    /// Begin the walk part-way, at this fraction of its steps, from the model's prior
    /// shape (e.g. SHAPR's) noised to that step instead of from pure noise (SDEdit): in
    /// (0, 1], 1 = from pure noise; only for a model with a prior channel [default: the
    /// model's own sampler's, else 1].
    #[arg(long, value_name = "FRACTION", value_parser = parse_from_prior)]
    pub from_prior: Option<f64>,
}

/// DDIM's η: a number in [0, 1].
fn parse_eta(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(eta) if (0.0..=1.0).contains(&eta) => Ok(eta),
        _ => Err(format!("η must be a number in [0, 1], got '{text}'")),
    }
}

/// The fraction of the walk begun from the prior shape: a number in (0, 1].
fn parse_from_prior(text: &str) -> Result<f64, String> {
    let fraction: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a fraction in (0, 1]"))?;
    dispr_nn::sampler::begin_fraction(fraction).map(|_| fraction)
}

impl SamplerArgs {
    /// What these flags ask for; the model's own sampler gives the rest.
    pub fn request(&self) -> dispr_nn::pipeline::SamplerRequest {
        dispr_nn::pipeline::SamplerRequest {
            kind: self.sampler,
            steps: self.steps.map(|s| s as usize),
            eta: self.eta,
            from_prior: self.from_prior,
        }
    }
}

/// How many samples of each cell to draw, how, and from which seed (`dispr predict`,
/// `dispr model calibrate`).
#[derive(Debug, Args, Clone, Copy)]
pub struct DrawArgs {
    /// Samples per cell.
    #[arg(long, default_value_t = DEFAULT_SAMPLES, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub samples: u32,
    #[command(flatten)]
    pub sampling: SamplerArgs,
    /// Sampling seed (mixed with each cell's name).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Samples per cell that `dispr predict` draws unless told otherwise.
pub const DEFAULT_SAMPLES: u32 = 5;

/// Flags of `dispr model calibrate`.
#[derive(Debug, Args)]
pub struct ModelCalibrateArgs {
    /// The trained DISPR model: run folder or checkpoint file.
    #[arg(long)]
    pub model: PathBuf,
    /// The dataset it was trained on (with obj/): calibrated on its training cells (on
    /// any of its cells with --all-cells).
    #[arg(long)]
    pub data: PathBuf,
    /// At most this many cells, spread evenly over them by name.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(5..=10_000))]
    pub cells: u32,
    /// Learn on every cell of --data with a 3D shape, not only those the model trained
    /// on: your own cells with 3D truth, which the model never saw (the size correction
    /// then belongs to cells like them). Calibrate a copy of a shared model file: the
    /// calibration is written beside the file.
    #[arg(long)]
    pub all_cells: bool,
    /// What to learn: `scale` enlarges each sample about its centroid and keeps its
    /// surface (it holds the cells' soft samples in memory, about 1 MB per sample at
    /// 64³); `level` lowers the threshold, which lets noisy fringes through.
    #[arg(long, value_enum, default_value_t = CalibrateBy::Scale)]
    pub by: CalibrateBy,
    /// For a model conditioned on given prior shapes: the folder of the training cells'
    /// shapes, cross-fitted [default: the one it was trained with; an exported model
    /// has none, and its SHAPR trained on these cells, so it needs the folder].
    #[arg(long, value_name = "DIR")]
    pub prior_shapes: Option<PathBuf>,
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Device: cpu, or cuda/wgpu in builds with those features.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// What `dispr model calibrate` learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalibrateBy {
    /// Enlarge each sample about its centroid by a factor.
    Scale,
    /// Lower the threshold of the soft samples.
    Level,
}

impl From<CalibrateBy> for dispr_core::size_correction::SizeFit {
    fn from(by: CalibrateBy) -> Self {
        match by {
            CalibrateBy::Scale => Self::Scale,
            CalibrateBy::Level => Self::Level,
        }
    }
}

/// Flags of `dispr model export`.
#[derive(Debug, Args)]
pub struct ModelExportArgs {
    /// The trained model: run folder or checkpoint file.
    #[arg(long)]
    pub model: PathBuf,
    /// The file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// For a model conditioned on given prior shapes: the SHAPR model (run folder or
    /// file) whose prediction of each cell becomes its prior, carried in the file, so
    /// that prediction needs no --prior-shapes. It must have trained on none of the
    /// cells the model holds out.
    #[arg(long, value_name = "SHAPR")]
    pub prior_model: Option<PathBuf>,
}

/// Flags of `dispr model info`.
#[derive(Debug, Args)]
pub struct ModelInfoArgs {
    /// Preset.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// A trained model (run folder or checkpoint file, or `builtin` for the model that
    /// ships inside dispr) instead of a preset: also prints what it was trained on, for
    /// how long, and its SHA-256.
    #[arg(long, conflicts_with = "preset")]
    pub model: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Dataset folder with obj/, image/, mask/.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder (created).
    #[arg(long)]
    pub out: PathBuf,
    /// Which model: dispr (the diffusion model) or shapr (the deterministic baseline)
    /// [default: dispr; when resuming, the run's].
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// Model preset: paper (the paper's U-Net at 64³, for GPUs), small (CPU-sized, 32³),
    /// fast (the shipped CPU-fast model, DISPR only), tiny (tests) [default: small; when
    /// resuming, the run's].
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// SHAPR only: weight λ of the topological loss (the MICCAI 2022 paper: 0.1).
    #[arg(long)]
    pub topo_weight: Option<f64>,
    /// SHAPR only: homology dimensions the topological loss compares, e.g. 0,1,2.
    #[arg(long, value_delimiter = ',')]
    pub topo_dims: Option<Vec<usize>>,
    /// SHAPR only: adversarial fine-tuning with a 3D discriminator from this step on
    /// (generator loss 10 × supervised + 1 × adversarial, as the SHAPR paper).
    #[arg(long)]
    pub adversarial_after: Option<usize>,
    /// DISPR only: condition the network on a prior shape, the share of the K training
    /// cells whose masks overlap the cell's most that hold each voxel (the soft nearest-K
    /// baseline); the model file then carries those cells' masks and working-grid shapes.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub prior_k: Option<u64>,
    /// DISPR only: condition the network on a prior shape given with every cell, e.g.
    /// SHAPR's prediction: a folder of NAME.tif shapes for every training cell (those of
    /// --extra-data too, whose names must then differ from the main cells'), from a
    /// model that never saw the cell (cross-fitted); `dispr predict --prior-shapes` gives
    /// the same for the cells to predict.
    #[arg(long, value_name = "DIR", conflicts_with = "prior_k")]
    pub prior_shapes: Option<PathBuf>,
    /// Hold out this fold for testing (0-based), or `none` to train on every cell (as
    /// when the flag is left out) [default: none].
    #[arg(long, value_name = "K|none", value_parser = parse_held_out)]
    pub fold: Option<HeldOut>,
    /// Number of folds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
    pub folds: u32,
    /// Seed of the fold split (as `dispr data folds --seed`).
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Further training data (repeatable), e.g. synthetic cells from `dispr synth`: all
    /// its cells are trained on in every fold, none is held out.
    #[arg(long)]
    pub extra_data: Vec<PathBuf>,
    /// Total optimisation steps [default: the preset's].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub steps: Option<u64>,
    /// Cells per step [default: the preset's; at most 64].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub batch: Option<u64>,
    /// Learning rate [default: the preset's].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of the weights, batches and noise.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Checkpoint every N steps.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// No random flips/rotations.
    #[arg(long)]
    pub no_augment: bool,
    /// Continue the run in --out from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Replace an existing run in --out instead of refusing.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Device: cpu, or cuda/wgpu in builds with those features.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Which cells `dispr train --fold` holds out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldOut {
    /// Train on every cell (`--fold none`).
    Nothing,
    /// Hold out fold K of the split (`--fold K`).
    Fold(u32),
}

impl HeldOut {
    /// The held-out fold, if any.
    pub fn fold(self) -> Option<u32> {
        match self {
            HeldOut::Nothing => None,
            HeldOut::Fold(k) => Some(k),
        }
    }
}

fn parse_held_out(text: &str) -> Result<HeldOut, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(HeldOut::Nothing);
    }
    text.parse()
        .map(HeldOut::Fold)
        .map_err(|_| format!("expected a fold number (0, 1, ...) or none, got '{text}'"))
}

/// Flags of `dispr predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Trained model: run folder or checkpoint file [default: the built-in `fast` model,
    /// models/dispr-fast.safetensors].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// One cell: its image and its binary mask, of any size (`dispr predict IMAGE MASK
    /// --out DIR`).
    #[arg(num_args = 2, value_names = ["IMAGE", "MASK"], conflicts_with_all = ["data", "image", "shard"])]
    pub cell: Vec<PathBuf>,
    /// Dataset folder with image/ and mask/ (crops of any size).
    #[arg(long, required_unless_present_any = ["image", "cell"], conflicts_with = "image")]
    pub data: Option<PathBuf>,
    /// A field of view with many cells (with --labels, or its cellpose NAME_cp_masks.tif
    /// beside it): every labelled cell not cut by the border is predicted (or those
    /// --cells names).
    #[arg(long, conflicts_with = "shard")]
    pub image: Option<PathBuf>,
    /// The channel to read of a multi-channel image (IMAGE or --image: Fiji's hyperstack
    /// of channels, tifffile's CYX), 0-based: Fiji's C=1 is 0 [default: the image must
    /// be a single 2D image].
    #[arg(long, value_name = "K", conflicts_with = "data")]
    pub channel: Option<usize>,
    /// The label image of --image: 0 background, k for cell k (cellpose, StarDist). With
    /// --data or IMAGE MASK each cell has its own mask, so --labels goes with --image only.
    #[arg(long, requires = "image", conflicts_with_all = ["data", "cell"])]
    pub labels: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// µm per pixel of the input images [default: their ImageJ/OME/resolution
    /// metadata]. Outputs then carry the scale (ImageJ metadata, cubic voxels of this
    /// size) and cells.csv is in µm; without it, in voxels.
    #[arg(long, value_name = "UM", value_parser = parse_length, allow_negative_numbers = true)]
    pub pixel_size: Option<f64>,
    /// Shrink a cell larger than the model's field by the smallest whole factor k that
    /// makes it fit (mean of k × k pixels), and enlarge its outputs back k times in x, y
    /// and z [default: such a cell is refused, or skipped in a field].
    #[arg(long)]
    pub downscale: bool,
    /// For a model conditioned on given prior shapes (`dispr train --prior-shapes`): the
    /// folder of every cell's shape, NAME.tif (e.g. SHAPR's predictions of them).
    #[arg(long, value_name = "DIR")]
    pub prior_shapes: Option<PathBuf>,
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Predict every cell, even those the model trained on.
    #[arg(long)]
    pub all_cells: bool,
    /// Predict only these cells (comma-separated): names of --data's cells, or labels of
    /// the --image field's cells (`5` or its name, `FIELD_5`).
    #[arg(long, value_delimiter = ',', conflicts_with = "cell")]
    pub cells: Vec<String>,
    /// Predict only shard K of N of the cells (with --data): the cells sorted by name,
    /// dealt out in turn, into OUT/shard-K-of-N/; `dispr merge OUT` joins the N shards.
    /// Each cell's prediction is the same in any shard (seeded by its name).
    #[arg(long, value_name = "K/N", requires = "data")]
    pub shard: Option<Shard>,
    /// Device: cpu, or cuda/wgpu in builds with those features.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Print a JSON summary on standard output instead of text (for scripts).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The --out folder of the sharded run (holding shard-1-of-N/ … shard-N-of-N/).
    pub out: PathBuf,
    /// The run's dataset, for the page's gallery [default: the one its shards name].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print a JSON summary on standard output instead of text (for scripts).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `dispr bench model`.
#[derive(Debug, Args)]
pub struct BenchModelArgs {
    /// Models to time (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "dispr,shapr")]
    pub models: Vec<ModelKind>,
    /// Presets to time (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "tiny,small,paper"
    )]
    pub presets: Vec<Preset>,
    /// Batch size of the timed passes (at most 64).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub batch: u32,
    /// Timed repetitions (after one warm-up).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Skip the training step (e.g. for the paper preset on a small machine).
    #[arg(long)]
    pub no_train: bool,
    /// Also time a full prediction of one cell: SAMPLES samples (one batch) with this
    /// many network evaluations of --sampler.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..))]
    pub predict_steps: Option<u32>,
    /// Sampler of that prediction: ddpm, ddim or dpm++2m.
    #[arg(long, value_enum, default_value_t = SamplerKind::Ddim)]
    pub sampler: SamplerKind,
    /// Samples of that prediction.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub samples: u32,
    /// Model configurations to time besides the presets: JSON files holding a DISPR
    /// model config (as in a checkpoint header or `dispr model info --json`), e.g. the
    /// candidates in scripts/bench/fast-candidates/.
    #[arg(long)]
    pub config: Vec<PathBuf>,
    /// Also time one network evaluation of the `paper` preset on a batch of SAMPLES and
    /// report, for each timed prediction, the speed-up over the paper's protocol (1000
    /// ancestral steps on that batch), computed from that measured time.
    #[arg(long)]
    pub paper_protocol: bool,
    /// Also time one cell's full prediction by a trained model (run folder, checkpoint
    /// file, or `builtin`) as `dispr predict` makes it: the prior shape its file carries
    /// (e.g. its SHAPR model's prediction of the cell), SAMPLES samples with its own
    /// sampler (at --predict-steps when given) and its size correction. The cell is a
    /// disc. The --models × --presets rows are timed too.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Device: cpu, or cuda/wgpu in builds with those features.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}
