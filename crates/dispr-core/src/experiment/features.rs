//! Morphological features of a 3D shape for classification (METRICS.md, "Morphological
//! features"): 119 numbers, each named and defined in [`FEATURES`] (the CSV header and
//! `dispr features --help` come from that one table). Every feature is finite for a
//! non-empty shape and invariant to translation. Units: voxels ([`features`]), or µm
//! for cubic voxels of known size ([`features_at`]; [`feature_columns`] names them).

use crate::grid::{Image, Volume};
use crate::scale::Units;
use crate::shape::filters::fill_holes;
use crate::shape::mesh::Mesh;
use crate::shape::metrics::measure_with_mesh;

/// Bins of the histograms of radial distance and of vertex curvature.
pub const HISTOGRAM_BINS: usize = 24;

/// Vertex curvature histogram range: [−CURVATURE_RANGE, CURVATURE_RANGE] per voxel.
pub const CURVATURE_RANGE: f64 = 0.5;

/// Every feature with its dimension (the power of length it scales with: 3 for a
/// volume, −1 for a curvature, 0 for a ratio, count or angle) and its definition, in CSV
/// column order. Histograms are listed once with `{i}` for their bins (fractions, so of
/// dimension 0; the curvature histogram's bins are per voxel in every table).
pub const FEATURES: &[(&str, i32, &str)] = &[
    ("volume", 3, "voxels inside (v / max v > 0.5)"),
    (
        "surface_area",
        2,
        "area of the marching-cubes mesh (zero padding, level 0.5)",
    ),
    (
        "roughness",
        3,
        "voxels changed by Gaussian smoothing (σ 2) and re-thresholding",
    ),
    (
        "curvature",
        -1,
        "integral mean curvature of the mesh / its area",
    ),
    ("mesh_volume", 3, "volume enclosed by the mesh"),
    (
        "sphericity",
        0,
        "π^(1/3) (6 V)^(2/3) / A, V = mesh volume, A = area (1 for a sphere)",
    ),
    ("compactness", 0, "36 π V² / A³"),
    ("surface_to_volume", -1, "A / V"),
    ("equivalent_diameter", 1, "(6 V / π)^(1/3)"),
    (
        "euler_characteristic",
        0,
        "vertices − edges + faces of the mesh (2 per sphere-like part, 0 per handle fewer)",
    ),
    ("roughness_fraction", 0, "roughness / volume"),
    ("n_vertices", 0, "mesh vertices"),
    ("n_faces", 0, "mesh faces"),
    ("edge_length_mean", 1, "mean mesh edge length"),
    (
        "edge_length_sd",
        1,
        "standard deviation of mesh edge lengths",
    ),
    ("face_area_mean", 2, "mean triangle area"),
    ("face_area_sd", 2, "standard deviation of triangle areas"),
    (
        "dihedral_abs_mean",
        0,
        "mean |dihedral angle| over edges shared by two faces (rad)",
    ),
    (
        "dihedral_sd",
        0,
        "standard deviation of the signed dihedral angles (rad)",
    ),
    (
        "inertia_1",
        2,
        "largest eigenvalue of the covariance of voxel centres",
    ),
    ("inertia_2", 2, "middle eigenvalue"),
    ("inertia_3", 2, "smallest eigenvalue"),
    (
        "axis_1",
        1,
        "4 √inertia_1 (a solid ellipsoid of semi-axis a has inertia a²/5, so ≈ 1.79 a)",
    ),
    ("axis_2", 1, "4 √inertia_2"),
    ("axis_3", 1, "4 √inertia_3"),
    ("elongation", 0, "√(inertia_2 / inertia_1)"),
    ("flatness", 0, "√(inertia_3 / inertia_2)"),
    ("axis_ratio_31", 0, "√(inertia_3 / inertia_1)"),
    ("extent_z", 1, "bounding-box size along z"),
    ("extent_y", 1, "bounding-box size along y"),
    ("extent_x", 1, "bounding-box size along x"),
    ("aspect_z_xy", 0, "extent_z / max(extent_y, extent_x)"),
    (
        "aspect_xy",
        0,
        "min(extent_y, extent_x) / max(extent_y, extent_x)",
    ),
    ("bbox_fill", 0, "volume / (extent_z · extent_y · extent_x)"),
    ("hull_volume", 3, "volume of the convex hull of the mesh"),
    ("hull_area", 2, "area of that hull"),
    ("solidity", 0, "mesh volume / hull volume (convexity in 3D)"),
    ("hull_area_ratio", 0, "hull area / mesh area"),
    (
        "slice_xy_area",
        2,
        "pixels of the xy slice through the centroid",
    ),
    (
        "slice_xy_solidity",
        0,
        "those pixels / area of their convex hull (pixel squares)",
    ),
    (
        "slice_xy_holes",
        0,
        "pixels filled by 2D hole filling, / slice area",
    ),
    (
        "slice_xz_area",
        2,
        "pixels of the xz slice through the centroid",
    ),
    ("slice_xz_solidity", 0, "as slice_xy_solidity, for xz"),
    ("slice_xz_holes", 0, "as slice_xy_holes, for xz"),
    (
        "slice_yz_area",
        2,
        "pixels of the yz slice through the centroid",
    ),
    ("slice_yz_solidity", 0, "as slice_xy_solidity, for yz"),
    ("slice_yz_holes", 0, "as slice_xy_holes, for yz"),
    (
        "radial_mean",
        1,
        "mean distance from the voxel centroid to the mesh vertices",
    ),
    ("radial_sd", 1, "standard deviation of those distances"),
    ("radial_min", 1, "smallest distance"),
    ("radial_max", 1, "largest distance"),
    ("radial_skew", 0, "skewness of the distances"),
    ("radial_kurtosis", 0, "excess kurtosis of the distances"),
    (
        "radial_hist_{i}",
        0,
        "fraction of vertices at distance / radial_max in bin i of 24 over [0, 1]",
    ),
    (
        "vertex_curvature_mean",
        -1,
        "mean over vertices of the vertex mean curvature (¼ Σ θ l over incident edges / ⅓ of incident face area)",
    ),
    (
        "vertex_curvature_sd",
        -1,
        "standard deviation of the vertex mean curvature",
    ),
    (
        "vertex_curvature_hist_{i}",
        0,
        "fraction of vertices with curvature in bin i of 24 over [−0.5, 0.5] (clamped)",
    ),
    (
        "proj_area",
        2,
        "pixels of the z-sum projection that are non-zero",
    ),
    (
        "proj_mean",
        1,
        "mean of the non-zero projection values (voxels per column)",
    ),
    ("proj_sd", 1, "their standard deviation"),
    ("proj_max", 1, "their maximum"),
    ("proj_skew", 0, "their skewness"),
    ("proj_kurtosis", 0, "their excess kurtosis"),
    ("proj_fill", 0, "proj_mean / proj_max"),
    (
        "proj_eccentricity",
        0,
        "√(1 − λ₂/λ₁) of the covariance of the projection's pixels",
    ),
    ("proj_solidity", 0, "proj_area / area of its convex hull"),
    (
        "proj_centroid_shift",
        1,
        "distance between the projection's weighted and unweighted centroids",
    ),
    (
        "texture_contrast",
        0,
        "GLCM contrast of the projection quantised to 8 levels (offsets (0,1) and (1,0), symmetric, normalised)",
    ),
    ("texture_dissimilarity", 0, "GLCM dissimilarity"),
    ("texture_homogeneity", 0, "GLCM homogeneity"),
    ("texture_energy", 0, "GLCM energy (angular second moment)"),
    (
        "texture_correlation",
        0,
        "GLCM correlation (0 for a constant image)",
    ),
    ("texture_entropy", 0, "GLCM entropy (nats)"),
];

