//! The pixel sizes dispr reads from TIFFs written the ways Fiji, OME writers and
//! tifffile write them, against what tifffile states (fixtures by
//! scripts/fixtures/make_scale_fixtures.py).

use std::path::Path;

use dispr_core::io::tiff::read_pixel_size;

#[test]
fn pixel_sizes_match_what_tifffile_wrote() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("scale.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(expected.len(), 6);
    for (name, want) in expected {
        let got = read_pixel_size(&dir.join("scale").join(name)).unwrap();
        match (want.as_object(), got) {
            (None, None) => {}
            (Some(want), Some(got)) => {
                let close = |a: f64, key: &str| (a - want[key].as_f64().unwrap()).abs() < 1e-6;
                assert!(close(got.x, "x") && close(got.y, "y"), "{name}: {got:?}");
                match (want["z"].as_f64(), got.z) {
                    (None, None) => {}
                    (Some(z), Some(g)) => assert!((z - g).abs() < 1e-6, "{name}: {got:?}"),
                    other => panic!("{name}: z {other:?}"),
                }
            }
            (want, got) => panic!("{name}: expected {want:?}, read {got:?}"),
        }
    }
}
