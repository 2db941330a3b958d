//! Cross-checks of dispr-core against independent implementations, through fixture
//! values written by `scripts/fixtures/make_core_fixtures.py` (tifffile, scipy) and
//! committed, so that these tests need no Python.

use std::path::{Path, PathBuf};

use dispr_core::data::dataset::Dataset;
use dispr_core::grid::{Dtype, Grid, Volume};
use dispr_core::io::tiff::{self, Stack};
use dispr_testkit::real_sample_or_skip;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn numpy_dtype(d: Dtype) -> &'static str {
    match d {
        Dtype::U8 => "uint8",
        Dtype::U16 => "uint16",
        Dtype::U32 => "uint32",
        Dtype::F32 => "float32",
    }
}

/// Every real cell's three files decode to the same shape, type and values as tifffile
/// reads them (sum, range and foreground count per file).
#[test]
fn real_sample_reads_like_tifffile() {
    let Some(sample) = real_sample_or_skip("real_sample_reads_like_tifffile") else {
        return;
    };
    let reference = load_json("real_sample_tiff.json");
    let reference = reference.as_object().unwrap();
    assert_eq!(reference.len(), 3 * 108);
    for (relative, want) in reference {
        let path = sample.join(relative);
        let stack = tiff::read_stack(&path).unwrap();
        let mut shape = stack.shape().to_vec();
        if !relative.starts_with("obj/") {
            assert_eq!(shape[0], 1, "{relative}");
            shape.remove(0);
        }
        let want_shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
        assert_eq!(shape, want_shape, "{relative}");
        assert_eq!(numpy_dtype(stack.dtype()), want["dtype"], "{relative}");
        let (min, max) = stack.min_max().unwrap();
        assert_eq!(min, want["min"].as_f64().unwrap(), "{relative}");
        assert_eq!(max, want["max"].as_f64().unwrap(), "{relative}");
        let sum: f64 = stack.to_f32().data().iter().map(|&v| v as f64).sum();
        assert_eq!(sum, want["sum"].as_f64().unwrap(), "{relative}");
        assert_eq!(
            stack.binarize().count() as u64,
            want["foreground"].as_u64().unwrap(),
            "{relative}"
        );
    }
}

/// The real sample as a dataset: 108 cells with 64³ shapes whose central slice agrees
/// with the mask (the data convention DESIGN.md states).
#[test]
fn real_sample_masks_match_central_slices() {
    let Some(sample) = real_sample_or_skip("real_sample_masks_match_central_slices") else {
        return;
    };
    let dataset = Dataset::scan(&sample).unwrap();
    assert_eq!(dataset.cells.len(), 108);
    assert!(dataset.problems.is_empty());
    let mut worst: f64 = 1.0;
    for files in &dataset.cells {
        let cell = dispr_core::data::dataset::load_cell(files).unwrap();
        let shape = cell.shape.unwrap();
        assert_eq!(shape.shape(), [64, 64, 64]);
        let slice = shape.slice_z(32);
        let inter = slice
            .data()
            .iter()
            .zip(cell.mask.data())
            .filter(|(a, b)| **a && **b)
            .count();
        let union = slice
            .data()
            .iter()
            .zip(cell.mask.data())
            .filter(|(a, b)| **a || **b)
            .count();
        worst = worst.min(inter as f64 / union as f64);
    }
    assert!(worst > 0.9, "worst IoU of mask and obj[32]: {worst}");
}

