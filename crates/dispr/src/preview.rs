//! Gallery PNGs of datasets: per cell its 2D image, its mask and three orthogonal sum
//! projections of its 3D shape, like the figures of the SHAPR and DISPR papers.

use std::path::Path;

use anyhow::Context;
use dispr_core::data::dataset::load_cell;
use dispr_core::grid::{Image, Volume};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{encode_png, register_font};

/// One row of the gallery.
pub struct PreviewCell {
    /// Row label (cell name).
    pub label: String,
    /// Fluorescence in [0, 1].
    pub image: Image<f32>,
    /// Mask.
    pub mask: Image<bool>,
    /// 3D shape, when known.
    pub obj: Option<Volume<bool>>,
}

const SCALE: usize = 2;
const GAP: usize = 8;
const LABEL_W: usize = 230;
const HEADER_H: usize = 56;

/// Sum projection of a shape along `axis`, normalised to [0, 1], with z drawn downward.
fn projection(obj: &Volume<bool>, axis: usize) -> Image<f32> {
    sum_projection(&obj.map(|v| if v { 1.0 } else { 0.0 }), axis)
}

/// Sum projection of a volume of values in [0, 1] along `axis`, normalised to [0, 1].
fn sum_projection(obj: &Volume<f32>, axis: usize) -> Image<f32> {
    let [nz, ny, nx] = obj.shape();
    let (h, w) = match axis {
        0 => (ny, nx),
        1 => (nz, nx),
        _ => (nz, ny),
    };
    let mut sums = Image::filled([h, w], 0.0f32);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let v = obj.at([z, y, x]);
                if v > 0.0 {
                    let at = match axis {
                        0 => [y, x],
                        1 => [z, x],
                        _ => [z, y],
                    };
                    sums.set(at, sums.at(at) + v);
                }
            }
        }
    }
    let max = sums.data().iter().copied().fold(0.0, f32::max).max(1.0);
    sums.map(|v| v / max)
}

/// Shapes are drawn in this blue on white, the fluorescence in grey.
const INK: [f32; 3] = [0.12, 0.30, 0.55];

/// One picture of a gallery row: values in [0, 1] drawn from white to `colour`.
pub struct Tile {
    /// The values.
    pub values: Image<f32>,
    /// The colour of 1.
    pub colour: [f32; 3],
}

impl Tile {
    /// A fluorescence image, scaled to its maximum, grey on black.
    pub fn fluorescence(image: &Image<f32>) -> Self {
        let max = image.data().iter().copied().fold(0.0, f32::max).max(1e-6);
        Self {
            values: image.map(|v| 1.0 - v / max),
            colour: [0.0, 0.0, 0.0],
        }
    }

    /// A mask, blue on white.
    pub fn mask(mask: &Image<bool>) -> Self {
        Self {
            values: mask.map(|m| if m { 1.0 } else { 0.0 }),
            colour: INK,
        }
    }

    /// The sum projection of a shape along `axis` (0: top view xy; 1: side view xz;
    /// 2: side view yz), blue on white.
    pub fn projection(shape: &Volume<bool>, axis: usize) -> Self {
        Self {
            values: projection(shape, axis),
            colour: INK,
        }
    }
}

impl Tile {
    /// The sum projection of a probability volume (values in [0, 1]) along `axis`,
    /// in orange on white: where the samples agree it is as dark as a shape, where they
    /// differ lighter.
    pub fn probability(probability: &Volume<f32>, axis: usize) -> Self {
        Self {
            values: sum_projection(&probability.map(|v| v.clamp(0.0, 1.0)), axis),
            colour: [0.75, 0.33, 0.05],
        }
    }
}