/// Column names, histograms expanded (`radial_hist_0` …).
pub fn feature_names() -> Vec<String> {
    let mut names = Vec::new();
    for (name, _, _) in FEATURES {
        if name.contains("{i}") {
            names.extend((0..HISTOGRAM_BINS).map(|i| name.replace("{i}", &i.to_string())));
        } else {
            names.push(name.to_string());
        }
    }
    names
}

/// Each column's dimension, in [`feature_names`] order.
pub fn feature_dimensions() -> Vec<i32> {
    let mut dimensions = Vec::new();
    for (name, dimension, _) in FEATURES {
        let n = if name.contains("{i}") {
            HISTOGRAM_BINS
        } else {
            1
        };
        dimensions.extend(std::iter::repeat_n(*dimension, n));
    }
    dimensions
}

/// The CSV column names in `units`: [`feature_names`] with the unit of each feature
/// that has a dimension (`volume_um3`, `curvature_per_vox`, …; ratios unchanged).
pub fn feature_columns(units: Units) -> Vec<String> {
    feature_names()
        .into_iter()
        .zip(feature_dimensions())
        .map(|(name, dimension)| format!("{name}{}", units.suffix(dimension)))
        .collect()
}

/// The features of a non-empty shape whose voxels are cubes of `voxel` µm on a side
/// (`None`: voxel units), in [`feature_names`] order: each feature of [`features`]
/// times `voxel` to the power of its dimension. `None` for an empty shape.
pub fn features_at(shape: &Volume<bool>, voxel: Option<f64>) -> Option<Vec<f64>> {
    let values = features(shape)?;
    Some(match voxel {
        None => values,
        Some(side) => values
            .into_iter()
            .zip(feature_dimensions())
            .map(|(v, dimension)| v * side.powi(dimension))
            .collect(),
    })
}

