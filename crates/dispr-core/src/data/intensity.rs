//! How dispr reads a fluorescence image's intensities — one rule for training and
//! prediction alike, whatever the pixel type the microscope or Fiji wrote.
//!
//! The model was trained on 8-bit images read as `value / 255`, so absolute brightness
//! matters to it (a dim cell is not stretched to look bright). Every image is therefore
//! divided by the full scale of the bit depth its values use:
//!
//! | stored as | values | read as |
//! |---|---|---|
//! | float32 | 0 … 1 | as they are |
//! | any | 0 … 255 | value / 255 (8-bit) |
//! | any | 0 … 4095 | value / 4095 (12-bit, e.g. a 12-bit camera saved as uint16) |
//! | any | 0 … 65535 | value / 65535 (16-bit) |
//!
//! so a cell saved as uint8, as uint16 (× 257), as float32 holding 0–255, or as float32
//! scaled to 0–1 reads the same. This is the rule of the bit depth, not a percentile
//! stretch (as cellpose and StarDist use): a stretch would map every cell's brightest
//! pixel to 1 and lose the brightness the model conditions on, and it would change what
//! the shipped model saw in training. Negative, non-finite or constant images, and float
//! images beyond 16-bit, are refused; an unusual encoding (a float image beyond 0–1, a
//! uint16 image using only 8 or 12 bits) is read by the rule and noted by `dispr data
//! info`.
//!
//! The bit depth is that of the image's values, not of its few brightest pixels: a hot
//! pixel (a cosmic ray, a dead camera pixel, a resampling overshoot) must not divide the
//! whole image by 255. Up to [`stray_allowance`] pixels above a bit depth's full scale
//! leave the image in that bit depth; they read as 1 (saturated), and `predict` and
//! `data info` say how many.

use crate::grid::{Dtype, Volume};
use crate::io::tiff::Stack;

/// The encodings of [`intensity_scale`], by the largest value they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Float values in [0, 1].
    Unit,
    /// Values up to 255.
    Bits8,
    /// Values up to 4095.
    Bits12,
    /// Values up to 65535.
    Bits16,
}

impl Encoding {
    /// The value that reads as 1.
    pub fn full_scale(self) -> f64 {
        match self {
            Self::Unit => 1.0,
            Self::Bits8 => 255.0,
            Self::Bits12 => 4095.0,
            Self::Bits16 => 65535.0,
        }
    }

    /// `0–1`, `8-bit`, `12-bit` or `16-bit`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unit => "0–1",
            Self::Bits8 => "8-bit",
            Self::Bits12 => "12-bit",
            Self::Bits16 => "16-bit",
        }
    }
}

/// The encoding of an image of `dtype` whose values run from `min` to `max`, or what is
/// wrong with it (one line, without the path).
pub fn intensity_scale(dtype: Dtype, min: f64, max: f64) -> Result<Encoding, String> {
    if !(min.is_finite() && max.is_finite()) {
        return Err("contains NaN or infinite values".into());
    }
    if min < 0.0 {
        return Err(format!(
            "holds negative intensities (down to {min}); dispr reads images of values ≥ 0"
        ));
    }
    if min == max {
        return Err(format!(
            "the image is constant (every pixel {max}): there is no fluorescence to read"
        ));
    }
    Ok(match (dtype, max) {
        (Dtype::F32, m) if m <= 1.0 => Encoding::Unit,
        (_, m) if m <= 255.0 => Encoding::Bits8,
        (_, m) if m <= 4095.0 => Encoding::Bits12,
        (_, m) if m <= 65535.0 => Encoding::Bits16,
        (_, m) => {
            return Err(format!(
                "{dtype} intensities up to {m}, beyond 16-bit; rescale the image to 0–1 or 0–65535"
            ));
        }
    })
}

/// How many pixels of an image of `pixels` may lie above a bit depth's full scale and
/// leave the image in that bit depth (stray hot pixels, not its range): 0.1 % of them
/// (4 of a 64 × 64 crop). A cell's own pixels are hundreds.
pub fn stray_allowance(pixels: usize) -> usize {
    pixels / 1000
}

/// How an image's intensities are read ([`reading_of`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// The pixel type stored in the file.
    pub dtype: Dtype,
    /// The bit depth its values use.
    pub encoding: Encoding,
    /// Its largest value.
    pub max: f64,
    /// Stray pixels above the encoding's full scale, read as 1.
    pub saturated: usize,
}

