//! A cell of any crop in the model's field, and its 3D prediction back in the crop.
//!
//! The model works on a fixed field (64 × 64 for the shipped model) with the cell centred
//! as in its training crops, which centre each cell's bounding box to within 1.5 pixels.
//! An image of the field's size is used as it is, exactly like the training data. Any
//! other image — a larger crop, a smaller one, a cell off-centre in a field of view — is
//! placed so that its mask's bounding box is centred in the field (cropping or padding
//! with zeros), and the prediction is placed back at the same offset, so that it lies
//! over the cell in the input's own xy frame. A cell whose bounding box is larger than
//! the field is refused (it would be cut), unless downscaling is asked for: then the
//! smallest whole factor k that makes it fit shrinks it (the mean of each k × k block of
//! the image, the majority of the mask's), and the prediction is enlarged back by k in
//! x, y and z (nearest voxel), so its voxels are cubes of the input's pixel again.
//! When the model's training pixel size and the input's are both known and differ, the
//! input is resampled the same way to the model's pixel size first (pooled when finer,
//! nearest pixel when coarser), and the prediction mapped back to the input's pixels.

use crate::grid::{Image, Volume};

/// The least share of the model's field a cell's mask must cover (at the model's pixel
/// size): the smallest of the 108 real cells covers 10 % of its 64 × 64 crop, so a mask
/// under 1 % of it is a speck of the segmentation, not a cell the model can read.
pub const MIN_CELL_SHARE: f64 = 0.01;

/// Pixel values that a k × k block of the input can be reduced to one field pixel.
pub trait Pool: Copy + Default {
    /// One value for the block `values` (not empty).
    fn pool(values: &[Self]) -> Self;
}

impl Pool for f32 {
    /// The mean (an intensity image).
    fn pool(values: &[Self]) -> Self {
        values.iter().sum::<f32>() / values.len() as f32
    }
}

impl Pool for bool {
    /// The majority, ties inside (a mask).
    fn pool(values: &[Self]) -> Self {
        2 * values.iter().filter(|&&v| v).count() >= values.len()
    }
}

/// How a cell is fitted to the model's field: its scale, and whether a cell too large
/// for the field may be shrunk.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fit {
    /// µm per pixel of the model's training images, when known.
    pub model_pixel_um: Option<f64>,
    /// µm per pixel of the input, over what its metadata states (`--pixel-size`).
    pub pixel_size_um: Option<f64>,
    /// Shrink a cell larger than the field by a whole factor instead of refusing it.
    pub downscale: bool,
}

impl Fit {
    /// Input pixels per model pixel for an input whose metadata states `stated` µm
    /// per pixel: the model's pixel size over the input's, when both are known and
    /// differ by more than 1 %; else 1 (the input is taken at the model's scale).
    pub fn scale_for(&self, stated: Option<f64>) -> f64 {
        match (self.model_pixel_um, self.pixel_size_um.or(stated)) {
            (Some(model), Some(input)) if (model / input - 1.0).abs() > 0.01 => model / input,
            _ => 1.0,
        }
    }
}

/// Where the model's field lies in an input image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Framing {
    /// The input image's (height, width).
    pub input: [usize; 2],
    /// The model's field (height, width).
    pub field: [usize; 2],
    /// Input coordinates (y, x) of the field's first pixel (negative: the field starts
    /// before the image, which is padded).
    pub origin: [isize; 2],
    /// Input pixels per field pixel along each axis: the pixel sizes' ratio times
    /// [`Framing::factor`] (1: the input as it is).
    pub scale: f64,
    /// The whole factor a cell too large for the field was shrunk by (1: none).
    pub factor: usize,
}

