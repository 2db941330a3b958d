//! The scale a TIFF states, and the ImageJ description dispr writes.
//!
//! Read, in this order: OME-XML in the ImageDescription (`PhysicalSizeX/Y/Z` and their
//! units, µm by default), ImageJ's description (`unit=`, `spacing=`) with the
//! XResolution/YResolution tags (pixels per unit), and otherwise the resolution tags in
//! centimetres or inches. Resolution tags without a unit (tifffile's default 1/1) state
//! nothing; a resolution in inches or centimetres that gives pixels outside
//! [`PIXEL_SIZE_RANGE_UM`] (72 dpi is 353 µm: a display default, not a microscope's
//! pixel) is taken as unstated too.
//!
//! Written: ImageJ's description (`images=`, `slices=`, `unit=micron`, `spacing=`) and
//! the resolution tags in pixels per µm, which Fiji shows as the image's scale and
//! tifffile reads as `imagej_metadata` and `resolution` (axes ZYX).

use std::io::{Read, Seek};

use tiff::decoder::Decoder;
use tiff::decoder::ifd::Value;
use tiff::tags::Tag;

use crate::scale::{PIXEL_SIZE_RANGE_UM, PixelSize, ScaleSource, VoxelSize, micrometres_per};

/// The ImageJ version string dispr's descriptions start with (as tifffile writes it).
const IMAGEJ_VERSION: &str = "1.11a";

/// The pixel size IFD 0 of a TIFF states; `Err` (a one-line problem) when its metadata
/// names a scale that cannot be read: an unknown unit, a value that is no number or is
/// out of range.
pub(super) fn read_pixel_size<R: Read + Seek>(
    decoder: &mut Decoder<R>,
) -> Result<Option<PixelSize>, String> {
    let description = match decoder.find_tag(Tag::ImageDescription) {
        Ok(Some(Value::Ascii(text))) => Some(text),
        _ => None,
    };
    let x_resolution = rational(decoder, Tag::XResolution);
    let y_resolution = rational(decoder, Tag::YResolution).or(x_resolution);
    let unit_tag = decoder
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten()
        .unwrap_or(2);
    if let Some(text) = &description {
        if let Some(ome) = ome_pixel_size(text)? {
            return Ok(Some(ome));
        }
        if text.starts_with("ImageJ=") {
            return imagej_pixel_size(text, x_resolution, y_resolution);
        }
    }
    let per_unit = match unit_tag {
        2 => 25_400.0,
        3 => 10_000.0,
        _ => return Ok(None),
    };
    let (Some(xr), Some(yr)) = (x_resolution, y_resolution) else {
        return Ok(None);
    };
    let (x, y) = (per_unit / xr, per_unit / yr);
    let (lo, hi) = PIXEL_SIZE_RANGE_UM;
    if !(lo..=hi).contains(&x) || !(lo..=hi).contains(&y) {
        return Ok(None);
    }
    Ok(Some(PixelSize {
        x,
        y,
        z: None,
        source: ScaleSource::ResolutionTags,
    }))
}

/// A positive, finite rational tag's value.
fn rational<R: Read + Seek>(decoder: &mut Decoder<R>, tag: Tag) -> Option<f64> {
    let value = match decoder.find_tag(tag).ok()?? {
        Value::Rational(n, d) => f64::from(n) / f64::from(d),
        Value::Float(v) => f64::from(v),
        Value::Double(v) => v,
        _ => return None,
    };
    (value.is_finite() && value > 0.0).then_some(value)
}

/// ImageJ: pixels per `unit` in the resolution tags, the z step in `spacing=` (1 unit
/// when a stack's description leaves it out, as ImageJ does).
fn imagej_pixel_size(
    text: &str,
    x_resolution: Option<f64>,
    y_resolution: Option<f64>,
) -> Result<Option<PixelSize>, String> {
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let Some(unit) = field("unit") else {
        return Ok(None);
    };
    if unit.eq_ignore_ascii_case("pixel") || unit.eq_ignore_ascii_case("pixels") {
        return Ok(None);
    }
    let um = micrometres_per(unit)
        .ok_or_else(|| format!("ImageJ metadata names an unknown unit {unit:?}"))?;
    let (Some(xr), Some(yr)) = (x_resolution, y_resolution) else {
        return Ok(None);
    };
    let z = match field("spacing") {
        Some(s) => Some(
            s.parse::<f64>()
                .map_err(|_| format!("ImageJ metadata has spacing={s:?}, not a number"))?
                * um,
        ),
        // ImageJ leaves `spacing` out of a stack's description when it is 1 unit.
        None if field("images").is_some_and(|n| n != "1") => Some(um),
        None => None,
    };
    checked(PixelSize {
        x: um / xr,
        y: um / yr,
        z,
        source: ScaleSource::ImageJ,
    })
}