/// The features of a non-empty shape, in [`feature_names`] order; `None` for an empty one.
pub fn features(shape: &Volume<bool>) -> Option<Vec<f64>> {
    let (lo, hi) = shape.bounding_box()?;
    let (m, mesh) = measure_with_mesh(shape);
    let mut f = Named::default();
    let (v, a) = (m.mesh_volume.max(1e-9), m.surface_area.max(1e-9));
    let pi = std::f64::consts::PI;
    f.put([
        ("volume", m.volume as f64),
        ("surface_area", m.surface_area),
        ("roughness", m.roughness as f64),
        ("curvature", m.curvature.unwrap_or(0.0)),
        ("mesh_volume", m.mesh_volume),
    ]);
    let edges = mesh_edges(&mesh);
    let euler = mesh.vertices.len() as f64 - edges.len() as f64 + mesh.faces.len() as f64;
    f.put([
        ("sphericity", pi.cbrt() * (6.0 * v).powf(2.0 / 3.0) / a),
        ("compactness", 36.0 * pi * v * v / (a * a * a)),
        ("surface_to_volume", a / v),
        ("equivalent_diameter", (6.0 * v / pi).cbrt()),
        ("euler_characteristic", euler),
        ("roughness_fraction", m.roughness as f64 / m.volume as f64),
    ]);
    // Mesh statistics.
    let lengths: Vec<f64> = edges
        .iter()
        .map(|&(p, q)| dist(mesh.vertices[p as usize], mesh.vertices[q as usize]))
        .collect();
    let face_areas: Vec<f64> = (0..mesh.faces.len())
        .map(|i| triangle_area(&mesh, i))
        .collect();
    let (dihedral, vertex_curvature) = dihedrals(&mesh, &face_areas);
    let abs_dihedral: Vec<f64> = dihedral.iter().map(|d| d.abs()).collect();
    f.put([
        ("n_vertices", mesh.vertices.len() as f64),
        ("n_faces", mesh.faces.len() as f64),
        ("edge_length_mean", mean(&lengths)),
        ("edge_length_sd", sd(&lengths)),
        ("face_area_mean", mean(&face_areas)),
        ("face_area_sd", sd(&face_areas)),
        ("dihedral_abs_mean", mean(&abs_dihedral)),
        ("dihedral_sd", sd(&dihedral)),
    ]);
    // Inertia of the voxel centres.
    let voxels: Vec<[f64; 3]> = voxel_centres(shape);
    let centroid = centroid3(&voxels);
    let eig = symmetric_eigenvalues(covariance3(&voxels, centroid));
    put_inertia(&mut f, eig);
    // Extents.
    let ext = [
        (hi[0] - lo[0]) as f64,
        (hi[1] - lo[1]) as f64,
        (hi[2] - lo[2]) as f64,
    ];
    f.put([
        ("extent_z", ext[0]),
        ("extent_y", ext[1]),
        ("extent_x", ext[2]),
        ("aspect_z_xy", ext[0] / ext[1].max(ext[2])),
        ("aspect_xy", ext[1].min(ext[2]) / ext[1].max(ext[2])),
        ("bbox_fill", m.volume as f64 / (ext[0] * ext[1] * ext[2])),
    ]);
    // Convex hull.
    let (hull_volume, hull_area) = convex_hull(&mesh).unwrap_or((v, a));
    f.put([
        ("hull_volume", hull_volume),
        ("hull_area", hull_area),
        ("solidity", v / hull_volume.max(1e-9)),
        ("hull_area_ratio", hull_area / a),
    ]);
    // Slices through the centroid.
    put_slices(&mut f, shape, centroid);
    // Radial distances from the voxel centroid to the surface.
    put_radial(&mut f, &mesh, centroid, &vertex_curvature);
    // z-sum projection and its texture.
    let [nz, ny, nx] = shape.shape();
    let proj = Image::from_fn([ny, nx], |[y, x]| {
        (0..nz).filter(|&z| shape.at([z, y, x])).count() as f64
    });
    f.put(projection_features(&proj));
    f.put(texture(&proj));
    Some(f.into_values())
}

