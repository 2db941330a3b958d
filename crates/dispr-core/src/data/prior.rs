//! The model's prior: a first guess of a cell's 3D shape that the network refines instead
//! of inventing the shape from the 2D mask alone (issue #23), as one more conditioning
//! channel in [0, 1] on the working grid. It comes from one of two [`PriorSource`]s:
//!
//! - **the nearest cells** ([`PriorBank`]): the share of the `k` reference cells nearest by
//!   mask ([`crate::baseline::nearest`]'s rule: mask IoU, ties by name, never the cell
//!   itself) that contain each voxel — the soft form of the nearest-k baseline's majority
//!   shape. A model trained with it carries its bank (the masks and working-grid shapes
//!   of its training cells) in its model file, so prediction needs nothing else. The bank
//!   stores each shape's occupancy quantized to a byte, and training computes the prior
//!   from the very same bytes, so a prior is the same in training and prediction.
//! - **given shapes** ([`GivenPriors`]): a folder of one 3D shape per cell, `NAME.tif`
//!   (e.g. SHAPR's predictions), given at training and again at prediction. For training
//!   they must come from a model that never saw the cell (cross-fitted), or the network
//!   learns to trust a guess better than the one it meets at prediction.

use std::path::{Path, PathBuf};

use crate::baseline::nearest::nearest_masks;
use crate::data::dataset::Cell;
use crate::error::{Error, Result};
use crate::grid::{Image, Volume, format_shape};
use crate::io::tiff::read_shape;

/// Where a model's prior channel comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PriorSource {
    /// The nearest-k shapes of the model's training cells, carried in its file.
    Nearest(PriorBank),
    /// One given shape per cell, read from a folder.
    Given(GivenPriors),
}

impl PriorSource {
    /// The prior of the cell `name` with this 2D `mask` on the working `grid` (z, y, x).
    pub fn prior(&self, name: &str, mask: &Image<bool>, grid: [usize; 3]) -> Result<Volume<f32>> {
        match self {
            Self::Nearest(bank) => {
                if bank.grid() != grid {
                    return Err(Error::invalid(format!(
                        "the prior is on a {} grid, the model works on {}",
                        format_shape(&bank.grid()),
                        format_shape(&grid)
                    )));
                }
                bank.prior(name, mask)
            }
            Self::Given(given) => given.prior(name, mask.shape(), grid),
        }
    }
}

/// A folder of given first guesses, one 3D shape per cell (`DIR/NAME.tif`, binarized at
/// half its maximum like every shape dispr reads, of any size: it is resampled to the
/// working grid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenPriors {
    dir: PathBuf,
}

impl GivenPriors {
    /// The shapes in `dir` (a folder of `NAME.tif`, such as SHAPR's `dispr predict`
    /// output, or a dataset whose `obj/` holds them); errors when it is not a folder.
    /// The folder is kept as an absolute path, so that a run resumed elsewhere finds it.
    pub fn new(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::new(dir, "the prior shapes' folder does not exist"));
        }
        let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, "cannot resolve", e))?;
        let obj = dir.join("obj");
        let dir = if obj.is_dir() { obj } else { dir };
        Ok(Self { dir })
    }

    /// The folder the shapes are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the cell `name`'s shape.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.tif"))
    }

    /// The given shape of the cell `name`, whose crop is `crop` (y, x) pixels, as
    /// occupancy in [0, 1] on `grid` (z, y, x). A shape that does not cover the crop
    /// pixel for pixel in x-y (e.g. one of a whole field, for a cell cut out of it) is
    /// refused, never stretched onto it.
    pub fn prior(&self, name: &str, crop: [usize; 2], grid: [usize; 3]) -> Result<Volume<f32>> {
        let file = self.file(name);
        if !file.is_file() {
            return Err(Error::new(
                &file,
                "no such file: a model conditioned on given prior shapes needs one for every cell",
            ));
        }
        let shape = read_shape(&file)?;
        let [_, h, w] = shape.shape();
        if [h, w] != crop {
            return Err(Error::new(
                &file,
                format!(
                    "the shape is {h}×{w} in x-y but the cell's crop is {}×{}; a given prior shape must cover the crop pixel for pixel",
                    crop[0], crop[1]
                ),
            ));
        }
        Ok(shape.occupancy(grid))
    }
}

