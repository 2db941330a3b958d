//! A field of view with many cells and a label image, as cellpose and StarDist write it
//! (0 background, k for cell k): every labelled cell cut out as a crop of the model's
//! field, centred as [`crate::data::framing`] centres a cell, ready to predict. Cells cut
//! by the field's border, cells larger than the model's field and specks too small to be
//! cells are skipped with the reason; a label in separate parts is predicted as one
//! cell, with a note.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::data::class::Label;
use crate::data::dataset::Cell;
use crate::data::framing::{Fit, Framing, MIN_CELL_SHARE};
use crate::data::intensity;
use crate::error::{Error, Result};
use crate::experiment::uncertainty::CellUncertainty;
use crate::grid::{Dtype, Image, format_shape};
use crate::io::tiff::read_image;

/// One labelled cell of a field, cut out.
#[derive(Clone, Debug)]
pub struct FieldCell {
    /// Its label value in the label image.
    pub label: u32,
    /// Field pixel (y, x) of its crop's first pixel.
    pub origin: [isize; 2],
    /// Pixels in its mask.
    pub area: usize,
    /// Pixels of its mask on the input image's outermost rows and columns (0: the cell
    /// lies wholly inside; more: part of it may lie outside the image).
    pub edge_px: usize,
    /// The pixels of each separate part of its mask large enough to be a cell on its own
    /// ([`MIN_CELL_SHARE`] of the field), largest first: one for a single cell, more for
    /// a cluster of cells (as the training data's `cluster` masks) or two cells under
    /// one label.
    pub parts: Vec<usize>,
    /// The crop: image (intensities in [0, 1]) and mask on the model's field.
    pub cell: Cell,
}

impl FieldCell {
    /// What to tell the user about the cell before predicting it, one line each: that
    /// its mask touches the input's edge (the cell may go on beyond the image, and its
    /// shape is predicted from the part inside), and that it has separate parts (it is
    /// predicted as one cell); none for a single cell wholly inside.
    pub fn notes(&self) -> Vec<String> {
        let name = &self.cell.name;
        let mut notes = Vec::new();
        if self.edge_px > 0 {
            notes.push(format!(
                "cell '{name}': its mask touches the image's edge ({} of its {} pixels): if the cell goes on beyond the image, its shape is predicted from the part inside",
                self.edge_px, self.area
            ));
        }
        if self.parts.len() > 1 {
            let sizes: Vec<String> = self.parts.iter().map(|n| format!("{n} px")).collect();
            notes.push(format!(
                "cell '{name}': its mask has {} separate parts ({}): predicted as one cell, as the training data's cell clusters are; if they are separate cells, give each its own label",
                self.parts.len(),
                sizes.join(", ")
            ));
        }
        notes
    }
}

/// The parts of `mask` large enough to be cells on their own ([`MIN_CELL_SHARE`] of a
/// model's `field`, at the model's pixel size as `fit` and the input's pixel size
/// `stated` give it; smaller specks go with the cell), largest first.
fn cell_parts(mask: &Image<bool>, field: [usize; 2], fit: Fit, stated: Option<f64>) -> Vec<usize> {
    let least = (MIN_CELL_SHARE * (field[0] * field[1]) as f64 * fit.scale_for(stated).powi(2))
        .ceil() as usize;
    parts(mask)
        .into_iter()
        .filter(|&n| n >= least.max(1))
        .collect()
}

/// Mask pixels on the outermost rows and columns of `mask`.
fn edge_pixels(mask: &Image<bool>) -> usize {
    let [h, w] = mask.shape();
    (0..h)
        .flat_map(|y| (0..w).map(move |x| [y, x]))
        .filter(|&[y, x]| (y == 0 || x == 0 || y + 1 == h || x + 1 == w) && mask.at([y, x]))
        .count()
}

/// Why a labelled cell was not cut out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedCell {
    /// Its label value.
    pub label: u32,
    /// Its name, as it would have been.
    pub name: String,
    /// Why, one line.
    pub reason: String,
}

/// The cells of a field.
#[derive(Clone, Debug)]
pub struct FieldCells {
    /// The cells cut out, by label.
    pub cells: Vec<FieldCell>,
    /// The cells skipped, by label.
    pub skipped: Vec<SkippedCell>,
}

