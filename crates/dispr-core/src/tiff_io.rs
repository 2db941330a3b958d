//! TIFF input and output: the one place that knows the file format.
//!
//! Reads single-page 2D and multi-page 3D grayscale TIFFs (one page per z, as Python's
//! tifffile, Fiji and napari write them) in uint8, uint16 and float32, any compression
//! the `tiff` crate decodes. Writes uncompressed multi-page TIFFs, one page per z,
//! atomically.
//!
//! No ImageJ description is written: Fiji and tifffile read a file that has one as a
//! single contiguous block of pixels, which the `tiff` crate's page-by-page layout is
//! not (verified: tifffile then returns garbage after page 0). Without it both read
//! the pages one by one, as z-slices.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{TiffEncoder, colortype};

use crate::error::{Error, Result, describe_io};
use crate::fsio::write_atomic;
use crate::grid::{Dtype, Element, Image, Volume, format_shape};

/// A TIFF's content: a (z, y, x) stack in the file's own pixel type. A 2D file is a
/// stack of depth 1.
#[derive(Clone, Debug, PartialEq)]
pub enum Stack {
    /// uint8 pixels.
    U8(Volume<u8>),
    /// uint16 pixels.
    U16(Volume<u16>),
    /// float32 pixels.
    F32(Volume<f32>),
}

/// Runs the same expression on whichever volume a [`Stack`] holds.
macro_rules! on_stack {
    ($stack:expr, $v:ident => $body:expr) => {
        match $stack {
            Stack::U8($v) => $body,
            Stack::U16($v) => $body,
            Stack::F32($v) => $body,
        }
    };
}

impl Stack {
    /// The pixel type stored in the file.
    pub fn dtype(&self) -> Dtype {
        match self {
            Stack::U8(_) => Dtype::U8,
            Stack::U16(_) => Dtype::U16,
            Stack::F32(_) => Dtype::F32,
        }
    }

    /// (pages, height, width).
    pub fn shape(&self) -> [usize; 3] {
        on_stack!(self, v => v.shape())
    }

    /// Smallest and largest value (NaN ignored), as f64.
    pub fn min_max(&self) -> Option<(f64, f64)> {
        on_stack!(self, v => v.min_max().map(|(a, b)| (a.to_f64(), b.to_f64())))
    }

    /// True when some value is NaN or infinite (only possible for float32).
    pub fn has_non_finite(&self) -> bool {
        match self {
            Stack::F32(v) => v.data().iter().any(|x| !x.is_finite()),
            _ => false,
        }
    }

    /// The values as float32, unchanged in scale.
    pub fn to_f32(&self) -> Volume<f32> {
        on_stack!(self, v => v.to_f32())
    }

    /// The shape the stack stands for (`v / max(v) > 0.5`, METRICS.md).
    pub fn binarize(&self) -> Volume<bool> {
        on_stack!(self, v => v.binarize())
    }

    /// Intensities scaled to [0, 1] by the pixel type's full scale: uint8 / 255 (the
    /// reference convention), uint16 / 65535, float32 unchanged.
    pub fn to_unit_intensity(&self) -> Volume<f32> {
        let full_scale = match self.dtype() {
            Dtype::U8 => 255.0,
            Dtype::U16 => 65535.0,
            Dtype::F32 => 1.0,
        };
        on_stack!(self, v => v.map(|x| (x.to_f64() / full_scale) as f32))
    }
}

/// Reads a TIFF of any supported pixel type and any number of pages.
pub fn read_stack(path: &Path) -> Result<Stack> {
    let file = File::open(path).map_err(|e| Error::new(path, describe_io(&e)))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::new(path, "is a folder, not a TIFF file"));
    }
    decode(BufReader::new(file)).map_err(|problem| Error::new(path, problem))
}

/// Reads a 3D stack (more than one page), e.g. a ground-truth shape.
pub fn read_volume(path: &Path) -> Result<Stack> {
    let stack = read_stack(path)?;
    let [pages, height, width] = stack.shape();
    if pages < 2 {
        return Err(Error::new(
            path,
            format!("expected a 3D stack, found a single 2D page ({height}×{width})"),
        ));
    }
    Ok(stack)
}

/// Reads a single-page 2D image, e.g. a fluorescence slice or a mask.
pub fn read_image(path: &Path) -> Result<Stack> {
    let stack = read_stack(path)?;
    let [pages, height, width] = stack.shape();
    if pages != 1 {
        return Err(Error::new(
            path,
            format!(
                "expected a single 2D image, found a 3D stack of {pages} pages ({})",
                format_shape(&[pages, height, width])
            ),
        ));
    }
    Ok(stack)
}

