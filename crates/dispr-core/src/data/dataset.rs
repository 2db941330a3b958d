//! Datasets on disk: finding, pairing, labelling, checking and loading cells.
//!
//! Two layouts are read (DESIGN.md):
//!
//! * SHAPR's flat layout `DIR/{image,mask,obj}/NAME.tif`;
//! * DISPR's split layout `DIR/{train,test}/{image,mask,obj}/NAME.tif`.
//!
//! Files are paired by NAME across the folders. `obj/` (the 3D ground truth) is optional:
//! without it the dataset can be predicted but not trained on or evaluated. Labels come
//! from the file name ([`Label::from_file_stem`]) unless `DIR/labels.csv` (columns `name`,
//! `class`, optional `sde_score`) overrides them.
//!
//! Scanning ([`Dataset::scan`]) only lists folders; reading pixels happens in
//! [`crate::data::inspect`] (statistics and every problem, for `dispr data info`) and
//! [`load_cell`] (the arrays, for training and prediction).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::data::class::{CellClass, Label};
use crate::data::{intensity, split};
use crate::error::{Error, Result};
use crate::grid::{Image, Volume, format_shape};
use crate::io::tiff::{self, Stack};

/// The folder holding 2D fluorescence images.
pub const IMAGE_DIR: &str = "image";
/// The folder holding 2D segmentation masks.
pub const MASK_DIR: &str = "mask";
/// The folder holding 3D ground-truth shapes.
pub const OBJ_DIR: &str = "obj";
/// The optional label override file at the dataset root.
pub const LABELS_FILE: &str = "labels.csv";

/// How the dataset's folders are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// `DIR/{image,mask,obj}`.
    Flat,
    /// `DIR/{train,test}/{image,mask,obj}`.
    TrainTest,
}

/// The part of a [`Layout::TrainTest`] dataset a cell comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subset {
    /// `DIR/train/…`.
    Train,
    /// `DIR/test/…`.
    Test,
}

/// The files of one cell, found by name.
#[derive(Clone, Debug, PartialEq)]
pub struct CellFiles {
    /// The shared file stem (file name without `.tif`).
    pub name: String,
    /// Train or test part, for the split layout.
    pub subset: Option<Subset>,
    /// The 2D fluorescence image.
    pub image: PathBuf,
    /// The 2D mask.
    pub mask: PathBuf,
    /// The 3D shape, when the dataset has `obj/`.
    pub obj: Option<PathBuf>,
    /// The class, from the name or `labels.csv`.
    pub label: Label,
}

/// A dataset's cells as found on disk, with the problems met while pairing them.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The folder given by the user.
    pub root: PathBuf,
    /// How the folders are arranged.
    pub layout: Layout,
    /// Every cell with an image and a mask (and a shape, where `obj/` exists), by name.
    pub cells: Vec<CellFiles>,
    /// Files that could not be paired or used (each names its file).
    pub problems: Vec<Error>,
}

