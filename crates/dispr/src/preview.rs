//! Gallery PNGs of datasets: per cell its 2D image, its mask and three orthogonal sum
//! projections of its 3D shape, like the figures of the SHAPR and DISPR papers.

use std::path::Path;

use anyhow::Context;
use dispr_core::dataset::load_cell;
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
                if obj.at([z, y, x]) {
                    let at = match axis {
                        0 => [y, x],
                        1 => [z, x],
                        _ => [z, y],
                    };
                    sums.set(at, sums.at(at) + 1.0);
                }
            }
        }
    }
    let max = sums.data().iter().copied().fold(0.0, f32::max).max(1.0);
    sums.map(|v| v / max)
}

/// Writes the gallery of `cells` to `path`.
pub fn draw_gallery(path: &Path, title: &str, cells: &[PreviewCell]) -> anyhow::Result<()> {
    register_font();
    let tile = 64 * SCALE;
    let width = LABEL_W + 5 * (tile + GAP);
    let height = HEADER_H + cells.len() * (tile + GAP) + GAP;
    let mut rgb = vec![255u8; width * height * 3];
    let mut put = |x0: usize, y0: usize, img: &Image<f32>, colour: [f32; 3]| {
        let [h, w] = img.shape();
        for y in 0..h * SCALE {
            for x in 0..w * SCALE {
                let v = img.at([y / SCALE, x / SCALE]).clamp(0.0, 1.0);
                let (px, py) = (x0 + x, y0 + y);
                if px < width && py < height {
                    let o = (py * width + px) * 3;
                    for c in 0..3 {
                        rgb[o + c] = (255.0 * (1.0 - v * (1.0 - colour[c]))).round() as u8;
                    }
                }
            }
        }
    };
    for (row, cell) in cells.iter().enumerate() {
        let y0 = HEADER_H + row * (tile + GAP);
        let x = |col: usize| LABEL_W + col * (tile + GAP);
        // The fluorescence as grey on black (scaled to its maximum), shapes as dark blue
        // on white.
        let max = cell
            .image
            .data()
            .iter()
            .copied()
            .fold(0.0, f32::max)
            .max(1e-6);
        put(
            x(0),
            y0,
            &cell.image.map(|v| 1.0 - v / max),
            [0.0, 0.0, 0.0],
        );
        let ink = [0.12, 0.30, 0.55];
        put(x(1), y0, &cell.mask.map(|m| if m { 1.0 } else { 0.0 }), ink);
        if let Some(obj) = &cell.obj {
            for axis in 0..3 {
                put(x(2 + axis), y0, &projection(obj, axis), ink);
            }
        }
    }
    {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (width as u32, height as u32)).into_drawing_area();
        let text = |size: i32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
        root.draw(&Text::new(title.to_string(), (12, 8), text(20)))?;
        for (col, name) in ["image", "mask", "shape: top (xy)", "side (xz)", "side (yz)"]
            .iter()
            .enumerate()
        {
            let cx = (LABEL_W + col * (tile + GAP) + tile / 2) as i32;
            let style = text(15).pos(Pos::new(HPos::Center, VPos::Bottom));
            root.draw(&Text::new(
                name.to_string(),
                (cx, HEADER_H as i32 - 6),
                style,
            ))?;
        }
        for (row, cell) in cells.iter().enumerate() {
            let cy = (HEADER_H + row * (tile + GAP) + tile / 2) as i32;
            let style = text(14).pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(cell.label.clone(), (10, cy), style))?;
        }
        root.present()?;
    }
    encode_png(path, &rgb, width as u32, height as u32)
}

/// The first `per_class` cells of each class of a dataset, as gallery rows.
pub fn dataset_cells(dir: &Path, per_class: usize) -> anyhow::Result<Vec<PreviewCell>> {
    let dataset = crate::commands::open_dataset(dir)?;
    let mut rows = Vec::new();
    for (class, _) in dataset.class_counts() {
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
