//! Triangle meshes of binary shapes: marching cubes ([`marching_cubes`]), the mesh
//! measurements METRICS.md needs (area, enclosed volume, integral mean curvature,
//! closedness) and file writers ([`io`]).

mod marching_cubes;
mod mc_table;

pub mod io;

use std::collections::HashMap;

pub use marching_cubes::marching_cubes;

/// The three measures of a closed surface that need the whole mesh.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SurfaceMeasures {
    /// Total area.
    pub area: f64,
    /// Enclosed volume.
    pub volume: f64,
    /// Integral mean curvature.
    pub integral_mean_curvature: f64,
}

/// A triangle mesh. Vertices are (x, y, z) in voxel units of the volume it came from
/// (voxel centres at integer coordinates); faces are wound so that normals point out of
/// the shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions (x, y, z).
    pub vertices: Vec<[f64; 3]>,
    /// Triangles as indices into `vertices`, counter-clockwise seen from outside.
    pub faces: Vec<[u32; 3]>,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

impl Mesh {
    /// The mesh with every vertex's (x, y, z) multiplied by `scale` (a voxel's edges in
    /// µm, all positive): the same surface in physical units.
    pub fn scaled(mut self, scale: [f64; 3]) -> Mesh {
        for v in &mut self.vertices {
            for (c, s) in v.iter_mut().zip(scale) {
                *c *= s;
            }
        }
        self
    }

    /// The three corner positions of face `f`.
    pub fn triangle(&self, f: usize) -> [[f64; 3]; 3] {
        let [a, b, c] = self.faces[f];
        [
            self.vertices[a as usize],
            self.vertices[b as usize],
            self.vertices[c as usize],
        ]
    }

    /// Area, enclosed volume and integral mean curvature in one pass over the faces
    /// (each triangle is read once; the same sums as [`Mesh::area`], [`Mesh::volume`] and
    /// [`Mesh::integral_mean_curvature`]).
    pub fn surface_measures(&self) -> SurfaceMeasures {
        let (mut area, mut volume) = (0.0, 0.0);
        let mut unit = Vec::with_capacity(self.faces.len());
        for f in 0..self.faces.len() {
            let [a, b, c] = self.triangle(f);
            let n = cross(sub(b, a), sub(c, a));
            let len = norm(n);
            area += 0.5 * len;
            volume += dot(a, cross(b, c)) / 6.0;
            unit.push(if len > 0.0 {
                n.map(|x| x / len)
            } else {
                [0.0; 3]
            });
        }
        SurfaceMeasures {
            area,
            volume,
            integral_mean_curvature: self.curvature_sum(&unit),
        }
    }

    /// Unnormalised normal of face `f` (length = twice its area).
    fn face_cross(&self, f: usize) -> [f64; 3] {
        let [a, b, c] = self.triangle(f);
        cross(sub(b, a), sub(c, a))
    }

    /// Total surface area (scikit-image `mesh_surface_area`).
    pub fn area(&self) -> f64 {
        (0..self.faces.len())
            .map(|f| 0.5 * norm(self.face_cross(f)))
            .sum()
    }

    /// Enclosed volume by the divergence theorem (trimesh `volume`); positive for a
    /// closed, outward-wound mesh.
    pub fn volume(&self) -> f64 {
        (0..self.faces.len())
            .map(|f| {
                let [a, b, c] = self.triangle(f);
                dot(a, cross(b, c)) / 6.0
            })
            .sum()
    }

