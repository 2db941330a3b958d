//! TIFF input and output: the one place that knows the file format.
//!
//! Reads single-page 2D and multi-page 3D grayscale TIFFs (one page per z, as Python's
//! tifffile, Fiji and napari write them) in uint8, uint16 and float32, any compression
//! the `tiff` crate decodes, and the scale their metadata states ([`read_pixel_size`]).
//! Writes uncompressed multi-page TIFFs atomically as ImageJ hyperstacks (axes ZYX):
//! the pixels of all pages in one contiguous block, as ImageJ reads them, ImageJ's
//! description on the first page and, when the scale is known, `unit=micron`,
//! `spacing=` and the resolution tags, so Fiji, napari and tifffile show the volume at
//! its size in µm. Every page also has its own directory, so page-by-page readers (the
//! `tiff` crate, libtiff) read the same stack.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{TiffEncoder, colortype};

use crate::error::{Error, Result, describe_io};
use crate::grid::{Dtype, Element, Image, Volume, format_shape};
use crate::io::atomic::write_atomic;
use crate::scale::{PixelSize, VoxelSize};

mod metadata;

pub use metadata::StatedAxes;

/// A TIFF's content: a (z, y, x) stack in the file's own pixel type. A 2D file is a
/// stack of depth 1.
#[derive(Clone, Debug, PartialEq)]
pub enum Stack {
    /// uint8 pixels.
    U8(Volume<u8>),
    /// uint16 pixels (also int16 files without negative values).
    U16(Volume<u16>),
    /// uint32 pixels (also int32 files without negative values), e.g. label images.
    U32(Volume<u32>),
    /// float32 pixels.
    F32(Volume<f32>),
}

/// Runs the same expression on whichever volume a [`Stack`] holds.
macro_rules! on_stack {
    ($stack:expr, $v:ident => $body:expr) => {
        match $stack {
            Stack::U8($v) => $body,
            Stack::U16($v) => $body,
            Stack::U32($v) => $body,
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
            Stack::U32(_) => Dtype::U32,
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

    /// Page `z` alone (`z` < the page count), as a one-page stack of the same pixel type.
    pub fn page(&self, z: usize) -> Stack {
        fn one<T: Copy>(v: &Volume<T>, z: usize) -> Volume<T> {
            let page = v.slice_z(z);
            let [h, w] = page.shape();
            Volume::new([1, h, w], page.data().to_vec()).expect("h × w values of one page")
        }
        match self {
            Stack::U8(v) => Stack::U8(one(v, z)),
            Stack::U16(v) => Stack::U16(one(v, z)),
            Stack::U32(v) => Stack::U32(one(v, z)),
            Stack::F32(v) => Stack::F32(one(v, z)),
        }
    }

    /// Every value through `f`, as float32 (see [`crate::data::intensity`] for how
    /// intensities are scaled).
    pub fn map_to_f32(&self, f: impl Fn(f64) -> f32) -> Volume<f32> {
        on_stack!(self, v => v.map(|x| f(x.to_f64())))
    }
}

/// Reads a TIFF of any supported pixel type and any number of pages.
pub fn read_stack(path: &Path) -> Result<Stack> {
    let file = open_tiff(path)?;
    decode(BufReader::new(file), MAX_PAGES).map_err(|e| e.at(path))
}

/// The pixel size a TIFF's metadata states (OME-XML, ImageJ's description, the
/// resolution tags; see [`metadata`]), `None` when it states none. Metadata that names a
/// scale dispr cannot read (an unknown unit, a value that is no number) is an error.
pub fn read_pixel_size(path: &Path) -> Result<Option<PixelSize>> {
    let file = open_tiff(path)?;
    let mut decoder =
        Decoder::new(BufReader::new(file)).map_err(|e| DecodeError::from(e).at(path))?;
    metadata::read_pixel_size(&mut decoder).map_err(|problem| Error::new(path, problem))
}

/// The square pixel size (µm) a 2D image's metadata states, `None` when it states none;
/// pixels of different width and height are an error (dispr does not resample).
pub fn read_square_pixel_size(path: &Path) -> Result<Option<f64>> {
    match read_pixel_size(path)? {
        None => Ok(None),
        Some(p) if p.is_square() => Ok(Some(p.x)),
        Some(p) => Err(Error::new(
            path,
            format!(
                "pixels are {} × {} µm (y × x), not square; resample the image to square pixels",
                p.y, p.x
            ),
        )),
    }
}

/// Opens a file to decode; anything but a regular file (a folder, a FIFO that would
/// block, a device) is refused before it is opened.
fn open_tiff(path: &Path) -> Result<File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "", e))?;
    if meta.is_dir() {
        return Err(Error::new(path, "is a folder, not a TIFF file"));
    }
    if !meta.is_file() {
        return Err(Error::new(
            path,
            "is not a regular file (a pipe, socket or device?); dispr reads TIFF files",
        ));
    }
    File::open(path).map_err(|e| Error::io(path, "", e))
}

/// The most pages dispr reads from one TIFF (a 3D stack's z slices).
pub const MAX_PAGES: usize = 4096;