impl Framing {
    /// The framing of a cell with `mask` (an input of `stated` µm per pixel, when its
    /// metadata says) in a field of `field` pixels, as `fit` asks; the problem (one
    /// line) when the mask is empty, covers less than [`MIN_CELL_SHARE`] of the field,
    /// or its cell is larger than the field and `fit` does not allow shrinking it.
    pub fn of(
        mask: &Image<bool>,
        field: [usize; 2],
        fit: Fit,
        stated: Option<f64>,
    ) -> Result<Self, String> {
        let input = mask.shape();
        let resample = fit.scale_for(stated);
        let area = mask.count();
        let field_area = (field[0] * field[1]) as f64;
        if area > 0 && (area as f64 / (resample * resample)) < MIN_CELL_SHARE * field_area {
            return Err(format!(
                "the cell's mask has only {area} pixel{} (under {:.0} % of the model's {}×{} field at its pixel size; the smallest real training cell covers 10 %): too small to be a cell",
                if area == 1 { "" } else { "s" },
                100.0 * MIN_CELL_SHARE,
                field[0],
                field[1]
            ));
        }
        if input == field && resample == 1.0 {
            return Ok(Self {
                input,
                field,
                origin: [0, 0],
                scale: 1.0,
                factor: 1,
            });
        }
        let (lo, hi) = bounding_box(mask).ok_or_else(|| "mask is empty".to_string())?;
        let span = [hi[0] - lo[0], hi[1] - lo[1]];
        let at_model = span.map(|s| s as f64 / resample);
        let factor = (0..2)
            .map(|a| (at_model[a] / field[a] as f64 - 1e-9).ceil() as usize)
            .max()
            .unwrap_or(1)
            .max(1);
        if factor > 1 && !fit.downscale {
            let scaled = if resample == 1.0 {
                String::new()
            } else {
                format!(
                    " ({:.0}×{:.0} at the model's pixel size)",
                    at_model[0], at_model[1]
                )
            };
            return Err(format!(
                "the cell is {}×{} pixels{scaled} but the model's field is {}×{}; crop it, or pass --downscale to shrink it {factor}×",
                span[0], span[1], field[0], field[1]
            ));
        }
        let scale = resample * factor as f64;
        let origin = [0, 1].map(|a| {
            let margin = (field[a] as f64 * scale - span[a] as f64) / 2.0;
            lo[a] as isize - margin.floor() as isize
        });
        Ok(Self {
            input,
            field,
            origin,
            scale,
            factor,
        })
    }

    /// True when the field is the image itself.
    pub fn is_identity(&self) -> bool {
        self.input == self.field && self.origin == [0, 0] && self.scale == 1.0
    }

    /// The input region the field covers, (height, width): the field times the scale,
    /// rounded up.
    pub fn crop_size(&self) -> [usize; 2] {
        self.field
            .map(|f| (f as f64 * self.scale - 1e-9).ceil().max(1.0) as usize)
    }

    /// The input pixel at `(y, x)` of the covered region, if the image has one there.
    fn input_of(&self, y: usize, x: usize) -> Option<[usize; 2]> {
        let iy = usize::try_from(self.origin[0] + y as isize).ok()?;
        let ix = usize::try_from(self.origin[1] + x as isize).ok()?;
        (iy < self.input[0] && ix < self.input[1]).then_some([iy, ix])
    }

    /// The input rows (or columns) of the covered region under field pixel `i`: those
    /// whose centres lie in it, or, when the field's pixels are the smaller, the one
    /// under its centre.
    fn under(&self, i: usize) -> std::ops::Range<usize> {
        let s = self.scale;
        let first = |edge: f64| (edge * s - 0.5 - 1e-9).ceil().max(0.0) as usize;
        let (lo, hi) = (first(i as f64), first((i + 1) as f64));
        if hi > lo {
            lo..hi
        } else {
            let c = ((i as f64 + 0.5) * s).floor() as usize;
            c..c + 1
        }
    }

    /// The field pixel (or slice) under the centre of input row `i` of the covered
    /// region.
    fn over(&self, i: usize, len: usize) -> usize {
        (((i as f64 + 0.5) / self.scale).floor() as usize).min(len - 1)
    }

    /// The input region the field covers ([`Framing::crop_size`]), at the input's
    /// scale; zero where it extends beyond the image.
    pub fn to_crop<T: Copy + Default>(&self, image: &Image<T>) -> Image<T> {
        Image::from_fn(self.crop_size(), |[y, x]| {
            self.input_of(y, x)
                .map_or_else(T::default, |[iy, ix]| image.at([iy, ix]))
        })
    }

    /// The part of `image` (of the input's size) in the field: the input pixels under
    /// each field pixel pooled to one (one pixel when the field's are smaller); zero
    /// where the field extends beyond the image.
    pub fn to_field<T: Pool>(&self, image: &Image<T>) -> Image<T> {
        let mut block = Vec::new();
        Image::from_fn(self.field, |[y, x]| {
            block.clear();
            for iy in self.under(y) {
                for ix in self.under(x) {
                    block.push(
                        self.input_of(iy, ix)
                            .map_or_else(T::default, |[a, b]| image.at([a, b])),
                    );
                }
            }
            T::pool(&block)
        })
    }

    /// A volume on the field (`[depth, field…]`) placed back into the input's xy frame
    /// at the input's scale (`[depth × scale, input…]`, nearest voxel in x, y and z);
    /// zero outside the field.
    pub fn to_input<T: Copy + Default>(&self, volume: &Volume<T>) -> Volume<T> {
        let [depth, fh, fw] = volume.shape();
        debug_assert_eq!([fh, fw], self.field);
        let [ih, iw] = self.input;
        let out_depth = ((depth as f64 * self.scale).round() as usize).max(1);
        let [ch, cw] = self.crop_size();
        let mut out = Volume::from_fn([out_depth, ih, iw], |_| T::default());
        for z in 0..out_depth {
            let fz = self.over(z, depth);
            for y in 0..ch {
                let fy = self.over(y, fh);
                for x in 0..cw {
                    if let Some([iy, ix]) = self.input_of(y, x) {
                        out.set([z, iy, ix], volume.at([fz, fy, self.over(x, fw)]));
                    }
                }
            }
        }
        out
    }
}

