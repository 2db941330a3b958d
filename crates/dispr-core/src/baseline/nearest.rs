//! The retrieval baseline ("nearest k"): a cell's 3D shape guessed as the voxel-wise
//! majority of the shapes of the `k` reference cells whose 2D masks overlap its mask
//! most. It learns nothing, so it is the honest floor a learned model must clear.
//!
//! Definition (issue #23): the overlap is the IoU of the masks as given (both on the same
//! grid, cells centred in their crops as the dataset stores them); ties in IoU go by
//! name (alphabetical); a cell is never its own neighbour (a reference of the same name
//! and the same mask is skipped; synthetic names repeat across datasets, so a name alone
//! is not enough); the shapes are binarized at half their maximum as everywhere in dispr,
//! and the majority is the [`crate::experiment::evaluation::ensemble`] rule (more than half of the
//! `k` shapes contain the voxel).

use rayon::prelude::*;

use crate::data::dataset::{Cell, Dataset, load_cell};
use crate::error::{Error, Result};
use crate::experiment::evaluation::ensemble;
use crate::grid::{Image, Volume, format_shape};
use crate::io::prediction_dir::PredictionDir;

/// The default number of neighbours.
pub const DEFAULT_K: usize = 9;

/// One reference cell: the mask it is found by and the shape it contributes.
#[derive(Clone, Copy, Debug)]
pub struct Reference<'a> {
    /// The cell's name (for ties and for never matching a cell with itself).
    pub name: &'a str,
    /// Its 2D mask.
    pub mask: &'a Image<bool>,
    /// Its 3D shape.
    pub shape: &'a Volume<bool>,
}

/// One chosen neighbour: its index in the reference list and its mask IoU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Index into the references passed to [`nearest`].
    pub index: usize,
    /// IoU of its mask with the query mask.
    pub iou: f64,
}

/// IoU of two masks of the same shape (0 when both are empty).
pub fn mask_iou(a: &Image<bool>, b: &Image<bool>) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (&x, &y) in a.data().iter().zip(b.data()) {
        inter += (x && y) as usize;
        union += (x || y) as usize;
    }
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// The `k` references whose masks overlap `mask` most, best first (ties by name); the
/// cell itself (a reference named `name` with the same mask) is skipped. Errors on an empty mask, a mask of another size
/// than the references', or fewer than `k` usable references.
pub fn nearest(
    name: &str,
    mask: &Image<bool>,
    references: &[Reference],
    k: usize,
) -> Result<Vec<Neighbour>> {
    let masks: Vec<(&str, &Image<bool>)> = references.iter().map(|r| (r.name, r.mask)).collect();
    nearest_masks(name, mask, &masks, k)
}

/// [`nearest`] over references given as (name, mask) only: the rule that both the
/// baseline and the model's prior ([`crate::data::prior`]) find neighbours by.
pub fn nearest_masks(
    name: &str,
    mask: &Image<bool>,
    references: &[(&str, &Image<bool>)],
    k: usize,
) -> Result<Vec<Neighbour>> {
    if k == 0 {
        return Err(Error::invalid("k must be at least 1"));
    }
    if mask.count() == 0 {
        return Err(Error::invalid("mask is empty"));
    }
    let mut scored = Vec::with_capacity(references.len());
    for (index, &(r_name, r_mask)) in references.iter().enumerate() {
        if r_mask.shape() != mask.shape() {
            return Err(Error::invalid(format!(
                "mask is {} but the reference cell '{}' has a {} mask",
                format_shape(&mask.shape()),
                r_name,
                format_shape(&r_mask.shape())
            )));
        }
        let iou = mask_iou(mask, r_mask);
        if r_name == name && iou == 1.0 {
            continue; // the cell itself
        }
        scored.push(Neighbour { index, iou });
    }
    if scored.len() < k {
        return Err(Error::invalid(format!(
            "{} reference cells are fewer than the {k} neighbours asked for",
            scored.len()
        )));
    }
    scored.sort_by(|a, b| {
        b.iou
            .total_cmp(&a.iou)
            .then_with(|| references[a.index].0.cmp(references[b.index].0))
    });
    scored.truncate(k);
    Ok(scored)
}