impl Dataset {
    /// Lists and pairs the dataset's files without reading pixels. Fails when `root` is
    /// not a dataset at all (missing, no image/mask folders, no cells) or `labels.csv` is
    /// invalid; files that cannot be paired become [`Dataset::problems`].
    pub fn scan(root: &Path) -> Result<Dataset> {
        let meta = std::fs::metadata(root).map_err(|e| Error::io(root, "", e))?;
        if !meta.is_dir() {
            return Err(Error::new(root, "is a file; expected a dataset folder"));
        }
        let has = |p: &Path| p.join(IMAGE_DIR).is_dir() || p.join(MASK_DIR).is_dir();
        let (layout, parts) = if has(root) {
            (Layout::Flat, vec![(None, root.to_path_buf())])
        } else {
            let parts: Vec<_> = [(Subset::Train, "train"), (Subset::Test, "test")]
                .into_iter()
                .map(|(s, d)| (Some(s), root.join(d)))
                .filter(|(_, p)| has(p))
                .collect();
            if parts.is_empty() {
                return Err(Error::new(
                    root,
                    "not a dataset: no image/ and mask/ folders (expected DIR/{image,mask,obj}/NAME.tif \
                     or DIR/{train,test}/{image,mask,obj}/NAME.tif)",
                ));
            }
            (Layout::TrainTest, parts)
        };

        let mut cells = Vec::new();
        let mut problems = Vec::new();
        for (subset, dir) in parts {
            scan_part(&dir, subset, &mut cells, &mut problems)?;
        }
        let mut seen = BTreeMap::new();
        for cell in &cells {
            if let Some(first) = seen.insert(cell.name.clone(), cell.image.clone()) {
                problems.push(Error::new(
                    &cell.image,
                    format!(
                        "the name '{}' is used twice (also {})",
                        cell.name,
                        first.display()
                    ),
                ));
            }
        }
        if cells.is_empty() && problems.is_empty() {
            return Err(Error::new(
                root,
                "no cells found: image/ and mask/ hold no TIFF files",
            ));
        }
        let labels_path = root.join(LABELS_FILE);
        if labels_path.exists() {
            apply_labels_csv(&labels_path, &mut cells, &mut problems)?;
        }
        cells.sort_by(|a, b| (a.subset, &a.name).cmp(&(b.subset, &b.name)));
        Ok(Dataset {
            root: root.to_path_buf(),
            layout,
            cells,
            problems,
        })
    }

    /// True when every cell has a 3D ground truth (the dataset can train and evaluate).
    pub fn has_shapes(&self) -> bool {
        !self.cells.is_empty() && self.cells.iter().all(|c| c.obj.is_some())
    }

    /// The first of `names` that no cell of the dataset has (a user's list of cells to
    /// take), or `None` when every name is a cell's.
    pub fn unknown_name<'a>(&self, names: &'a [String]) -> Option<&'a str> {
        names
            .iter()
            .find(|n| !self.cells.iter().any(|c| &c.name == *n))
            .map(String::as_str)
    }

    /// Stratified k-fold test-fold index of every cell (see [`split::stratified_folds`]),
    /// stratified by class; unlabeled cells form their own stratum.
    pub fn folds(&self, k: usize, seed: u64) -> Result<Vec<usize>> {
        let keys: Vec<(&str, &str)> = self
            .cells
            .iter()
            .map(|c| (c.name.as_str(), c.label.name()))
            .collect();
        split::stratified_folds(&keys, k, seed).map_err(|e| Error::new(&self.root, e.problem()))
    }

    /// Number of cells per label name (`unlabeled` included when present), in
    /// [`CellClass::ALL`] order.
    pub fn class_counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: Vec<(&'static str, usize)> = CellClass::ALL
            .iter()
            .map(|c| (c.name(), 0))
            .chain(std::iter::once(("unlabeled", 0)))
            .collect();
        for cell in &self.cells {
            let name = cell.label.name();
            if let Some(entry) = counts.iter_mut().find(|(n, _)| *n == name) {
                entry.1 += 1;
            }
        }
        counts.retain(|&(_, n)| n > 0);
        counts
    }
}

/// The 3D shape files a path names: the file itself, or the TIFFs of a folder (its
/// `obj/` when it is a dataset), sorted by name. Other files in the folder are ignored.
pub fn shape_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, "", e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = if path.join(OBJ_DIR).is_dir() {
        path.join(OBJ_DIR)
    } else {
        path.to_path_buf()
    };
    let files: Vec<PathBuf> = list_tiffs(&dir, &mut Vec::new())?
        .unwrap_or_default()
        .into_values()
        .collect();
    if files.is_empty() {
        return Err(Error::new(
            &dir,
            "no TIFF files (.tif or .tiff) in this folder",
        ));
    }
    Ok(files)
}

