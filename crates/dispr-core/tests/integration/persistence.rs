//! Persistence diagrams against gudhi (`scripts/fixtures/make_persistence_fixtures.py`):
//! random, smoothed random and downsampled real volumes, every dimension.

use std::path::PathBuf;

use dispr_core::grid::Volume;
use dispr_core::topology::persistence::persistence;

fn fixture() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/persistence.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn diagrams_equal_gudhi_in_every_dimension() {
    let fx = fixture();
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let values: Vec<f32> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let volume = Volume::new([shape[0], shape[1], shape[2]], values).unwrap();
        let ours = persistence(&volume, &[0, 1, 2]);
        for dim in 0..3 {
            let expected: Vec<(f32, f32)> = case["pairs"][dim]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let b = p[0].as_f64().unwrap() as f32;
                    let d = p[1].as_f64().map_or(f32::INFINITY, |d| d as f32);
                    (b, d)
                })
                .collect();
            let mut expected = expected;
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            let got = ours.sorted(dim);
            assert_eq!(
                got.len(),
                expected.len(),
                "{name} dim {dim}: {got:?} vs {expected:?}"
            );
            for (g, e) in got.iter().zip(&expected) {
                assert!(
                    (g.0 - e.0).abs() < 1e-6 && (g.1 == e.1 || (g.1 - e.1).abs() < 1e-6),
                    "{name} dim {dim}: {got:?} vs {expected:?}"
                );
            }
            // The critical voxels carry the pair's values (the topological loss's
            // gradient goes through them).
            for (&(b, d), &(bv, dv)) in ours.pairs[dim].iter().zip(&ours.voxels[dim]) {
                assert_eq!(volume.data()[bv], b, "{name} dim {dim} birth voxel");
                match dv {
                    Some(dv) => assert_eq!(volume.data()[dv], d, "{name} dim {dim} death voxel"),
                    None => assert!(d.is_infinite()),
                }
            }
        }
    }
}

#[test]
fn wasserstein_matching_equals_gudhi() {
    let fx = fixture();
    let cases = fx["wasserstein"].as_array().unwrap();
    assert!(cases.len() >= 6);
    let points = |v: &serde_json::Value| -> Vec<(f32, f32)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32))
            .collect()
    };
    for case in cases {
        let (a, b) = (points(&case["a"]), points(&case["b"]));
        let expected = case["w2_squared"].as_f64().unwrap();
        let m = dispr_core::topology::wasserstein::matching(&a, &b);
        assert!(
            (m.cost - expected).abs() < 1e-5 * (1.0 + expected),
            "{} vs {} points: {} vs gudhi {expected}",
            a.len(),
            b.len(),
            m.cost
        );
        let reversed = dispr_core::topology::wasserstein::matching(&b, &a);
        assert!((reversed.cost - m.cost).abs() < 1e-9 * (1.0 + expected));
    }
}