/// The label a user names a cell of the field `name` by: its label (`5`) or its cell's
/// name (`{name}_5`); `None` when `given` is neither.
pub fn label_named(name: &str, given: &str) -> Option<u32> {
    let given = given.trim();
    let number = given
        .strip_prefix(name.trim())
        .and_then(|rest| rest.strip_prefix('_'))
        .unwrap_or(given);
    number.parse().ok()
}

/// The label image cellpose writes beside `image` (`NAME_cp_masks.tif` or `.tiff`), if
/// there is one.
pub fn cellpose_labels(image: &Path) -> Option<PathBuf> {
    let stem = image.file_stem()?.to_str()?;
    ["tif", "tiff", "png"]
        .iter()
        .map(|ext| image.with_file_name(format!("{stem}_cp_masks.{ext}")))
        .find(|p| p.is_file())
}

/// Reads a label image: integer values ≥ 0 (a TIFF of uint8, uint16, uint32, int16,
/// int32 or int64 as cellpose, StarDist and scikit-image write them, float only when
/// every value is a whole number; or a grayscale PNG, as the cellpose GUI saves masks).
pub fn read_labels(path: &Path) -> Result<Image<u32>> {
    if crate::io::png::is_png(path) {
        return crate::io::png::read_gray(path);
    }
    let stack = read_image(path)?;
    if let crate::io::tiff::Stack::U32(v) = &stack {
        return Ok(v.slice_z(0));
    }
    let values = stack.to_f32().slice_z(0);
    if stack.dtype() == Dtype::F32
        && let Some(v) = values
            .data()
            .iter()
            .find(|v| !v.is_finite() || v.fract() != 0.0 || **v < 0.0)
    {
        return Err(Error::new(
            path,
            format!("not a label image: it holds {v}, labels are whole numbers ≥ 0"),
        ));
    }
    Ok(values.map(|v| v as u32))
}

/// A fluorescence image file, and the channel to read when it has several (a page of a
/// multi-channel TIFF, [`crate::io::tiff::read_channel`]).
#[derive(Clone, Copy, Debug)]
pub struct ImageSource<'a> {
    /// The TIFF file.
    pub path: &'a Path,
    /// The channel (0-based) of a multi-channel file; `None` for a single 2D image.
    pub channel: Option<usize>,
}

impl<'a> ImageSource<'a> {
    /// A single 2D image.
    pub fn file(path: &'a Path) -> Self {
        Self {
            path,
            channel: None,
        }
    }

    /// The image (its one page, or the channel asked for).
    fn read(&self) -> Result<crate::io::tiff::Stack> {
        match self.channel {
            None => read_image(self.path),
            Some(c) => crate::io::tiff::read_channel(self.path, c),
        }
    }
}

/// A fluorescence image's intensities in [0, 1] ([`intensity`]'s rule).
fn read_intensities(image: ImageSource<'_>) -> Result<Image<f32>> {
    intensity::unit_image(&image.read()?).map_err(|p| Error::new(image.path, p))
}

/// How the fluorescence image is read ([`intensity::reading_of`]): `predict` says when a
/// few stray pixels lie above its bit depth.
pub fn image_reading(image: ImageSource<'_>) -> Result<intensity::Reading> {
    intensity::reading_of(&image.read()?).map_err(|p| Error::new(image.path, p))
}

/// Cuts every labelled cell of the field `image` out of it, named `{name}_{label}`, as
/// crops of the input region the model's field covers when fitted as `fit` asks
/// ([`Framing`]: the field's size, or larger or smaller at another pixel size or when
/// shrunk; a cell too large for the field is skipped). With `skip_border`, cells that
/// touch the image's edge are skipped (part of them lies outside the field of view).
pub fn cut_cells(
    image_file: ImageSource<'_>,
    labels_path: &Path,
    name: &str,
    field: [usize; 2],
    skip_border: bool,
    fit: Fit,
) -> Result<FieldCells> {
    let image = read_intensities(image_file)?;
    let pixel_size = crate::io::tiff::read_square_pixel_size(image_file.path)?;
    let labels = read_labels(labels_path)?;
    let field_image = FieldImage {
        image: &image,
        pixel_size,
        name,
    };
    cut_field(field_image, &labels, field, skip_border, fit).map_err(|p| Error::new(labels_path, p))
}