/// Decodes every page; the error is a one-line description without the path.
fn decode<R: Read + Seek>(reader: R) -> Result<Stack, String> {
    let mut decoder = Decoder::new(reader).map_err(describe_tiff)?;
    let mut pages: Vec<DecodingResult> = Vec::new();
    let mut size: Option<(u32, u32)> = None;
    loop {
        let page = pages.len();
        let dims = decoder.dimensions().map_err(describe_tiff)?;
        match size {
            None => size = Some(dims),
            Some(first) if first != dims => {
                return Err(format!(
                    "page {page} is {}×{} but page 0 is {}×{}",
                    dims.1, dims.0, first.1, first.0
                ));
            }
            Some(_) => {}
        }
        let color = decoder.colortype().map_err(describe_tiff)?;
        if !matches!(color, ColorType::Gray(8 | 16 | 32)) {
            return Err(format!(
                "unsupported pixel type {color:?} on page {page}; dispr reads grayscale \
                 uint8, uint16 or float32 TIFFs"
            ));
        }
        let data = decoder.read_image().map_err(describe_tiff)?;
        if let Some(prev) = pages.first()
            && std::mem::discriminant(prev) != std::mem::discriminant(&data)
        {
            return Err(format!(
                "page {page} has a different pixel type than page 0"
            ));
        }
        pages.push(data);
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(describe_tiff)?;
    }
    let (width, height) = size.unwrap_or((0, 0));
    let shape = [pages.len(), height as usize, width as usize];
    macro_rules! concat_pages {
        ($variant:ident) => {{
            let mut data = Vec::with_capacity(shape.iter().product());
            for page in pages {
                match page {
                    DecodingResult::$variant(values) => data.extend(values),
                    _ => unreachable!("pixel types were checked to agree"),
                }
            }
            Volume::new(shape, data).map_err(|e| format!("corrupt page data: {e}"))?
        }};
    }
    Ok(match pages.first() {
        Some(DecodingResult::U8(_)) => Stack::U8(concat_pages!(U8)),
        Some(DecodingResult::U16(_)) => Stack::U16(concat_pages!(U16)),
        Some(DecodingResult::F32(_)) => Stack::F32(concat_pages!(F32)),
        Some(other) => {
            return Err(format!(
                "unsupported sample format {}; dispr reads uint8, uint16 or float32",
                sample_format_name(other)
            ));
        }
        None => return Err("contains no image".into()),
    })
}

fn sample_format_name(data: &DecodingResult) -> &'static str {
    match data {
        DecodingResult::U8(_) => "uint8",
        DecodingResult::U16(_) => "uint16",
        DecodingResult::U32(_) => "uint32",
        DecodingResult::U64(_) => "uint64",
        DecodingResult::F16(_) => "float16",
        DecodingResult::F32(_) => "float32",
        DecodingResult::F64(_) => "float64",
        DecodingResult::I8(_) => "int8",
        DecodingResult::I16(_) => "int16",
        DecodingResult::I32(_) => "int32",
        DecodingResult::I64(_) => "int64",
    }
}

/// Turns a decoder error into words: not a TIFF, truncated, or corrupt.
fn describe_tiff(err: tiff::TiffError) -> String {
    use tiff::TiffError;
    use tiff::TiffFormatError;
    match err {
        TiffError::FormatError(TiffFormatError::TiffSignatureNotFound)
        | TiffError::FormatError(TiffFormatError::TiffSignatureInvalid) => {
            "not a TIFF file (no TIFF signature)".into()
        }
        TiffError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated TIFF: the file ends before its image data".into()
        }
        TiffError::IoError(e) => format!("cannot read: {}", describe_io(&e)),
        TiffError::FormatError(e) => format!("corrupt TIFF: {e}"),
        TiffError::UnsupportedError(e) => format!("unsupported TIFF: {e}"),
        TiffError::LimitsExceeded => "TIFF too large for the decoder's memory limits".into(),
        other => format!("cannot decode TIFF: {other}"),
    }
}

/// A pixel type dispr can write, with its TIFF color type.
pub trait TiffPixel: Element {
    /// The `tiff` crate's color type for this pixel.
    type Color: colortype::ColorType<Inner = Self>;
}

impl TiffPixel for u8 {
    type Color = colortype::Gray8;
}
impl TiffPixel for u16 {
    type Color = colortype::Gray16;
}
impl TiffPixel for f32 {
    type Color = colortype::Gray32Float;
}

/// Writes a 3D stack, one page per z, atomically. Fiji opens it as z-slices.
pub fn write_volume<T: TiffPixel>(path: &Path, volume: &Volume<T>) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    write_pages(path, volume.shape(), volume.data())
}

/// Writes a single-page 2D image atomically.
pub fn write_image<T: TiffPixel>(path: &Path, image: &Image<T>) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    let [height, width] = image.shape();
    write_pages(path, [1, height, width], image.data())
}