/// Principal axes of the voxel centres, from the covariance eigenvalues (descending).
fn put_inertia(f: &mut Named, eig: [f64; 3]) {
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            (a / b).max(0.0).sqrt()
        } else {
            1.0
        }
    };
    f.put([
        ("inertia_1", eig[0]),
        ("inertia_2", eig[1]),
        ("inertia_3", eig[2]),
        ("axis_1", 4.0 * eig[0].max(0.0).sqrt()),
        ("axis_2", 4.0 * eig[1].max(0.0).sqrt()),
        ("axis_3", 4.0 * eig[2].max(0.0).sqrt()),
        ("elongation", ratio(eig[1], eig[0])),
        ("flatness", ratio(eig[2], eig[1])),
        ("axis_ratio_31", ratio(eig[2], eig[0])),
    ]);
}

/// Area, solidity and holes of the three axis slices through the centroid.
fn put_slices(f: &mut Named, shape: &Volume<bool>, centroid: [f64; 3]) {
    let c = centroid.map(|x| x.round() as usize);
    let [nz, ny, nx] = shape.shape();
    let xy = shape.slice_z(c[0].min(nz - 1));
    let xz = Image::from_fn([nz, nx], |[z, x]| shape.at([z, c[1].min(ny - 1), x]));
    let yz = Image::from_fn([nz, ny], |[z, y]| shape.at([z, y, c[2].min(nx - 1)]));
    for (plane, slice) in [("xy", &xy), ("xz", &xz), ("yz", &yz)] {
        let area = slice.count() as f64;
        let hull = pixel_hull_area(slice);
        let holes = fill_holes(slice).count() as f64 - area;
        f.put([
            (format!("slice_{plane}_area"), area),
            (
                format!("slice_{plane}_solidity"),
                if hull > 0.0 { area / hull } else { 0.0 },
            ),
            (
                format!("slice_{plane}_holes"),
                if area > 0.0 { holes / area } else { 0.0 },
            ),
        ]);
    }
}

/// Radial distances from the voxel centroid to the surface, and vertex curvature.
fn put_radial(f: &mut Named, mesh: &Mesh, centroid: [f64; 3], vertex_curvature: &[f64]) {
    let radial: Vec<f64> = mesh
        .vertices
        .iter()
        .map(|p| dist(*p, [centroid[2], centroid[1], centroid[0]]))
        .collect();
    let r_max = radial.iter().copied().fold(0.0, f64::max).max(1e-9);
    f.put([
        ("radial_mean", mean(&radial)),
        ("radial_sd", sd(&radial)),
        (
            "radial_min",
            radial.iter().copied().fold(f64::INFINITY, f64::min),
        ),
        ("radial_max", r_max),
        ("radial_skew", skewness(&radial)),
        ("radial_kurtosis", kurtosis(&radial)),
    ]);
    f.put_histogram(
        "radial_hist",
        histogram(radial.iter().map(|r| r / r_max), 0.0, 1.0),
    );
    f.put([
        ("vertex_curvature_mean", mean(vertex_curvature)),
        ("vertex_curvature_sd", sd(vertex_curvature)),
    ]);
    f.put_histogram(
        "vertex_curvature_hist",
        histogram(
            vertex_curvature.iter().copied(),
            -CURVATURE_RANGE,
            CURVATURE_RANGE,
        ),
    );
}

/// Feature values, each pushed with its name: a value cannot land in another's column
/// unnoticed, because [`Named::into_values`] checks the names against [`FEATURES`].
#[derive(Default)]
struct Named {
    names: Vec<String>,
    values: Vec<f64>,
}

impl Named {
    /// Appends named values.
    fn put<N: Into<String>>(&mut self, items: impl IntoIterator<Item = (N, f64)>) {
        for (name, value) in items {
            self.names.push(name.into());
            self.values.push(value);
        }
    }

    /// Appends a histogram's bins as `PREFIX_0`, `PREFIX_1`, ….
    fn put_histogram(&mut self, prefix: &str, bins: Vec<f64>) {
        self.put(
            bins.into_iter()
                .enumerate()
                .map(|(i, v)| (format!("{prefix}_{i}"), v)),
        );
    }

