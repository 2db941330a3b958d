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
    /// Measure 3D shapes: volume, surface area, roughness, curvature, mesh volume.
    ///
    /// Definitions (METRICS.md): volume = voxels inside (v / max(v) > 0.5);
    /// surface_area = area of the marching-cubes mesh (one voxel of zero padding, level
    /// 0.5, Lewiner's method); roughness = voxels where the shape smoothed by a Gaussian
    /// (σ = 2 voxels, reflected borders, truncated at 4σ) and thresholded at 0.5 differs
    /// from the shape; curvature = integral mean curvature of the mesh / its area
    /// (≈ 1/r for a sphere of radius r); mesh_volume = volume enclosed by the mesh.
    /// All in voxel units.
    Measure(MeasureArgs),
    /// Compare predicted shapes with ground truth: relative errors, IoU and Dice.
    ///
    /// PRED and TRUTH are two files, or two folders paired by file name (TRUTH may be a
    /// dataset, whose obj/ is used). A prediction may be NAME.tif or samples NAME_0.tif,
    /// NAME_1.tif, …; relative error = |m(pred) − m(truth)| / m(truth).
    Metrics(MetricsArgs),
    /// Write the surface mesh of a 3D shape as STL, PLY or OBJ (by extension).
    Mesh(MeshArgs),
    /// Geometric baselines from the 2D mask alone: cylinder or ellipsoid.
    ///
    /// An ellipse (centre, semi-axes a ≥ b, angle) is fitted by direct least squares to
    /// the hole-filled mask outline. cylinder: the mask extruded along z over a height of
    /// (a + b)/2 voxels, centred on the middle slice; ellipsoid: semi-axes a and b in xy,
    /// rotated as the ellipse, and (a + b)/4 along z, centred at (ellipse centre, middle
    /// slice). Writes OUT/NAME.tif (uint8 0/255) for every cell.
    Baseline(BaselineArgs),
    /// Evaluate methods against ground truth: Table 1, per-cell CSV, box plots, HTML.
    ///
    /// For each method (--pred NAME=DIR) and cell of the dataset, reads DIR/NAME.tif or
    /// the samples DIR/NAME_0.tif, …; samples are pooled as in the paper and their
    /// ensemble (voxel-wise majority) is reported as "NAME ensemble". Writes
    /// table.{csv,json,md}, cells.csv, spread.csv (several samples), one box plot PNG per
    /// measurement and index.html into the report folder.
    Evaluate(EvaluateArgs),
    /// Morphological features of 3D shapes (for classification): one CSV row per shape.
    ///
    /// Columns: name, class, source (the cell a shape belongs to: itself for ground
    /// truth, the cell of a prediction), then the features defined below. With --pred,
    /// the shapes are the predictions DIR/NAME.tif or DIR/NAME_0.tif, … of every cell of
    /// --data (whose labels they take); without it, the dataset's own obj/ shapes.
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
    Classify(ClassifyArgs),
    /// Run the main job on built-in defaults: synthetic cells of every class, 3D shape
    /// predictions, meshes, evaluation and an HTML report (no arguments, no network).
    ///
    /// Until the trained DISPR model ships, the predictions come from the two geometric
    /// baselines (cylinder and ellipsoid from the mask). Writes into --out (default
    /// ./dispr-demo; a folder made by an earlier demo is reused) and prints the report's
    /// path.
    Demo(DemoArgs),
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
    /// Output mesh: .stl (binary), .ply or .obj.
    #[arg(long)]
    pub out: PathBuf,
}

/// Flags of `dispr baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Which baseline.
    #[arg(value_parser = ["cylinder", "ellipsoid"])]
    pub kind: String,
    /// Dataset (image/ and mask/ are enough).
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder for NAME.tif shapes.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of z slices of the output [default: the dataset's obj depth, else 64].
    #[arg(long)]
    pub depth: Option<usize>,
}

/// Flags of `dispr evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Dataset with ground-truth shapes (obj/).
    #[arg(long)]
    pub data: PathBuf,
    /// A method's predictions as NAME=DIR (or DIR, named after the folder); repeat for
    /// several methods.
    #[arg(long = "pred", required = true, value_name = "NAME=DIR")]
    pub preds: Vec<String>,
    /// Report folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// `dispr bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time `dispr synth`: generating and writing N synthetic cells.
    Synth(BenchSynthArgs),
    /// Time all shape measurements (mesh, area, roughness, curvature) of real cells.
    ///
    /// Times one cell (median of repeats) and all cells of the dataset (in parallel over
    /// the available cores), excluding file reading. Compare with
    /// scripts/bench/reference_metrics.py (scikit-image + scipy + trimesh).
    Metrics(BenchMetricsArgs),
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
    Info(InfoArgs),
    /// Draw a gallery PNG: per cell its image, mask and three projections of its shape.
    Preview(PreviewArgs),
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

/// Flags of `dispr data preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Dataset folder.
    pub dir: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Cells shown per class (the first ones by name).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub per_class: u32,
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
}

/// Flags of `dispr demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(long, default_value = "dispr-demo")]
    pub out: PathBuf,
    /// Synthetic cells per class.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub per_class: u32,
    /// Seed of the synthetic cells.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
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
