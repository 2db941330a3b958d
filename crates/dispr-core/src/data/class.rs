//! Cell classes and how they are read from file names (DESIGN.md, "Data conventions").
//!
//! The SHAPR/DISPR red-blood-cell data name each file after its class:
//! `A_cell_clusters000604.tif`, `B_keratocytes…`, `C_knizocytes…`,
//! `D_multilobate_cells…`, `E_acanthocytes…`, and for the SDE series a score and a shape:
//! `-0.33_stomatocyte_I000000.tif`, `0.00_discocyte…`. A name that matches none of these is
//! [`Label::Unlabeled`], never silently put in a class.

use std::fmt;
use std::str::FromStr;

/// The six classes of the red-blood-cell dataset.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CellClass {
    /// Clusters of several touching cells (`A_cell_clusters…`).
    Cluster,
    /// Keratocytes, "horn cells" with a notch (`B_keratocytes…`).
    Keratocyte,
    /// Knizocytes, triconcave with a central ridge (`C_knizocytes…`).
    Knizocyte,
    /// Cells with multiple lobes (`D_multilobate_cells…`).
    Multilobate,
    /// Acanthocytes, spheroids with irregular spicules (`E_acanthocytes…`).
    Acanthocyte,
    /// Shapes of the stomatocyte–discocyte–echinocyte series, with an SDE score.
    Sde,
}

impl CellClass {
    /// Every class, in the order of the reference file prefixes (A_ to E_), SDE last.
    pub const ALL: [CellClass; 6] = [
        CellClass::Cluster,
        CellClass::Keratocyte,
        CellClass::Knizocyte,
        CellClass::Multilobate,
        CellClass::Acanthocyte,
        CellClass::Sde,
    ];

    /// The canonical short name used in tables, CSV files and `labels.csv`.
    pub fn name(self) -> &'static str {
        match self {
            CellClass::Sde => "sde",
            CellClass::Cluster => "cluster",
            CellClass::Multilobate => "multilobate",
            CellClass::Keratocyte => "keratocyte",
            CellClass::Knizocyte => "knizocyte",
            CellClass::Acanthocyte => "acanthocyte",
        }
    }

    /// The file-name prefix of the reference data (none for SDE, named by score).
    pub fn file_prefix(self) -> Option<&'static str> {
        match self {
            CellClass::Sde => None,
            CellClass::Cluster => Some("A_cell_clusters"),
            CellClass::Keratocyte => Some("B_keratocytes"),
            CellClass::Knizocyte => Some("C_knizocytes"),
            CellClass::Multilobate => Some("D_multilobate_cells"),
            CellClass::Acanthocyte => Some("E_acanthocytes"),
        }
    }
}

impl fmt::Display for CellClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A class name that dispr does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown class '{0}' (expected one of sde, cluster, multilobate, keratocyte, knizocyte, acanthocyte, unlabeled)"
)]
pub struct UnknownClass(pub String);

impl FromStr for CellClass {
    type Err = UnknownClass;

    /// Accepts the canonical name, its plural, the reference file prefix, or the
    /// SDE aliases (`sde_shapes`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_ascii_lowercase();
        CellClass::ALL
            .into_iter()
            .find(|c| {
                key == c.name()
                    || key == format!("{}s", c.name())
                    || c.file_prefix()
                        .is_some_and(|p| key == p.to_ascii_lowercase())
                    || (*c == CellClass::Sde && (key == "sde_shapes" || key == "sde shapes"))
                    || (*c == CellClass::Cluster && key == "cell_clusters")
                    || (*c == CellClass::Multilobate && key == "multilobate_cells")
            })
            // Escaped, so that a name holding a line break keeps the error on one line.
            .ok_or_else(|| UnknownClass(s.trim().escape_debug().to_string()))
    }
}

/// The seven named shapes of the SDE series, each with its SDE score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SdeShape {
    /// Score −1.
    Spherocyte,
    /// Score −0.67.
    StomatocyteII,
    /// Score −0.33.
    StomatocyteI,
    /// Score 0.
    Discocyte,
    /// Score 0.33.
    EchinocyteI,
    /// Score 0.67.
    EchinocyteII,
    /// Score 1.
    EchinocyteIII,
}

impl SdeShape {
    /// All seven, from −1 to 1.
    pub const ALL: [SdeShape; 7] = [
        SdeShape::Spherocyte,
        SdeShape::StomatocyteII,
        SdeShape::StomatocyteI,
        SdeShape::Discocyte,
        SdeShape::EchinocyteI,
        SdeShape::EchinocyteII,
        SdeShape::EchinocyteIII,
    ];

    /// The SDE score (stomatocyte–discocyte–echinocyte axis).
    pub fn score(self) -> f32 {
        match self {
            SdeShape::Spherocyte => -1.0,
            SdeShape::StomatocyteII => -0.67,
            SdeShape::StomatocyteI => -0.33,
            SdeShape::Discocyte => 0.0,
            SdeShape::EchinocyteI => 0.33,
            SdeShape::EchinocyteII => 0.67,
            SdeShape::EchinocyteIII => 1.0,
        }
    }