/// The most bytes all pages of one TIFF may decode to together (1 GiB): the decoder's
/// own limit is per page, so a small file of many pages sharing one compressed strip
/// could otherwise allocate without bound.
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

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

/// Reads a 3D stack as a shape (`v / max(v) > 0.5`); NaN or infinite values are refused,
/// since no threshold can mean anything there.
pub fn read_shape(path: &Path) -> Result<Volume<bool>> {
    let stack = read_volume(path)?;
    if stack.has_non_finite() {
        return Err(Error::new(
            path,
            "contains NaN or infinite values; a shape must be finite",
        ));
    }
    Ok(stack.binarize())
}

/// The most distinct values a 2D mask may hold without further question. Real masks are
/// not strictly binary (the sample's hold up to 15 levels along their outlines, from
/// resampling; a bilinearly resized or float mask holds more); a fluorescence image holds
/// hundreds.
pub const MAX_MASK_LEVELS: usize = 32;

/// The largest share of a mask's non-zero pixels that may lie strictly between 0 and its
/// maximum when it has more than [`MAX_MASK_LEVELS`] levels (the real sample: at most
/// 0.45, outlines of small cells; a fluorescence image: nearly all).
pub const MAX_MASK_INTERMEDIATE: f64 = 0.6;

/// The fewest pixels of one level other than the background and the maximum, each with
/// its four neighbours at that same level (a neighbour beyond the image's edge counts as
/// the same, so that a neighbour's sliver along the edge counts), that make that level a
/// region of its own: a mask holding it is a crop of a label image (several cells), not
/// one cell's mask. The real sample's masks have at most 2 such pixels per level (their
/// outlines' resampling levels are a pixel or two wide); a cell's label has hundreds.
pub const MIN_LABEL_INTERIOR: usize = 16;

/// The most labels a message lists.
const LISTED_LABELS: usize = 4;

/// Why a 2D mask cannot be a cell's mask, if it cannot: NaN or infinite values, a
/// grayscale image (more than [`MAX_MASK_LEVELS`] distinct values, most of its non-zero
/// pixels between 0 and the maximum), several labels ([`MIN_LABEL_INTERIOR`]: cutting
/// at half the maximum would keep only the higher labels), nothing above half its
/// maximum, or every pixel foreground.
pub fn mask_problem(mask: &Stack) -> Option<String> {
    if mask.has_non_finite() {
        return Some("mask contains NaN or infinite values".into());
    }
    let values = mask.to_f32();
    let mut distinct: Vec<u32> = Vec::new();
    for &v in values.data() {
        if distinct.len() <= MAX_MASK_LEVELS && !distinct.contains(&v.to_bits()) {
            distinct.push(v.to_bits());
        }
    }
    if distinct.len() > MAX_MASK_LEVELS {
        let max = values.data().iter().copied().fold(0.0f32, f32::max);
        let nonzero = values.data().iter().filter(|&&v| v != 0.0).count();
        let between = values
            .data()
            .iter()
            .filter(|&&v| v != 0.0 && v != max)
            .count();
        if nonzero > 0 && between as f64 > MAX_MASK_INTERMEDIATE * nonzero as f64 {
            return Some(format!(
                "mask has more than {MAX_MASK_LEVELS} distinct values and {:.0} % of its non-zero pixels lie between 0 and its maximum (a grayscale image, not a mask?); a mask is 0 outside the cell and its maximum inside",
                100.0 * between as f64 / nonzero as f64
            ));
        }
    }
    if let Some(labels) = several_labels(&values) {
        let mut listed: Vec<String> = labels
            .iter()
            .take(LISTED_LABELS)
            .map(|(value, pixels)| format!("{value}: {pixels} px"))
            .collect();
        if labels.len() > LISTED_LABELS {
            listed.push("…".into());
        }
        return Some(format!(
            "mask holds {} labels ({}), not one cell (0 outside it, one value inside); keep only the cell's label, or give the whole label image with --image FIELD --labels LABELS",
            labels.len(),
            listed.join(", ")
        ));
    }
    let foreground = mask.binarize().count();
    if foreground == 0 {
        return Some("mask is empty (no pixel above half its maximum)".into());
    }
    if foreground == values.len() {
        return Some("mask covers the whole image (every pixel is foreground)".into());
    }
    if covers_every_corner(&mask.binarize()) {
        return Some(format!(
            "mask covers all four corners of the image ({:.0} % of it): is it inverted? A mask is 0 outside the cell and non-zero inside",
            100.0 * foreground as f64 / values.len() as f64
        ));
    }
    None
}

/// True when the shape holds all four corner pixels of its first plane: no cell's
/// mask does (none of the 108 real crops touches a corner), an inverted mask does.
fn covers_every_corner(shape: &Volume<bool>) -> bool {
    let [_, height, width] = shape.shape();
    height > 1
        && width > 1
        && [
            (0, 0),
            (0, width - 1),
            (height - 1, 0),
            (height - 1, width - 1),
        ]
        .iter()
        .all(|&(y, x)| shape.at([0, y, x]))
}