/// Small TIFFs written by tifffile (uint8/uint16/float32, 2D/3D, deflate, ImageJ).
#[test]
fn tifffile_written_files_read_back() {
    let reference = load_json("tifffile_files.json");
    for (name, want) in reference.as_object().unwrap() {
        let stack = tiff::read_stack(&fixture(name)).unwrap_or_else(|e| panic!("{e}"));
        let want_shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
        let mut shape = stack.shape().to_vec();
        if want_shape.len() == 2 {
            assert_eq!(shape.remove(0), 1);
        }
        assert_eq!(shape, want_shape, "{name}");
        assert_eq!(numpy_dtype(stack.dtype()), want["dtype"], "{name}");
        let values: Vec<f64> = serde_json::from_value(want["values"].clone()).unwrap();
        let got: Vec<f64> = stack.to_f32().data().iter().map(|&v| v as f64).collect();
        assert_eq!(got.len(), values.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&values).enumerate() {
            // Compared at the file's precision (JSON parsing may differ in the last f64 bit).
            assert_eq!(*g as f32, *w as f32, "{name} [{i}]");
        }
    }
}

/// Linear resampling equals scipy.ndimage.zoom(order=1, mode="nearest", grid_mode=True).
#[test]
fn resample_matches_scipy_zoom() {
    for case in load_json("resample.json").as_array().unwrap() {
        let in_shape: [usize; 3] = serde_json::from_value(case["input_shape"].clone()).unwrap();
        let out_shape: [usize; 3] = serde_json::from_value(case["output_shape"].clone()).unwrap();
        let input: Vec<f32> = serde_json::from_value(case["input"].clone()).unwrap();
        let want: Vec<f64> = serde_json::from_value(case["output"].clone()).unwrap();
        let got = Grid::new(in_shape, input).unwrap().resample(out_shape);
        assert_eq!(got.shape(), out_shape);
        for (i, (g, w)) in got.data().iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - w).abs() < 1e-3,
                "{in_shape:?}→{out_shape:?} [{i}]: {g} vs {w}"
            );
        }
    }
}

/// Enlarging about a point equals scipy.ndimage.affine_transform(order=1,
/// mode="nearest") (scripts/fixtures/make_scaled_fixtures.py).
#[test]
fn scaled_about_matches_scipy_affine_transform() {
    for case in load_json("scaled.json").as_array().unwrap() {
        let shape: [usize; 3] = serde_json::from_value(case["shape"].clone()).unwrap();
        let input: Vec<f32> = serde_json::from_value(case["input"].clone()).unwrap();
        let centre: [f64; 3] = serde_json::from_value(case["centre"].clone()).unwrap();
        let factor = case["factor"].as_f64().unwrap();
        let want: Vec<f64> = serde_json::from_value(case["output"].clone()).unwrap();
        let got = Grid::new(shape, input)
            .unwrap()
            .scaled_about(centre, factor);
        for (i, (g, w)) in got.data().iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - w).abs() < 1e-4,
                "{shape:?} about {centre:?} × {factor} [{i}]: {g} vs {w}"
            );
        }
    }
}

/// Leaves TIFFs and meshes written by dispr where the fixture script can check them with
/// tifffile and trimesh (`make_core_fixtures.py --check-written target/tmp`), and checks
/// the TIFFs read back.
#[test]
fn dispr_written_files_for_tifffile() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let shape = Volume::from_fn([5, 6, 7], |[z, y, x]| (z + y * x) % 3 == 0);
    let map = Volume::from_fn([5, 6, 7], |[z, y, x]| {
        z as f32 * 0.5 - y as f32 + x as f32 * 0.25
    });
    tiff::write_shape(&dir.join("written_by_dispr_shape.tif"), &shape).unwrap();
    tiff::write_volume(&dir.join("written_by_dispr_map.tif"), &map).unwrap();
    let back = tiff::read_volume(&dir.join("written_by_dispr_map.tif")).unwrap();
    assert_eq!(back, Stack::F32(map));
    // Meshes of the r = 20 sphere, for trimesh to load.
    let sphere = tiff::read_volume(&fixture("shape_sphere_r20.tif"))
        .unwrap()
        .binarize();
    let mesh = dispr_core::shape::mesh::marching_cubes(&sphere);
    for ext in ["stl", "ply", "obj"] {
        dispr_core::shape::mesh::io::write_mesh(
            &dir.join(format!("written_by_dispr_sphere.{ext}")),
            &mesh,
            dispr_core::scale::Units::Voxels,
        )
        .unwrap();
    }
}

