//! Reading every file of a dataset to report what is there and what is wrong: the
//! engine of `dispr data info`. One [`CellReport`] per cell, then a [`DatasetReport`]
//! that adds class counts, grid sizes, value ranges and cross-cell consistency checks.

use std::collections::BTreeMap;

use crate::data::class::Label;
use crate::data::dataset::{CellFiles, Dataset, Layout, read_cell};
use crate::data::intensity::Encoding;
use crate::error::Error;
use crate::grid::{Dtype, format_shape};
use crate::io::tiff::Stack;

/// Summary of one file's pixels.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FileStats {
    /// (pages, height, width) for stacks; (height, width) for 2D images.
    pub shape: Vec<usize>,
    /// The stored pixel type.
    pub dtype: Dtype,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Pixels or voxels inside after binarization (METRICS.md).
    pub foreground: usize,
}

impl FileStats {
    fn of(stack: &Stack, two_d: bool) -> FileStats {
        let [pages, height, width] = stack.shape();
        let (min, max) = stack.min_max().unwrap_or((f64::NAN, f64::NAN));
        FileStats {
            shape: if two_d {
                vec![height, width]
            } else {
                vec![pages, height, width]
            },
            dtype: stack.dtype(),
            min,
            max,
            foreground: stack.binarize().count(),
        }
    }
}

/// What `dispr data info` learns about one cell by reading its files.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CellReport {
    /// The cell's name.
    pub name: String,
    /// Its label name (`unlabeled` if none).
    pub class: &'static str,
    /// The SDE score, for SDE cells.
    pub sde_score: Option<f32>,
    /// The fluorescence image, when readable.
    pub image: Option<FileStats>,
    /// The mask, when readable.
    pub mask: Option<FileStats>,
    /// The 3D shape, when present and readable.
    pub obj: Option<FileStats>,
    /// How the image's intensities are read ([`crate::data::intensity`]), when they can
    /// be.
    pub encoding: Option<Encoding>,
    /// Every problem found, each naming its file.
    #[serde(skip)]
    pub problems: Vec<Error>,
    /// What is unusual but readable, each naming its file.
    #[serde(skip)]
    pub notes: Vec<Error>,
}

/// Reads one cell's files and reports their statistics and every problem.
pub fn inspect_cell(cell: &CellFiles) -> CellReport {
    let stacks = read_cell(cell);
    CellReport {
        name: cell.name.clone(),
        class: cell.label.name(),
        sde_score: match cell.label {
            Label::Class { sde_score, .. } => sde_score,
            Label::Unlabeled => None,
        },
        image: stacks.image.as_ref().map(|s| FileStats::of(s, true)),
        mask: stacks.mask.as_ref().map(|s| FileStats::of(s, true)),
        obj: stacks.obj.as_ref().map(|s| FileStats::of(s, false)),
        encoding: stacks.encoding,
        problems: stacks.problems,
        notes: stacks.notes,
    }
}

/// How many cells a class has.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassCount {
    /// The class name (`unlabeled` for cells without one).
    pub class: &'static str,
    /// Number of cells.
    pub cells: usize,
}

/// How many cells have a given grid size.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ShapeCount {
    /// The grid size, e.g. `[64, 64, 64]`.
    pub shape: Vec<usize>,
    /// Number of cells with it.
    pub cells: usize,
}

/// The range of values one kind of file (image, mask or obj) holds across the dataset.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ValueRange {
    /// Pixel types seen.
    pub dtypes: Vec<Dtype>,
    /// Smallest value over all files.
    pub min: f64,
    /// Largest value over all files.
    pub max: f64,
}

/// Smallest, median and largest of a count over the cells.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Spread {
    /// Smallest.
    pub min: usize,
    /// Median (lower middle for even counts).
    pub median: usize,
    /// Largest.
    pub max: usize,
}

/// A problem as `{path, problem}` for JSON.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProblemEntry {
    /// The file or folder.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl ProblemEntry {
    fn of(e: &Error) -> Self {
        ProblemEntry {
            path: e
                .path()
                .map_or_else(String::new, |p| p.display().to_string()),
            problem: e.problem(),
        }
    }
}

/// Everything `dispr data info` reports about a dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DatasetReport {
    /// The dataset folder.
    pub root: String,
    /// Its layout.
    pub layout: Layout,
    /// Number of paired cells.
    pub cell_count: usize,
    /// True when every cell has a 3D shape.
    pub has_shapes: bool,
    /// Cells per class, in [`crate::data::class::CellClass::ALL`] order, `unlabeled` last.
    pub classes: Vec<ClassCount>,
    /// Grid sizes of the 2D images (most common first).
    pub image_grids: Vec<ShapeCount>,
    /// Grid sizes of the 3D shapes (most common first).
    pub obj_grids: Vec<ShapeCount>,
    /// Value ranges per kind of file.
    pub values: BTreeMap<String, ValueRange>,
    /// Mask area in pixels over the cells.
    pub mask_area: Option<Spread>,
    /// Shape volume in voxels over the cells.
    pub obj_volume: Option<Spread>,
    /// Per-cell statistics.
    pub cells: Vec<CellReport>,
    /// Every problem found, one line each.
    pub problems: Vec<ProblemEntry>,
    /// What is unusual but readable (e.g. a uint16 image using 12 bits), one line each.
    pub notes: Vec<ProblemEntry>,
}