/// The smallest box `lo..hi` (end exclusive) holding every `true` pixel.
fn bounding_box(mask: &Image<bool>) -> Option<([usize; 2], [usize; 2])> {
    let [h, w] = mask.shape();
    let (mut lo, mut hi) = ([usize::MAX; 2], [0usize; 2]);
    for y in 0..h {
        for x in 0..w {
            if mask.at([y, x]) {
                lo = [lo[0].min(y), lo[1].min(x)];
                hi = [hi[0].max(y + 1), hi[1].max(x + 1)];
            }
        }
    }
    (lo[0] != usize::MAX).then_some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHRINK: Fit = Fit {
        model_pixel_um: None,
        pixel_size_um: None,
        downscale: true,
    };

    #[test]
    fn a_speck_is_not_a_cell() {
        // 3 pixels of a 64 × 64 field: refused, in a field-sized crop and in a larger one.
        let speck = |shape| Image::from_fn(shape, |[y, x]| y == 30 && (30..33).contains(&x));
        for shape in [[64, 64], [100, 120]] {
            let err = Framing::of(&speck(shape), [64, 64], Fit::default(), None).unwrap_err();
            assert!(
                err.contains("only 3 pixels") && err.contains("too small"),
                "{err}"
            );
        }
        // 41 pixels (1 % of the field) is a small cell, framed.
        let small = Image::from_fn([64, 64], |[y, x]| y < 41 && x == 5);
        assert!(Framing::of(&small, [64, 64], Fit::default(), None).is_ok());
        // At twice the model's pixel size the same 41 pixels cover four times the field.
        let coarse = Fit {
            model_pixel_um: Some(0.1),
            pixel_size_um: None,
            downscale: false,
        };
        let tiny = Image::from_fn([64, 64], |[y, x]| y < 11 && x == 5);
        assert!(Framing::of(&tiny, [64, 64], Fit::default(), None).is_err());
        assert!(Framing::of(&tiny, [64, 64], coarse, Some(0.2)).is_ok());
    }

    #[test]
    fn a_field_sized_image_is_used_as_it_is() {
        let mask = Image::from_fn([8, 8], |[y, x]| y < 3 && x < 3);
        let f = Framing::of(&mask, [8, 8], Fit::default(), None).unwrap();
        assert!(f.is_identity());
        assert_eq!(f.to_field(&mask), mask);
    }

    #[test]
    fn a_cell_is_centred_by_its_bounding_box_and_placed_back() {
        // A 3×4 cell at rows 10..13, columns 20..24 of a 30×40 image, in an 8×8 field:
        // margins (8 − 3) / 2 = 2 and (8 − 4) / 2 = 2.
        let mask = Image::from_fn([30, 40], |[y, x]| {
            (10..13).contains(&y) && (20..24).contains(&x)
        });
        let f = Framing::of(&mask, [8, 8], Fit::default(), None).unwrap();
        assert_eq!(f.origin, [8, 18]);
        let in_field = f.to_field(&mask);
        assert_eq!(in_field.count(), 12);
        assert!(in_field.at([2, 2]) && in_field.at([4, 5]) && !in_field.at([5, 2]));
        let volume = Volume::from_fn([2, 8, 8], |[_, y, x]| in_field.at([y, x]));
        let back = f.to_input(&volume);
        assert_eq!(back.shape(), [2, 30, 40]);
        assert!(
            (0..2).all(|z| (0..30).all(|y| (0..40).all(|x| back.at([z, y, x]) == mask.at([y, x]))))
        );
    }

    #[test]
    fn small_images_are_padded_and_large_cells_refused() {
        let mask = Image::from_fn([4, 6], |[y, x]| y >= 1 && x >= 2);
        let f = Framing::of(&mask, [8, 8], Fit::default(), None).unwrap();
        assert_eq!(f.to_field(&mask).count(), mask.count());
        assert_eq!(
            f.to_input(&Volume::from_fn([1, 8, 8], |_| true)).count(),
            24
        );
        let big = Image::from_fn([20, 20], |[y, _]| y < 9);
        let err = Framing::of(&big, [8, 8], Fit::default(), None).unwrap_err();
        assert!(
            err.contains("9×20 pixels but the model's field is 8×8"),
            "{err}"
        );
        assert!(err.contains("--downscale to shrink it 3×"), "{err}");
        assert!(Framing::of(&Image::filled([5, 5], false), [8, 8], Fit::default(), None).is_err());
    }

    #[test]
    fn a_large_cell_is_shrunk_on_request_and_its_prediction_enlarged_back() {
        // A 12×10 cell at rows 4..16, columns 6..16 of a 20×24 image, in an 8×8 field:
        // factor 2, the covered 16×16 region centred on it.
        let mask = Image::from_fn([20, 24], |[y, x]| {
            (4..16).contains(&y) && (6..16).contains(&x)
        });
        let f = Framing::of(&mask, [8, 8], SHRINK, None).unwrap();
        assert_eq!((f.factor, f.scale, f.crop_size()), (2, 2.0, [16, 16]));
        assert_eq!(f.origin, [2, 3]);
        let small = f.to_field(&mask);
        assert_eq!(
            small.count(),
            6 * 5 + 6,
            "blocks at least half inside count"
        );
        let image = mask.map(|m| if m { 1.0f32 } else { 0.0 });
        let pooled = f.to_field(&image);
        assert!(
            (pooled.at([1, 1]) - 0.5).abs() < 1e-6,
            "a block half inside"
        );
        assert_eq!(f.to_crop(&mask).count(), mask.count());
        // Back: depth and xy enlarged twice, over the cell.
        let volume = Volume::from_fn([3, 8, 8], |[_, y, x]| small.at([y, x]));
        let back = f.to_input(&volume);
        assert_eq!(back.shape(), [6, 20, 24]);
        assert_eq!(back.count(), 6 * 4 * small.count());
        let inside = (0..20)
            .flat_map(|y| (0..24).map(move |x| (y, x)))
            .filter(|&(y, x)| back.at([0, y, x]) && mask.at([y, x]))
            .count();
        assert!(inside as f64 >= 0.9 * mask.count() as f64);
    }

    #[test]
    fn a_cell_of_another_pixel_size_is_resampled_to_the_model_s() {
        let model = Fit {
            model_pixel_um: Some(0.2),
            pixel_size_um: None,
            downscale: false,
        };
        assert_eq!(model.scale_for(None), 1.0, "unknown: taken as it is");
        assert_eq!(model.scale_for(Some(0.201)), 1.0, "within 1 %");
        assert!((model.scale_for(Some(0.1)) - 2.0).abs() < 1e-12);
        let flag = Fit {
            pixel_size_um: Some(0.4),
            ..model
        };
        assert!(
            (flag.scale_for(Some(0.1)) - 0.5).abs() < 1e-12,
            "the flag wins"
        );
        // An 8×8 cell imaged at 0.1 µm in a 12×14 image, for a model of 0.2 µm pixels
        // and an 8×8 field: 2 input pixels per field pixel, a 16×16 region; the cell
        // becomes 4×4 field pixels; its prediction comes back 2× deeper, over it.
        let mask = Image::from_fn([12, 14], |[y, x]| {
            (2..10).contains(&y) && (3..11).contains(&x)
        });
        let f = Framing::of(&mask, [8, 8], model, Some(0.1)).unwrap();
        assert_eq!((f.scale, f.factor, f.crop_size()), (2.0, 1, [16, 16]));
        let small = f.to_field(&mask);
        assert_eq!(small.count(), 16);
        let back = f.to_input(&Volume::from_fn([4, 8, 8], |[_, y, x]| small.at([y, x])));
        assert_eq!(back.shape(), [8, 12, 14]);
        assert_eq!(back.count(), 8 * mask.count());
        assert!((0..12).all(|y| (0..14).all(|x| back.at([0, y, x]) == mask.at([y, x]))));
        // A coarser input (0.4 µm) is enlarged: half an input pixel per field pixel.
        let coarse = Image::from_fn([6, 6], |[y, x]| (1..4).contains(&y) && (1..5).contains(&x));
        let f = Framing::of(&coarse, [8, 8], model, Some(0.4)).unwrap();
        assert_eq!((f.scale, f.crop_size()), (0.5, [4, 4]));
        assert_eq!(f.to_field(&coarse).count(), 4 * coarse.count());
        let back = f.to_input(&Volume::from_fn([8, 8, 8], |[_, y, x]| {
            f.to_field(&coarse).at([y, x])
        }));
        assert_eq!(back.shape(), [4, 6, 6]);
        assert_eq!(back.count(), 4 * coarse.count());
        // Too large at the model's scale: the message says both sizes.
        let wide = Image::from_fn([40, 40], |[y, x]| y < 20 && x < 30);
        let err = Framing::of(&wide, [8, 8], model, Some(0.1)).unwrap_err();
        assert!(
            err.contains("20×30 pixels (10×15 at the model's pixel size)"),
            "{err}"
        );
    }
}