/// The retrieval baseline's shape for one cell: the majority of its `k` nearest
/// references' shapes, with the neighbours it used. All reference shapes must share one
/// grid.
pub fn predict(
    name: &str,
    mask: &Image<bool>,
    references: &[Reference],
    k: usize,
) -> Result<(Volume<bool>, Vec<Neighbour>)> {
    let neighbours = nearest(name, mask, references, k)?;
    let grid = references[neighbours[0].index].shape.shape();
    let shapes: Vec<Volume<bool>> = neighbours
        .iter()
        .map(|n| {
            let r = &references[n.index];
            if r.shape.shape() != grid {
                return Err(Error::invalid(format!(
                    "reference cell '{}' has a {} shape, not {} like the others",
                    r.name,
                    format_shape(&r.shape.shape()),
                    format_shape(&grid)
                )));
            }
            Ok(r.shape.clone())
        })
        .collect::<Result<_, _>>()?;
    Ok((ensemble(&shapes).0, neighbours))
}

/// Where a cell's neighbours come from.
#[derive(Clone, Copy, Debug)]
pub enum References<'a> {
    /// Cross-validation: the cells of the dataset's own stratified split
    /// ([`Dataset::folds`]) that are not in the cell's test fold.
    OtherFolds {
        /// Number of folds.
        folds: usize,
        /// Seed of the split.
        seed: u64,
    },
    /// Every cell of another dataset (which needs 3D shapes).
    Dataset(&'a Dataset),
}

/// A cell and the neighbours it was given, as `neighbours.csv` lists them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NeighbourRow {
    /// The cell.
    pub name: String,
    /// Its neighbours, best first: `NAME:IoU` (mask IoU to 4 places), space-separated.
    pub neighbours: String,
}

/// What [`predict_dataset`] did.
#[derive(Debug)]
pub struct NearestRun {
    /// The neighbours of every cell written (all cells when nothing failed).
    pub rows: Vec<NeighbourRow>,
    /// The error of every cell that failed (the others are written).
    pub failures: Vec<Error>,
    /// How many reference cells there were.
    pub references: usize,
}

/// Name of the neighbour list [`predict_dataset`] writes into the prediction folder.
pub const NEIGHBOURS_FILE: &str = "neighbours.csv";

/// Predicts every cell of `dataset` (in parallel) as the majority of its `k` nearest
/// `references` into `out`: one shape per cell, or with `samples = Some(n)` the `n`
/// nearest shapes themselves as samples (`n ≤ k`). When no cell fails, the neighbours
/// are listed in [`NEIGHBOURS_FILE`]. `on_cell` is called after each cell.
pub fn predict_dataset(
    dataset: &Dataset,
    references: References,
    k: usize,
    samples: Option<usize>,
    out: &PredictionDir,
    on_cell: &(dyn Fn() + Sync),
) -> Result<NearestRun> {
    if samples.is_some_and(|n| n > k) {
        return Err(Error::invalid(format!(
            "{} samples need at least as many neighbours, but k is {k}",
            samples.unwrap_or(0)
        )));
    }
    let reference_set = match references {
        References::OtherFolds { .. } => dataset,
        References::Dataset(r) => r,
    };
    if !reference_set.has_shapes() {
        return Err(Error::new(
            &reference_set.root,
            "the reference needs 3D shapes in obj/ for every cell",
        ));
    }
    let load = |d: &Dataset| -> Result<Vec<Cell>> { d.cells.par_iter().map(load_cell).collect() };
    let queries = load(dataset)?;
    let (ref_cells, folds) = match references {
        References::OtherFolds { folds, seed } => (None, Some(dataset.folds(folds, seed)?)),
        References::Dataset(r) => (Some(load(r)?), None),
    };
    let ref_cells = ref_cells.as_ref().unwrap_or(&queries);
    let all: Vec<Reference> = ref_cells
        .iter()
        .filter_map(|c| {
            Some(Reference {
                name: &c.name,
                mask: &c.mask,
                shape: c.shape.as_ref()?,
            })
        })
        .collect();
    let results: Vec<Result<NeighbourRow>> = queries
        .par_iter()
        .enumerate()
        .map(|(i, cell)| {
            // Cross-validated: only the training folds of the cell's test fold.
            let candidates: Vec<Reference> = match &folds {
                Some(folds) => (0..all.len())
                    .filter(|&j| folds[j] != folds[i])
                    .map(|j| all[j])
                    .collect(),
                None => all.clone(),
            };
            let mask_file = &dataset.cells[i].mask;
            let result = predict_cell(cell, mask_file, &candidates, k, samples, out);
            on_cell();
            result
        })
        .collect();
    let mut run = NearestRun {
        rows: Vec::new(),
        failures: Vec::new(),
        references: all.len(),
    };
    for r in results {
        match r {
            Ok(row) => run.rows.push(row),
            Err(e) => run.failures.push(e),
        }
    }
    if run.failures.is_empty() {
        write_neighbours(out, &run.rows)?;
    }
    Ok(run)
}

