//! The folder of predicted shapes: the one definition of its layout, used by everything
//! that writes one (`dispr predict`, the baselines) and everything that reads one
//! (`evaluate`, `metrics`, `features`, the demo).
//!
//! ```text
//! OUT/NAME_0.tif, NAME_1.tif, …   the samples of cell NAME (binary z×y×x), or
//! OUT/NAME.tif                     the one shape of a deterministic method
//! OUT/probability/NAME.tif         fraction of samples holding each voxel (float)
//! OUT/std/NAME.tif                 voxel-wise standard deviation √(p(1 − p)) (samplers)
//! OUT/ensemble/NAME.tif            the voxel-wise majority of the samples (binary)
//! OUT/mesh/NAME.stl                the ensemble's surface
//! OUT/predict.json                 the run: model, sampler, seed, timings ([`PredictReport`])
//! ```
//!
//! A folder belongs to one run at a time ([`OutputDir`]): a cell keeps exactly the samples
//! of the run that wrote it last, and files dispr did not write are never removed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::shard::Shard;
use crate::error::{Error, Result};
use crate::experiment::uncertainty::CellUncertainty;
use crate::grid::Volume;
use crate::io::atomic::write_text_atomic;
use crate::io::outdir::{OutputDir, check_not_input, sample_name_clash};
use crate::io::tiff::{read_shape, write_shape_at, write_volume_at};
use crate::scale::{Units, VoxelSize};
use crate::shape::mesh::io::write_mesh;
use crate::shape::mesh::marching_cubes;
use crate::size_correction::SizeCorrection;

/// Sub-folder of the probability volumes.
pub const PROBABILITY_DIR: &str = "probability";
/// Sub-folder of the standard-deviation volumes.
pub const STD_DIR: &str = "std";
/// Sub-folder of the ensembles (majority shapes).
pub const ENSEMBLE_DIR: &str = "ensemble";
/// Sub-folder of the ensembles' surface meshes.
pub const MESH_DIR: &str = "mesh";
/// The run's report.
pub const REPORT_FILE: &str = "predict.json";

/// The predicted distribution of one cell's shape, on the data grid.
#[derive(Clone, Debug)]
pub struct ShapeDistribution {
    /// The sampled shapes (one for a deterministic method).
    pub samples: Vec<Volume<bool>>,
    /// Fraction of samples holding each voxel (a deterministic method's own
    /// probability).
    pub probability: Volume<f32>,
    /// Voxel-wise standard deviation of the binary samples, √(p(1 − p)); `None` for a
    /// deterministic method, which has one shape and no spread.
    pub std: Option<Volume<f32>>,
    /// The voxel-wise majority of the samples.
    pub ensemble: Volume<bool>,
}

impl ShapeDistribution {
    /// The distribution of binary samples (at least one, all on one grid).
    pub fn from_samples(samples: Vec<Volume<bool>>) -> Self {
        let n = samples.len();
        let grid = samples[0].shape();
        let probability = Volume::from_fn(grid, |i| {
            samples.iter().filter(|s| s.at(i)).count() as f32 / n as f32
        });
        let std = probability.map(|p| (p * (1.0 - p)).max(0.0).sqrt());
        let (ensemble, _) = crate::experiment::evaluation::ensemble(&samples);
        Self {
            samples,
            probability,
            std: Some(std),
            ensemble,
        }
    }

    /// A deterministic method's prediction: its probability, thresholded at ½.
    pub fn deterministic(probability: Volume<f32>) -> Self {
        let shape = probability.map(|v| v > 0.5);
        Self {
            samples: vec![shape.clone()],
            probability,
            std: None,
            ensemble: shape,
        }
    }

    /// True for one deterministic shape (written as `NAME.tif`).
    pub fn is_deterministic(&self) -> bool {
        self.std.is_none()
    }
}

/// Seconds one cell took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellTiming {
    /// Cell name.
    pub cell: String,
    /// Seconds spent predicting it.
    pub seconds: f64,
    /// µm per pixel (and per voxel: the outputs' voxels are cubes), when known.
    #[serde(default)]
    pub pixel_size_um: Option<f64>,
    /// How many times the cell was shrunk to fit the model's field (1: not at all); its
    /// outputs are enlarged back as many times, z too.
    #[serde(default = "one")]
    pub downscale: usize,
    /// Input pixels per model pixel: the pixel sizes' ratio (when the model's and the
    /// input's are known and differ) times `downscale`; 1 when taken as it is.
    #[serde(default = "one_f64")]
    pub scale: f64,
}

