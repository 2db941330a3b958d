//! Physical scale: how large a pixel or voxel is, in micrometres, and where that was
//! learnt (a flag, ImageJ or OME metadata, the TIFF resolution tags).
//!
//! dispr measures in voxels (METRICS.md) and converts to µm, µm² and µm³ only when the
//! scale is known; a table says which in its column names ([`Units`]). The model's
//! voxels are cubes: a predicted shape's z step is its pixel size.

use std::fmt;

/// The edge lengths of one voxel, in micrometres (each finite and positive).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VoxelSize {
    /// Along x (image columns).
    pub x: f64,
    /// Along y (image rows).
    pub y: f64,
    /// Along z (pages of a stack).
    pub z: f64,
}

/// The smallest and largest pixel size dispr accepts, in µm: beyond them a value is a
/// mistake of units (a size in nm or mm taken for µm) or a display resolution.
pub const PIXEL_SIZE_RANGE_UM: (f64, f64) = (1e-3, 100.0);

impl VoxelSize {
    /// A cube of edge `size` µm.
    pub fn cube(size: f64) -> Self {
        Self {
            x: size,
            y: size,
            z: size,
        }
    }

    /// Checks every edge is finite and within [`PIXEL_SIZE_RANGE_UM`]; the error says
    /// which value is wrong.
    pub fn checked(self) -> Result<Self, String> {
        for (axis, value) in [("x", self.x), ("y", self.y), ("z", self.z)] {
            check_length(axis, value)?;
        }
        Ok(self)
    }

    /// One voxel's volume in µm³.
    pub fn voxel_volume(&self) -> f64 {
        self.x * self.y * self.z
    }

    /// True when all three edges agree to 0.1 %.
    pub fn is_cube(&self) -> bool {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * a.max(b);
        close(self.x, self.y) && close(self.y, self.z)
    }

    /// The edges as (x, y, z), the order of mesh vertices.
    pub fn xyz(&self) -> [f64; 3] {
        [self.x, self.y, self.z]
    }
}

impl fmt::Display for VoxelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_cube() {
            write!(f, "{} µm", short(self.x))
        } else {
            write!(
                f,
                "{} × {} × {} µm (z × y × x)",
                short(self.z),
                short(self.y),
                short(self.x)
            )
        }
    }
}

/// A number with at most 4 significant decimals and no trailing zeros.
fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        format!("{v}")
    } else {
        s.to_string()
    }
}

/// Checks one length in µm (a flag's value or a file's).
pub fn check_length(what: &str, value: f64) -> Result<f64, String> {
    let (lo, hi) = PIXEL_SIZE_RANGE_UM;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!(
            "{what} pixel size {value} µm is not a positive number"
        ));
    }
    if !(lo..=hi).contains(&value) {
        return Err(format!(
            "{what} pixel size {value} µm is outside {lo}–{hi} µm (a size in another unit?)"
        ));
    }
    Ok(value)
}

/// Where a scale came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleSource {
    /// `--pixel-size` / `--z-step`.
    Flag,
    /// ImageJ's description (`unit=`, `spacing=`) with the resolution tags.
    ImageJ,
    /// OME-XML (`PhysicalSizeX` …).
    Ome,
    /// The TIFF resolution tags in centimetres or inches.
    ResolutionTags,
    /// Cubic voxels of the input image's pixel size (a prediction).
    Prediction,
}

impl fmt::Display for ScaleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScaleSource::Flag => "--pixel-size",
            ScaleSource::ImageJ => "ImageJ metadata",
            ScaleSource::Ome => "OME metadata",
            ScaleSource::ResolutionTags => "TIFF resolution tags",
            ScaleSource::Prediction => "the input image's pixel size",
        })
    }
}

/// The scale a file's metadata states: the pixel size in x and y, and for a stack the
/// z step when stated.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PixelSize {
    /// µm per pixel along x.
    pub x: f64,
    /// µm per pixel along y.
    pub y: f64,
    /// µm between pages, when stated.
    pub z: Option<f64>,
    /// Where it was read.
    pub source: ScaleSource,
}

impl PixelSize {
    /// The voxel of a stack at this scale; `None` when the z step is not stated.
    pub fn voxel(&self) -> Option<VoxelSize> {
        self.z.map(|z| VoxelSize {
            x: self.x,
            y: self.y,
            z,
        })
    }

    /// True when x and y agree to 0.1 %.
    pub fn is_square(&self) -> bool {
        (self.x - self.y).abs() <= 1e-3 * self.x.max(self.y)
    }
}

/// The voxel of a stack: `--pixel-size` and `--z-step` when given, over what the file
/// `stated`; a z step neither gives is taken equal to the pixel size (cubic voxels, as
/// the model predicts them). `None` when the pixel size is unknown.
pub fn resolve_voxel(
    stated: Option<PixelSize>,
    pixel_size: Option<f64>,
    z_step: Option<f64>,
) -> Option<VoxelSize> {
    let (x, y) = match (pixel_size, stated) {
        (Some(p), _) => (p, p),
        (None, Some(s)) => (s.x, s.y),
        (None, None) => return None,
    };
    let z = z_step.or(stated.and_then(|s| s.z)).unwrap_or(x);
    Some(VoxelSize { x, y, z })
}