/// The measurements of METRICS.md equal scikit-image + scipy + trimesh on analytic shapes
/// and on every real cell: volume and roughness exactly, surface area within 0.1 %,
/// curvature within 0.5 %, mesh closed.
#[test]
fn metrics_match_the_reference_pipeline() {
    let reference = load_json("metrics.json");
    let check = |name: &str, shape: &Volume<bool>, want: &Value| {
        let (m, mesh) = dispr_core::shape::metrics::measure_with_mesh(shape);
        assert_eq!(m.volume, want["volume"].as_u64().unwrap(), "{name} volume");
        assert_eq!(
            m.roughness,
            want["roughness"].as_u64().unwrap(),
            "{name} roughness"
        );
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        let area = want["surface_area"].as_f64().unwrap();
        assert!(
            rel(m.surface_area, area) < 1e-3,
            "{name} area {} vs {area}",
            m.surface_area
        );
        let curvature = want["curvature"].as_f64().unwrap();
        let got = m.curvature.unwrap();
        assert!(
            rel(got, curvature) < 5e-3,
            "{name} curvature {got} vs {curvature}"
        );
        let mesh_volume = want["mesh_volume"].as_f64().unwrap();
        assert!(rel(m.mesh_volume, mesh_volume) < 1e-6, "{name} mesh volume");
        assert_eq!(
            mesh.is_closed(),
            want["watertight"].as_bool().unwrap(),
            "{name} closed"
        );
        assert!(mesh.is_closed(), "{name}: mesh not closed");
        (rel(m.surface_area, area), rel(got, curvature))
    };
    let mut worst = (0.0f64, 0.0f64);
    for (name, want) in reference["analytic"].as_object().unwrap() {
        let shape = tiff::read_volume(&fixture(&format!("shape_{name}.tif")))
            .unwrap()
            .binarize();
        let (a, c) = check(name, &shape, want);
        worst = (worst.0.max(a), worst.1.max(c));
    }
    if let Some(sample) = real_sample_or_skip("metrics_match_the_reference_pipeline") {
        let real = reference["real"].as_object().unwrap();
        assert_eq!(real.len(), 108);
        for (name, want) in real {
            let shape = tiff::read_volume(&sample.join("obj").join(name))
                .unwrap()
                .binarize();
            let (a, c) = check(name, &shape, want);
            worst = (worst.0.max(a), worst.1.max(c));
        }
    }
    eprintln!(
        "worst relative difference: surface area {:.2e}, curvature {:.2e}",
        worst.0, worst.1
    );
}

/// The ellipse fitted to each real mask's outline equals scikit-image's EllipseModel.
#[test]
fn ellipse_fit_matches_scikit_image() {
    let Some(sample) = real_sample_or_skip("ellipse_fit_matches_scikit_image") else {
        return;
    };
    let reference = load_json("metrics.json");
    for (name, want) in reference["ellipse"].as_object().unwrap() {
        let mask = tiff::read_image(&sample.join("mask").join(name))
            .unwrap()
            .binarize()
            .slice_z(0);
        let e = dispr_core::baseline::mask_ellipse(&mask).unwrap();
        let w = |k: &str| want[k].as_f64().unwrap();
        for (got, key) in [(e.xc, "xc"), (e.yc, "yc"), (e.a, "a"), (e.b, "b")] {
            assert!(
                (got - w(key)).abs() < 1e-6 * w(key).abs().max(1.0),
                "{name} {key}: {got} vs {}",
                w(key)
            );
        }
        // The angle is only defined modulo π, and not at all for a circle.
        let dtheta = (e.theta - w("theta")).rem_euclid(std::f64::consts::PI);
        let dtheta = dtheta.min(std::f64::consts::PI - dtheta);
        assert!(
            dtheta < 1e-5 || (w("a") - w("b")).abs() < 1e-3,
            "{name} theta {} vs {}",
            e.theta,
            w("theta")
        );
    }
}

