//! Persistent homology of a 3D scalar field (for SHAPR's topological loss): the sublevel
//! filtration of the cubical complex whose top cells are the voxels, each lower cell
//! taking the smallest value of the voxels around it (gudhi's `CubicalComplex` with
//! `top_dimensional_cells`, the "T-construction").
//!
//! - dimension 0 (components) by union-find over voxels in increasing value; voxels
//!   sharing a face, an edge or a corner are connected (26-neighbourhood), because the
//!   shared lower cell enters with the first of them;
//! - dimension 2 (voids) by Alexander duality: a void of {f ≤ a} is a bounded component
//!   of {f > a}, whose voxels connect only through faces (6-neighbourhood); union-find in
//!   decreasing value with the outside of the box as the oldest component gives each
//!   void's birth (when it closes) and death (its largest value);
//! - dimension 1 (tunnels) by reducing the boundary matrix of the squares over the
//!   edges (Z/2, standard column algorithm), the only dimension without a shortcut.
//!
//! Pairs of zero persistence are dropped, as gudhi does; the one essential class is the
//! component born at the minimum (death = +∞).
//!
//! Every birth and death value is the value of one voxel (each cell takes a voxel's
//! value), and [`Diagram::voxels`] names it: the critical voxels through which a loss on
//! the diagram sends its gradient back to the field (the topological loss).

use crate::grid::Volume;

/// A persistence diagram: (birth, death) pairs per homology dimension 0, 1, 2.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagram {
    /// Pairs of dimension 0, 1 and 2; death is `f32::INFINITY` for essential classes.
    pub pairs: [Vec<(f32, f32)>; 3],
    /// For each pair, the flat indices of the voxels whose values are its birth and its
    /// death (`None` for an infinite death).
    pub voxels: [Vec<(usize, Option<usize>)>; 3],
}

/// One pair with its critical voxels, as the builders below produce them.
type Pair = ((f32, f32), (usize, Option<usize>));

/// A builder of one dimension's pairs.
type Builder = fn(&Volume<f32>) -> Vec<Pair>;

impl Diagram {
    /// Pairs of dimension `dim`, sorted by (birth, death).
    pub fn sorted(&self, dim: usize) -> Vec<(f32, f32)> {
        let mut v = self.pairs[dim].clone();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        v
    }
}

/// Union-find with path halving; each root remembers its component's birth value, the
/// order key of that birth (for the elder rule) and the voxel it was born at.
struct Components {
    parent: Vec<usize>,
    birth: Vec<(f32, usize, usize)>,
}

impl Components {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            birth: vec![(0.0, 0, 0); n],
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
}

/// Voxel indices ordered by (value, index), ascending or descending.
fn order(values: &[f32], descending: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| {
        let c = values[a].total_cmp(&values[b]).then(a.cmp(&b));
        if descending { c.reverse() } else { c }
    });
    idx
}

/// Neighbours of voxel (z, y, x) within the grid: the 26-neighbourhood, or only the 6
/// face neighbours.
fn neighbours(shape: [usize; 3], at: [usize; 3], faces_only: bool, out: &mut Vec<usize>) {
    out.clear();
    let [nz, ny, nx] = shape;
    for dz in -1i64..=1 {
        for dy in -1i64..=1 {
            for dx in -1i64..=1 {
                let nonzero = (dz != 0) as u8 + (dy != 0) as u8 + (dx != 0) as u8;
                if nonzero == 0 || (faces_only && nonzero != 1) {
                    continue;
                }
                let (z, y, x) = (at[0] as i64 + dz, at[1] as i64 + dy, at[2] as i64 + dx);
                if z < 0 || y < 0 || x < 0 || z >= nz as i64 || y >= ny as i64 || x >= nx as i64 {
                    continue;
                }
                out.push((z as usize * ny + y as usize) * nx + x as usize);
            }
        }
    }
}

fn coords(shape: [usize; 3], i: usize) -> [usize; 3] {
    let [_, ny, nx] = shape;
    [i / (ny * nx), (i / nx) % ny, i % nx]
}