/// Writes a gallery to `path`: a title, column headers and one labelled row of tiles
/// per entry of `rows` (tiles up to 64 pixels drawn twice their size, larger ones
/// shrunk to 128 pixels).
pub fn draw_tiles(
    path: &Path,
    title: &str,
    headers: &[&str],
    rows: &[(String, Vec<Tile>)],
) -> anyhow::Result<()> {
    register_font();
    let tile = 64 * SCALE;
    let columns = headers
        .len()
        .max(rows.iter().map(|(_, t)| t.len()).max().unwrap_or(0));
    let width = LABEL_W + columns * (tile + GAP);
    let height = HEADER_H + rows.len() * (tile + GAP) + GAP;
    let mut rgb = vec![255u8; width * height * 3];
    for (row, (_, tiles)) in rows.iter().enumerate() {
        let y0 = HEADER_H + row * (tile + GAP);
        for (col, t) in tiles.iter().enumerate() {
            let x0 = LABEL_W + col * (tile + GAP);
            // Up to 64 pixels drawn twice their size; larger ones shrunk to fit.
            let [h, w] = t.values.shape();
            let scale = (tile as f64 / h.max(w).max(1) as f64).min(SCALE as f64);
            let (th, tw) = (
                ((h as f64 * scale) as usize).min(tile),
                ((w as f64 * scale) as usize).min(tile),
            );
            for y in 0..th {
                for x in 0..tw {
                    let at = [
                        ((y as f64 / scale) as usize).min(h - 1),
                        ((x as f64 / scale) as usize).min(w - 1),
                    ];
                    let v = t.values.at(at).clamp(0.0, 1.0);
                    let o = ((y0 + y) * width + x0 + x) * 3;
                    for c in 0..3 {
                        rgb[o + c] = (255.0 * (1.0 - v * (1.0 - t.colour[c]))).round() as u8;
                    }
                }
            }
        }
    }
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (width as u32, height as u32)).into_drawing_area();
        let text = |size: i32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
        root.draw(&Text::new(title.to_string(), (12, 8), text(20)))?;
        for (col, name) in headers.iter().enumerate() {
            let cx = (LABEL_W + col * (tile + GAP) + tile / 2) as i32;
            let style = text(15).pos(Pos::new(HPos::Center, VPos::Bottom));
            root.draw(&Text::new(
                name.to_string(),
                (cx, HEADER_H as i32 - 6),
                style,
            ))?;
        }
        for (row, (label, _)) in rows.iter().enumerate() {
            let cy = (HEADER_H + row * (tile + GAP) + tile / 2) as i32;
            let style = text(14).pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(label.clone(), (10, cy), style))?;
        }
        root.present()?;
    }
    encode_png(path, &rgb, width as u32, height as u32)
}

/// Writes the gallery of `cells` to `path`: image, mask and three projections of the
/// shape per cell.
pub fn draw_gallery(path: &Path, title: &str, cells: &[PreviewCell]) -> anyhow::Result<()> {
    let rows: Vec<(String, Vec<Tile>)> = cells
        .iter()
        .map(|cell| {
            let mut tiles = vec![Tile::fluorescence(&cell.image), Tile::mask(&cell.mask)];
            if let Some(obj) = &cell.obj {
                tiles.extend((0..3).map(|axis| Tile::projection(obj, axis)));
            }
            (cell.label.clone(), tiles)
        })
        .collect();
    draw_tiles(
        path,
        title,
        &["image", "mask", "shape: top (xy)", "side (xz)", "side (yz)"],
        &rows,
    )
}

/// Cells shown per class by default; a dataset without classes (one group of
/// unlabeled cells) shows [`UNLABELED_SHOWN`].
pub const PER_CLASS_SHOWN: u32 = 2;

/// Cells shown of a dataset without classes by default.
pub const UNLABELED_SHOWN: u32 = 12;

/// The first `per_class` cells of each class of a dataset (default: [`PER_CLASS_SHOWN`],
/// or [`UNLABELED_SHOWN`] when it has no classes), as gallery rows.
pub fn dataset_cells(dir: &Path, per_class: Option<u32>) -> anyhow::Result<Vec<PreviewCell>> {
    let dataset = crate::commands::open_dataset(dir)?;
    let classes = dataset.class_counts();
    let unlabeled = dataset
        .cells
        .iter()
        .all(|c| matches!(c.label, dispr_core::data::class::Label::Unlabeled));
    let per_class = per_class.unwrap_or(if unlabeled {
        UNLABELED_SHOWN
    } else {
        PER_CLASS_SHOWN
    }) as usize;
    let mut rows = Vec::new();
    for (class, _) in classes {
        for files in dataset
            .cells
            .iter()
            .filter(|c| c.label.name() == class)
            .take(per_class)
        {
            let cell = load_cell(files).with_context(|| format!("preview of {}", files.name))?;
            rows.push(PreviewCell {
                label: cell.name.clone(),
                image: cell.image,
                mask: cell.mask,
                obj: cell.shape,
            });
        }
    }
    Ok(rows)
}