fn one_f64() -> f64 {
    1.0
}

fn one() -> usize {
    1
}

/// What `predict.json` records about a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictReport {
    /// The dispr version that predicted.
    pub dispr_version: String,
    /// When the prediction started (UTC, ISO 8601).
    pub started: String,
    /// The command line, when the caller gives it.
    pub command_line: Vec<String>,
    /// The input files or folders, when the caller gives them.
    pub inputs: Vec<String>,
    /// The model file, or the built-in model's label.
    pub model: String,
    /// The model file's SHA-256.
    pub model_sha256: String,
    /// `dispr` or `shapr`.
    pub model_kind: String,
    /// The preset the model was trained from.
    pub preset: String,
    /// Its training steps.
    pub trained_steps: usize,
    /// The sampler (e.g. `ddim-10-eta0`), or SHAPR's description.
    pub sampler: String,
    /// How the soft samples became shapes: the model's learnt size correction (level,
    /// scale), or none ([`crate::size_correction`]).
    #[serde(flatten)]
    pub size: SizeCorrection,
    /// Network evaluations per cell (all samples run as one batch).
    pub network_evaluations_per_cell: usize,
    /// Samples per cell.
    pub samples: usize,
    /// The run seed.
    pub seed: u64,
    /// The device it ran on.
    pub device: String,
    /// CPU threads.
    pub threads: usize,
    /// Cells predicted.
    pub cells: usize,
    /// Seconds in all.
    pub seconds_total: f64,
    /// Seconds per cell this run predicted (the cells it kept from an earlier run excluded).
    pub seconds_per_cell: f64,
    /// Each cell's time.
    pub per_cell: Vec<CellTiming>,
    /// Cells kept from an earlier, interrupted run of the same prediction in this folder
    /// ([`crate::io::journal`]) instead of being predicted again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumed: usize,
    /// The part of a sharded run this folder holds (`--shard K/N`), with all the run's
    /// cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRun>,
    /// How many shards were merged into this folder (`dispr predict merge`; 0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub merged_shards: usize,
    /// The calibrated 90 % intervals applied to each cell (`lo90`, `hi90` in cells.csv;
    /// [`crate::experiment::intervals`]); `None`: the model has none for this draw, the
    /// samples' own range is all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<Vec<crate::experiment::intervals::MeasureFit>>,
    /// What each cell's samples say, in `per_cell` order (written to `cells.csv` by
    /// the caller, not to `predict.json`).
    #[serde(skip)]
    pub uncertainty: Vec<(String, CellUncertainty)>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One shard of a sharded prediction run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    /// Which shard.
    pub shard: Shard,
    /// Every cell of the whole run, in the order an unsharded run predicts them.
    pub run_cells: Vec<String>,
}

impl PredictReport {
    /// One line about the run, e.g. `predicted 12 cells × 5 samples with ddim-10-eta0 in
    /// 139.3 s (11.6 s per cell); wrote OUT`, or `nothing left to predict: …` when an
    /// earlier run had finished every cell.
    pub fn summary(&self, out: &Path) -> String {
        if self.cells > 0 && self.resumed >= self.cells {
            return format!(
                "nothing left to predict: an earlier run of this prediction had finished its {}; wrote {}",
                crate::text::count(self.cells, "cell"),
                out.display()
            );
        }
        format!(
            "predicted {} × {} with {} in {:.1} s ({:.1} s per cell); wrote {}",
            crate::text::count(self.cells - self.resumed.min(self.cells), "cell"),
            crate::text::count(self.samples, "sample"),
            self.sampler,
            self.seconds_total,
            self.seconds_per_cell,
            out.display()
        )
    }
}

/// A prediction folder being written by this run.
pub struct PredictionDir {
    out: OutputDir,
}