    /// The values in [`feature_names`] order, non-finite ones as 0. Panics when the
    /// names differ from the table (a programming error, caught by the tests).
    fn into_values(self) -> Vec<f64> {
        assert_eq!(
            self.names,
            feature_names(),
            "features are computed in another order than FEATURES lists them"
        );
        self.values
            .into_iter()
            .map(|x| if x.is_finite() { x } else { 0.0 })
            .collect()
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn triangle_area(mesh: &Mesh, f: usize) -> f64 {
    let [a, b, c] = mesh.triangle(f);
    let (u, v) = (
        [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
        [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
    );
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt()
}

/// Undirected mesh edges.
fn mesh_edges(mesh: &Mesh) -> Vec<(u32, u32)> {
    let mut edges: Vec<(u32, u32)> = mesh
        .faces
        .iter()
        .flat_map(|f| (0..3).map(move |k| (f[k].min(f[(k + 1) % 3]), f[k].max(f[(k + 1) % 3]))))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// Signed dihedral angles of the edges shared by two faces, and each vertex's mean
/// curvature (¼ θ l of every incident edge over ⅓ of the incident face area).
fn dihedrals(mesh: &Mesh, face_areas: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut angles = Vec::new();
    let mut h = vec![0.0; mesh.vertices.len()];
    let mut area = vec![0.0; mesh.vertices.len()];
    for (f, face) in mesh.faces.iter().enumerate() {
        for &v in face {
            area[v as usize] += face_areas[f] / 3.0;
        }
    }
    for (a, b, theta) in mesh.signed_dihedrals() {
        angles.push(theta);
        let l = dist(mesh.vertices[a as usize], mesh.vertices[b as usize]);
        h[a as usize] += 0.25 * theta * l;
        h[b as usize] += 0.25 * theta * l;
    }
    let curvature = h
        .iter()
        .zip(&area)
        .map(|(&h, &a)| if a > 0.0 { h / a } else { 0.0 })
        .collect();
    (angles, curvature)
}

fn voxel_centres(shape: &Volume<bool>) -> Vec<[f64; 3]> {
    let [_, ny, nx] = shape.shape();
    shape
        .data()
        .iter()
        .enumerate()
        .filter(|(_, v)| **v)
        .map(|(i, _)| {
            [
                (i / (ny * nx)) as f64,
                (i / nx % ny) as f64,
                (i % nx) as f64,
            ]
        })
        .collect()
}

fn centroid3(points: &[[f64; 3]]) -> [f64; 3] {
    let n = points.len().max(1) as f64;
    std::array::from_fn(|a| points.iter().map(|p| p[a]).sum::<f64>() / n)
}

fn covariance3(points: &[[f64; 3]], c: [f64; 3]) -> [[f64; 3]; 3] {
    let n = points.len().max(1) as f64;
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            points
                .iter()
                .map(|p| (p[i] - c[i]) * (p[j] - c[j]))
                .sum::<f64>()
                / n
        })
    })
}

/// Eigenvalues of a symmetric 3×3 matrix, descending (cyclic Jacobi rotations).
pub fn symmetric_eigenvalues(mut m: [[f64; 3]; 3]) -> [f64; 3] {
    for _ in 0..50 {
        let off = m[0][1].abs() + m[0][2].abs() + m[1][2].abs();
        if off < 1e-14 * (m[0][0].abs() + m[1][1].abs() + m[2][2].abs()).max(1e-300) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if m[p][q].abs() < 1e-300 {
                continue;
            }
            let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
            let mut r = [[0.0; 3]; 3];
            for (i, row) in r.iter_mut().enumerate() {
                row[i] = 1.0;
            }
            r[p][p] = c;
            r[q][q] = c;
            r[p][q] = s;
            r[q][p] = -s;
            // m ← rᵀ m r
            let mr: [[f64; 3]; 3] = std::array::from_fn(|i| {
                std::array::from_fn(|j| (0..3).map(|k| m[i][k] * r[k][j]).sum())
            });
            m = std::array::from_fn(|i| {
                std::array::from_fn(|j| (0..3).map(|k| r[k][i] * mr[k][j]).sum())
            });
        }
    }
    let mut e = [m[0][0], m[1][1], m[2][2]];
    e.sort_by(|a, b| b.total_cmp(a));
    e
}

