//! The model's conditioning input, built from a 2D image and mask (DESIGN.md): channel 0
//! is the mask (`mask/255` for 0/255 masks), channel 1 the masked fluorescence
//! (`image/255 · mask/255`), both repeated along z. The reference code puts these first
//! and the noisy volume last on the channel axis. Plain arrays: no ML framework here.

use crate::error::{Error, Result};
use crate::grid::{Image, format_shape};

/// Number of 2D conditioning channels the model sees besides the noisy volume.
pub const CONDITIONING_CHANNELS: usize = 2;

/// Number of conditioning channels of a model with or without a prior shape
/// ([`crate::data::prior`]), which comes after the two 2D channels.
pub fn conditioning_channels(prior: bool) -> usize {
    CONDITIONING_CHANNELS + usize::from(prior)
}

/// The two 2D conditioning channels of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Conditioning {
    /// 1 inside the mask, 0 outside.
    pub mask: Image<f32>,
    /// Fluorescence in [0, 1] inside the mask, 0 outside.
    pub masked_image: Image<f32>,
}

impl Conditioning {
    /// Builds the channels from an image scaled to [0, 1] (see
    /// [`crate::io::tiff::Stack::to_unit_intensity`]) and a binary mask of the same size.
    pub fn new(image: &Image<f32>, mask: &Image<bool>) -> Result<Self> {
        if image.shape() != mask.shape() {
            return Err(Error::invalid(format!(
                "mask is {} but image is {}",
                format_shape(&mask.shape()),
                format_shape(&image.shape())
            )));
        }
        let mask_f = mask.map(|m| if m { 1.0f32 } else { 0.0 });
        let data = image
            .data()
            .iter()
            .zip(mask.data())
            .map(|(&v, &m)| if m { v } else { 0.0 })
            .collect();
        Ok(Self {
            masked_image: Image::new(image.shape(), data).expect("same shape as image"),
            mask: mask_f,
        })
    }

    /// (height, width).
    pub fn shape(&self) -> [usize; 2] {
        self.mask.shape()
    }

    /// The channels repeated along z: a flat `[2, depth, height, width]` array, mask
    /// first, ready to be concatenated in front of the noisy volume.
    pub fn to_channels(&self, depth: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(CONDITIONING_CHANNELS * depth * self.mask.len());
        for channel in [&self.mask, &self.masked_image] {
            for _ in 0..depth {
                out.extend_from_slice(channel.data());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_follow_the_reference_definition() {
        // uint8 data as the reference: image/255 and mask/255 with 0/255 masks.
        let image_u8 = Image::new([2, 2], vec![0u8, 51, 102, 255]).unwrap();
        let mask_u8 = Image::new([2, 2], vec![255u8, 0, 255, 255]).unwrap();
        let image = image_u8.map(|v| v as f32 / 255.0);
        let c = Conditioning::new(&image, &mask_u8.binarize()).unwrap();
        for i in 0..4 {
            let m = mask_u8.data()[i] as f32 / 255.0;
            assert_eq!(c.mask.data()[i], m);
            assert!((c.masked_image.data()[i] - image.data()[i] * m).abs() < 1e-7);
        }
        let flat = c.to_channels(3);
        assert_eq!(flat.len(), 2 * 3 * 4);
        assert_eq!(&flat[0..4], c.mask.data());
        assert_eq!(&flat[8..12], c.mask.data());
        assert_eq!(&flat[12..16], c.masked_image.data());
        assert_eq!(&flat[20..24], c.masked_image.data());
    }

    #[test]
    fn shapes_must_agree() {
        let err = Conditioning::new(&Image::filled([4, 4], 0.5), &Image::filled([4, 5], true))
            .unwrap_err();
        assert_eq!(err.to_string(), "mask is 4×5 but image is 4×4");
    }
}