/// OME-XML: the `Pixels` element's physical sizes.
fn ome_pixel_size(text: &str) -> Result<Option<PixelSize>, String> {
    if ome_pixels(text).is_none() {
        return Ok(None);
    }
    let attribute = |name: &str| ome_attribute(text, name);
    let size = |axis: &str| -> Result<Option<f64>, String> {
        let Some(value) = attribute(&format!("PhysicalSize{axis}")) else {
            return Ok(None);
        };
        let v: f64 = value
            .parse()
            .map_err(|_| format!("OME metadata has PhysicalSize{axis}={value:?}, not a number"))?;
        let unit = attribute(&format!("PhysicalSize{axis}Unit")).unwrap_or("µm");
        let um = micrometres_per(unit).ok_or_else(|| {
            format!("OME metadata names an unknown unit {unit:?} for PhysicalSize{axis}")
        })?;
        Ok(Some(v * um))
    };
    let (Some(x), y, z) = (size("X")?, size("Y")?, size("Z")?) else {
        return Ok(None);
    };
    checked(PixelSize {
        x,
        y: y.unwrap_or(x),
        z,
        source: ScaleSource::Ome,
    })
}

/// What a TIFF's ImageJ or OME description says its pages are: channels, z-slices,
/// time points (each `None` when it says nothing of that axis).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatedAxes {
    /// Channels (ImageJ `channels=`, OME `SizeC`).
    pub channels: Option<usize>,
    /// z-slices (ImageJ `slices=`, OME `SizeZ`).
    pub slices: Option<usize>,
    /// Time points (ImageJ `frames=`, OME `SizeT`).
    pub frames: Option<usize>,
}

impl StatedAxes {
    /// True when its pages hold more than one z-slice or time point.
    pub fn has_slices_or_frames(&self) -> bool {
        self.slices.is_some_and(|n| n > 1) || self.frames.is_some_and(|n| n > 1)
    }
}

/// The axes a TIFF's description (at the decoder's page) states.
pub(super) fn stated_axes<R: Read + Seek>(decoder: &mut Decoder<R>) -> StatedAxes {
    match decoder.find_tag(Tag::ImageDescription) {
        Ok(Some(Value::Ascii(text))) => axes_in(&text),
        _ => StatedAxes::default(),
    }
}

/// The axes an ImageJ or OME description states.
fn axes_in(text: &str) -> StatedAxes {
    if text.starts_with("ImageJ=") {
        let field = |key: &str| {
            text.lines().find_map(|line| {
                line.strip_prefix(key)?
                    .strip_prefix('=')?
                    .trim()
                    .parse()
                    .ok()
            })
        };
        return StatedAxes {
            channels: field("channels"),
            slices: field("slices"),
            frames: field("frames"),
        };
    }
    let attribute = |name: &str| ome_attribute(text, name)?.parse().ok();
    StatedAxes {
        channels: attribute("SizeC"),
        slices: attribute("SizeZ"),
        frames: attribute("SizeT"),
    }
}

/// The opening tag of OME-XML's `Pixels` element (its attributes), when `text` has one.
fn ome_pixels(text: &str) -> Option<&str> {
    let start = text.find("<Pixels ").or_else(|| text.find(":Pixels "))?;
    let element = &text[start..];
    Some(&element[..element.find('>').unwrap_or(element.len())])
}

/// The value of attribute `name` of OME-XML's `Pixels` element.
fn ome_attribute<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let element = ome_pixels(text)?;
    let key = format!(" {name}=\"");
    let at = element.find(&key)? + key.len();
    let rest = &element[at..];
    Some(&rest[..rest.find('"')?])
}