/// Micrometres per one of `unit` (`µm`, `um`, `micron`, `nm`, `mm`, `cm`, `m`, `inch`,
/// as ImageJ, OME and tifffile write them); `None` for an unknown unit or `pixel`.
pub fn micrometres_per(unit: &str) -> Option<f64> {
    let unit = unit.trim();
    let lower = unit.to_ascii_lowercase();
    Some(match lower.as_str() {
        "µm" | "μm" | "um" | "micron" | "microns" | "micrometer" | "micrometre" | "micrometers"
        | "micrometres" | "\\u00b5m" => 1.0,
        "nm" | "nanometer" | "nanometre" | "nanometers" | "nanometres" => 1e-3,
        "mm" | "millimeter" | "millimetre" | "millimeters" | "millimetres" => 1e3,
        "cm" | "centimeter" | "centimetre" => 1e4,
        "m" | "meter" | "metre" => 1e6,
        "in" | "inch" | "inches" => 25_400.0,
        "å" | "angstrom" | "ångström" => 1e-4,
        _ => return None,
    })
}

/// The units a table's lengths are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Units {
    /// Voxel edges (the scale is unknown).
    Voxels,
    /// Micrometres.
    Micrometres,
}

impl Units {
    /// The units of a quantity of `dimension` (length to that power): `µm³`, `µm⁻¹`,
    /// `voxels`, `1/voxel` …
    pub fn of_dimension(self, dimension: i32) -> &'static str {
        match (self, dimension) {
            (_, 0) => "",
            (Units::Micrometres, 1) => "µm",
            (Units::Micrometres, 2) => "µm²",
            (Units::Micrometres, 3) => "µm³",
            (Units::Micrometres, -1) => "1/µm",
            (Units::Micrometres, _) => "µm^n",
            (Units::Voxels, 1) => "voxel",
            (Units::Voxels, 2) => "voxel²",
            (Units::Voxels, 3) => "voxel³",
            (Units::Voxels, -1) => "1/voxel",
            (Units::Voxels, _) => "voxel^n",
        }
    }

    /// A column-name suffix for a quantity of `dimension`: `_um3`, `_um2`, `_per_um`,
    /// `_um`, or `_vox3` … in voxels; empty for a dimensionless one.
    pub fn suffix(self, dimension: i32) -> &'static str {
        match (self, dimension) {
            (_, 0) => "",
            (Units::Micrometres, 1) => "_um",
            (Units::Micrometres, 2) => "_um2",
            (Units::Micrometres, 3) => "_um3",
            (Units::Micrometres, -1) => "_per_um",
            (Units::Micrometres, _) => "_um_n",
            (Units::Voxels, 1) => "_vox",
            (Units::Voxels, 2) => "_vox2",
            (Units::Voxels, 3) => "_vox3",
            (Units::Voxels, -1) => "_per_vox",
            (Units::Voxels, _) => "_vox_n",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read_as_imagej_and_ome_write_them() {
        for (unit, um) in [
            ("micron", 1.0),
            ("µm", 1.0),
            ("μm", 1.0),
            ("um", 1.0),
            ("\\u00B5m", 1.0),
            ("nm", 1e-3),
            ("mm", 1e3),
            ("inch", 25_400.0),
        ] {
            assert_eq!(micrometres_per(unit), Some(um), "{unit}");
        }
        assert_eq!(micrometres_per("pixel"), None);
        assert_eq!(micrometres_per("parsec"), None);
    }

    #[test]
    fn sizes_are_checked_and_shown_short() {
        assert!(VoxelSize::cube(0.17).checked().is_ok());
        let err = VoxelSize::cube(170.0).checked().unwrap_err();
        assert!(err.contains("outside"), "{err}");
        assert!(VoxelSize::cube(f64::NAN).checked().is_err());
        assert_eq!(VoxelSize::cube(0.17).to_string(), "0.17 µm");
        let v = VoxelSize {
            x: 0.1,
            y: 0.1,
            z: 0.5,
        };
        assert!(!v.is_cube());
        assert_eq!(v.to_string(), "0.5 × 0.1 × 0.1 µm (z × y × x)");
        assert!((v.voxel_volume() - 0.005).abs() < 1e-12);
    }

    #[test]
    fn flags_come_before_metadata() {
        let stated = PixelSize {
            x: 0.2,
            y: 0.2,
            z: Some(0.5),
            source: ScaleSource::ImageJ,
        };
        assert_eq!(resolve_voxel(None, None, Some(1.0)), None);
        let v = resolve_voxel(Some(stated), None, None).unwrap();
        assert_eq!((v.x, v.z), (0.2, 0.5));
        let v = resolve_voxel(Some(stated), Some(0.1), None).unwrap();
        assert_eq!((v.x, v.y, v.z), (0.1, 0.1, 0.5));
        let v = resolve_voxel(None, Some(0.1), None).unwrap();
        assert!(v.is_cube());
    }

    #[test]
    fn units_name_their_columns() {
        assert_eq!(Units::Micrometres.suffix(3), "_um3");
        assert_eq!(Units::Voxels.suffix(2), "_vox2");
        assert_eq!(Units::Micrometres.of_dimension(-1), "1/µm");
        assert_eq!(Units::Voxels.suffix(0), "");
    }
}