impl DatasetReport {
    /// Combines the cell reports of `dataset` (in the same order as its cells).
    pub fn new(dataset: &Dataset, cells: Vec<CellReport>) -> DatasetReport {
        let mut problems: Vec<Error> = dataset.problems.clone();
        problems.extend(cells.iter().flat_map(|c| c.problems.iter().cloned()));
        let image_grids = count_shapes(cells.iter().map(|c| c.image.as_ref()));
        let obj_grids = count_shapes(cells.iter().map(|c| c.obj.as_ref()));
        let mut notes: Vec<Error> = cells.iter().flat_map(|c| c.notes.iter().cloned()).collect();
        // Cells of other grid sizes are noted: prediction places each cell in the model's
        // field, but training and the nearest baseline need one grid.
        for (files, report) in dataset.cells.iter().zip(&cells) {
            let checks = [
                (
                    &files.image,
                    report.image.as_ref(),
                    image_grids.first(),
                    "image",
                ),
                (
                    files.obj.as_ref().unwrap_or(&files.image),
                    report.obj.as_ref(),
                    obj_grids.first(),
                    "shape",
                ),
            ];
            for (path, stats, common, what) in checks {
                if let (Some(stats), Some(common)) = (stats, common)
                    && stats.shape != common.shape
                {
                    notes.push(Error::new(
                        path,
                        format!(
                            "{what} is {} but {} of {} cells are {}",
                            format_shape(&stats.shape),
                            common.cells,
                            cells.len(),
                            format_shape(&common.shape)
                        ) + "; training needs one grid",
                    ));
                }
            }
        }
        let mut values = BTreeMap::new();
        for (kind, pick) in [
            (
                "image",
                (|c: &CellReport| c.image.clone()) as fn(&CellReport) -> Option<FileStats>,
            ),
            ("mask", |c| c.mask.clone()),
            ("obj", |c| c.obj.clone()),
        ] {
            let stats: Vec<FileStats> = cells.iter().filter_map(pick).collect();
            if stats.is_empty() {
                continue;
            }
            let mut dtypes: Vec<Dtype> = stats.iter().map(|s| s.dtype).collect();
            dtypes.sort_by_key(|d| *d as u8);
            dtypes.dedup();
            values.insert(
                kind.to_string(),
                ValueRange {
                    dtypes,
                    min: stats.iter().map(|s| s.min).fold(f64::INFINITY, f64::min),
                    max: stats
                        .iter()
                        .map(|s| s.max)
                        .fold(f64::NEG_INFINITY, f64::max),
                },
            );
        }
        DatasetReport {
            root: dataset.root.display().to_string(),
            layout: dataset.layout,
            cell_count: dataset.cells.len(),
            has_shapes: dataset.has_shapes(),
            classes: dataset
                .class_counts()
                .into_iter()
                .map(|(class, cells)| ClassCount { class, cells })
                .collect(),
            image_grids,
            obj_grids,
            values,
            mask_area: spread(
                cells
                    .iter()
                    .filter_map(|c| c.mask.as_ref().map(|s| s.foreground)),
            ),
            obj_volume: spread(
                cells
                    .iter()
                    .filter_map(|c| c.obj.as_ref().map(|s| s.foreground)),
            ),
            notes: notes.iter().map(ProblemEntry::of).collect(),
            cells,
            problems: problems.iter().map(ProblemEntry::of).collect(),
        }
    }
}

fn count_shapes<'a>(stats: impl Iterator<Item = Option<&'a FileStats>>) -> Vec<ShapeCount> {
    let mut counts: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
    for s in stats.flatten() {
        *counts.entry(s.shape.clone()).or_default() += 1;
    }
    let mut out: Vec<ShapeCount> = counts
        .into_iter()
        .map(|(shape, cells)| ShapeCount { shape, cells })
        .collect();
    out.sort_by(|a, b| b.cells.cmp(&a.cells).then(a.shape.cmp(&b.shape)));
    out
}

fn spread(values: impl Iterator<Item = usize>) -> Option<Spread> {
    let mut v: Vec<usize> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(Spread {
        min: v[0],
        median: v[(v.len() - 1) / 2],
        max: v[v.len() - 1],
    })
}