/// Volume and area of the convex hull of the mesh vertices (only each x-row's two
/// extreme vertices can be hull vertices, which keeps the hull's input small).
fn convex_hull(mesh: &Mesh) -> Option<(f64, f64)> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<(i64, i64), (usize, usize)> = BTreeMap::new();
    for (i, p) in mesh.vertices.iter().enumerate() {
        let key = ((p[1] * 2.0).round() as i64, (p[2] * 2.0).round() as i64);
        let entry = rows.entry(key).or_insert((i, i));
        if p[0] < mesh.vertices[entry.0][0] {
            entry.0 = i;
        }
        if p[0] > mesh.vertices[entry.1][0] {
            entry.1 = i;
        }
    }
    let mut points: Vec<Vec<f64>> = rows
        .values()
        .flat_map(|&(a, b)| [a, b])
        .map(|i| mesh.vertices[i].to_vec())
        .collect();
    points.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    points.dedup();
    let hull = chull::ConvexHull::try_new(&points, 1e-9, None).ok()?;
    let (vertices, indices) = hull.vertices_indices();
    // Facets are not consistently wound: sum |tetrahedra| against an interior point.
    let used: Vec<&Vec<f64>> = indices.iter().map(|&i| &vertices[i]).collect();
    let inner: [f64; 3] =
        std::array::from_fn(|k| used.iter().map(|p| p[k]).sum::<f64>() / used.len().max(1) as f64);
    let (mut volume, mut area) = (0.0, 0.0);
    for t in indices.chunks_exact(3) {
        let shift = |p: &Vec<f64>| [p[0] - inner[0], p[1] - inner[1], p[2] - inner[2]];
        let [a, b, c] = [
            shift(&vertices[t[0]]),
            shift(&vertices[t[1]]),
            shift(&vertices[t[2]]),
        ];
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        area += 0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        volume += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
            + a[2] * (b[0] * c[1] - b[1] * c[0]))
            .abs()
            / 6.0;
    }
    Some((volume, area))
}

/// Area of the convex hull of the pixels' squares (Andrew's monotone chain).
fn pixel_hull_area(image: &Image<bool>) -> f64 {
    let [h, w] = image.shape();
    let mut pts: Vec<(i64, i64)> = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if image.at([y, x]) {
                pts.extend([
                    (x as i64, y as i64),
                    (x as i64 + 1, y as i64),
                    (x as i64, y as i64 + 1),
                    (x as i64 + 1, y as i64 + 1),
                ]);
            }
        }
    }
    hull_area_2d(pts)
}