/// Lists TIFF stems in `dir` (None when the folder does not exist).
fn list_tiffs(dir: &Path, problems: &mut Vec<Error>) -> Result<Option<BTreeMap<String, PathBuf>>> {
    if !dir.exists() {
        return Ok(None);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "", e))?;
    let mut found = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, "", e))?.path();
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if file_name.starts_with('.') || path.is_dir() {
            continue;
        }
        let Some((stem, ext)) = file_name.rsplit_once('.') else {
            problems.push(Error::new(
                &path,
                "not a TIFF file name (expected .tif or .tiff); ignored",
            ));
            continue;
        };
        if !ext.eq_ignore_ascii_case("tif") && !ext.eq_ignore_ascii_case("tiff") {
            problems.push(Error::new(
                &path,
                "not a TIFF file name (expected .tif or .tiff); ignored",
            ));
            continue;
        }
        if let Some(other) = found.insert(stem.to_string(), path.clone()) {
            problems.push(Error::new(
                &path,
                format!(
                    "duplicate of {} (same name, other extension)",
                    other.display()
                ),
            ));
        }
    }
    Ok(Some(found))
}

/// Pairs the files of one part (the root, or train/ or test/).
fn scan_part(
    dir: &Path,
    subset: Option<Subset>,
    cells: &mut Vec<CellFiles>,
    problems: &mut Vec<Error>,
) -> Result<()> {
    let images = list_tiffs(&dir.join(IMAGE_DIR), problems)?;
    let masks = list_tiffs(&dir.join(MASK_DIR), problems)?;
    let objs = list_tiffs(&dir.join(OBJ_DIR), problems)?;
    let (images, masks) = match (images, masks) {
        (Some(i), Some(m)) => (i, m),
        (None, _) => {
            return Err(Error::new(
                dir.join(IMAGE_DIR),
                "folder missing (next to mask/)",
            ));
        }
        (_, None) => {
            return Err(Error::new(
                dir.join(MASK_DIR),
                "folder missing (next to image/)",
            ));
        }
    };
    let names: BTreeSet<&String> = images
        .keys()
        .chain(masks.keys())
        .chain(objs.iter().flat_map(|o| o.keys()))
        .collect();
    for name in names {
        let image = images.get(name);
        let mask = masks.get(name);
        let obj = objs.as_ref().map(|o| o.get(name));
        let any = image
            .or(mask)
            .or(obj.flatten())
            .expect("name comes from a folder");
        let mut missing = Vec::new();
        if image.is_none() {
            missing.push(IMAGE_DIR);
        }
        if mask.is_none() {
            missing.push(MASK_DIR);
        }
        if obj == Some(None) {
            missing.push(OBJ_DIR);
        }
        if !missing.is_empty() {
            problems.push(Error::new(
                any,
                format!(
                    "no partner file named '{name}' in {}",
                    missing
                        .iter()
                        .map(|m| format!("{m}/"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            ));
            continue;
        }
        cells.push(CellFiles {
            name: name.clone(),
            subset,
            image: image.expect("checked").clone(),
            mask: mask.expect("checked").clone(),
            obj: obj.flatten().cloned(),
            label: Label::from_file_stem(name),
        });
    }
    Ok(())
}

/// Applies `labels.csv` (`name,class[,sde_score]`). An unknown class or malformed row
/// fails the whole scan (the user asked for those labels); a name that matches no cell
/// is a problem.
fn apply_labels_csv(path: &Path, cells: &mut [CellFiles], problems: &mut Vec<Error>) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::new(path, format!("cannot read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::new(path, format!("cannot read the header row: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(name_col), Some(class_col)) = (column("name"), column("class")) else {
        return Err(Error::new(
            path,
            "the header row must name the columns 'name' and 'class'",
        ));
    };
    let score_col = column("sde_score");
    let mut seen = std::collections::HashMap::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| Error::new(path, format!("line {line}: {e}")))?;
        let raw_name = record.get(name_col).unwrap_or("");
        let name = raw_name
            .strip_suffix(".tif")
            .or_else(|| raw_name.strip_suffix(".tiff"))
            .unwrap_or(raw_name);
        if let Some(first) = seen.insert(name.to_string(), line) {
            return Err(Error::new(
                path,
                format!(
                    "line {line}: '{}' is labelled again (first on line {first}); give each cell one row",
                    name.escape_debug()
                ),
            ));
        }
        let class_text = record.get(class_col).unwrap_or("");
        let label = if class_text.eq_ignore_ascii_case("unlabeled") || class_text.is_empty() {
            Label::Unlabeled
        } else {
            let class: CellClass = class_text
                .parse()
                .map_err(|e| Error::new(path, format!("line {line}: {e}")))?;
            let sde_score = match score_col
                .and_then(|c| record.get(c))
                .filter(|s| !s.is_empty())
            {
                Some(text) => Some(
                    text.parse::<f32>()
                        .ok()
                        .filter(|s| (-1.0..=1.0).contains(s))
                        .ok_or_else(|| {
                            Error::new(
                                path,
                                format!(
                                    "line {line}: sde_score '{}' is not a number in [-1, 1]",
                                    text.escape_debug()
                                ),
                            )
                        })?,
                ),
                None => None,
            };
            Label::Class { class, sde_score }
        };
        let mut matched = false;
        for cell in cells.iter_mut().filter(|c| c.name == name) {
            cell.label = label;
            matched = true;
        }
        if !matched {
            problems.push(Error::new(
                path,
                format!("line {line}: no cell named '{}'", name.escape_debug()),
            ));
        }
    }
    Ok(())
}

/// The decoded files of one cell, each either read and checked or failed.
pub(crate) struct CellStacks {
    pub(crate) image: Option<Stack>,
    /// How the image's intensities are read, when they can be.
    pub(crate) encoding: Option<intensity::Encoding>,
    pub(crate) mask: Option<Stack>,
    pub(crate) obj: Option<Stack>,
    pub(crate) problems: Vec<Error>,
    /// What is unusual but readable (an image's encoding).
    pub(crate) notes: Vec<Error>,
}

/// Reads a cell's files and checks each one and their agreement.
pub(crate) fn read_cell(cell: &CellFiles) -> CellStacks {
    let mut problems = Vec::new();
    let mut keep = |r: Result<Stack>| r.map_err(|e| problems.push(e)).ok();
    let image = keep(tiff::read_image(&cell.image));
    let mask = keep(tiff::read_image(&cell.mask));
    let obj = cell.obj.as_ref().and_then(|p| keep(tiff::read_volume(p)));
    let mut notes = Vec::new();
    let mut encoding = None;
    if let Some(img) = &image {
        match intensity::reading_of(img) {
            Ok(reading) => {
                encoding = Some(reading.encoding);
                notes.extend(reading.note().map(|n| Error::new(&cell.image, n)));
            }
            Err(problem) => problems.push(Error::new(&cell.image, problem)),
        }
    }
    if let Some(problem) = mask.as_ref().and_then(tiff::mask_problem) {
        problems.push(Error::new(&cell.mask, problem));
    }
    if let (Some(img), Some(m)) = (&image, &mask)
        && img.shape() != m.shape()
    {
        problems.push(Error::new(
            &cell.mask,
            format!(
                "mask is {} but its image is {}",
                format_shape(&m.shape()[1..]),
                format_shape(&img.shape()[1..])
            ),
        ));
    }
    if let (Some(path), Some(o)) = (&cell.obj, &obj) {
        if o.has_non_finite() {
            problems.push(Error::new(path, "contains NaN or infinite values"));
        } else if o.binarize().count() == 0 {
            problems.push(Error::new(
                path,
                "shape is empty (no voxel above half its maximum)",
            ));
        }
        if let Some(img) = &image
            && o.shape()[1..] != img.shape()[1..]
        {
            problems.push(Error::new(
                path,
                format!(
                    "shape is {} but its image is {} (y and x must agree)",
                    format_shape(&o.shape()),
                    format_shape(&img.shape()[1..])
                ),
            ));
        }
    }
    CellStacks {
        image,
        encoding,
        mask,
        obj,
        problems,
        notes,
    }
}

/// A cell's arrays, ready for conditioning, training and evaluation.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The cell's name.
    pub name: String,
    /// Its class.
    pub label: Label,
    /// Fluorescence in [0, 1], read by the rule of [`intensity`] (uint8 / 255).
    pub image: Image<f32>,
    /// The 2D mask as a shape.
    pub mask: Image<bool>,
    /// The 3D ground truth as a shape, when the dataset has one.
    pub shape: Option<Volume<bool>>,
    /// µm per pixel, when the image's metadata states it (see [`crate::scale`]).
    pub pixel_size: Option<f64>,
}