/// A stated scale with every length in range.
fn checked(size: PixelSize) -> Result<Option<PixelSize>, String> {
    let source = size.source;
    let z = size.z.unwrap_or(size.x);
    VoxelSize {
        x: size.x,
        y: size.y,
        z,
    }
    .checked()
    .map_err(|e| format!("{source} states a {e}"))?;
    Ok(Some(size))
}

/// ImageJ's description of a stack of `pages` (axes ZYX) at `scale`, as tifffile
/// writes it.
pub(super) fn imagej_description(pages: usize, scale: Option<VoxelSize>) -> String {
    let mut text = format!("ImageJ={IMAGEJ_VERSION}\n");
    if pages > 1 {
        text.push_str(&format!("images={pages}\nslices={pages}\n"));
    }
    if let Some(scale) = scale {
        text.push_str("unit=micron\n");
        if pages > 1 {
            text.push_str(&format!("spacing={}\n", scale.z));
        }
    }
    text.push_str("loop=false\n");
    text
}

/// `value` as a TIFF rational `n / d` with as many digits as fit in 32 bits.
pub(super) fn to_rational(value: f64) -> (u32, u32) {
    let mut d: u32 = 1;
    while d < 1_000_000_000 && value * f64::from(d) * 10.0 < f64::from(u32::MAX) {
        d *= 10;
    }
    ((value * f64::from(d)).round() as u32, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_read_from_imagej_and_ome() {
        let imagej = "ImageJ=1.54f\nimages=6\nchannels=3\nslices=2\nhyperstack=true\n";
        let axes = axes_in(imagej);
        assert_eq!(
            (axes.channels, axes.slices, axes.frames),
            (Some(3), Some(2), None)
        );
        assert!(axes.has_slices_or_frames());
        let stack = axes_in("ImageJ=1.11a\nimages=4\nslices=4\n");
        assert_eq!((stack.channels, stack.slices), (None, Some(4)));
        let ome = r#"<OME><Image><Pixels DimensionOrder="XYCZT" SizeC="2" SizeT="1" SizeX="8" SizeZ="1"></Pixels></Image></OME>"#;
        let axes = axes_in(ome);
        assert_eq!(
            (axes.channels, axes.slices, axes.frames),
            (Some(2), Some(1), Some(1))
        );
        assert!(!axes.has_slices_or_frames());
        assert_eq!(axes_in("a plain description"), StatedAxes::default());
    }

    #[test]
    fn ome_sizes_and_units_are_read() {
        let xml = r#"<?xml version="1.0"?><OME><Image><Pixels DimensionOrder="XYZCT" PhysicalSizeX="100" PhysicalSizeXUnit="nm" PhysicalSizeY="0.1" PhysicalSizeZ="0.5" SizeX="64"></Pixels></Image></OME>"#;
        let p = ome_pixel_size(xml).unwrap().unwrap();
        assert!((p.x - 0.1).abs() < 1e-12 && (p.y - 0.1).abs() < 1e-12);
        assert_eq!(p.z, Some(0.5));
        let bad = xml.replace("\"nm\"", "\"parsec\"");
        assert!(ome_pixel_size(&bad).unwrap_err().contains("parsec"));
        assert_eq!(ome_pixel_size("<OME><Image/></OME>").unwrap(), None);
    }

    #[test]
    fn imagej_descriptions_round_trip() {
        let v = VoxelSize {
            x: 0.17,
            y: 0.17,
            z: 0.34,
        };
        let text = imagej_description(64, Some(v));
        assert!(text.contains("images=64\nslices=64\nunit=micron\nspacing=0.34\n"));
        let (n, d) = to_rational(1.0 / 0.17);
        let r = f64::from(n) / f64::from(d);
        let p = imagej_pixel_size(&text, Some(r), Some(r)).unwrap().unwrap();
        assert!((p.x - 0.17).abs() < 1e-8, "{p:?}");
        assert_eq!(p.z, Some(0.34));
        assert_eq!(
            imagej_pixel_size(&imagej_description(64, None), Some(1.0), Some(1.0)).unwrap(),
            None
        );
        let err = imagej_pixel_size("ImageJ=1\nunit=micron\nspacing=abc\n", Some(1.0), Some(1.0))
            .unwrap_err();
        assert!(err.contains("spacing"), "{err}");
    }
}