impl PredictionDir {
    /// Takes `dir` for this run (created if needed, locked against other runs), refusing
    /// a folder that is or holds one of `inputs`.
    pub fn create(dir: &Path, inputs: &[&Path]) -> Result<Self> {
        check_not_input(dir, inputs)?;
        Ok(Self {
            out: OutputDir::acquire(dir)?,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.out.path()
    }

    /// Refuses cell names whose files would mix: `A` and `A_K` (K a number), since
    /// `A_K.tif` is also sample K of `A`. `data` names the dataset in the error.
    pub fn check_names(data: &Path, names: &[&str]) -> Result<()> {
        match sample_name_clash(names) {
            Some((a, b)) => Err(Error::new(
                data,
                format!(
                    "cells '{a}' and '{b}' cannot share one prediction folder: '{b}.tif' would read as sample {} of '{a}'; rename one of them",
                    &b[a.len() + 1..]
                ),
            )),
            None => Ok(()),
        }
    }

    /// Writes the one shape of a deterministic method, `NAME.tif`, removing samples of
    /// the cell that an earlier run wrote here.
    pub fn write_single(&self, name: &str, shape: &Volume<bool>) -> Result<()> {
        self.write_single_at(name, shape, None)
    }

    fn write_single_at(
        &self,
        name: &str,
        shape: &Volume<bool>,
        scale: Option<VoxelSize>,
    ) -> Result<()> {
        write_shape_at(&self.out.file(format!("{name}.tif"))?, shape, scale)?;
        self.out.remove_stale_samples(name, 0)
    }

    /// Writes samples `NAME_0.tif` … of a cell, removing an earlier run's further samples
    /// and single shape of it (either would be read with these).
    pub fn write_samples<'a>(
        &self,
        name: &str,
        samples: impl IntoIterator<Item = &'a Volume<bool>>,
    ) -> Result<()> {
        self.write_samples_at(name, samples, None)
    }

    fn write_samples_at<'a>(
        &self,
        name: &str,
        samples: impl IntoIterator<Item = &'a Volume<bool>>,
        scale: Option<VoxelSize>,
    ) -> Result<()> {
        let mut n = 0;
        for s in samples {
            write_shape_at(&self.out.file(format!("{name}_{n}.tif"))?, s, scale)?;
            n += 1;
        }
        self.out.remove_stale_samples(name, n)?;
        self.out.remove_if_ours(format!("{name}.tif"))?;
        Ok(())
    }

    /// Writes everything about one cell: its shapes, probability, standard deviation
    /// (samplers only), ensemble and the ensemble's mesh, at `scale` (µm per voxel, in
    /// each TIFF's ImageJ metadata and the mesh's coordinates; `None`: voxels).
    pub fn write_distribution(
        &self,
        name: &str,
        d: &ShapeDistribution,
        scale: Option<VoxelSize>,
    ) -> Result<()> {
        if d.is_deterministic() {
            self.write_single_at(name, &d.ensemble, scale)?;
        } else {
            self.write_samples_at(name, &d.samples, scale)?;
        }
        let file = format!("{name}.tif");
        write_volume_at(
            &self.out.file(Path::new(PROBABILITY_DIR).join(&file))?,
            &d.probability,
            scale,
        )?;
        if let Some(std) = &d.std {
            write_volume_at(&self.out.file(Path::new(STD_DIR).join(&file))?, std, scale)?;
        }
        write_shape_at(
            &self.out.file(Path::new(ENSEMBLE_DIR).join(&file))?,
            &d.ensemble,
            scale,
        )?;
        let (mesh, units) = match scale {
            Some(s) => (
                marching_cubes(&d.ensemble).scaled(s.xyz()),
                Units::Micrometres,
            ),
            None => (marching_cubes(&d.ensemble), Units::Voxels),
        };
        write_mesh(
            &self
                .out
                .file(Path::new(MESH_DIR).join(format!("{name}.stl")))?,
            &mesh,
            units,
        )
    }

    /// Removes this folder's `predict.json` (when dispr wrote it): a run under way has
    /// none.
    pub fn remove_report(&self) -> Result<()> {
        self.out.remove_if_ours(REPORT_FILE).map(|_| ())
    }

    /// Writes `predict.json`.
    pub fn write_report(&self, report: &PredictReport) -> Result<()> {
        let text = serde_json::to_string_pretty(report).expect("the report serializes");
        write_text_atomic(&self.out.file(REPORT_FILE)?, &text)
    }

    /// The path of `relative` in the folder, recorded as this run's (so a later run may
    /// replace it): for files written by the caller, such as the report page.
    pub fn file(&self, relative: impl AsRef<Path>) -> Result<PathBuf> {
        self.out.file(relative)
    }

    /// Writes a text file of the run (e.g. the neighbour list of the retrieval baseline).
    pub fn write_text(&self, relative: &str, text: &str) -> Result<()> {
        write_text_atomic(&self.out.file(relative)?, text)
    }

