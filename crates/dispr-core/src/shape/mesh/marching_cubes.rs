//! Marching cubes on a binary volume at level 0.5, after one voxel of zero padding, equal
//! to scikit-image's `marching_cubes(np.pad(B, 1), 0.5, method="lewiner")` (Lewiner's
//! topologically correct method): the case table in `mc_table.rs` was measured from it
//! for all 256 corner configurations, and the tests compare whole meshes.

use super::Mesh;
use super::mc_table::{CASES, CENTRE, EDGE_CORNERS};
use crate::grid::Volume;

/// Offset (dz, dy, dx) of cube corner `c`.
const fn corner(c: u8) -> [usize; 3] {
    [
        (c >> 2 & 1) as usize,
        (c >> 1 & 1) as usize,
        (c & 1) as usize,
    ]
}

/// The surface mesh of `shape`: closed and outward-wound whenever the shape is a proper
/// solid (always with the padding, unless it has voxels touching only along an edge or
/// a corner, where Lewiner's method itself leaves non-manifold edges). Vertex
/// coordinates are (x, y, z) in the volume's voxel units.
pub fn marching_cubes(shape: &Volume<bool>) -> Mesh {
    let [nz, ny, nx] = shape.shape();
    // Padded grid: index p ∈ 0..n+2 stands for voxel p − 1; outside the volume is empty.
    let (pz, py, px) = (nz + 2, ny + 2, nx + 2);
    let mut padded = vec![0u8; pz * py * px];
    for z in 0..nz {
        for y in 0..ny {
            let row = &shape.data()[(z * ny + y) * nx..(z * ny + y + 1) * nx];
            let start = ((z + 1) * py + y + 1) * px + 1;
            for (p, &v) in padded[start..start + nx].iter_mut().zip(row) {
                *p = v as u8;
            }
        }
    }
    // Offsets of the 8 corners from a cube's lower corner, in corner-bit order.
    let corner_offset: [usize; 8] = std::array::from_fn(|c| {
        let [dz, dy, dx] = corner(c as u8);
        (dz * py + dy) * px + dx
    });
    let mut mesh = Mesh::default();
    // Vertex of each grid edge, keyed by its lower corner and axis (0 = x, 1 = y, 2 = z).
    // Only two z-layers of corners are live at a time: layer (z & 1) for corners at z.
    let layer_len = py * px * 3;
    let mut layers = [vec![u32::MAX; layer_len], vec![u32::MAX; layer_len]];
    for z in 0..pz - 1 {
        // Corners at z + 1 reuse the layer of z − 1, which no cube needs any more.
        layers[(z + 1) & 1].fill(u32::MAX);
        for y in 0..py - 1 {
            for x in 0..px - 1 {
                let base = (z * py + y) * px + x;
                let config = corner_offset
                    .iter()
                    .enumerate()
                    .fold(0usize, |acc, (c, &o)| {
                        acc | (padded[base + o] as usize) << c
                    });
                let triangles = CASES[config];
                if triangles.is_empty() {
                    continue;
                }
                let mut local = [u32::MAX; 13];
                for triangle in triangles {
                    let mut face = [0u32; 3];
                    for (slot, &e) in face.iter_mut().zip(triangle) {
                        let e = e as usize;
                        if local[e] == u32::MAX {
                            local[e] = if e == CENTRE as usize {
                                push(&mut mesh, [x as f64 - 0.5, y as f64 - 0.5, z as f64 - 0.5])
                            } else {
                                let [a, b] = EDGE_CORNERS[e];
                                let [dz, dy, dx] = corner(a);
                                let axis = (a ^ b).trailing_zeros() as usize;
                                let layer = &mut layers[(z + dz) & 1];
                                let key = ((y + dy) * px + x + dx) * 3 + axis;
                                if layer[key] == u32::MAX {
                                    let mut p = [
                                        (x + dx) as f64 - 1.0,
                                        (y + dy) as f64 - 1.0,
                                        (z + dz) as f64 - 1.0,
                                    ];
                                    p[axis] += 0.5;
                                    layer[key] = push(&mut mesh, p);
                                }
                                layer[key]
                            };
                        }
                        *slot = local[e];
                    }
                    mesh.faces.push(face);
                }
            }
        }
    }
    mesh
}

fn push(mesh: &mut Mesh, p: [f64; 3]) -> u32 {
    mesh.vertices.push(p);
    (mesh.vertices.len() - 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_voxel_is_an_octahedron() {
        let v = Volume::from_fn([1, 1, 1], |_| true);
        let mesh = marching_cubes(&v);
        assert_eq!(mesh.faces.len(), 8);
        assert_eq!(mesh.vertices.len(), 6);
        assert!(mesh.is_closed());
        // Octahedron with vertices at distance 0.5: volume 4/3 · 0.5³ = 1/6.
        assert!((mesh.volume() - 1.0 / 6.0).abs() < 1e-12);
        let centre: f64 = mesh.vertices.iter().map(|p| p[0] + p[1] + p[2]).sum();
        assert!(centre.abs() < 1e-12, "vertices centred on voxel (0,0,0)");
    }

    #[test]
    fn box_mesh_is_closed_and_close_to_its_voxel_count() {
        let v = Volume::from_fn([6, 7, 8], |[z, y, x]| {
            (1..5).contains(&z) && (1..6).contains(&y) && (1..7).contains(&x)
        });
        let mesh = marching_cubes(&v);
        assert!(mesh.is_closed());
        let voxels = v.count() as f64;
        assert!(
            (mesh.volume() - voxels).abs() / voxels < 0.15,
            "{}",
            mesh.volume()
        );
        assert_eq!(
            marching_cubes(&Volume::filled([3, 3, 3], false))
                .faces
                .len(),
            0
        );
    }
}