/// A field of view in memory: its intensities in [0, 1], its pixel size (µm, when
/// known) and the name its cells' names start with.
#[derive(Clone, Copy, Debug)]
pub struct FieldImage<'a> {
    /// Intensities in [0, 1] ([`intensity::unit_image`]).
    pub image: &'a Image<f32>,
    /// µm per pixel, when known.
    pub pixel_size: Option<f64>,
    /// Cells are named `{name}_{label}` ([`cut_field`]) or `name` ([`cut_one`]).
    pub name: &'a str,
}

/// [`cut_cells`] on a field and label image in memory; what is wrong with the labels
/// (one line, without a path) when nothing can be cut.
pub fn cut_field(
    field_image: FieldImage,
    labels: &Image<u32>,
    field: [usize; 2],
    skip_border: bool,
    fit: Fit,
) -> std::result::Result<FieldCells, String> {
    let FieldImage {
        image,
        pixel_size,
        name,
    } = field_image;
    if labels.shape() != image.shape() {
        return Err(format!(
            "labels are {} but the image is {}",
            format_shape(&labels.shape()),
            format_shape(&image.shape())
        ));
    }
    let [h, w] = image.shape();
    // Each label's pixels, and how many of them lie on the border.
    let mut pixels: BTreeMap<u32, (usize, usize)> = BTreeMap::new();
    for y in 0..h {
        for x in 0..w {
            let k = labels.at([y, x]);
            if k > 0 {
                let entry = pixels.entry(k).or_default();
                entry.0 += 1;
                entry.1 += usize::from(y == 0 || x == 0 || y + 1 == h || x + 1 == w);
            }
        }
    }
    if pixels.is_empty() {
        return Err("no labelled cell (every pixel is 0)".into());
    }
    let mut out = FieldCells {
        cells: Vec::new(),
        skipped: Vec::new(),
    };
    for (&label, &(area, edge_px)) in &pixels {
        let cell_name = format!("{name}_{label}");
        let mask = labels.map(|k| k == label);
        let skip = |reason: String| SkippedCell {
            label,
            name: cell_name.clone(),
            reason,
        };
        if skip_border && edge_px > 0 {
            out.skipped.push(skip(
                "touches the field's border (part of it is outside)".into(),
            ));
            continue;
        }
        match Framing::of(&mask, field, fit, pixel_size) {
            Err(problem) => out.skipped.push(skip(problem)),
            Ok(framing) => out.cells.push(FieldCell {
                label,
                origin: framing.origin,
                area,
                edge_px,
                parts: cell_parts(&mask, field, fit, pixel_size),
                cell: Cell {
                    name: cell_name,
                    label: Label::Unlabeled,
                    image: framing.to_crop(image),
                    mask: framing.to_crop(&mask),
                    shape: None,
                    pixel_size,
                },
            }),
        }
    }
    Ok(out)
}