/// First line of a bank's bytes ([`PriorBank::to_bytes`]).
const MAGIC: &[u8] = b"DISPR-PRIOR\n";
/// Format of the bytes written.
const FORMAT: u32 = 1;

/// The reference cells a prior is drawn from: their names, 2D masks (on the data grid)
/// and 3D occupancies (on the working grid, quantized to bytes, 255 = inside).
#[derive(Clone, Debug, PartialEq)]
pub struct PriorBank {
    k: usize,
    grid: [usize; 3],
    names: Vec<String>,
    masks: Vec<Image<bool>>,
    occupancy: Vec<Vec<u8>>,
}

/// The line of JSON after [`MAGIC`].
#[derive(serde::Serialize, serde::Deserialize)]
struct BankHeader {
    format: u32,
    k: usize,
    grid: [usize; 3],
    mask_shape: [usize; 2],
    names: Vec<String>,
}

impl PriorBank {
    /// A bank of `cells` (each with its 3D shape, all masks of one size) averaging `k`
    /// neighbours, with shapes resampled to the working `grid` (z, y, x).
    pub fn new(k: usize, grid: [usize; 3], cells: &[&Cell]) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid("the prior needs at least 1 neighbour"));
        }
        if cells.len() < k + 1 {
            return Err(Error::invalid(format!(
                "a prior of {k} neighbours needs at least {} reference cells, {} given",
                k + 1,
                cells.len()
            )));
        }
        let mask_shape = cells[0].mask.shape();
        let mut bank = Self {
            k,
            grid,
            names: Vec::with_capacity(cells.len()),
            masks: Vec::with_capacity(cells.len()),
            occupancy: Vec::with_capacity(cells.len()),
        };
        for cell in cells {
            let shape = cell.shape.as_ref().ok_or_else(|| {
                Error::invalid(format!("reference cell '{}' has no 3D shape", cell.name))
            })?;
            if cell.mask.shape() != mask_shape {
                return Err(Error::invalid(format!(
                    "reference cell '{}' has a {} mask, not {} like the others",
                    cell.name,
                    format_shape(&cell.mask.shape()),
                    format_shape(&mask_shape)
                )));
            }
            let occupancy = shape.occupancy(grid);
            bank.names.push(cell.name.clone());
            bank.masks.push(cell.mask.clone());
            bank.occupancy.push(
                occupancy
                    .data()
                    .iter()
                    .map(|&o| (o.clamp(0.0, 1.0) * 255.0).round() as u8)
                    .collect(),
            );
        }
        Ok(bank)
    }

    /// Neighbours averaged.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The working grid (z, y, x) of the priors.
    pub fn grid(&self) -> [usize; 3] {
        self.grid
    }

    /// Number of reference cells.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the bank holds no cell (never true of a built bank).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The prior of the cell `name` with this 2D `mask` (resampled to the bank's mask
    /// size when it differs): per voxel of the working grid, the mean occupancy of its
    /// `k` nearest references, the cell itself never among them.
    pub fn prior(&self, name: &str, mask: &Image<bool>) -> Result<Volume<f32>> {
        let mask_shape = self.masks[0].shape();
        let resized;
        let mask = if mask.shape() == mask_shape {
            mask
        } else {
            resized = mask.resample_shape(mask_shape);
            &resized
        };
        let references: Vec<(&str, &Image<bool>)> = self
            .names
            .iter()
            .zip(&self.masks)
            .map(|(n, m)| (n.as_str(), m))
            .collect();
        let neighbours = nearest_masks(name, mask, &references, self.k)?;
        let mut sum = vec![0u32; self.grid.iter().product()];
        for n in &neighbours {
            for (s, &o) in sum.iter_mut().zip(&self.occupancy[n.index]) {
                *s += o as u32;
            }
        }
        let scale = 1.0 / (255.0 * self.k as f32);
        Ok(Volume::new(
            self.grid,
            sum.into_iter().map(|s| s as f32 * scale).collect(),
        )
        .expect("the grid's size"))
    }

    /// The bank as bytes: `DISPR-PRIOR\n`, a JSON line (format, k, grid, mask size,
    /// names), then every mask (a byte per pixel, 0 or 1) and every occupancy.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = BankHeader {
            format: FORMAT,
            k: self.k,
            grid: self.grid,
            mask_shape: self.masks[0].shape(),
            names: self.names.clone(),
        };
        let mut out = MAGIC.to_vec();
        out.extend(serde_json::to_vec(&header).expect("header serializes"));
        out.push(b'\n');
        for m in &self.masks {
            out.extend(m.data().iter().map(|&v| v as u8));
        }
        for o in &self.occupancy {
            out.extend_from_slice(o);
        }
        out
    }

    /// Reads [`Self::to_bytes`]; the error says what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let fail = |what: &str| Error::invalid(format!("damaged prior bank: {what}"));
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| fail("no header"))?;
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| fail("no header line"))?;
        let header: BankHeader =
            serde_json::from_slice(&rest[..end]).map_err(|e| fail(&e.to_string()))?;
        if header.format != FORMAT {
            return Err(fail(&format!("format {} is not {FORMAT}", header.format)));
        }
        let n = header.names.len();
        let mask_len: usize = header.mask_shape.iter().product();
        let grid_len: usize = header.grid.iter().product();
        let body = &rest[end + 1..];
        if header.k == 0 || n <= header.k || mask_len == 0 || grid_len == 0 {
            return Err(fail("empty or too small"));
        }
        if body.len() != n * (mask_len + grid_len) {
            return Err(fail(&format!(
                "{} bytes of masks and shapes, {} expected",
                body.len(),
                n * (mask_len + grid_len)
            )));
        }
        let (masks, shapes) = body.split_at(n * mask_len);
        Ok(Self {
            k: header.k,
            grid: header.grid,
            masks: masks
                .chunks(mask_len)
                .map(|c| {
                    Image::new(header.mask_shape, c.iter().map(|&v| v != 0).collect())
                        .expect("chunk of the mask's size")
                })
                .collect(),
            occupancy: shapes.chunks(grid_len).map(<[u8]>::to_vec).collect(),
            names: header.names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::class::Label;

    fn cell(name: &str, width: usize) -> Cell {
        // A bar of `width` columns in the mask; the shape is that bar in the top half.
        let mask = Image::from_fn([8, 8], |[_, x]| x < width);
        let shape = Volume::from_fn([8, 8, 8], |[z, _, x]| z < 4 && x < width);
        Cell {
            name: name.into(),
            label: Label::Unlabeled,
            image: mask.map(|m| m as u8 as f32),
            mask,
            shape: Some(shape),
            pixel_size: None,
        }
    }

    #[test]
    fn the_prior_is_the_share_of_the_nearest_shapes_without_the_cell_itself() {
        let cells: Vec<Cell> = (1..=5).map(|w| cell(&format!("c{w}"), w)).collect();
        let refs: Vec<&Cell> = cells.iter().collect();
        let bank = PriorBank::new(2, [8, 8, 8], &refs).unwrap();
        // c3's neighbours, itself excluded: c2 (IoU 2/3) and c4 (IoU 3/4).
        let p = bank.prior("c3", &cells[2].mask).unwrap();
        assert_eq!(p.at([0, 0, 1]), 1.0); // in both
        assert_eq!(p.at([0, 0, 2]), 0.5); // in c4 only
        assert_eq!(p.at([0, 0, 4]), 0.0);
        assert_eq!(p.at([6, 0, 0]), 0.0); // bottom half: in none
        // Another cell with the same mask is not the cell itself: it is its own nearest.
        let q = bank.prior("new", &cells[2].mask).unwrap();
        assert_eq!(q.at([0, 0, 2]), 1.0);
        // A mask of another size is resampled to the bank's.
        let big = Image::from_fn([16, 16], |[_, x]| x < 6);
        assert_eq!(bank.prior("big", &big).unwrap(), q);
    }

    #[test]
    fn above_one_half_the_prior_is_the_nearest_baseline_s_majority_shape() {
        // On the data grid itself (no resampling) the prior's voxels above 1/2 are the
        // nearest-k baseline's majority shape, an implementation checked against an
        // independent one (scripts/fixtures).
        use crate::baseline::nearest::{Reference, predict};
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let cells: Vec<Cell> = (0..12)
            .map(|i| {
                let (r, cy, cx) = (2 + next() % 3, 3 + next() % 3, 3 + next() % 3);
                let inside = move |y: usize, x: usize| {
                    (y as i64 - cy as i64).pow(2) + (x as i64 - cx as i64).pow(2) <= (r * r) as i64
                };
                let top = 2 + next() % 5;
                let mask = Image::from_fn([10, 10], |[y, x]| inside(y, x));
                Cell {
                    name: format!("c{i}"),
                    label: Label::Unlabeled,
                    image: mask.map(|m| m as u8 as f32),
                    mask,
                    shape: Some(Volume::from_fn([8, 10, 10], |[z, y, x]| {
                        z < top && inside(y, x)
                    })),
                    pixel_size: None,
                }
            })
            .collect();
        let refs: Vec<&Cell> = cells.iter().collect();
        for k in [1, 3, 5] {
            let bank = PriorBank::new(k, [8, 10, 10], &refs).unwrap();
            let references: Vec<Reference> = cells
                .iter()
                .map(|c| Reference {
                    name: &c.name,
                    mask: &c.mask,
                    shape: c.shape.as_ref().unwrap(),
                })
                .collect();
            for c in &cells {
                let (majority, _) = predict(&c.name, &c.mask, &references, k).unwrap();
                let prior = bank.prior(&c.name, &c.mask).unwrap();
                assert_eq!(prior.map(|p| p > 0.5), majority, "cell {} k {k}", c.name);
            }
        }
    }

    #[test]
    fn a_given_prior_is_the_cell_s_file_on_the_working_grid() {
        let dir = std::env::temp_dir().join(format!("dispr-given-prior-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shape = Volume::from_fn([8, 8, 8], |[z, _, x]| z < 4 && x < 2);
        crate::io::tiff::write_shape(&dir.join("c1.tif"), &shape).unwrap();
        let source = PriorSource::Given(GivenPriors::new(&dir).unwrap());
        let mask = Image::from_fn([8, 8], |[_, x]| x < 2);
        let same = source.prior("c1", &mask, [8, 8, 8]).unwrap();
        assert_eq!(same, shape.map(|v| if v { 1.0 } else { 0.0 }));
        // On a coarser grid: the mean occupancy of each 2×2×2 block.
        let half = source.prior("c1", &mask, [4, 4, 4]).unwrap();
        assert_eq!(half.at([0, 0, 0]), 1.0);
        assert_eq!(half.at([3, 0, 0]), 0.0);
        // A shape of another crop is refused, not stretched.
        let other = Image::from_fn([6, 6], |[_, x]| x < 2);
        let err = source
            .prior("c1", &other, [8, 8, 8])
            .unwrap_err()
            .to_string();
        assert!(err.contains("8×8 in x-y") && err.contains("6×6"), "{err}");
        let err = source
            .prior("c2", &mask, [8, 8, 8])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c2.tif") && err.contains("no such file"),
            "{err}"
        );
        assert!(GivenPriors::new(&dir.join("absent")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bytes_round_trip_and_damage_is_named() {
        let cells: Vec<Cell> = (1..=4).map(|w| cell(&format!("c{w}"), w)).collect();
        let refs: Vec<&Cell> = cells.iter().collect();
        let bank = PriorBank::new(3, [4, 4, 4], &refs).unwrap();
        let bytes = bank.to_bytes();
        assert_eq!(PriorBank::from_bytes(&bytes).unwrap(), bank);
        let err = PriorBank::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.to_string().contains("damaged prior bank"), "{err}");
        assert!(PriorBank::from_bytes(b"junk").is_err());
        // Too few references for k.
        assert!(PriorBank::new(4, [4, 4, 4], &refs).is_err());
    }
}
