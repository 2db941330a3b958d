//! The topological loss of SHAPR (Waibel et al., MICCAI 2022) without an ML framework:
//! the persistence diagrams of a predicted and a true field are matched (q = 2
//! Wasserstein), and each predicted pair is pulled towards its partner — a true pair or
//! the diagonal. Because every birth and death is the value of one critical voxel, the
//! loss is Σ (f[voxel] − target)² over those voxels: the neural crate gathers them from
//! the prediction tensor, so the gradient flows to exactly the voxels that create and
//! destroy the features.
//!
//! Its parts: persistence diagrams of cubical complexes ([`persistence`]) and their
//! q-Wasserstein matching ([`wasserstein`]).

pub mod persistence;
pub mod wasserstein;

use crate::grid::Volume;
use crate::topology::persistence::persistence;
use crate::topology::wasserstein::{Partner, diagonal_cost, matching};

/// The most persistent predicted pairs matched per dimension; shorter ones go to the
/// diagonal directly. Bounds the O(n³) matching on noisy early predictions; pairs
/// beyond the cap are the nearest to the diagonal, where that is their best partner
/// anyway in all but contrived cases.
pub const MAX_PAIRS: usize = 128;

/// One voxel of the prediction and the value the loss pulls it to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pull {
    /// Flat voxel index.
    pub voxel: usize,
    /// Target value.
    pub target: f32,
}

/// The pulls of one prediction and the loss value they add up to.
#[derive(Clone, Debug, Default)]
pub struct TopoTargets {
    /// Critical voxels and their targets.
    pub pulls: Vec<Pull>,
    /// Σ over dimensions of W₂² between the diagrams (infinite deaths capped at `cap`).
    pub w2_squared: f64,
}

/// Matches the diagrams of the sublevel filtrations of `pred` and `truth` (same shape)
/// in dimensions `dims`; infinite deaths are capped at `cap` (the filtration's maximum)
/// and get no pull.
pub fn targets(pred: &Volume<f32>, truth: &Volume<f32>, dims: &[usize], cap: f32) -> TopoTargets {
    let p = persistence(pred, dims);
    let t = persistence(truth, dims);
    let mut out = TopoTargets::default();
    for &dim in dims.iter().filter(|&&d| d < 3) {
        let capped = |pairs: &[(f32, f32)]| -> Vec<(f32, f32)> {
            pairs.iter().map(|&(b, d)| (b, d.min(cap))).collect()
        };
        let mut order: Vec<usize> = (0..p.pairs[dim].len()).collect();
        let pred_pairs = capped(&p.pairs[dim]);
        order.sort_by(|&a, &b| {
            let pa = pred_pairs[a].1 - pred_pairs[a].0;
            let pb = pred_pairs[b].1 - pred_pairs[b].0;
            pb.total_cmp(&pa)
        });
        let (kept, rest) = order.split_at(order.len().min(MAX_PAIRS));
        let kept_pairs: Vec<(f32, f32)> = kept.iter().map(|&i| pred_pairs[i]).collect();
        let m = matching(&kept_pairs, &capped(&t.pairs[dim]));
        out.w2_squared += m.cost;
        let truth_pairs = capped(&t.pairs[dim]);
        let partners = m
            .partners
            .iter()
            .zip(kept)
            .map(|(partner, &i)| (i, *partner))
            .chain(rest.iter().map(|&i| (i, Partner::Diagonal)));
        for (i, partner) in partners {
            let (b, d) = pred_pairs[i];
            let (tb, td) = match partner {
                Partner::Point(j) => truth_pairs[j],
                Partner::Diagonal => ((b + d) / 2.0, (b + d) / 2.0),
            };
            if matches!(partner, Partner::Diagonal) && rest.contains(&i) {
                out.w2_squared += diagonal_cost((b, d));
            }
            let (bv, dv) = p.voxels[dim][i];
            out.pulls.push(Pull {
                voxel: bv,
                target: tb,
            });
            if let Some(dv) = dv {
                out.pulls.push(Pull {
                    voxel: dv,
                    target: td,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spurious_component_is_pulled_away_and_the_loss_adds_up() {
        // Truth: one blob (f = 0 inside). Prediction: the blob plus a faint second blob.
        let mut truth = Volume::filled([6, 6, 6], 1.0f32);
        let mut pred = Volume::filled([6, 6, 6], 0.9f32);
        for z in 1..3 {
            truth.set([z, 1, 1], 0.0);
            pred.set([z, 1, 1], 0.1);
        }
        pred.set([4, 4, 4], 0.6);
        let t = targets(&pred, &truth, &[0], 1.0);
        // The spurious pair (0.6, 0.9) goes to the diagonal: its birth voxel is pulled up
        // to 0.75 and its death voxel down to 0.75.
        let spur = 4 * 36 + 4 * 6 + 4;
        let pull = t.pulls.iter().find(|p| p.voxel == spur).unwrap();
        assert!((pull.target - 0.75).abs() < 1e-6);
        let loss: f64 = t
            .pulls
            .iter()
            .map(|p| (pred.data()[p.voxel] as f64 - p.target as f64).powi(2))
            .sum();
        assert!(
            (loss - t.w2_squared).abs() < 1e-6,
            "{loss} vs {}",
            t.w2_squared
        );
        // Identical fields: nothing to pull.
        let same = targets(&truth, &truth, &[0, 1, 2], 1.0);
        assert!(same.w2_squared.abs() < 1e-12);
    }
}