/// The labels of a mask that holds several, largest first, as (value, pixels): its
/// maximum and every other level above the background with [`MIN_LABEL_INTERIOR`]
/// interior pixels. The background is 0, or the smallest value of a mask without a 0
/// (e.g. 1 outside, 2 inside). `None` for one cell's mask (a single level, or soft
/// outlines).
fn several_labels(values: &Volume<f32>) -> Option<Vec<(f32, usize)>> {
    let [depth, height, width] = values.shape();
    let data = values.data();
    let max = data.iter().copied().fold(0.0f32, f32::max);
    let background = match data.contains(&0.0) {
        true => 0.0,
        false => data.iter().copied().fold(f32::INFINITY, f32::min),
    };
    let at = |z: usize, y: usize, x: usize| data[(z * height + y) * width + x];
    let mut interior: BTreeMap<u32, usize> = BTreeMap::new();
    for z in 0..depth {
        for y in 0..height {
            for x in 0..width {
                let v = at(z, y, x);
                // A neighbour beyond the edge is taken as equal.
                let same = |dy: isize, dx: isize| match (
                    y.checked_add_signed(dy),
                    x.checked_add_signed(dx),
                ) {
                    (Some(ny), Some(nx)) if ny < height && nx < width => at(z, ny, nx) == v,
                    _ => true,
                };
                if v != background
                    && v != max
                    && same(-1, 0)
                    && same(1, 0)
                    && same(0, -1)
                    && same(0, 1)
                {
                    *interior.entry(v.to_bits()).or_default() += 1;
                }
            }
        }
    }
    interior.retain(|_, n| *n >= MIN_LABEL_INTERIOR);
    if interior.is_empty() {
        return None;
    }
    interior.insert(max.to_bits(), 0);
    let mut labels: Vec<(f32, usize)> = interior
        .keys()
        .map(|&bits| {
            let value = f32::from_bits(bits);
            (value, data.iter().filter(|&&v| v == value).count())
        })
        .collect();
    labels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
    Some(labels)
}

/// Reads a single-page 2D image, e.g. a fluorescence slice or a mask.
pub fn read_image(path: &Path) -> Result<Stack> {
    let file = open_tiff(path)?;
    // Only the first page is decoded: a 2D file with more pages is refused before
    // anything else is read.
    decode(BufReader::new(file), 1).map_err(|e| e.at(path))
}

/// How many pages a TIFF has (up to one more than [`MAX_PAGES`]), from its page
/// directories alone, and the axes its ImageJ or OME metadata states for them.
pub fn count_pages(path: &Path) -> Result<(usize, StatedAxes)> {
    let file = open_tiff(path)?;
    let count = || -> Result<(usize, StatedAxes), DecodeError> {
        let mut decoder = Decoder::new(BufReader::new(file))?;
        let axes = metadata::stated_axes(&mut decoder);
        let mut pages = 1;
        while decoder.more_images() && pages <= MAX_PAGES {
            decoder.next_image()?;
            pages += 1;
        }
        Ok((pages, axes))
    };
    count().map_err(|e| e.at(path))
}

/// `n` pages, or "more than [`MAX_PAGES`] pages" past what dispr counts.
pub fn pages_text(n: usize) -> String {
    if n > MAX_PAGES {
        format!("more than {MAX_PAGES} pages")
    } else {
        crate::text::count(n, "page")
    }
}

/// Why the pages of a file of `pages` pages with `axes` stated are not its channels
/// alone (z-slices or time points as well, or another channel count); `None` when
/// they are, or may be (nothing stated).
pub fn not_channels(pages: usize, axes: StatedAxes) -> Option<String> {
    if axes.has_slices_or_frames() {
        return Some(format!(
            "holds {} of z-slices or time points, not channels alone: save the one 2D slice to read (Fiji: Image › Duplicate…; Python: tifffile.imwrite('one.tif', stack[k]))",
            pages_text(pages)
        ));
    }
    match axes.channels {
        Some(c) if c != pages || pages > MAX_PAGES => Some(format!(
            "its metadata states {c} channels in {}: its pages are not its channels alone; save the one 2D image to read",
            pages_text(pages)
        )),
        _ => None,
    }
}

/// The channels a file of `pages` pages (its channels) has, for messages: "a single
/// channel (0)", "3 channels (0 to 2)".
pub fn channel_range(pages: usize) -> String {
    match pages {
        1 => "a single channel (0)".to_string(),
        n => format!("{n} channels (0 to {})", n - 1),
    }
}

/// Reads channel `channel` (0-based) of a multi-channel 2D image: page `channel` of a
/// TIFF whose pages are its channels (Fiji's hyperstack of channels, tifffile's CYX). A
/// file whose metadata states z-slices or time points, or another channel count, is
/// refused ([`not_channels`]), as is a channel it lacks.
pub fn read_channel(path: &Path, channel: usize) -> Result<Stack> {
    let (pages, axes) = count_pages(path)?;
    if let Some(problem) = not_channels(pages, axes) {
        return Err(Error::new(path, problem));
    }
    if channel >= pages {
        return Err(Error::new(
            path,
            format!("has {}, no channel {channel}", channel_range(pages)),
        ));
    }
    Ok(read_stack(path)?.page(channel))
}