/// Dimension 0 of the sublevel filtration (26-connected voxels).
fn components(field: &Volume<f32>) -> Vec<Pair> {
    let shape = field.shape();
    let values = field.data();
    let mut uf = Components::new(values.len());
    let mut added = vec![false; values.len()];
    let mut pairs = Vec::new();
    let mut nb = Vec::with_capacity(26);
    for (rank, &v) in order(values, false).iter().enumerate() {
        let value = values[v];
        added[v] = true;
        uf.birth[v] = (value, rank, v);
        neighbours(shape, coords(shape, v), false, &mut nb);
        for &n in &nb {
            if !added[n] {
                continue;
            }
            let (a, b) = (uf.find(v), uf.find(n));
            if a == b {
                continue;
            }
            // Elder rule: the younger component dies now.
            let (old, young) = if uf.birth[a].1 < uf.birth[b].1 {
                (a, b)
            } else {
                (b, a)
            };
            if uf.birth[young].0 < value {
                pairs.push(((uf.birth[young].0, value), (uf.birth[young].2, Some(v))));
            }
            uf.parent[young] = old;
        }
    }
    if let Some((&min, at)) = values.iter().zip(0..).min_by(|a, b| a.0.total_cmp(b.0)) {
        pairs.push(((min, f32::INFINITY), (at, None)));
    }
    pairs
}

/// Dimension 2 of the sublevel filtration, by duality (6-connected complement).
fn voids(field: &Volume<f32>) -> Vec<Pair> {
    let shape = field.shape();
    let values = field.data();
    let outside = values.len();
    let mut uf = Components::new(values.len() + 1);
    uf.birth[outside] = (f32::INFINITY, 0, outside);
    let mut added = vec![false; values.len()];
    let mut pairs = Vec::new();
    let mut nb = Vec::with_capacity(6);
    let [nz, ny, nx] = shape;
    for (rank, &v) in order(values, true).iter().enumerate() {
        let value = values[v];
        added[v] = true;
        uf.birth[v] = (value, rank + 1, v);
        let at = coords(shape, v);
        neighbours(shape, at, true, &mut nb);
        let on_border = at[0] == 0
            || at[1] == 0
            || at[2] == 0
            || at[0] + 1 == nz
            || at[1] + 1 == ny
            || at[2] + 1 == nx;
        if on_border {
            nb.push(outside);
        }
        for &n in &nb {
            if n != outside && !added[n] {
                continue;
            }
            let (a, b) = (uf.find(v), uf.find(n));
            if a == b {
                continue;
            }
            let (old, young) = if uf.birth[a].1 < uf.birth[b].1 {
                (a, b)
            } else {
                (b, a)
            };
            // The young complement component (max value birth) closes off as a void at
            // `value` and is filled at its maximum.
            if value < uf.birth[young].0 {
                pairs.push(((value, uf.birth[young].0), (v, Some(uf.birth[young].2))));
            }
            uf.parent[young] = old;
        }
    }
    pairs
}

/// Dimension 1 of the sublevel filtration: reduction of the square columns over the
/// edges of the cubical complex (cells on the doubled grid: a coordinate is odd where
/// the cell has extent).
fn tunnels(field: &Volume<f32>) -> Vec<Pair> {
    let [nz, ny, nx] = field.shape();
    let dims = [2 * nz + 1, 2 * ny + 1, 2 * nx + 1];
    let index = |c: [usize; 3]| (c[0] * dims[1] + c[1]) * dims[2] + c[2];
    // A cell's value: the smallest of the voxels containing it, and that voxel.
    let value = |c: [usize; 3]| -> (f32, usize) {
        let mut best = (f32::INFINITY, 0);
        let ranges: Vec<Vec<usize>> = (0..3)
            .map(|a| {
                let n = [nz, ny, nx][a];
                if c[a] % 2 == 1 {
                    vec![c[a] / 2]
                } else {
                    let mut r = Vec::new();
                    if c[a] >= 2 {
                        r.push(c[a] / 2 - 1);
                    }
                    if c[a] / 2 < n {
                        r.push(c[a] / 2);
                    }
                    r
                }
            })
            .collect();
        for &z in &ranges[0] {
            for &y in &ranges[1] {
                for &x in &ranges[2] {
                    let v = field.at([z, y, x]);
                    if v < best.0 {
                        best = (v, (z * ny + y) * nx + x);
                    }
                }
            }
        }
        best
    };
    let cells_of_dim = |d: usize| {
        let mut cells = Vec::new();
        for z in 0..dims[0] {
            for y in 0..dims[1] {
                for x in 0..dims[2] {
                    let c = [z, y, x];
                    if c.iter().filter(|&&v| v % 2 == 1).count() == d {
                        let (v, voxel) = value(c);
                        cells.push((v, index(c), c, voxel));
                    }
                }
            }
        }
        cells.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        cells
    };
    let edges = cells_of_dim(1);
    let squares = cells_of_dim(2);
    let mut edge_rank = vec![usize::MAX; dims.iter().product()];
    for (r, e) in edges.iter().enumerate() {
        edge_rank[e.1] = r;
    }
    let mut pivot_of: Vec<Option<usize>> = vec![None; edges.len()];
    let mut reduced: Vec<Vec<usize>> = Vec::with_capacity(squares.len());
    let mut pairs = Vec::new();
    for (value, _, c, voxel) in &squares {
        // Boundary: the four edges, ±1 along each odd coordinate.
        let mut col: Vec<usize> = Vec::with_capacity(4);
        for a in 0..3 {
            if c[a] % 2 == 1 {
                for side in [c[a] - 1, c[a] + 1] {
                    let mut f = *c;
                    f[a] = side;
                    col.push(edge_rank[index(f)]);
                }
            }
        }
        col.sort_unstable();
        while let Some(&low) = col.last() {
            match pivot_of[low] {
                Some(j) => col = symmetric_difference(&col, &reduced[j]),
                None => break,
            }
        }
        if let Some(&low) = col.last() {
            pivot_of[low] = Some(reduced.len());
            let (birth, born_at) = (edges[low].0, edges[low].3);
            if birth < *value {
                pairs.push(((birth, *value), (born_at, Some(*voxel))));
            }
        }
        reduced.push(col);
    }
    pairs
}