fn hull_area_2d(mut pts: Vec<(i64, i64)>) -> f64 {
    pts.sort_unstable();
    pts.dedup();
    if pts.len() < 3 {
        return 0.0;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(i64, i64)> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(i64, i64)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let twice: i64 = (0..hull.len())
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    twice.abs() as f64 / 2.0
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

fn skewness(v: &[f64]) -> f64 {
    let (m, s) = (mean(v), sd(v));
    if s == 0.0 {
        0.0
    } else {
        v.iter().map(|x| ((x - m) / s).powi(3)).sum::<f64>() / v.len() as f64
    }
}

fn kurtosis(v: &[f64]) -> f64 {
    let (m, s) = (mean(v), sd(v));
    if s == 0.0 {
        0.0
    } else {
        v.iter().map(|x| ((x - m) / s).powi(4)).sum::<f64>() / v.len() as f64 - 3.0
    }
}

/// Fractions of values in each of [`HISTOGRAM_BINS`] equal bins over [lo, hi] (clamped).
fn histogram(values: impl Iterator<Item = f64>, lo: f64, hi: f64) -> Vec<f64> {
    let mut bins = [0.0; HISTOGRAM_BINS];
    let mut n = 0.0;
    for v in values {
        let t = ((v - lo) / (hi - lo) * HISTOGRAM_BINS as f64)
            .floor()
            .clamp(0.0, (HISTOGRAM_BINS - 1) as f64);
        bins[t as usize] += 1.0;
        n += 1.0;
    }
    bins.iter()
        .map(|b| if n > 0.0 { b / n } else { 0.0 })
        .collect()
}

fn projection_features(proj: &Image<f64>) -> [(&'static str, f64); 10] {
    let [h, w] = proj.shape();
    let mut values = Vec::new();
    let (mut pts, mut cells) = (Vec::new(), Vec::new());
    let (mut wsum, mut wy, mut wx) = (0.0, 0.0, 0.0);
    for y in 0..h {
        for x in 0..w {
            let v = proj.at([y, x]);
            if v > 0.0 {
                values.push(v);
                cells.push([y as f64, x as f64]);
                pts.extend([
                    (x as i64, y as i64),
                    (x as i64 + 1, y as i64),
                    (x as i64, y as i64 + 1),
                    (x as i64 + 1, y as i64 + 1),
                ]);
                wsum += v;
                wy += v * y as f64;
                wx += v * x as f64;
            }
        }
    }
    let n = values.len() as f64;
    let (cy, cx) = (
        cells.iter().map(|c| c[0]).sum::<f64>() / n,
        cells.iter().map(|c| c[1]).sum::<f64>() / n,
    );
    let (syy, sxx, sxy) = cells.iter().fold((0.0, 0.0, 0.0), |(a, b, c), p| {
        (
            a + (p[0] - cy).powi(2) / n,
            b + (p[1] - cx).powi(2) / n,
            c + (p[0] - cy) * (p[1] - cx) / n,
        )
    });
    let root = ((syy - sxx).powi(2) / 4.0 + sxy * sxy).sqrt();
    let (l1, l2) = ((syy + sxx) / 2.0 + root, (syy + sxx) / 2.0 - root);
    let max = values.iter().copied().fold(0.0, f64::max);
    let eccentricity = if l1 > 0.0 {
        (1.0 - l2 / l1).max(0.0).sqrt()
    } else {
        0.0
    };
    [
        ("proj_area", n),
        ("proj_mean", mean(&values)),
        ("proj_sd", sd(&values)),
        ("proj_max", max),
        ("proj_skew", skewness(&values)),
        ("proj_kurtosis", kurtosis(&values)),
        ("proj_fill", mean(&values) / max),
        ("proj_eccentricity", eccentricity),
        ("proj_solidity", n / hull_area_2d(pts).max(1.0)),
        (
            "proj_centroid_shift",
            ((wy / wsum - cy).powi(2) + (wx / wsum - cx).powi(2)).sqrt(),
        ),
    ]
}

/// Grey-level co-occurrence statistics of an image quantised to 8 levels by its maximum.
fn texture(image: &Image<f64>) -> [(&'static str, f64); 6] {
    const LEVELS: usize = 8;
    let [h, w] = image.shape();
    let max = image.data().iter().copied().fold(0.0, f64::max).max(1e-9);
    let q =
        |y: usize, x: usize| ((image.at([y, x]) / max * LEVELS as f64) as usize).min(LEVELS - 1);
    let mut glcm = [[0.0f64; LEVELS]; LEVELS];
    for y in 0..h {
        for x in 0..w {
            for (dy, dx) in [(0, 1), (1, 0)] {
                if y + dy < h && x + dx < w {
                    let (a, b) = (q(y, x), q(y + dy, x + dx));
                    glcm[a][b] += 1.0;
                    glcm[b][a] += 1.0;
                }
            }
        }
    }
    let total: f64 = glcm.iter().flatten().sum();
    let p = |i: usize, j: usize| glcm[i][j] / total;
    let (mut contrast, mut dissim, mut homog, mut energy, mut entropy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut mu, mut var) = (0.0, 0.0);
    for i in 0..LEVELS {
        for j in 0..LEVELS {
            let (pij, d) = (p(i, j), i as f64 - j as f64);
            contrast += pij * d * d;
            dissim += pij * d.abs();
            homog += pij / (1.0 + d * d);
            energy += pij * pij;
            if pij > 0.0 {
                entropy -= pij * pij.ln();
            }
            mu += pij * i as f64;
        }
    }
    let mut cov = 0.0;
    for i in 0..LEVELS {
        for j in 0..LEVELS {
            var += p(i, j) * (i as f64 - mu).powi(2);
            cov += p(i, j) * (i as f64 - mu) * (j as f64 - mu);
        }
    }
    let correlation = if var > 0.0 { cov / var } else { 0.0 };
    [
        ("texture_contrast", contrast),
        ("texture_dissimilarity", dissim),
        ("texture_homogeneity", homog),
        ("texture_energy", energy),
        ("texture_correlation", correlation),
        ("texture_entropy", entropy),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(f: &[f64]) -> std::collections::HashMap<String, f64> {
        feature_names().into_iter().zip(f.iter().copied()).collect()
    }

    fn ellipsoid(n: usize, r: [f64; 3], c: [f64; 3]) -> Volume<bool> {
        Volume::from_fn([n, n, n], |[z, y, x]| {
            ((z as f64 - c[0]) / r[0]).powi(2)
                + ((y as f64 - c[1]) / r[1]).powi(2)
                + ((x as f64 - c[2]) / r[2]).powi(2)
                <= 1.0
        })
    }

    #[test]
    fn names_match_values_and_all_finite() {
        let f = features(&ellipsoid(32, [6.0, 9.0, 12.0], [15.5, 15.5, 15.5])).unwrap();
        assert_eq!(f.len(), feature_names().len());
        assert!((110..=140).contains(&f.len()), "{}", f.len());
        assert!(f.iter().all(|x| x.is_finite()));
        assert!(features(&Volume::filled([4, 4, 4], false)).is_none());
        let tiny = features(&Volume::from_fn([5, 5, 5], |[z, y, x]| {
            (z, y, x) == (2, 2, 2)
        }))
        .unwrap();
        assert!(tiny.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn sphere_box_ellipsoid_torus() {
        let sphere = named(&features(&ellipsoid(40, [14.0; 3], [19.5; 3])).unwrap());
        assert!(
            (sphere["sphericity"] - 0.93).abs() < 0.05,
            "{}",
            sphere["sphericity"]
        );
        assert!(sphere["elongation"] > 0.98 && sphere["flatness"] > 0.98);
        assert_eq!(sphere["euler_characteristic"], 2.0);
        assert!(
            sphere["solidity"] > 0.95 && sphere["solidity"] <= 1.0 + 1e-9,
            "{} {} {}",
            sphere["solidity"],
            sphere["hull_volume"],
            sphere["mesh_volume"]
        );
        assert!(
            (sphere["radial_mean"] - 14.0).abs() < 0.6,
            "{}",
            sphere["radial_mean"]
        );
        assert!(
            (sphere["vertex_curvature_mean"] - 1.0 / 14.0).abs() < 0.02,
            "{}",
            sphere["vertex_curvature_mean"]
        );

        let cube = Volume::from_fn([20, 20, 20], |[z, y, x]| {
            (3..13).contains(&z) && (4..18).contains(&y) && (5..11).contains(&x)
        });
        let b = named(&features(&cube).unwrap());
        assert_eq!(
            (b["extent_z"], b["extent_y"], b["extent_x"]),
            (10.0, 14.0, 6.0)
        );
        assert_eq!(b["bbox_fill"], 1.0);
        assert!((b["aspect_z_xy"] - 10.0 / 14.0).abs() < 1e-12);
        assert_eq!(b["slice_xy_solidity"], 1.0);
        assert_eq!(b["slice_xy_area"], 14.0 * 6.0);

        // Semi-axes 6, 9, 12: the covariance eigenvalues are r²/5.
        let e = named(&features(&ellipsoid(32, [6.0, 9.0, 12.0], [15.5, 15.5, 15.5])).unwrap());
        assert!(
            (e["inertia_1"] - 144.0 / 5.0).abs() / 28.8 < 0.05,
            "{}",
            e["inertia_1"]
        );
        assert!((e["elongation"] - 0.75).abs() < 0.03 && (e["flatness"] - 2.0 / 3.0).abs() < 0.03);

        let torus = Volume::from_fn([40, 40, 40], |[z, y, x]| {
            let (dz, dy, dx) = (z as f64 - 19.5, y as f64 - 19.5, x as f64 - 19.5);
            ((dy * dy + dx * dx).sqrt() - 12.0).powi(2) + dz * dz <= 16.0
        });
        let t = named(&features(&torus).unwrap());
        assert_eq!(t["euler_characteristic"], 0.0, "a torus has one handle");
        assert!(t["solidity"] < 0.75, "{}", t["solidity"]);
    }

    #[test]
    fn translation_invariant() {
        let a = features(&ellipsoid(40, [7.0, 10.0, 13.0], [15.3, 17.1, 18.6])).unwrap();
        let b = features(&ellipsoid(40, [7.0, 10.0, 13.0], [20.3, 21.1, 22.6])).unwrap();
        for ((name, x), y) in feature_names().iter().zip(&a).zip(&b) {
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                "{name}: {x} vs {y}"
            );
        }
    }

    #[test]
    fn eigenvalues() {
        let e = symmetric_eigenvalues([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]]);
        for (got, want) in e.iter().zip([5.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-12, "{e:?}");
        }
    }
}