/// Decodes up to `max_pages` pages; the error is a one-line description without the
/// path. A first pass reads only the page directories: the page count, the sizes, the
/// pixel types and the total decoded size ([`MAX_DECODED_BYTES`]) are all checked before
/// any pixel is decoded.
fn decode<R: Read + Seek>(reader: R, max_pages: usize) -> Result<Stack, DecodeError> {
    let mut decoder = Decoder::new(reader)?;
    let (width, height) = decoder.dimensions()?;
    let mut count = 0usize;
    let mut decoded_bytes: u64 = 0;
    loop {
        let page = count;
        if count >= max_pages {
            // Past what the caller reads: only count the pages (a 2D image with extra
            // pages, e.g. a thumbnail, is refused as such, whatever those pages hold).
            count += 1;
            if !decoder.more_images() || count > MAX_PAGES {
                break;
            }
            decoder.next_image()?;
            continue;
        }
        let dims = decoder.dimensions()?;
        if dims != (width, height) {
            return Err(DecodeError::Problem(format!(
                "page {page} is {}×{} but page 0 is {height}×{width}",
                dims.1, dims.0
            )));
        }
        let color = decoder.colortype()?;
        let ColorType::Gray(bits @ (8 | 16 | 32 | 64)) = color else {
            if color == ColorType::Gray(1) {
                return Err(DecodeError::Problem(format!(
                    "1-bit (bilevel) pixels on page {page}; dispr reads 8-, 16- or 32-bit \
                     grayscale: save the mask as uint8 (0 and 255, or 0 and 1)"
                )));
            }
            if matches!(color, ColorType::RGB(_) | ColorType::RGBA(_)) {
                return Err(DecodeError::Problem(format!(
                    "{color:?} colour pixels on page {page}; dispr reads one grayscale \
                     channel: save the channel to read alone (Fiji: Image › Color › Split \
                     Channels; Python: tifffile.imwrite('one.tif', rgb[..., c]))"
                )));
            }
            return Err(DecodeError::Problem(format!(
                "unsupported pixel type {color:?} on page {page}; dispr reads grayscale \
                 uint8, uint16, uint32, float32 or float64 TIFFs"
            )));
        };
        let page_bytes = u64::from(width) * u64::from(height) * u64::from(bits / 8);
        check_uncompressed_size(&mut decoder, page, page_bytes)?;
        decoded_bytes += page_bytes;
        count += 1;
        if !decoder.more_images() || count > MAX_PAGES {
            break;
        }
        decoder.next_image()?;
    }
    let shape = [count, height as usize, width as usize];
    if count > max_pages {
        let pages = if count > MAX_PAGES {
            format!("more than {MAX_PAGES}")
        } else {
            count.to_string()
        };
        return Err(DecodeError::Problem(if max_pages == 1 {
            // Only for the message: are the pages channels?
            decoder.seek_to_image(0)?;
            let channels = metadata::stated_axes(&mut decoder)
                .channels
                .filter(|&c| c > 1)
                .map_or(String::new(), |c| format!(", {c} channels"));
            format!(
                "expected a single 2D image, found a 3D stack of {pages} pages ({}{channels}); save the one channel or slice to read as a 2D TIFF (Fiji: Image › Color › Split Channels, or Image › Duplicate… of one slice; Python: tifffile.imwrite('one.tif', stack[k]))",
                format_shape(&shape)
            )
        } else {
            format!("more than {max_pages} pages; dispr reads stacks of at most {max_pages} slices")
        }));
    }
    if decoded_bytes > MAX_DECODED_BYTES {
        return Err(DecodeError::Problem(format!(
            "TIFF too large: {count} pages of {height}×{width} decode to {} MiB, more than dispr's limit of {} MiB",
            decoded_bytes >> 20,
            MAX_DECODED_BYTES >> 20
        )));
    }
    decoder.seek_to_image(0)?;
    let mut pages: Vec<DecodingResult> = Vec::with_capacity(count);
    for page in 0..count {
        if page > 0 {
            decoder.next_image()?;
        }
        let data = decoder.read_image()?;
        if let Some(prev) = pages.first()
            && std::mem::discriminant(prev) != std::mem::discriminant(&data)
        {
            return Err(DecodeError::Problem(format!(
                "page {page} has a different pixel type than page 0"
            )));
        }
        pages.push(data);
    }
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
        Some(DecodingResult::U32(_)) => Stack::U32(concat_pages!(U32)),
        Some(DecodingResult::F32(_)) => Stack::F32(concat_pages!(F32)),
        // numpy's default float (tifffile writes it as is): read as float32, whose
        // precision any intensity, mask or label of a microscope holds.
        Some(DecodingResult::F64(_)) => {
            let v: Volume<f64> = concat_pages!(F64);
            Stack::F32(v.map(|x| x as f32))
        }
        // Signed integers (StarDist and scikit-image write int32 labels) are read as the
        // unsigned type of their width when no value is negative.
        Some(DecodingResult::I32(_)) => Stack::U32(without_negatives(concat_pages!(I32), "int32")?),
        Some(DecodingResult::I16(_)) => Stack::U16(without_negatives(concat_pages!(I16), "int16")?),
        Some(DecodingResult::I8(_)) => Stack::U8(without_negatives(concat_pages!(I8), "int8")?),
        // numpy's default integer (scikit-image's `label` returns int64): labels and
        // masks, read as uint32 when every value fits.
        Some(DecodingResult::I64(_)) => Stack::U32(wide_to_u32(
            without_negatives(concat_pages!(I64), "int64")?,
            "int64",
        )?),
        Some(DecodingResult::U64(_)) => Stack::U32(wide_to_u32(concat_pages!(U64), "uint64")?),
        Some(other) => {
            return Err(DecodeError::Problem(format!(
                "unsupported sample format {}; dispr reads uint8, uint16, uint32, uint64 (values up to 4294967295), signed integers without negative values, float32 or float64",
                sample_format_name(other)
            )));
        }
        None => return Err(DecodeError::Problem("contains no image".into())),
    })
}