impl Reading {
    /// What `dispr data info` notes about an image read by an unusual encoding or with
    /// stray saturated pixels (reading it is not wrong, but the user should know how),
    /// or `None`.
    pub fn note(&self) -> Option<String> {
        if self.saturated > 0 {
            return self.saturation_note();
        }
        // Shown as the file stored it (a float32 1.2, not 1.2000000476837158).
        let (max, e) = (self.max as f32, self.encoding);
        match (self.dtype, e) {
            (Dtype::U8, _) | (Dtype::F32, Encoding::Unit) | (Dtype::U16, Encoding::Bits16) => None,
            (Dtype::F32, _) => Some(format!(
                "float32 image with values up to {max}, beyond 0–1: read as {} data (value / {})",
                e.name(),
                e.full_scale()
            )),
            (dtype, _) => Some(format!(
                "{dtype} image using only {} (values up to {max}): read as value / {}",
                e.name(),
                e.full_scale()
            )),
        }
    }

    /// What `predict` says of an image with stray pixels above its bit depth, or
    /// `None`.
    pub fn saturation_note(&self) -> Option<String> {
        (self.saturated > 0).then(|| {
            format!(
                "{} pixel{} above {} (up to {}), too few to be the image's range: read as {} data (value / {}), {} as 1 (saturated)",
                self.saturated,
                if self.saturated == 1 { "" } else { "s" },
                self.encoding.full_scale(),
                self.max as f32,
                self.encoding.name(),
                self.encoding.full_scale(),
                if self.saturated == 1 { "that pixel" } else { "those pixels" }
            )
        })
    }
}

/// How an image's intensities are read, or what is wrong: the bit depth of
/// [`intensity_scale`], or a lower one that holds all but [`stray_allowance`] of its
/// pixels.
pub fn reading_of(image: &Stack) -> Result<Reading, String> {
    if image.has_non_finite() {
        return Err("contains NaN or infinite values".into());
    }
    let (min, max) = image.min_max().unwrap_or((f64::NAN, f64::NAN));
    let dtype = image.dtype();
    let by_max = intensity_scale(dtype, min, max)?;
    let values = image.to_f32();
    let allowance = stray_allowance(values.len());
    let above = |e: Encoding| {
        values
            .data()
            .iter()
            .filter(|&&v| f64::from(v) > e.full_scale())
            .count()
    };
    let lower = [
        Encoding::Unit,
        Encoding::Bits8,
        Encoding::Bits12,
        Encoding::Bits16,
    ]
    .into_iter()
    .filter(|&e| e != Encoding::Unit || dtype == Dtype::F32)
    .take_while(|&e| e != by_max)
    .map(|e| (e, above(e)))
    .find(|&(_, n)| n <= allowance);
    let (encoding, saturated) = lower.unwrap_or((by_max, 0));
    Ok(Reading {
        dtype,
        encoding,
        max,
        saturated,
    })
}

/// The encoding of an image ([`reading_of`]), or what is wrong.
pub fn encoding_of(image: &Stack) -> Result<Encoding, String> {
    reading_of(image).map(|r| r.encoding)
}

/// The image's intensities in [0, 1]: value / the encoding's full scale, stray pixels
/// above it read as 1.
pub fn to_unit(image: &Stack, encoding: Encoding) -> Volume<f32> {
    let full_scale = encoding.full_scale();
    image.map_to_f32(|v| (v / full_scale).min(1.0) as f32)
}

