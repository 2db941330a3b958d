//! Synthetic red blood cells for all six classes (PHANTOMS.md): labelled (3D shape, 2D
//! image, 2D mask) triples that look like the real data, for tests, demos, pretraining
//! and benchmarks.
//!
//! A cell is drawn from its seed and index alone (ChaCha8, one stream per cell, and
//! libm's portable maths), so a seed gives the same bytes on every machine and in any
//! thread order.

pub mod render;
pub mod sdf;
pub mod shapes;
pub mod stats;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::class::{CellClass, SdeShape};
use crate::grid::{Image, Volume};
use render::{Imaging, render};
use shapes::{sample_cell, sample_sde_shape};

/// Grid size of the reference data.
pub const GRID: usize = 64;

/// The full dataset's class counts (825 cells), in [`CellClass::ALL`] order.
pub const PAPER_COUNTS: [(CellClass, usize); 6] = [
    (CellClass::Cluster, 69),
    (CellClass::Keratocyte, 31),
    (CellClass::Knizocyte, 23),
    (CellClass::Multilobate, 12),
    (CellClass::Acanthocyte, 88),
    (CellClass::Sde, 602),
];

/// How many cells of each class to make for `n` cells of `classes`: the paper's
/// proportions, rounded by largest remainder so they sum to `n`, and at least one of
/// each class when `n` allows.
pub fn class_counts(n: usize, classes: &[CellClass]) -> Vec<(CellClass, usize)> {
    let chosen: Vec<(CellClass, usize)> = PAPER_COUNTS
        .iter()
        .copied()
        .filter(|(c, _)| classes.contains(c))
        .collect();
    let total: usize = chosen.iter().map(|(_, k)| k).sum();
    if total == 0 {
        return Vec::new();
    }
    let mut counts: Vec<(CellClass, usize, f64)> = chosen
        .iter()
        .map(|&(c, k)| {
            let exact = n as f64 * k as f64 / total as f64;
            (c, exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let left = n - counts.iter().map(|c| c.1).sum::<usize>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].2.total_cmp(&counts[a].2).then(a.cmp(&b)));
    for &i in order.iter().cycle().take(left) {
        counts[i].1 += 1;
    }
    // Rare classes get at least one cell, taken from the largest class.
    if n >= counts.len() {
        for i in 0..counts.len() {
            if counts[i].1 == 0 {
                let largest = (0..counts.len())
                    .max_by_key(|&j| counts[j].1)
                    .expect("not empty");
                counts[largest].1 -= 1;
                counts[i].1 += 1;
            }
        }
    }
    counts.into_iter().map(|(c, k, _)| (c, k)).collect()
}

/// The class of each of `n` cells made of `classes` ([`class_counts`]), in order: the
/// index of a cell in it is its RNG stream for [`generate`].
pub fn class_plan(n: usize, classes: &[CellClass]) -> Vec<CellClass> {
    class_counts(n, classes)
        .into_iter()
        .flat_map(|(class, count)| std::iter::repeat_n(class, count))
        .collect()
}

/// One synthetic cell.
pub struct Phantom {
    /// File stem in the reference naming (`A_cell_clusters000012`, `-0.33_stomatocyte_I000007`).
    pub name: String,
    /// Its class.
    pub class: CellClass,
    /// Its SDE shape, for SDE cells.
    pub sde: Option<SdeShape>,
    /// The imaging parameters drawn.
    pub imaging: Imaging,
    /// Fluorescence slice (uint8).
    pub image: Image<u8>,
    /// Central-slice mask.
    pub mask: Image<bool>,
    /// 3D ground truth.
    pub obj: Volume<bool>,
}

/// File stem of cell `index` of `class` in the reference naming.
pub fn file_stem(class: CellClass, sde: Option<SdeShape>, index: usize) -> String {
    match (class.file_prefix(), sde) {
        (Some(prefix), _) => format!("{prefix}{index:06}"),
        (None, Some(shape)) => format!("{}{index:06}", shape.file_prefix()),
        (None, None) => format!("sde{index:06}"),
    }
}

/// Makes cell number `index` of a dataset drawn with `seed`.
pub fn generate(seed: u64, index: usize, class: CellClass) -> Phantom {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    let sde = (class == CellClass::Sde).then(|| sample_sde_shape(&mut rng));
    let shape = sample_cell(&mut rng, class, sde);
    let imaging = Imaging::sample(&mut rng);
    let rendered = render(&shape, &imaging, &mut rng, GRID);
    Phantom {
        name: file_stem(class, sde, index),
        class,
        sde,
        imaging,
        image: rendered.image,
        mask: rendered.mask,
        obj: rendered.obj,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_paper() {
        let all = CellClass::ALL;
        let full = class_counts(825, &all);
        assert_eq!(full.iter().map(|c| c.1).sum::<usize>(), 825);
        assert!(
            full.contains(&(CellClass::Sde, 602)) && full.contains(&(CellClass::Multilobate, 12))
        );
        let small = class_counts(20, &all);
        assert_eq!(small.iter().map(|c| c.1).sum::<usize>(), 20);
        assert!(small.iter().all(|c| c.1 >= 1), "{small:?}");
        let two = class_counts(10, &[CellClass::Keratocyte, CellClass::Knizocyte]);
        assert_eq!(
            two,
            vec![(CellClass::Keratocyte, 6), (CellClass::Knizocyte, 4)]
        );
    }

    /// FNV-1a hash of a cell's bytes (image, mask, shape).
    fn fingerprint(p: &Phantom) -> u64 {
        let bytes = p
            .image
            .data()
            .iter()
            .copied()
            .chain(p.mask.data().iter().map(|&m| m as u8))
            .chain(p.obj.data().iter().map(|&m| m as u8));
        bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Golden values: a seed must give the same bytes on every machine, in every build
    /// profile and in every release (a change here changes everyone's synthetic data).
    #[test]
    fn golden_fingerprints() {
        let got: Vec<u64> = CellClass::ALL
            .iter()
            .enumerate()
            .map(|(i, &c)| fingerprint(&generate(1, i, c)))
            .collect();
        assert_eq!(got, GOLDEN, "{got:?}");
    }
    const GOLDEN: [u64; 6] = [
        12854570255986926692,
        13570463126413529507,
        4172685856255826853,
        13434498415125485059,
        15155158742233914808,
        13480560181558294495,
    ];

    #[test]
    fn same_seed_same_cell() {
        let a = generate(7, 3, CellClass::Knizocyte);
        let b = generate(7, 3, CellClass::Knizocyte);
        assert_eq!(a.obj, b.obj);
        assert_eq!(a.image, b.image);
        assert_eq!(a.name, "C_knizocytes000003");
        let c = generate(8, 3, CellClass::Knizocyte);
        assert_ne!(a.obj, c.obj);
    }
}