/// A signed integer volume as the unsigned type of its width, or why not: a negative
/// value.
fn without_negatives<S, U>(v: Volume<S>, format: &str) -> Result<Volume<U>, DecodeError>
where
    S: Copy + Ord + Into<i64>,
    U: TryFrom<S> + Default + Copy,
{
    if let Some(&min) = v.data().iter().min().filter(|m| (**m).into() < 0) {
        return Err(DecodeError::Problem(format!(
            "{format} values down to {}; dispr reads {format} only without negative values",
            min.into()
        )));
    }
    // Every value is non-negative here, so each fits the unsigned type of its width.
    Ok(v.map(|x| U::try_from(x).unwrap_or_default()))
}

/// A 64-bit integer volume as uint32, or why not: a value beyond uint32's range.
fn wide_to_u32(v: Volume<u64>, format: &str) -> Result<Volume<u32>, DecodeError> {
    match v.data().iter().max().filter(|m| **m > u64::from(u32::MAX)) {
        Some(max) => Err(DecodeError::Problem(format!(
            "{format} values up to {max}; dispr reads 64-bit integers (labels) only up to 4294967295"
        ))),
        None => Ok(v.map(|x| x as u32)),
    }
}

/// An uncompressed page must store at least as many bytes as it decodes to; fewer means
/// a damaged Compression tag (compressed bytes would be read as pixels) or a cut file.
fn check_uncompressed_size<R: Read + Seek>(
    decoder: &mut Decoder<R>,
    page: usize,
    page_bytes: u64,
) -> Result<(), DecodeError> {
    use tiff::tags::Tag;
    let compression: u16 = decoder.find_tag_unsigned(Tag::Compression)?.unwrap_or(1);
    if compression != 1 {
        return Ok(());
    }
    let counts: Option<Vec<u64>> = match decoder.find_tag_unsigned_vec(Tag::StripByteCounts)? {
        Some(v) => Some(v),
        None => decoder.find_tag_unsigned_vec(Tag::TileByteCounts)?,
    };
    let Some(counts) = counts else {
        return Ok(());
    };
    let stored: u64 = counts.iter().sum();
    if stored < page_bytes {
        return Err(DecodeError::Problem(format!(
            "corrupt TIFF: page {page} is uncompressed but stores {stored} bytes for {page_bytes} bytes of pixels (a damaged Compression tag, or a cut file)"
        )));
    }
    Ok(())
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
/// Why a TIFF did not decode: the decoder's error, or one of dispr's checks.
#[derive(Debug)]
enum DecodeError {
    Tiff(tiff::TiffError),
    Problem(String),
}

impl From<tiff::TiffError> for DecodeError {
    fn from(e: tiff::TiffError) -> Self {
        Self::Tiff(e)
    }
}

impl From<String> for DecodeError {
    fn from(problem: String) -> Self {
        Self::Problem(problem)
    }
}

impl DecodeError {
    /// The error about the file at `path`.
    fn at(self, path: &Path) -> Error {
        match self {
            Self::Tiff(source) => Error::Tiff {
                path: path.to_path_buf(),
                problem: describe_tiff(&source),
                source: std::sync::Arc::new(source),
            },
            Self::Problem(problem) => Error::new(path, problem),
        }
    }
}

fn describe_tiff(err: &tiff::TiffError) -> String {
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
        TiffError::IoError(e) => format!("cannot read: {}", describe_io(e)),
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
impl TiffPixel for u32 {
    type Color = colortype::Gray32;
}
impl TiffPixel for f32 {
    type Color = colortype::Gray32Float;
}

/// Writes a 3D stack, one page per z, atomically, without a scale.
pub fn write_volume<T: TiffPixel>(path: &Path, volume: &Volume<T>) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    write_pages(path, volume.shape(), volume.data(), None)
}

/// Writes a 3D stack at `scale` (µm per voxel; `None`: unknown), atomically.
pub fn write_volume_at<T: TiffPixel>(
    path: &Path,
    volume: &Volume<T>,
    scale: Option<VoxelSize>,
) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    write_pages(path, volume.shape(), volume.data(), scale)
}

/// Writes a single-page 2D image atomically.
pub fn write_image<T: TiffPixel>(path: &Path, image: &Image<T>) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    write_image_at(path, image, None)
}