fn write_pages<T: TiffPixel>(
    path: &Path,
    [pages, height, width]: [usize; 3],
    data: &[T],
) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    if pages == 0 || height == 0 || width == 0 {
        return Err(Error::new(path, "refusing to write an empty image"));
    }
    let (w, h) = (
        u32::try_from(width).map_err(|_| Error::new(path, "image too wide for TIFF"))?,
        u32::try_from(height).map_err(|_| Error::new(path, "image too tall for TIFF"))?,
    );
    write_atomic(path, |out| {
        let mut encoder = TiffEncoder::new(out).map_err(|e| e.to_string())?;
        let plane = height * width;
        for page in 0..pages {
            encoder
                .new_image::<T::Color>(w, h)
                .map_err(|e| e.to_string())?
                .write_data(&data[page * plane..(page + 1) * plane])
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Writes a binary shape as uint8 0/255 (the on-disk convention for shapes).
pub fn write_shape(path: &Path, shape: &Volume<bool>) -> Result<()> {
    write_volume(path, &shape.to_u8_mask())
}

impl From<Volume<u8>> for Stack {
    fn from(v: Volume<u8>) -> Self {
        Stack::U8(v)
    }
}
impl From<Volume<u16>> for Stack {
    fn from(v: Volume<u16>) -> Self {
        Stack::U16(v)
    }
}
impl From<Volume<f32>> for Stack {
    fn from(v: Volume<f32>) -> Self {
        Stack::F32(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn round_trip_all_dtypes_2d_and_3d() {
        let dir = tmp();
        let v8 = Volume::from_fn([5, 7, 9], |[z, y, x]| (z * 50 + y * 7 + x) as u8);
        let v16 = Volume::from_fn([3, 4, 5], |[z, y, x]| (z * 20000 + y * 100 + x) as u16);
        let vf = Volume::from_fn([4, 3, 2], |[z, y, x]| {
            z as f32 * 0.25 - y as f32 + x as f32 / 3.0
        });
        let p = dir.path().join("v8.tif");
        write_volume(&p, &v8).unwrap();
        assert_eq!(read_volume(&p).unwrap(), Stack::U8(v8.clone()));
        let p = dir.path().join("v16.tif");
        write_volume(&p, &v16).unwrap();
        assert_eq!(read_volume(&p).unwrap(), Stack::U16(v16));
        let p = dir.path().join("vf.tiff");
        write_volume(&p, &vf).unwrap();
        assert_eq!(read_stack(&p).unwrap(), Stack::F32(vf));
        let img = v8.slice_z(2);
        let p = dir.path().join("img.tif");
        write_image(&p, &img).unwrap();
        let back = read_image(&p).unwrap();
        assert_eq!(back.shape(), [1, 7, 9]);
        assert_eq!(back.to_f32().slice_z(0), img.to_f32());
    }

    #[test]
    fn shapes_are_written_as_0_255() {
        let dir = tmp();
        let shape = Volume::from_fn([3, 3, 3], |[z, y, x]| z == 1 && y == 1 && x == 1);
        let p = dir.path().join("s.tif");
        write_shape(&p, &shape).unwrap();
        let back = read_volume(&p).unwrap();
        assert_eq!(back.min_max(), Some((0.0, 255.0)));
        assert_eq!(back.binarize(), shape);
    }

    #[test]
    fn page_count_is_checked() {
        let dir = tmp();
        let p2 = dir.path().join("flat.tif");
        write_image(&p2, &Image::filled([4, 4], 1u8)).unwrap();
        let err = read_volume(&p2).unwrap_err().to_string();
        assert!(
            err.contains("expected a 3D stack, found a single 2D page (4×4)"),
            "{err}"
        );
        let p3 = dir.path().join("deep.tif");
        write_volume(&p3, &Volume::filled([3, 4, 4], 1u8)).unwrap();
        let err = read_image(&p3).unwrap_err().to_string();
        assert!(
            err.contains("expected a single 2D image, found a 3D stack of 3 pages"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_give_one_line_errors() {
        let dir = tmp();
        let missing = dir.path().join("missing.tif");
        let err = read_stack(&missing).unwrap_err();
        assert!(err.to_string().ends_with("missing.tif: not found"), "{err}");

        let text = dir.path().join("notes.tif");
        std::fs::write(&text, "these are my notes, not an image\n").unwrap();
        let err = read_stack(&text).unwrap_err().to_string();
        assert!(
            err.ends_with("notes.tif: not a TIFF file (no TIFF signature)"),
            "{err}"
        );

        let good = dir.path().join("good.tif");
        write_volume(
            &good,
            &Volume::from_fn([8, 16, 16], |[z, y, x]| (z + y + x) as u8),
        )
        .unwrap();
        let bytes = std::fs::read(&good).unwrap();
        for cut in [4usize, 20, bytes.len() / 2, bytes.len() - 10] {
            let truncated = dir.path().join(format!("cut{cut}.tif"));
            std::fs::write(&truncated, &bytes[..cut]).unwrap();
            let err = read_stack(&truncated).unwrap_err().to_string();
            assert!(!err.contains('\n'), "{err}");
            assert!(
                err.contains("truncated") || err.contains("corrupt"),
                "cut at {cut}: {err}"
            );
        }
        let err = read_stack(dir.path()).unwrap_err().to_string();
        assert!(err.contains("folder"), "{err}");
    }

    #[test]
    fn unit_intensity_uses_full_scale() {
        let s = Stack::U8(Volume::new([1, 1, 2], vec![0, 255]).unwrap());
        assert_eq!(s.to_unit_intensity().data(), &[0.0, 1.0]);
        let s = Stack::U16(Volume::new([1, 1, 2], vec![0, 65535]).unwrap());
        assert_eq!(s.to_unit_intensity().data(), &[0.0, 1.0]);
    }
}