    /// Copies every file of cell `name` from the prediction folder `from` (a shard of
    /// this run) into this one, replacing this folder's earlier files of the cell;
    /// returns how many files were copied.
    pub fn copy_cell(&self, from: &Path, name: &str) -> Result<usize> {
        let shapes = files_in(from, name)?
            .ok_or_else(|| Error::new(from, format!("no prediction for cell '{name}'")))?;
        if !cell_is_complete(from, name, shapes.len()) {
            return Err(Error::new(
                from,
                format!("cell '{name}' lacks some of its files: rerun this shard"),
            ));
        }
        let single = shapes.len() == 1 && shapes[0].file_stem() == Some(name.as_ref());
        let mut relative: Vec<PathBuf> = shapes
            .iter()
            .map(|p| PathBuf::from(p.file_name().expect("a file")))
            .collect();
        relative.extend(companion_files(name));
        let file = format!("{name}.tif");
        let mut copied = 0;
        for r in &relative {
            let source = from.join(r);
            if !source.is_file() {
                // (a single shape has no std): none of an earlier run's stays either
                self.out.remove_if_ours(r)?;
                continue;
            }
            let mut input = std::fs::File::open(&source).map_err(|e| Error::io(&source, "", e))?;
            crate::io::atomic::write_atomic(&self.out.file(r)?, |w| {
                std::io::copy(&mut input, w).map(|_| ())
            })?;
            copied += 1;
        }
        if single {
            self.out.remove_stale_samples(name, 0)?;
        } else {
            self.out.remove_stale_samples(name, shapes.len())?;
            self.out.remove_if_ours(&file)?;
        }
        Ok(copied)
    }
}

/// The files of cell `name` beside its shapes, relative to a prediction folder: its
/// probability, std (samples only), ensemble and mesh.
fn companion_files(name: &str) -> [PathBuf; 4] {
    let file = format!("{name}.tif");
    [
        Path::new(PROBABILITY_DIR).join(&file),
        Path::new(STD_DIR).join(&file),
        Path::new(ENSEMBLE_DIR).join(&file),
        Path::new(MESH_DIR).join(format!("{name}.stl")),
    ]
}

/// Whether prediction folder `dir` holds every file of cell `name` with `samples`
/// samples (one: a single `NAME.tif`, no std), as [`PredictionDir::write_distribution`]
/// writes them; a resumed run predicts a cell again when one is missing.
pub fn cell_is_complete(dir: &Path, name: &str, samples: usize) -> bool {
    let Ok(Some(shapes)) = files_in(dir, name) else {
        return false;
    };
    let single = samples == 1 && shapes.len() == 1 && shapes[0].file_stem() == Some(name.as_ref());
    shapes.len() == samples
        && companion_files(name)
            .iter()
            .filter(|f| !(single && f.starts_with(STD_DIR)))
            .all(|f| dir.join(f).is_file())
}

/// The ensemble file of cell `name` in prediction folder `dir`.
pub fn ensemble_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(ENSEMBLE_DIR).join(format!("{name}.tif"))
}

/// The prediction files of cell `name` in `dir`: `NAME.tif` alone, or the samples
/// `NAME_0.tif`, `NAME_1.tif`, … (numbered from 0 without gaps). When `dir` is the
/// folder of a sharded run not yet merged, the cell is looked up in its shard folders
/// (`shard-K-of-N/`, [`crate::io::shards`]).
pub fn prediction_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    if let Some(files) = find_prediction_files(dir, name)? {
        return Ok(files);
    }
    let shards = crate::io::shards::shard_dirs(dir);
    let in_shards = match shards.first() {
        Some((shard, _)) => format!(
            " nor in its {} of {} shard folders (a shard may not have run or finished)",
            shards.len(),
            shard.count
        ),
        None => String::new(),
    };
    Err(Error::new(
        dir,
        format!(
            "no prediction for cell '{name}' (expected {name}.tif or {name}_0.tif, {name}_1.tif, …){in_shards}"
        ),
    ))
}

/// [`prediction_files`], with `None` when `dir` (and its shard folders) hold no
/// prediction of the cell; an error only for files that are there but wrong.
pub fn find_prediction_files(dir: &Path, name: &str) -> Result<Option<Vec<PathBuf>>> {
    if let Some(files) = files_in(dir, name)? {
        return Ok(Some(files));
    }
    for (_, shard_dir) in &crate::io::shards::shard_dirs(dir) {
        if let Some(files) = files_in(shard_dir, name)? {
            return Ok(Some(files));
        }
    }
    Ok(None)
}

/// The cells an earlier run predicted into the folder `dir` (its journal) whose shapes
/// are still there but which this run's cells (`this_run`) do not include, by name: its
/// `cells.csv` and `predict.json` do not list them.
pub fn earlier_cells(dir: &Path, this_run: &[CellTiming]) -> Result<Vec<String>> {
    let this_run: std::collections::HashSet<&str> =
        this_run.iter().map(|t| t.cell.as_str()).collect();
    let mut names: Vec<String> = crate::io::journal::Journal::read(dir)?
        .into_keys()
        .filter(|name| !this_run.contains(name.as_str()))
        .filter(|name| matches!(files_in(dir, name), Ok(Some(_))))
        .collect();
    names.sort();
    Ok(names)
}