/// Writes a single-page 2D image atomically with its pixel size (µm; `None`: unknown)
/// in ImageJ's metadata and the resolution tags.
pub fn write_image_at<T: TiffPixel>(
    path: &Path,
    image: &Image<T>,
    pixel_size_um: Option<f64>,
) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    let [height, width] = image.shape();
    let scale = pixel_size_um.map(VoxelSize::cube);
    write_pages(path, [1, height, width], image.data(), scale)
}

/// Writes pages as an ImageJ hyperstack: all pixels first, in one block, then one
/// directory per page pointing into it (the first with ImageJ's description).
fn write_pages<T: TiffPixel>(
    path: &Path,
    [pages, height, width]: [usize; 3],
    data: &[T],
    scale: Option<VoxelSize>,
) -> Result<()>
where
    [T]: tiff::encoder::TiffValue,
{
    use tiff::tags::Tag;
    if pages == 0 || height == 0 || width == 0 {
        return Err(Error::new(path, "refusing to write an empty image"));
    }
    let (w, h) = (
        u32::try_from(width).map_err(|_| Error::new(path, "image too wide for TIFF"))?,
        u32::try_from(height).map_err(|_| Error::new(path, "image too tall for TIFF"))?,
    );
    let sample_bytes = std::mem::size_of::<T>();
    let plane_bytes = u32::try_from(height * width * sample_bytes)
        .ok()
        .filter(|b| u64::from(*b) * pages as u64 + (1 << 20) < u64::from(u32::MAX))
        .ok_or_else(|| Error::new(path, "stack too large for a TIFF (4 GiB)"))?;
    let bits = (sample_bytes * 8) as u16;
    let sample_format: u16 = if T::DTYPE == Dtype::F32 { 3 } else { 1 };
    let description = metadata::imagej_description(pages, scale);
    let resolution = scale.map(|s| {
        let x = metadata::to_rational(1.0 / s.x);
        let y = metadata::to_rational(1.0 / s.y);
        (
            tiff::encoder::Rational { n: x.0, d: x.1 },
            tiff::encoder::Rational { n: y.0, d: y.1 },
        )
    });
    let tags = PageTags {
        width: w,
        height: h,
        plane_bytes,
        bits,
        sample_format,
        resolution,
    };
    write_atomic(path, |out| {
        let tiff_error = std::io::Error::other;
        let mut encoder = TiffEncoder::new(out).map_err(tiff_error)?;
        let mut first = encoder.image_directory().map_err(tiff_error)?;
        let start = first.write_data(data).map_err(tiff_error)?;
        let start = u32::try_from(start).map_err(std::io::Error::other)?;
        first
            .write_tag(Tag::ImageDescription, description.as_str())
            .map_err(tiff_error)?;
        tags.write(&mut first, start).map_err(tiff_error)?;
        first.finish().map_err(tiff_error)?;
        for page in 1..pages {
            let mut dir = encoder.image_directory().map_err(tiff_error)?;
            tags.write(&mut dir, start + page as u32 * plane_bytes)
                .map_err(tiff_error)?;
            dir.finish().map_err(tiff_error)?;
        }
        Ok(())
    })
}

/// The tags every page of a written stack has.
struct PageTags {
    width: u32,
    height: u32,
    plane_bytes: u32,
    bits: u16,
    sample_format: u16,
    resolution: Option<(tiff::encoder::Rational, tiff::encoder::Rational)>,
}

impl PageTags {
    /// Writes the tags of a page whose pixels start at `offset`.
    fn write<W: std::io::Write + Seek>(
        &self,
        dir: &mut tiff::encoder::DirectoryEncoder<'_, W, tiff::encoder::TiffKindStandard>,
        offset: u32,
    ) -> tiff::TiffResult<()> {
        use tiff::tags::{PhotometricInterpretation, Tag};
        for (tag, value) in [
            (Tag::ImageWidth, self.width),
            (Tag::ImageLength, self.height),
            (Tag::StripOffsets, offset),
            (Tag::RowsPerStrip, self.height),
            (Tag::StripByteCounts, self.plane_bytes),
        ] {
            dir.write_tag(tag, value)?;
        }
        for (tag, value) in [
            (Tag::BitsPerSample, self.bits),
            (Tag::Compression, 1),
            (
                Tag::PhotometricInterpretation,
                PhotometricInterpretation::BlackIsZero.to_u16(),
            ),
            (Tag::SamplesPerPixel, 1),
            (Tag::SampleFormat, self.sample_format),
        ] {
            dir.write_tag(tag, value)?;
        }
        if let Some((x, y)) = &self.resolution {
            dir.write_tag(Tag::XResolution, x.clone())?;
            dir.write_tag(Tag::YResolution, y.clone())?;
            // ImageJ's convention: no unit here, `unit=micron` in the description.
            dir.write_tag(Tag::ResolutionUnit, 1u16)?;
        }
        Ok(())
    }
}

/// Writes a binary shape as uint8 0/255 (the on-disk convention for shapes).
pub fn write_shape(path: &Path, shape: &Volume<bool>) -> Result<()> {
    write_volume(path, &shape.to_u8_mask())
}