/// Reads and checks one cell; the first problem found is the error.
pub fn load_cell(files: &CellFiles) -> Result<Cell> {
    let mut stacks = read_cell(files);
    if !stacks.problems.is_empty() {
        return Err(stacks.problems.swap_remove(0));
    }
    let (Some(image), Some(mask), Some(encoding)) = (stacks.image, stacks.mask, stacks.encoding)
    else {
        unreachable!("a missing image or mask, or unreadable intensities, is a problem");
    };

    Ok(Cell {
        name: files.name.clone(),
        label: files.label,
        image: intensity::to_unit(&image, encoding).slice_z(0),
        mask: mask.binarize().slice_z(0),
        shape: stacks.obj.map(|o| o.binarize()),
        pixel_size: crate::io::tiff::read_square_pixel_size(&files.image)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::inspect::inspect_cell;
    use crate::io::tiff::{write_image, write_volume};

    /// Writes a small valid cell `name` under `dir`.
    fn write_cell(dir: &Path, name: &str, with_obj: bool) {
        let img = Image::from_fn([8, 8], |[y, x]| (10 + y * 8 + x) as u8);
        let mask = Image::from_fn([8, 8], |[y, x]| {
            if (2..6).contains(&y) && (2..6).contains(&x) {
                255u8
            } else {
                0
            }
        });
        write_image(&dir.join(IMAGE_DIR).join(format!("{name}.tif")), &img).unwrap();
        write_image(&dir.join(MASK_DIR).join(format!("{name}.tif")), &mask).unwrap();
        if with_obj {
            let obj = Volume::from_fn([8, 8, 8], |[z, y, x]| {
                if (2..6).contains(&z) && (2..6).contains(&y) && (2..6).contains(&x) {
                    255u8
                } else {
                    0
                }
            });
            write_volume(&dir.join(OBJ_DIR).join(format!("{name}.tif")), &obj).unwrap();
        }
    }

    #[test]
    fn flat_layout_pairs_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        write_cell(dir.path(), "A_cell_clusters000001", true);
        write_cell(dir.path(), "B_keratocytes000002", true);
        write_cell(dir.path(), "mystery", true);
        let ds = Dataset::scan(dir.path()).unwrap();
        assert_eq!(ds.layout, Layout::Flat);
        assert!(ds.problems.is_empty(), "{:?}", ds.problems);
        assert_eq!(ds.cells.len(), 3);
        assert!(ds.has_shapes());
        assert_eq!(
            ds.class_counts(),
            vec![("cluster", 1), ("keratocyte", 1), ("unlabeled", 1)]
        );
        let cell = load_cell(&ds.cells[0]).unwrap();
        assert_eq!(cell.mask.count(), 16);
        assert_eq!(cell.shape.unwrap().count(), 64);
        assert!((cell.image.at([0, 0]) - 10.0 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn train_test_layout_and_prediction_only() {
        let dir = tempfile::tempdir().unwrap();
        write_cell(&dir.path().join("train"), "C_knizocytes1", true);
        write_cell(&dir.path().join("test"), "D_multilobate_cells2", false);
        let ds = Dataset::scan(dir.path()).unwrap();
        assert_eq!(ds.layout, Layout::TrainTest);
        assert_eq!(ds.cells.len(), 2);
        assert_eq!(ds.cells[0].subset, Some(Subset::Train));
        assert_eq!(ds.cells[1].obj, None);
        assert!(!ds.has_shapes());
        assert!(load_cell(&ds.cells[1]).unwrap().shape.is_none());
    }

    #[test]
    fn unpaired_files_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        write_cell(dir.path(), "A_cell_clusters1", true);
        write_cell(dir.path(), "A_cell_clusters2", true);
        std::fs::remove_file(dir.path().join("mask/A_cell_clusters2.tif")).unwrap();
        std::fs::write(dir.path().join("image/readme.txt"), "hi").unwrap();
        let ds = Dataset::scan(dir.path()).unwrap();
        assert_eq!(ds.cells.len(), 1);
        let text: Vec<String> = ds.problems.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.contains("no partner file named 'A_cell_clusters2' in mask/"))
        );
        assert!(
            text.iter()
                .any(|t| t.contains("readme.txt: not a TIFF file name"))
        );
    }

    #[test]
    fn not_a_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let err = Dataset::scan(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("not a dataset: no image/ and mask/ folders"),
            "{err}"
        );
        std::fs::create_dir_all(dir.path().join("image")).unwrap();
        std::fs::create_dir_all(dir.path().join("mask")).unwrap();
        let err = Dataset::scan(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no cells found"), "{err}");
        let err = Dataset::scan(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("nope: not found"), "{err}");
    }

    #[test]
    fn labels_csv_overrides_and_rejects_unknown_classes() {
        let dir = tempfile::tempdir().unwrap();
        write_cell(dir.path(), "cell1", true);
        write_cell(dir.path(), "cell2", true);
        let csv = dir.path().join(LABELS_FILE);
        std::fs::write(
            &csv,
            "name,class,sde_score\ncell1.tif,sde,-0.33\ncell2,Acanthocytes,\nghost,cluster,\n",
        )
        .unwrap();
        let ds = Dataset::scan(dir.path()).unwrap();
        assert_eq!(
            ds.cells[0].label,
            Label::Class {
                class: CellClass::Sde,
                sde_score: Some(-0.33)
            }
        );
        assert_eq!(ds.cells[1].label.class(), Some(CellClass::Acanthocyte));
        assert_eq!(ds.problems.len(), 1);
        assert!(
            ds.problems[0]
                .to_string()
                .contains("line 4: no cell named 'ghost'")
        );

        std::fs::write(&csv, "name,class\ncell1,blob\n").unwrap();
        let err = Dataset::scan(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("labels.csv: line 2: unknown class 'blob'"),
            "{err}"
        );
        std::fs::write(&csv, "file,kind\ncell1,sde\n").unwrap();
        let err = Dataset::scan(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("must name the columns 'name' and 'class'"),
            "{err}"
        );
    }

    #[test]
    fn inspect_reports_wrong_shapes_and_empty_masks() {
        let dir = tempfile::tempdir().unwrap();
        write_cell(dir.path(), "cell", true);
        // A 3D mask, a 2D obj, an empty image-sized mask elsewhere.
        write_volume(
            &dir.path().join("mask/cell.tif"),
            &Volume::filled([3, 8, 8], 255u8),
        )
        .unwrap();
        write_image(
            &dir.path().join("obj/cell.tif"),
            &Image::filled([8, 8], 255u8),
        )
        .unwrap();
        let ds = Dataset::scan(dir.path()).unwrap();
        let report = inspect_cell(&ds.cells[0]);
        let text: Vec<String> = report.problems.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains(
                "mask/cell.tif: expected a single 2D image, found a 3D stack of 3 pages"
            )),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("obj/cell.tif: expected a 3D stack, found a single 2D page")),
            "{text:?}"
        );
        assert!(load_cell(&ds.cells[0]).is_err());

        write_image(
            &dir.path().join("mask/cell.tif"),
            &Image::filled([8, 8], 0u8),
        )
        .unwrap();
        write_volume(
            &dir.path().join("obj/cell.tif"),
            &Volume::filled([8, 4, 8], 255u8),
        )
        .unwrap();
        let report = inspect_cell(&ds.cells[0]);
        let text: Vec<String> = report.problems.iter().map(|e| e.to_string()).collect();
        assert!(text.iter().any(|t| t.contains("mask is empty")), "{text:?}");
        assert!(
            text.iter()
                .any(|t| t.contains("shape is 8×4×8 but its image is 8×8")),
            "{text:?}"
        );
    }
}