/// A 2D image's intensities in [0, 1] (its first plane; [`encoding_of`] then
/// [`to_unit`]), or what is wrong with it.
pub fn unit_image(image: &Stack) -> Result<crate::grid::Image<f32>, String> {
    let encoding = encoding_of(image)?;
    Ok(to_unit(image, encoding).slice_z(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Volume;

    fn unit(image: &Stack) -> Volume<f32> {
        to_unit(image, encoding_of(image).unwrap())
    }

    #[test]
    fn every_encoding_of_one_cell_reads_the_same() {
        let raw: Vec<u8> = vec![0, 17, 128, 251];
        let u8s = Stack::U8(Volume::new([1, 1, 4], raw.clone()).unwrap());
        let u16s = Stack::U16(
            Volume::new([1, 1, 4], raw.iter().map(|&v| v as u16 * 257).collect()).unwrap(),
        );
        let f_raw =
            Stack::F32(Volume::new([1, 1, 4], raw.iter().map(|&v| v as f32).collect()).unwrap());
        let f_unit = Stack::F32(
            Volume::new([1, 1, 4], raw.iter().map(|&v| v as f32 / 255.0).collect()).unwrap(),
        );
        let want = unit(&u8s);
        for other in [&u16s, &f_raw, &f_unit] {
            for (a, b) in unit(other).data().iter().zip(want.data()) {
                assert!((a - b).abs() < 1e-6, "{a} vs {b}");
            }
        }
        // 12 bits in uint16: within the 8-to-12-bit rounding (4080 / 4095).
        let u12 = Stack::U16(
            Volume::new([1, 1, 4], raw.iter().map(|&v| v as u16 * 16).collect()).unwrap(),
        );
        for (a, b) in unit(&u12).data().iter().zip(want.data()) {
            assert!((a - b).abs() < 0.004, "{a} vs {b}");
        }
    }

    #[test]
    fn encodings_and_their_notes() {
        let scale = |d, max| intensity_scale(d, 0.0, max);
        assert_eq!(scale(Dtype::U8, 200.0), Ok(Encoding::Bits8));
        assert_eq!(scale(Dtype::U8, 1.0), Ok(Encoding::Bits8));
        assert_eq!(scale(Dtype::F32, 0.7), Ok(Encoding::Unit));
        assert_eq!(scale(Dtype::F32, 251.0), Ok(Encoding::Bits8));
        assert_eq!(scale(Dtype::U16, 4000.0), Ok(Encoding::Bits12));
        assert_eq!(scale(Dtype::U16, 60000.0), Ok(Encoding::Bits16));
        assert!(
            scale(Dtype::F32, 1e6)
                .unwrap_err()
                .contains("beyond 16-bit")
        );
        assert!(
            intensity_scale(Dtype::F32, -0.5, 1.0)
                .unwrap_err()
                .contains("negative")
        );
        assert!(
            intensity_scale(Dtype::U8, 7.0, 7.0)
                .unwrap_err()
                .contains("constant")
        );
        assert!(intensity_scale(Dtype::F32, 0.0, f64::NAN).is_err());
        let note = |dtype, encoding, max| {
            Reading {
                dtype,
                encoding,
                max,
                saturated: 0,
            }
            .note()
        };
        assert_eq!(note(Dtype::U8, Encoding::Bits8, 200.0), None);
        assert_eq!(note(Dtype::U16, Encoding::Bits16, 60000.0), None);
        assert!(
            note(Dtype::U16, Encoding::Bits12, 4000.0)
                .unwrap()
                .contains("only 12-bit")
        );
        assert!(
            note(Dtype::F32, Encoding::Bits8, 251.0)
                .unwrap()
                .contains("beyond 0–1")
        );
    }

    /// A 100 × 100 image: a background of `low`, a 30 × 30 cell of `high`, and
    /// `hot` stray pixels of `hot_value`.
    fn with_hot_pixels(low: f32, high: f32, hot: usize, hot_value: f32) -> Stack {
        let mut values = vec![low; 100 * 100];
        for y in 35..65 {
            for x in 35..65 {
                values[y * 100 + x] = high;
            }
        }
        for i in 0..hot {
            values[i * 7] = hot_value;
        }
        Stack::F32(Volume::new([1, 100, 100], values).unwrap())
    }

    #[test]
    fn a_few_hot_pixels_do_not_change_how_an_image_is_read() {
        // A 0–1 float image with one pixel at 1.2: still 0–1, that pixel saturated.
        let hot = with_hot_pixels(0.1, 0.6, 1, 1.2);
        let r = reading_of(&hot).unwrap();
        assert_eq!((r.encoding, r.saturated), (Encoding::Unit, 1));
        let unit = to_unit(&hot, r.encoding);
        assert!((unit.data()[50 * 100 + 50] - 0.6).abs() < 1e-6);
        assert_eq!(unit.data()[0], 1.0);
        assert!(r.saturation_note().unwrap().contains("1 pixel above 1"));
        assert!(r.note().unwrap().contains("saturated"));
        // The same cell without the hot pixel reads the same inside.
        let clean = with_hot_pixels(0.1, 0.6, 0, 0.0);
        assert_eq!(reading_of(&clean).unwrap().saturated, 0);
        assert_eq!(reading_of(&clean).unwrap().note(), None);
        // 12-bit values in float with 10 stray pixels at 4200 (the allowance): 12-bit.
        let r = reading_of(&with_hot_pixels(100.0, 3000.0, 10, 4200.0)).unwrap();
        assert_eq!((r.encoding, r.saturated), (Encoding::Bits12, 10));
        // Eleven are more than stray: the image is read by its maximum, as before.
        let r = reading_of(&with_hot_pixels(100.0, 3000.0, 11, 4200.0)).unwrap();
        assert_eq!((r.encoding, r.saturated), (Encoding::Bits16, 0));
        // A cell brighter than 1 is the image's range, not stray pixels.
        let r = reading_of(&with_hot_pixels(0.5, 200.0, 0, 0.0)).unwrap();
        assert_eq!((r.encoding, r.saturated), (Encoding::Bits8, 0));
        // Integer images are never read as 0–1.
        let ints = Stack::U8(Volume::new([1, 2, 2], vec![0, 1, 1, 9]).unwrap());
        assert_eq!(reading_of(&ints).unwrap().encoding, Encoding::Bits8);
        assert_eq!(stray_allowance(4096), 4);
        assert_eq!(stray_allowance(4), 0);
    }
}