/// Classification features against trimesh and numpy: convex hull volume and area,
/// Euler characteristic, inertia eigenvalues (analytic shapes and every real cell).
#[test]
fn features_match_trimesh_and_numpy() {
    use dispr_core::experiment::features::{feature_names, features};
    use rayon::prelude::*;
    let reference = load_json("metrics.json");
    let names = feature_names();
    let column = |f: &[f64], name: &str| f[names.iter().position(|n| n == name).unwrap()];
    let mut cases: Vec<(String, PathBuf, Value)> = reference["analytic"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, want)| {
            (
                name.clone(),
                fixture(&format!("shape_{name}.tif")),
                want.clone(),
            )
        })
        .collect();
    if let Some(sample) = real_sample_or_skip("features_match_trimesh_and_numpy") {
        for (name, want) in reference["real"].as_object().unwrap() {
            cases.push((name.clone(), sample.join("obj").join(name), want.clone()));
        }
    }
    cases.par_iter().for_each(|(name, path, want)| {
        let shape = tiff::read_volume(path).unwrap().binarize();
        let f = features(&shape).unwrap();
        let rel = |got: f64, key: &str| {
            let w = want[key].as_f64().unwrap();
            assert!(
                (got - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{name} {key}: {got} vs {w}"
            );
        };
        rel(column(&f, "hull_volume"), "hull_volume");
        rel(column(&f, "hull_area"), "hull_area");
        assert_eq!(
            column(&f, "euler_characteristic"),
            want["euler_characteristic"].as_f64().unwrap(),
            "{name}"
        );
        for (i, key) in ["inertia_1", "inertia_2", "inertia_3"].iter().enumerate() {
            let w = want["inertia"][i].as_f64().unwrap();
            let got = column(&f, key);
            assert!(
                (got - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{name} {key}: {got} vs {w}"
            );
        }
    });
}

/// The retrieval baseline equals an independent numpy implementation of its definition
/// (scripts/fixtures/make_nearest_fixtures.py) on the real sample: the same 9 neighbours
/// in the same order, the same mask IoUs and the same majority shape (voxels per slice).
#[test]
fn nearest_baseline_matches_numpy() {
    use dispr_core::baseline::nearest::{Reference, predict};
    use dispr_core::data::dataset::load_cell;
    let Some(dir) = real_sample_or_skip("nearest_baseline_matches_numpy") else {
        return;
    };
    let fixture = load_json("nearest.json");
    let k = fixture["k"].as_u64().unwrap() as usize;
    let dataset = Dataset::scan(&dir).unwrap();
    assert_eq!(
        dataset.cells.len() as u64,
        fixture["cells"].as_u64().unwrap()
    );
    let cells: Vec<_> = dataset
        .cells
        .iter()
        .map(|f| load_cell(f).unwrap())
        .collect();
    let references: Vec<Reference> = cells
        .iter()
        .map(|c| Reference {
            name: &c.name,
            mask: &c.mask,
            shape: c.shape.as_ref().unwrap(),
        })
        .collect();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cell = cells.iter().find(|c| c.name == name).unwrap();
        let (shape, neighbours) = predict(name, &cell.mask, &references, k).unwrap();
        let names: Vec<&str> = neighbours
            .iter()
            .map(|n| references[n.index].name)
            .collect();
        let expected: Vec<&str> = case["neighbours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{name}: neighbours");
        for (n, iou) in neighbours.iter().zip(case["ious"].as_array().unwrap()) {
            assert!((n.iou - iou.as_f64().unwrap()).abs() < 1e-12, "{name}: IoU");
        }
        assert_eq!(
            shape.count() as u64,
            case["voxels"].as_u64().unwrap(),
            "{name}"
        );
        let per_slice: Vec<u64> = (0..shape.shape()[0])
            .map(|z| shape.slice_z(z).count() as u64)
            .collect();
        let expected: Vec<u64> = case["voxels_per_slice"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(per_slice, expected, "{name}: voxels per slice");
    }
}