/// The prediction files of cell `name` right in `dir`; `None` when it has none.
fn files_in(dir: &Path, name: &str) -> Result<Option<Vec<PathBuf>>> {
    let existing = |stem: &str| {
        ["tif", "tiff"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.is_file())
    };
    let mut samples = Vec::new();
    while let Some(path) = existing(&format!("{name}_{}", samples.len())) {
        samples.push(path);
    }
    match (existing(name), samples.is_empty()) {
        (Some(single), true) => Ok(Some(vec![single])),
        (None, false) => Ok(Some(samples)),
        (Some(single), false) => Err(Error::new(
            single,
            format!("ambiguous: both {name}.tif and samples {name}_0.tif … exist"),
        )),
        (None, true) => Ok(None),
    }
}

/// What the samples of the cell `timing` describes say ([`CellUncertainty`]), read back
/// from the prediction folder `dir`, in µm when the run knew the pixel size: the same
/// figures the run computed from them in memory.
pub fn cell_uncertainty(dir: &Path, timing: &CellTiming) -> Result<CellUncertainty> {
    let samples = prediction_files(dir, &timing.cell)?
        .iter()
        .map(|f| read_shape(f))
        .collect::<Result<Vec<_>>>()?;
    Ok(CellUncertainty::of_samples(
        &samples,
        timing.pixel_size_um.map(VoxelSize::cube),
    ))
}

/// The `predict.json` of prediction folder `dir`.
pub fn read_report(dir: &Path) -> Result<PredictReport> {
    let path = dir.join(REPORT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, "", e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::new(&path, format!("not a dispr prediction report: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_single_and_sample_files() {
        let dir = tempfile::tempdir().unwrap();
        let touch = |n: &str| std::fs::write(dir.path().join(n), b"x").unwrap();
        touch("a.tif");
        touch("b_0.tif");
        touch("b_1.tif");
        touch("b_3.tif");
        assert_eq!(prediction_files(dir.path(), "a").unwrap().len(), 1);
        assert_eq!(prediction_files(dir.path(), "b").unwrap().len(), 2);
        let err = prediction_files(dir.path(), "c").unwrap_err().to_string();
        assert!(err.contains("no prediction for cell 'c'"), "{err}");
        touch("a_0.tif");
        assert!(
            prediction_files(dir.path(), "a")
                .unwrap_err()
                .to_string()
                .contains("ambiguous")
        );
    }

    #[test]
    fn a_written_cell_reads_back_and_a_rerun_keeps_only_its_own_samples() {
        let tmp = tempfile::tempdir().unwrap();
        let grid = [4, 4, 4];
        let shape = |k: usize| Volume::from_fn(grid, |[z, y, x]| (z + y + x + k).is_multiple_of(3));
        let d = ShapeDistribution::from_samples((0..3).map(shape).collect());
        assert_eq!(d.probability.at([0, 0, 0]), 1.0 / 3.0);
        let out = PredictionDir::create(tmp.path(), &[]).unwrap();
        out.write_distribution("cell", &d, None).unwrap();
        assert_eq!(prediction_files(tmp.path(), "cell").unwrap().len(), 3);
        for sub in [PROBABILITY_DIR, STD_DIR, ENSEMBLE_DIR] {
            assert!(tmp.path().join(sub).join("cell.tif").is_file(), "{sub}");
        }
        assert!(tmp.path().join(MESH_DIR).join("cell.stl").is_file());
        assert_eq!(
            crate::io::tiff::read_shape(&ensemble_file(tmp.path(), "cell")).unwrap(),
            d.ensemble
        );
        // A second run with fewer samples, then a deterministic one: each leaves only
        // its own shapes of the cell.
        out.write_samples("cell", &d.samples[..1]).unwrap();
        assert_eq!(prediction_files(tmp.path(), "cell").unwrap().len(), 1);
        let single = ShapeDistribution::deterministic(d.probability.clone());
        out.write_distribution("cell", &single, None).unwrap();
        assert_eq!(
            prediction_files(tmp.path(), "cell").unwrap(),
            vec![tmp.path().join("cell.tif")]
        );
        let err = PredictionDir::check_names(tmp.path(), &["a", "a_1"]).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot share one prediction folder"),
            "{err}"
        );
    }
}