/// The sizes of the 8-connected parts of `mask`, largest first.
fn parts(mask: &Image<bool>) -> Vec<usize> {
    let [h, w] = mask.shape();
    let mut seen = vec![false; h * w];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..h * w {
        if seen[start] || !mask.data()[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (y, x) = (i / w, i % w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if !seen[j] && mask.data()[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        sizes.push(size);
    }
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes
}

/// One cell given as an image and its binary mask, of any size, cut out like a field's
/// cell (named `name`, label 1). A cell larger than the model's field is an error naming
/// the mask, unless `fit` allows shrinking it.
pub fn cut_cell(
    image_file: ImageSource<'_>,
    mask_path: &Path,
    name: &str,
    field: [usize; 2],
    fit: Fit,
) -> Result<FieldCell> {
    let image = read_intensities(image_file)?;
    let mask_stack = read_image(mask_path)?;
    let mask = mask_of(&mask_stack).map_err(|p| Error::new(mask_path, p))?;
    let pixel_size = crate::io::tiff::read_square_pixel_size(image_file.path)?;
    let field_image = FieldImage {
        image: &image,
        pixel_size,
        name,
    };
    cut_one(field_image, &mask, field, fit).map_err(|p| Error::new(mask_path, p))
}

/// A 2D mask's foreground (above half its maximum), or why it cannot be a cell's mask
/// ([`crate::io::tiff::mask_problem`]).
pub fn mask_of(mask: &crate::io::tiff::Stack) -> std::result::Result<Image<bool>, String> {
    match crate::io::tiff::mask_problem(mask) {
        Some(problem) => Err(problem),
        None => Ok(mask.binarize().slice_z(0)),
    }
}

/// [`cut_cell`] on an image and mask in memory; what is wrong (one line, no path).
pub fn cut_one(
    field_image: FieldImage,
    mask: &Image<bool>,
    field: [usize; 2],
    fit: Fit,
) -> std::result::Result<FieldCell, String> {
    let FieldImage {
        image,
        pixel_size,
        name,
    } = field_image;
    if mask.shape() != image.shape() {
        return Err(format!(
            "mask is {} but the image is {}",
            format_shape(&mask.shape()),
            format_shape(&image.shape())
        ));
    }
    let framing =
        Framing::of(mask, field, fit, pixel_size).map_err(|p| format!("cell '{name}': {p}"))?;
    Ok(FieldCell {
        label: 1,
        origin: framing.origin,
        area: mask.count(),
        edge_px: edge_pixels(mask),
        parts: cell_parts(mask, field, fit, pixel_size),
        cell: Cell {
            name: name.to_string(),
            label: Label::Unlabeled,
            image: framing.to_crop(image),
            mask: framing.to_crop(mask),
            shape: None,
            pixel_size,
        },
    })
}

/// A row of a prediction's cell table (`cells.csv`): every cell, predicted or not.
#[derive(Clone, Debug, PartialEq)]
pub struct CellRow {
    /// The cell's name (its prediction files' stem).
    pub name: String,
    /// Its label value.
    pub label: u32,
    /// `predicted` or `skipped`.
    pub status: &'static str,
    /// Field row of the prediction's first voxel row (its crop's origin).
    pub y0: Option<isize>,
    /// Field column of the crop's origin.
    pub x0: Option<isize>,
    /// Mask pixels.
    pub area_px: Option<usize>,
    /// Why it was skipped.
    pub reason: String,
    /// What its samples say, when predicted.
    pub uncertainty: Option<CellUncertainty>,
}

impl CellRow {
    /// The row of a predicted cell of a dataset (no label, no crop origin).
    pub fn predicted(name: &str, uncertainty: CellUncertainty) -> Self {
        Self {
            name: name.to_string(),
            label: 0,
            status: "predicted",
            y0: None,
            x0: None,
            area_px: None,
            reason: String::new(),
            uncertainty: Some(uncertainty),
        }
    }
}

/// Name of the cell table a prediction folder holds.
pub const CELL_TABLE: &str = "cells.csv";

/// The cell table as CSV: name, label, status, crop origin, area, reason, then the
/// samples' summary ([`CellUncertainty::columns`]; empty for skipped cells). Units:
/// pixels for the crop; the summary's in its column names (µm when the predicted cells'
/// pixel size is known, voxels otherwise; one run's cells share them).
pub fn cell_table_csv(rows: &[CellRow]) -> String {
    let units = rows
        .iter()
        .find_map(|r| r.uncertainty.as_ref().map(|u| u.units))
        .unwrap_or(crate::scale::Units::Voxels);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["name", "label", "status", "y0", "x0", "area_px", "reason"]
        .map(String::from)
        .to_vec();
    header.extend(CellUncertainty::columns(units));
    let opt = |v: Option<String>| v.unwrap_or_default();
    let mut records = vec![header];
    for r in rows {
        let mut rec = vec![
            r.name.clone(),
            if r.label > 0 {
                r.label.to_string()
            } else {
                String::new()
            },
            r.status.to_string(),
            opt(r.y0.map(|v| v.to_string())),
            opt(r.x0.map(|v| v.to_string())),
            opt(r.area_px.map(|v| v.to_string())),
            r.reason.clone(),
        ];
        match &r.uncertainty {
            Some(u) => {
                rec.push(u.samples.to_string());
                rec.extend(u.values()[1..].iter().map(|v| match v.is_nan() {
                    true => String::new(),
                    false => format!("{v:.4}"),
                }));
            }
            None => rec.extend(
                CellUncertainty::columns(units)
                    .iter()
                    .map(|_| String::new()),
            ),
        }
        records.push(rec);
    }
    for rec in records {
        w.write_record(rec).expect("writing CSV into memory");
    }
    String::from_utf8(w.into_inner().expect("writing CSV into memory")).expect("UTF-8 fields")
}

/// The cell table as JSON (`dispr predict --json`): one object per row, with the keys of
/// [`cell_table_csv`]'s columns (null where the CSV has an empty field).
pub fn cell_table_json(rows: &[CellRow]) -> serde_json::Value {
    use serde_json::{Value, json};
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut object = json!({
                "name": r.name,
                "label": (r.label > 0).then_some(r.label),
                "status": r.status,
                "y0": r.y0,
                "x0": r.x0,
                "area_px": r.area_px,
                "reason": r.reason,
            });
            if let Some(u) = &r.uncertainty {
                let fields = object.as_object_mut().expect("an object");
                fields.insert("units".into(), json!(u.units));
                for (column, value) in CellUncertainty::columns(u.units)
                    .into_iter()
                    .zip(u.values())
                {
                    fields.insert(column, json!(value));
                }
                fields.insert("samples".into(), json!(u.samples));
            }
            object
        })
        .collect();
    Value::Array(rows)
}

impl FieldCells {
    /// Keeps only the cells labelled `labels`, cut out or skipped; the first of them
    /// the field has no cell of (label 0 included), changing nothing then.
    pub fn keep_labels(&mut self, labels: &[u32]) -> std::result::Result<(), u32> {
        let has = |k: u32| {
            self.cells.iter().any(|c| c.label == k) || self.skipped.iter().any(|s| s.label == k)
        };
        if let Some(&missing) = labels.iter().find(|&&k| !has(k)) {
            return Err(missing);
        }
        self.cells.retain(|c| labels.contains(&c.label));
        self.skipped.retain(|s| labels.contains(&s.label));
        Ok(())
    }

    /// The table of every cell, by label; `uncertainty` gives a predicted cell's summary.
    pub fn rows(&self, uncertainty: impl Fn(&str) -> Option<CellUncertainty>) -> Vec<CellRow> {
        let mut rows: Vec<CellRow> = self
            .cells
            .iter()
            .map(|c| CellRow {
                name: c.cell.name.clone(),
                label: c.label,
                status: "predicted",
                y0: Some(c.origin[0]),
                x0: Some(c.origin[1]),
                area_px: Some(c.area),
                reason: String::new(),
                uncertainty: uncertainty(&c.cell.name),
            })
            .chain(self.skipped.iter().map(|s| CellRow {
                name: s.name.clone(),
                label: s.label,
                status: "skipped",
                y0: None,
                x0: None,
                area_px: None,
                reason: s.reason.clone(),
                uncertainty: None,
            }))
            .collect();
        rows.sort_by_key(|r| r.label);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tiff::write_image;

    #[test]
    fn cells_are_cut_out_and_border_cells_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (img, lab) = (dir.path().join("f.tif"), dir.path().join("f_cp_masks.tif"));
        // Cell 1 inside, cell 2 on the left edge, cell 5 too large for an 8×8 field.
        let labels = Image::from_fn([30, 40], |[y, x]| match (y, x) {
            (10..14, 20..25) => 1u16,
            (2..5, 0..3) => 2,
            (16..28, 5..15) => 5,
            _ => 0,
        });
        let image = Image::from_fn([30, 40], |[y, x]| ((y + x) % 200) as u8 + 1);
        write_image(&img, &image).unwrap();
        write_image(&lab, &labels).unwrap();
        assert_eq!(cellpose_labels(&img), Some(lab.clone()));
        let cells = cut_cells(
            ImageSource::file(&img),
            &lab,
            "f",
            [8, 8],
            true,
            Fit::default(),
        )
        .unwrap();
        assert_eq!(cells.cells.len(), 1);
        let c = &cells.cells[0];
        assert_eq!((c.label, c.area, c.cell.name.as_str()), (1, 20, "f_1"));
        assert_eq!(c.cell.mask.count(), 20);
        assert_eq!(c.origin, [10 - 2, 20 - 1]);
        assert_eq!(c.cell.image.at([2, 1]), image.at([10, 20]) as f32 / 255.0);
        let reasons: Vec<_> = cells
            .skipped
            .iter()
            .map(|s| (s.label, s.reason.as_str()))
            .collect();
        assert!(
            reasons[0].0 == 2 && reasons[0].1.contains("border"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].0 == 5 && reasons[1].1.contains("12×10 pixels"),
            "{reasons:?}"
        );
        // With downscaling, cell 5 (12×10) is cut as a 16×16 crop, to be shrunk 2×.
        let shrunk = cut_cells(
            ImageSource::file(&img),
            &lab,
            "f",
            [8, 8],
            true,
            Fit {
                downscale: true,
                ..Fit::default()
            },
        )
        .unwrap();
        assert_eq!(shrunk.cells.len(), 2);
        let c5 = &shrunk.cells[1];
        assert_eq!((c5.label, c5.cell.mask.shape()), (5, [16, 16]));
        assert_eq!(c5.cell.mask.count(), 120);
        // Without the border rule, cell 2 is cut out too, with its 3 pixels on the edge.
        let all = cut_cells(
            ImageSource::file(&img),
            &lab,
            "f",
            [8, 8],
            false,
            Fit::default(),
        )
        .unwrap();
        let edges: Vec<_> = all.cells.iter().map(|c| (c.label, c.edge_px)).collect();
        assert_eq!(edges, [(1, 0), (2, 3)]);
        assert!(all.cells[0].notes().is_empty());
        let said = &all.cells[1].notes()[0];
        assert!(
            said.starts_with("cell 'f_2': its mask touches the image's edge (3 of its 9 pixels)"),
            "{said}"
        );
        let rows = cells.rows(|_| None);
        assert_eq!(
            rows.iter().map(|r| r.status).collect::<Vec<_>>(),
            ["predicted", "skipped", "skipped"]
        );
        // One cell given by image and mask.
        let mask = dir.path().join("m.tif");
        write_image(&mask, &labels.map(|k| if k == 1 { 255u8 } else { 0 })).unwrap();
        let one = cut_cell(ImageSource::file(&img), &mask, "f", [8, 8], Fit::default()).unwrap();
        assert_eq!((one.area, one.origin, one.edge_px), (20, [8, 19], 0));
        // The same cell in a crop that cuts it: 4 + 5 − 1 of its pixels on the crop's edge.
        let crop = |im: &Image<u8>| Image::from_fn([14, 25], |[y, x]| im.at([y, x]));
        let (ci, cm) = (dir.path().join("ci.tif"), dir.path().join("cm.tif"));
        write_image(&ci, &crop(&image)).unwrap();
        write_image(&cm, &crop(&labels.map(|k| if k == 1 { 255u8 } else { 0 }))).unwrap();
        let cut = cut_cell(ImageSource::file(&ci), &cm, "c", [8, 8], Fit::default()).unwrap();
        assert_eq!((cut.area, cut.edge_px), (20, 8));
        // Labels of another size are refused, naming the label file.
        write_image(&lab, &Image::filled([30, 39], 1u16)).unwrap();
        let err = cut_cells(
            ImageSource::file(&img),
            &lab,
            "f",
            [8, 8],
            true,
            Fit::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("f_cp_masks.tif: labels are 30×39 but the image is 30×40"),
            "{err}"
        );
    }

    #[test]
    fn cells_are_chosen_by_label_or_name() {
        assert_eq!(label_named("f", "5"), Some(5));
        assert_eq!(label_named("f", " f_12"), Some(12));
        assert_eq!(label_named("f_2", "f_2_7"), Some(7));
        assert_eq!(label_named("f", "g_5"), None);
        assert_eq!(label_named("f", "f_"), None);
        let labels = Image::from_fn([40, 40], |[y, x]| match (y, x) {
            (10..16, 10..16) => 1u32,
            (20..26, 20..26) => 2,
            (0..5, 30..35) => 3,
            _ => 0,
        });
        let image = labels.map(|k| 0.2 + 0.1 * k as f32);
        let field_image = FieldImage {
            image: &image,
            pixel_size: None,
            name: "f",
        };
        let mut cut = cut_field(field_image, &labels, [16, 16], true, Fit::default()).unwrap();
        let before = (cut.cells.len(), cut.skipped.len());
        assert_eq!(before, (2, 1));
        assert_eq!(cut.keep_labels(&[2, 9]), Err(9));
        assert_eq!(cut.keep_labels(&[0]), Err(0));
        assert_eq!((cut.cells.len(), cut.skipped.len()), before);
        cut.keep_labels(&[3, 2]).unwrap();
        assert_eq!(cut.cells.iter().map(|c| c.label).collect::<Vec<_>>(), [2]);
        assert_eq!(cut.skipped.iter().map(|c| c.label).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn a_label_in_two_parts_is_noted_and_a_speck_beside_a_cell_is_not() {
        // Label 1 in two 4 × 4 parts; label 2 a 5 × 5 cell with one stray pixel.
        let labels = Image::from_fn([60, 60], |[y, x]| match (y, x) {
            (10..14, 10..14) | (10..14, 30..34) => 1u32,
            (40..45, 40..45) | (50, 50) => 2,
            _ => 0,
        });
        let image = Image::filled([60, 60], 0.5f32);
        let field_image = FieldImage {
            image: &image,
            pixel_size: None,
            name: "f",
        };
        // A 32 × 32 field: parts of 11 pixels or more count as cells.
        let cells = cut_field(field_image, &labels, [32, 32], true, Fit::default()).unwrap();
        assert!(cells.skipped.is_empty());
        let [one, two] = &cells.cells[..] else {
            panic!("two cells: {:?}", cells.cells.len())
        };
        assert_eq!(
            (one.label, one.area, &one.parts[..]),
            (1, 32, &[16, 16][..])
        );
        assert_eq!(
            one.notes(),
            [
                "cell 'f_1': its mask has 2 separate parts (16 px, 16 px): predicted as one cell, as the training data's cell clusters are; if they are separate cells, give each its own label"
            ]
        );
        assert_eq!((two.label, two.area, &two.parts[..]), (2, 26, &[25][..]));
        assert!(two.notes().is_empty());
        assert_eq!(parts(&labels.map(|k| k == 2)), [25, 1]);
    }

    #[test]
    fn label_images_of_32_and_signed_integers_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let labels = Image::from_fn(
            [6, 7],
            |[y, x]| if y > 2 { 70_000u32 + x as u32 } else { 0 },
        );
        let u32_file = dir.path().join("u32.tif");
        write_image(&u32_file, &labels).unwrap();
        assert_eq!(read_labels(&u32_file).unwrap(), labels);
        // int32 (StarDist, scikit-image) and int16, written as tifffile writes them.
        let write_signed = |path: &Path, values: Vec<i32>| {
            let file = std::fs::File::create(path).unwrap();
            let mut tiff = tiff::encoder::TiffEncoder::new(file).unwrap();
            tiff.write_image::<tiff::encoder::colortype::GrayI32>(7, 6, &values)
                .unwrap();
        };
        let i32_file = dir.path().join("i32.tif");
        write_signed(&i32_file, labels.data().iter().map(|&v| v as i32).collect());
        assert_eq!(read_labels(&i32_file).unwrap(), labels);
        let i16_file = dir.path().join("i16.tif");
        let file = std::fs::File::create(&i16_file).unwrap();
        tiff::encoder::TiffEncoder::new(file)
            .unwrap()
            .write_image::<tiff::encoder::colortype::GrayI16>(7, 6, &[3i16; 42])
            .unwrap();
        assert_eq!(read_labels(&i16_file).unwrap(), Image::filled([6, 7], 3u32));
        let negative = dir.path().join("negative.tif");
        write_signed(&negative, (0..42).map(|v| v - 1).collect());
        let err = read_labels(&negative).unwrap_err().to_string();
        assert!(
            err.contains("negative.tif") && err.contains("int32 values down to -1"),
            "{err}"
        );
        // int64 (scikit-image's `label`, numpy's default integer) and uint64, up to
        // uint32's range.
        let wide = |name: &str, write: &dyn Fn(&mut tiff::encoder::TiffEncoder<std::fs::File>)| {
            let path = dir.path().join(name);
            write(
                &mut tiff::encoder::TiffEncoder::new(std::fs::File::create(&path).unwrap())
                    .unwrap(),
            );
            read_labels(&path)
        };
        let as_i64: Vec<i64> = labels.data().iter().map(|&v| i64::from(v)).collect();
        let read = wide("i64.tif", &|t| {
            t.write_image::<tiff::encoder::colortype::GrayI64>(7, 6, &as_i64)
                .unwrap();
        });
        assert_eq!(read.unwrap(), labels);
        let err = wide("big.tif", &|t| {
            t.write_image::<tiff::encoder::colortype::Gray64>(7, 6, &[1u64 << 33; 42])
                .unwrap();
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("big.tif") && err.contains("uint64 values up to 8589934592"),
            "{err}"
        );
        let err = wide("i64-negative.tif", &|t| {
            t.write_image::<tiff::encoder::colortype::GrayI64>(7, 6, &[-5i64; 42])
                .unwrap();
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("int64 values down to -5"), "{err}");
        let read = wide("i8.tif", &|t| {
            t.write_image::<tiff::encoder::colortype::GrayI8>(7, 6, &[2i8; 42])
                .unwrap();
        });
        assert_eq!(read.unwrap(), Image::filled([6, 7], 2u32));
    }
}