/// Symmetric difference of two sorted index lists (addition over Z/2).
fn symmetric_difference(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// The persistence diagram of the sublevel filtration of `field` in the dimensions
/// asked for (others are left empty).
pub fn persistence(field: &Volume<f32>, dims: &[usize]) -> Diagram {
    let mut d = Diagram::default();
    if field.is_empty() {
        return d;
    }
    let builders: [Builder; 3] = [components, tunnels, voids];
    for (dim, build) in builders.iter().enumerate() {
        if dims.contains(&dim) {
            (d.pairs[dim], d.voxels[dim]) = build(field).into_iter().unzip();
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f = 0 on `inside` voxels, 1 elsewhere, on an n³ grid.
    fn binary(n: usize, inside: impl Fn(f32, f32, f32) -> bool) -> Volume<f32> {
        let c = (n as f32 - 1.0) / 2.0;
        Volume::from_fn([n, n, n], |[z, y, x]| {
            if inside(z as f32 - c, y as f32 - c, x as f32 - c) {
                0.0
            } else {
                1.0
            }
        })
    }

    fn all(v: &Volume<f32>) -> Diagram {
        persistence(v, &[0, 1, 2])
    }

    #[test]
    fn a_ball_has_one_component_and_nothing_else() {
        let d = all(&binary(12, |z, y, x| z * z + y * y + x * x < 16.0));
        assert_eq!(d.sorted(0), vec![(0.0, f32::INFINITY)]);
        assert!(d.pairs[1].is_empty() && d.pairs[2].is_empty(), "{d:?}");
    }

    #[test]
    fn a_hollow_sphere_encloses_one_void() {
        let d = all(&binary(14, |z, y, x| {
            let r2 = z * z + y * y + x * x;
            (9.0..30.0).contains(&r2)
        }));
        assert_eq!(d.sorted(0), vec![(0.0, f32::INFINITY)]);
        assert!(d.pairs[1].is_empty(), "{d:?}");
        assert_eq!(d.sorted(2), vec![(0.0, 1.0)]);
    }

    #[test]
    fn a_solid_torus_has_one_tunnel() {
        let d = all(&binary(16, |z, y, x| {
            let ring = (y * y + x * x).sqrt() - 4.5;
            ring * ring + z * z < 2.3
        }));
        assert_eq!(d.sorted(0), vec![(0.0, f32::INFINITY)]);
        assert_eq!(d.sorted(1), vec![(0.0, 1.0)], "{d:?}");
        assert!(d.pairs[2].is_empty());
    }

    #[test]
    fn two_balls_are_two_components() {
        let d = all(&binary(14, |z, y, x| {
            z * z + y * y + (x - 3.5) * (x - 3.5) < 6.0
                || z * z + y * y + (x + 3.5) * (x + 3.5) < 6.0
        }));
        assert_eq!(d.sorted(0), vec![(0.0, 1.0), (0.0, f32::INFINITY)]);
        assert!(d.pairs[1].is_empty() && d.pairs[2].is_empty());
    }

    #[test]
    fn diagonal_voxels_touch_but_diagonal_holes_do_not() {
        // Two voxels meeting at a corner are one component (26-connectivity) …
        let mut v = Volume::filled([3, 3, 3], 1.0f32);
        v.set([0, 0, 0], 0.0);
        v.set([1, 1, 1], 0.0);
        assert_eq!(all(&v).sorted(0), vec![(0.0, f32::INFINITY)]);
        // … while an empty voxel closed in by filled face neighbours is a void.
        let mut w = Volume::filled([3, 3, 3], 0.0f32);
        w.set([1, 1, 1], 1.0);
        assert_eq!(all(&w).sorted(2), vec![(0.0, 1.0)]);
    }
}