/// One cell's shape (or its `samples` nearest shapes) written into `out`, and its row of
/// the neighbour list; an error names the cell's mask file.
fn predict_cell(
    cell: &Cell,
    mask_file: &std::path::Path,
    candidates: &[Reference],
    k: usize,
    samples: Option<usize>,
    out: &PredictionDir,
) -> Result<NeighbourRow> {
    let (shape, neighbours) = predict(&cell.name, &cell.mask, candidates, k)
        .map_err(|e| Error::new(mask_file, e.problem()))?;
    match samples {
        None => out.write_single(&cell.name, &shape)?,
        Some(n) => out.write_samples(
            &cell.name,
            neighbours
                .iter()
                .take(n)
                .map(|nb| candidates[nb.index].shape),
        )?,
    }
    let listed: Vec<String> = neighbours
        .iter()
        .map(|n| format!("{}:{:.4}", candidates[n.index].name, n.iou))
        .collect();
    Ok(NeighbourRow {
        name: cell.name.clone(),
        neighbours: listed.join(" "),
    })
}

/// Writes [`NEIGHBOURS_FILE`].
fn write_neighbours(out: &PredictionDir, rows: &[NeighbourRow]) -> Result<()> {
    let path = out.path().join(NEIGHBOURS_FILE);
    let fail = |e: csv::Error| Error::new(&path, format!("cannot write CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).map_err(fail)?;
    }
    let bytes = w.into_inner().map_err(|e| fail(e.into_error().into()))?;
    out.write_text(
        NEIGHBOURS_FILE,
        &String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(lo: usize, hi: usize) -> Image<bool> {
        Image::from_fn([8, 8], |[y, x]| {
            (lo..hi).contains(&y) && (lo..hi).contains(&x)
        })
    }

    fn slab(z_hi: usize) -> Volume<bool> {
        Volume::from_fn([4, 8, 8], |[z, _, _]| z < z_hi)
    }

    #[test]
    fn picks_the_most_overlapping_masks_and_votes() {
        let masks = [square(2, 6), square(2, 6), square(1, 7), square(0, 2)];
        let shapes = [slab(1), slab(2), slab(3), slab(4)];
        let names = ["d", "b", "c", "a"];
        let refs: Vec<Reference> = (0..4)
            .map(|i| Reference {
                name: names[i],
                mask: &masks[i],
                shape: &shapes[i],
            })
            .collect();
        let query = square(2, 6);
        let n = nearest("q", &query, &refs, 3).unwrap();
        // Two perfect matches, tied: "b" before "d"; then "c" (IoU 16/36).
        assert_eq!(n.iter().map(|n| n.index).collect::<Vec<_>>(), vec![1, 0, 2]);
        assert_eq!(n[0].iou, 1.0);
        assert!((n[2].iou - 16.0 / 36.0).abs() < 1e-12);
        // Majority of slabs of height 2, 1, 3: height 2.
        let (shape, _) = predict("q", &query, &refs, 3).unwrap();
        assert_eq!(shape, slab(2));
        // A cell is never its own neighbour.
        let n = nearest("b", &query, &refs, 3).unwrap();
        assert!(n.iter().all(|n| names[n.index] != "b"));
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        let masks = [square(2, 6)];
        let shapes = [slab(1)];
        let refs = [Reference {
            name: "a",
            mask: &masks[0],
            shape: &shapes[0],
        }];
        assert_eq!(
            nearest("q", &Image::filled([8, 8], false), &refs, 1)
                .unwrap_err()
                .to_string(),
            "mask is empty"
        );
        assert!(
            nearest("q", &square(1, 3), &refs, 2)
                .unwrap_err()
                .to_string()
                .contains("fewer than the 2")
        );
        let other = Image::filled([8, 9], true);
        assert!(
            nearest("q", &other, &refs, 1)
                .unwrap_err()
                .to_string()
                .contains("8×9")
        );
        assert!(nearest("q", &square(1, 3), &refs, 0).is_err());
    }
}