    /// Every edge used by exactly two faces, as `(a, b, first face, second face)` with
    /// a < b and the faces in ascending order (trimesh's `face_adjacency`). Edges are
    /// bucketed by their lower vertex, so each lookup touches a handful of entries.
    pub fn face_adjacency(&self) -> Vec<(u32, u32, u32, u32)> {
        let mut start = vec![0u32; self.vertices.len() + 1];
        fn edges(face: &[u32; 3]) -> [(u32, u32); 3] {
            std::array::from_fn(|k| {
                let (a, b) = (face[k], face[(k + 1) % 3]);
                (a.min(b), a.max(b))
            })
        }
        for face in &self.faces {
            for (a, _) in edges(face) {
                start[a as usize + 1] += 1;
            }
        }
        for v in 0..self.vertices.len() {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut buckets = vec![(0u32, 0u32); self.faces.len() * 3];
        for (f, face) in self.faces.iter().enumerate() {
            for (a, b) in edges(face) {
                buckets[fill[a as usize] as usize] = (b, f as u32);
                fill[a as usize] += 1;
            }
        }
        let mut pairs = Vec::with_capacity(self.faces.len() * 3 / 2);
        for a in 0..self.vertices.len() {
            let bucket = &mut buckets[start[a] as usize..start[a + 1] as usize];
            bucket.sort_unstable();
            let mut i = 0;
            while i < bucket.len() {
                let mut j = i + 1;
                while j < bucket.len() && bucket[j].0 == bucket[i].0 {
                    j += 1;
                }
                if j - i == 2 {
                    pairs.push((a as u32, bucket[i].0, bucket[i].1, bucket[i + 1].1));
                }
                i = j;
            }
        }
        pairs
    }

    /// True when the mesh is watertight and consistently wound: every edge is used by
    /// exactly two faces, once in each direction (trimesh `is_watertight` and
    /// `is_winding_consistent`).
    pub fn is_closed(&self) -> bool {
        let mut directed: HashMap<(u32, u32), i32> = HashMap::with_capacity(self.faces.len() * 3);
        for face in &self.faces {
            for k in 0..3 {
                let (a, b) = (face[k], face[(k + 1) % 3]);
                *directed.entry((a, b)).or_default() += 1;
            }
        }
        !self.faces.is_empty()
            && directed
                .iter()
                .all(|(&(a, b), &n)| n == 1 && directed.get(&(b, a)) == Some(&1))
    }

    /// Integral mean curvature: ½ Σ over edges shared by exactly two faces of the
    /// dihedral angle between their normals × the edge length, positive where the pair
    /// is convex (trimesh `integral_mean_curvature`: the unshared vertex of the second
    /// face lies on or below the first face's plane, tolerance 1e-8). A sphere of radius
    /// r gives ≈ 4πr.
    pub fn integral_mean_curvature(&self) -> f64 {
        self.surface_measures().integral_mean_curvature
    }

    /// ½ Σ signed dihedral angle × edge length, given the faces' unit normals.
    fn curvature_sum(&self, unit: &[[f64; 3]]) -> f64 {
        let mut total = 0.0;
        for (a, b, fa, fb) in self.face_adjacency() {
            let angle = self.signed_angle(unit, a, b, fa, fb);
            if angle != 0.0 {
                total += angle * norm(sub(self.vertices[b as usize], self.vertices[a as usize]));
            }
        }
        0.5 * total
    }

    /// Signed dihedral angle (positive where convex) of every edge shared by exactly two
    /// faces, as `(a, b, θ)` (trimesh's `face_adjacency_angles` with its convexity sign).
    pub fn signed_dihedrals(&self) -> Vec<(u32, u32, f64)> {
        let unit: Vec<[f64; 3]> = (0..self.faces.len())
            .map(|f| {
                let n = self.face_cross(f);
                let len = norm(n);
                if len > 0.0 {
                    n.map(|c| c / len)
                } else {
                    [0.0; 3]
                }
            })
            .collect();
        self.face_adjacency()
            .into_iter()
            .map(|(a, b, fa, fb)| (a, b, self.signed_angle(&unit, a, b, fa, fb)))
            .collect()
    }

    /// The angle between the unit normals of faces `fa` < `fb` sharing edge (a, b),
    /// positive when the unshared vertex of `fb` lies on or below `fa`'s plane (convex).
    fn signed_angle(&self, unit: &[[f64; 3]], a: u32, b: u32, fa: u32, fb: u32) -> f64 {
        let (fa, fb) = (fa as usize, fb as usize);
        let cos = dot(unit[fa], unit[fb]);
        if cos >= 1.0 {
            return 0.0; // coplanar faces (common on voxel surfaces)
        }
        let angle = cos.max(-1.0).acos();
        let unshared = self.faces[fb]
            .into_iter()
            .find(|&v| v != a && v != b)
            .expect("a triangle has a vertex off each of its edges");
        let origin = self.vertices[a as usize];
        let projection = dot(sub(self.vertices[unshared as usize], origin), unit[fa]);
        if projection < 1e-8 { angle } else { -angle }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit cube as 12 outward-wound triangles.
    pub(crate) fn unit_cube() -> Mesh {
        let vertices = (0..8)
            .map(|c| [(c & 1) as f64, (c >> 1 & 1) as f64, (c >> 2 & 1) as f64])
            .collect();
        let quads = [
            [0, 2, 3, 1],
            [4, 5, 7, 6],
            [0, 1, 5, 4],
            [2, 6, 7, 3],
            [0, 4, 6, 2],
            [1, 3, 7, 5],
        ];
        let faces = quads
            .iter()
            .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
            .collect();
        Mesh { vertices, faces }
    }

    #[test]
    fn cube_measurements() {
        let cube = unit_cube();
        assert!((cube.area() - 6.0).abs() < 1e-12);
        assert!((cube.volume() - 1.0).abs() < 1e-12);
        assert!(cube.is_closed());
        // 12 edges of length 1 at a right angle: ½ · 12 · π/2 = 3π.
        assert!((cube.integral_mean_curvature() - 3.0 * std::f64::consts::PI).abs() < 1e-9);
        let mut open = cube.clone();
        open.faces.pop();
        assert!(!open.is_closed());
        let mut flipped = cube;
        flipped.faces[0].swap(1, 2);
        assert!(!flipped.is_closed());
    }
}