    /// The name as it appears in reference file names.
    pub fn name(self) -> &'static str {
        match self {
            SdeShape::Spherocyte => "spherocyte",
            SdeShape::StomatocyteII => "stomatocyte_II",
            SdeShape::StomatocyteI => "stomatocyte_I",
            SdeShape::Discocyte => "discocyte",
            SdeShape::EchinocyteI => "echinocyte_I",
            SdeShape::EchinocyteII => "echinocyte_II",
            SdeShape::EchinocyteIII => "echinocyte_III",
        }
    }

    /// The file stem prefix of the reference data, e.g. `-0.33_stomatocyte_I`; a running
    /// number follows it.
    pub fn file_prefix(self) -> String {
        format!("{:.2}_{}", self.score(), self.name())
    }
}

/// What class a cell belongs to, or that it has none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Label {
    /// A known class; `sde_score` is present for SDE cells.
    Class {
        /// The class.
        class: CellClass,
        /// The SDE score in [−1, 1], for SDE cells.
        sde_score: Option<f32>,
    },
    /// The name matched no class and no `labels.csv` entry gave one.
    Unlabeled,
}

impl Label {
    /// The class, if any.
    pub fn class(&self) -> Option<CellClass> {
        match self {
            Label::Class { class, .. } => Some(*class),
            Label::Unlabeled => None,
        }
    }

    /// The class name, or `unlabeled`.
    pub fn name(&self) -> &'static str {
        self.class().map_or("unlabeled", CellClass::name)
    }

    /// The label a reference file stem (file name without `.tif`) carries.
    pub fn from_file_stem(stem: &str) -> Label {
        for class in CellClass::ALL {
            if let Some(prefix) = class.file_prefix()
                && stem.starts_with(prefix)
            {
                return Label::Class {
                    class,
                    sde_score: None,
                };
            }
        }
        // SDE: "<score>_<shape name><number>", score a plain decimal in [-1, 1].
        if let Some((score_text, rest)) = stem.split_once('_')
            && is_plain_decimal(score_text)
            && let Ok(score) = score_text.parse::<f32>()
            && (-1.0..=1.0).contains(&score)
            && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return Label::Class {
                class: CellClass::Sde,
                sde_score: Some(score),
            };
        }
        Label::Unlabeled
    }
}

/// True for text like `-0.33`, `0.00` or `1`: an optional sign, digits and at most one
/// point (so that `nan` or `inf` never count as scores).
fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(stem: &str) -> Option<CellClass> {
        Label::from_file_stem(stem).class()
    }

    #[test]
    fn reference_names() {
        assert_eq!(class_of("A_cell_clusters000604"), Some(CellClass::Cluster));
        assert_eq!(class_of("B_keratocytes000123"), Some(CellClass::Keratocyte));
        assert_eq!(class_of("C_knizocytes000001"), Some(CellClass::Knizocyte));
        assert_eq!(
            class_of("D_multilobate_cells000002"),
            Some(CellClass::Multilobate)
        );
        assert_eq!(
            class_of("E_acanthocytes000003"),
            Some(CellClass::Acanthocyte)
        );
    }

    #[test]
    fn sde_names_keep_their_score() {
        for shape in SdeShape::ALL {
            let stem = format!("{}000017", shape.file_prefix());
            match Label::from_file_stem(&stem) {
                Label::Class {
                    class: CellClass::Sde,
                    sde_score: Some(s),
                } => assert_eq!(s, shape.score(), "{stem}"),
                other => panic!("{stem}: {other:?}"),
            }
        }
        assert_eq!(SdeShape::StomatocyteI.file_prefix(), "-0.33_stomatocyte_I");
        assert_eq!(SdeShape::Discocyte.file_prefix(), "0.00_discocyte");
    }

    #[test]
    fn unknown_names_are_unlabeled() {
        for stem in [
            "cell_001",
            "a_cell_clusters1",
            "2.5_discocyte1",
            "nan_discocyte",
            "inf_x",
            "0.5_",
            "-0.33_123",
            "",
        ] {
            assert_eq!(Label::from_file_stem(stem), Label::Unlabeled, "{stem}");
        }
    }

    #[test]
    fn class_names_parse() {
        assert_eq!("cluster".parse(), Ok(CellClass::Cluster));
        assert_eq!("Keratocytes".parse(), Ok(CellClass::Keratocyte));
        assert_eq!("D_multilobate_cells".parse(), Ok(CellClass::Multilobate));
        assert_eq!("SDE".parse(), Ok(CellClass::Sde));
        let err = "blob".parse::<CellClass>().unwrap_err();
        assert!(err.to_string().starts_with("unknown class 'blob'"));
        for c in CellClass::ALL {
            assert_eq!(c.name().parse(), Ok(c));
        }
    }
}