/// Writes a binary shape as uint8 0/255 at `scale`.
pub fn write_shape_at(path: &Path, shape: &Volume<bool>, scale: Option<VoxelSize>) -> Result<()> {
    write_volume_at(path, &shape.to_u8_mask(), scale)
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

    #[test]
    fn a_float64_image_reads_as_float32() {
        // numpy's default float, as tifffile writes it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f64.tif");
        let values: Vec<f64> = (0..12).map(|i| f64::from(i) / 11.0).collect();
        let mut file = std::fs::File::create(&path).unwrap();
        TiffEncoder::new(&mut file)
            .unwrap()
            .write_image::<colortype::Gray64Float>(4, 3, &values)
            .unwrap();
        let stack = read_image(&path).unwrap();
        assert_eq!((stack.dtype(), stack.shape()), (Dtype::F32, [1, 3, 4]));
        assert_eq!(stack.to_f32().data()[11], 1.0);
        assert_eq!(stack.to_f32().data()[1], (1.0 / 11.0) as f32);
    }

    /// A 20 × 30 mask (one page) of `value(y, x)`.
    fn mask_20x30(value: impl Fn(usize, usize) -> u16) -> Stack {
        Stack::U16(Volume::from_fn([1, 20, 30], |[_, y, x]| value(y, x)))
    }

    /// A 20 × 30 mask: `a` on a 10 × 12 block, `b` on a 6 × 8 block apart from it, and a
    /// one-pixel outline of `edge` around the first block.
    fn two_blocks(a: u16, b: u16, edge: u16) -> Stack {
        mask_20x30(|y, x| match (y, x) {
            (5..=14, 3..=14) => a,
            (4..=15, 2..=15) => edge,
            (8..=13, 20..=27) => b,
            _ => 0,
        })
    }

    #[test]
    fn a_crop_of_a_label_image_is_not_a_mask() {
        // The cell as label 3 and a neighbour as label 9: cutting at half the maximum
        // would keep the neighbour alone.
        let problem = mask_problem(&two_blocks(3, 9, 0)).expect("several labels");
        assert!(
            problem.starts_with("mask holds 2 labels (3: 120 px, 9: 48 px)"),
            "{problem}"
        );
        assert!(problem.contains("--labels"), "{problem}");
        // Either way round.
        let problem = mask_problem(&two_blocks(9, 3, 0)).expect("several labels");
        assert!(
            problem.starts_with("mask holds 2 labels (9: 120 px, 3: 48 px)"),
            "{problem}"
        );
    }

    #[test]
    fn an_inverted_mask_is_refused_and_a_cell_touching_one_edge_is_not() {
        let cell = |y: usize, x: usize| (5..15).contains(&y) && (3..15).contains(&x);
        let inverted = mask_20x30(|y, x| if cell(y, x) { 0 } else { 255 });
        let problem = mask_problem(&inverted).expect("inverted");
        assert!(
            problem.starts_with("mask covers all four corners of the image (80 % of it)"),
            "{problem}"
        );
        // A cell cut by the crop's top edge, and one spanning the crop from side to side.
        let at_top = mask_20x30(|y, x| 255 * u16::from(y < 8 && (3..15).contains(&x)));
        assert_eq!(mask_problem(&at_top), None);
        let band = mask_20x30(|y, _| 255 * u16::from((5..15).contains(&y)));
        assert_eq!(mask_problem(&band), None);
    }

    #[test]
    fn a_mask_of_1_outside_and_2_inside_is_one_cell() {
        // ilastik's way: no 0, the smallest value is the background.
        let mask = mask_20x30(|y, x| 1 + u16::from((5..15).contains(&y) && (3..15).contains(&x)));
        assert_eq!(mask_problem(&mask), None);
    }

    #[test]
    fn a_neighbour_sliver_along_the_crop_edge_is_a_label() {
        // The cell as 9, a neighbour's two-pixel sliver along the right edge as 8 (above
        // half of 9, so it would join the cell).
        let mask = mask_20x30(|y, x| match (y, x) {
            (_, 28..) => 8,
            (5..=14, 3..=14) => 9,
            _ => 0,
        });
        let problem = mask_problem(&mask).expect("several labels");
        assert!(
            problem.starts_with("mask holds 2 labels (9: 120 px, 8: 40 px)"),
            "{problem}"
        );
    }

    #[test]
    fn soft_outlines_and_small_specks_are_one_cell() {
        // One cell at 255 with an outline level of 128 (resampling): a mask.
        assert_eq!(mask_problem(&two_blocks(255, 0, 128)), None);
        // A 3 × 3 speck of another label has one interior pixel, fewer than
        // MIN_LABEL_INTERIOR: the cell (the maximum) is kept, as before.
        let speck = mask_20x30(|y, x| match (y, x) {
            (5..=14, 3..=14) => 255,
            (4..=15, 2..=15) => 128,
            (16..19, 25..28) => 40,
            _ => 0,
        });
        assert_eq!(mask_problem(&speck), None);
    }

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
    fn channels_and_colour_are_refused_with_how_to_split_them() {
        use tiff::encoder::{TiffEncoder, colortype};
        use tiff::tags::Tag;
        let dir = tmp();
        // Fiji's hyperstack of 2 channels: two pages, `channels=2` in its description.
        let two = dir.path().join("two-channels.tif");
        let mut encoder = TiffEncoder::new(std::fs::File::create(&two).unwrap()).unwrap();
        for _ in 0..2 {
            let mut page = encoder.new_image::<colortype::Gray16>(5, 4).unwrap();
            page.encoder()
                .write_tag(
                    Tag::ImageDescription,
                    "ImageJ=1.54f\nimages=2\nchannels=2\nhyperstack=true\n",
                )
                .unwrap();
            page.write_data(&[7u16; 20]).unwrap();
        }
        let err = read_image(&two).unwrap_err().to_string();
        assert!(
            err.contains("3D stack of 2 pages (2×4×5, 2 channels); save the one channel")
                && err.contains("Split Channels"),
            "{err}"
        );
        // Read as channels: page K alone; a page the file lacks is refused.
        assert_eq!(count_pages(&two).unwrap().0, 2);
        assert_eq!(count_pages(&two).unwrap().1.channels, Some(2));
        let one = read_channel(&two, 1).unwrap();
        assert_eq!(one.shape(), [1, 4, 5]);
        assert_eq!(one.to_f32().data(), &[7.0; 20]);
        let err = read_channel(&two, 2).unwrap_err().to_string();
        assert!(
            err.contains("has 2 channels (0 to 1), no channel 2"),
            "{err}"
        );
        // A hyperstack of channels and slices: its pages are not its channels.
        let hyper = dir.path().join("hyper.tif");
        let mut encoder = TiffEncoder::new(std::fs::File::create(&hyper).unwrap()).unwrap();
        for _ in 0..4 {
            let mut page = encoder.new_image::<colortype::Gray8>(5, 4).unwrap();
            page.encoder()
                .write_tag(
                    Tag::ImageDescription,
                    "ImageJ=1.54f\nimages=4\nchannels=2\nslices=2\nhyperstack=true\n",
                )
                .unwrap();
            page.write_data(&[1u8; 20]).unwrap();
        }
        let err = read_channel(&hyper, 0).unwrap_err().to_string();
        assert!(
            err.contains("holds 4 pages of z-slices or time points, not channels alone"),
            "{err}"
        );
        // dispr's own 3D stacks state their z-slices: no page of them is a channel.
        let shape = dir.path().join("shape.tif");
        write_volume(&shape, &Volume::filled([3, 4, 5], 1u8)).unwrap();
        let err = read_channel(&shape, 1).unwrap_err().to_string();
        assert!(err.contains("holds 3 pages of z-slices"), "{err}");
        let rgb = dir.path().join("rgb.tif");
        TiffEncoder::new(std::fs::File::create(&rgb).unwrap())
            .unwrap()
            .write_image::<colortype::RGB8>(5, 4, &[9u8; 60])
            .unwrap();
        let err = read_image(&rgb).unwrap_err().to_string();
        assert!(
            err.contains(
                "rgb.tif: RGB(8) colour pixels on page 0; dispr reads one grayscale channel"
            ),
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
    fn volumes_are_imagej_stacks_with_their_scale() {
        let dir = tmp();
        let v = Volume::from_fn([4, 3, 5], |[z, y, x]| (z * 15 + y * 5 + x) as u16);
        let scale = VoxelSize {
            x: 0.17,
            y: 0.17,
            z: 0.5,
        };
        let p = dir.path().join("scaled.tif");
        write_volume_at(&p, &v, Some(scale)).unwrap();
        assert_eq!(read_volume(&p).unwrap(), Stack::U16(v.clone()));
        let stated = read_pixel_size(&p).unwrap().unwrap();
        assert!((stated.x - 0.17).abs() < 1e-8 && (stated.y - 0.17).abs() < 1e-8);
        assert_eq!(stated.z, Some(0.5));
        assert_eq!(stated.source, crate::scale::ScaleSource::ImageJ);
        // ImageJ and tifffile read an ImageJ stack as one block from the first page's
        // strip: the pixels of all pages must follow each other in z order there.
        let bytes = std::fs::read(&p).unwrap();
        let mut decoder = Decoder::new(std::io::Cursor::new(&bytes)).unwrap();
        let offset = decoder
            .find_tag_unsigned::<u32>(tiff::tags::Tag::StripOffsets)
            .unwrap()
            .unwrap() as usize;
        let block: Vec<u16> = bytes[offset..offset + 2 * v.len()]
            .chunks(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(block, v.data());
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("ImageJ=1.11a\nimages=4\nslices=4\nunit=micron\nspacing=0.5\n"));
        let unscaled = dir.path().join("plain.tif");
        write_volume(&unscaled, &v).unwrap();
        assert_eq!(read_pixel_size(&unscaled).unwrap(), None);
    }

    #[test]
    fn values_map_to_float() {
        let s = Stack::U16(Volume::new([1, 1, 2], vec![0, 65535]).unwrap());
        assert_eq!(s.map_to_f32(|v| (v / 65535.0) as f32).data(), &[0.0, 1.0]);
    }
}
