//! End-to-end tests of `dispr data …`: the real sample, and every kind of bad input a
//! user can hand it (one-line error naming the file, non-zero exit, never a panic).

use crate::common::{assert_fails, dispr, ok, s, text};
use std::path::Path;

use dispr_core::grid::{Image, Volume};
use dispr_core::io::tiff::{write_image, write_volume};
use dispr_testkit::real_sample_or_skip;

/// A valid 16×16 cell named `name` in the flat layout under `dir`.
fn write_cell(dir: &Path, name: &str) {
    let image = Image::from_fn([16, 16], |[y, x]| (20 + y * 4 + x) as u8);
    let mask = Image::from_fn([16, 16], |[y, x]| {
        if (4..12).contains(&y) && (4..12).contains(&x) {
            255u8
        } else {
            0
        }
    });
    let obj = Volume::from_fn([16, 16, 16], |[z, y, x]| {
        if [z, y, x].iter().all(|c| (4..12).contains(c)) {
            255u8
        } else {
            0
        }
    });
    write_image(&dir.join(format!("image/{name}.tif")), &image).unwrap();
    write_image(&dir.join(format!("mask/{name}.tif")), &mask).unwrap();
    write_volume(&dir.join(format!("obj/{name}.tif")), &obj).unwrap();
}

/// A small valid dataset with two labelled cells.
fn good_dataset() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_cell(dir.path(), "A_cell_clusters000001");
    write_cell(dir.path(), "B_keratocytes000002");
    dir
}

#[test]
fn info_on_the_real_sample() {
    let Some(sample) = real_sample_or_skip("info_on_the_real_sample") else {
        return;
    };
    let out = dispr(&["data", "info", s(&sample)]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("108 cells, with 3D shapes"), "{stdout}");
    assert!(
        stdout.contains("classes   55 cluster, 25 keratocyte, 18 knizocyte, 10 multilobate"),
        "{stdout}"
    );
    assert!(stdout.contains("image 64×64 (108 cells)"), "{stdout}");
    assert!(stdout.contains("obj   64×64×64 (108 cells)"), "{stdout}");
    assert!(stdout.contains("problems  none"), "{stdout}");

    let out = dispr(&["data", "info", "--json", s(&sample)]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cell_count"], 108);
    assert_eq!(json["has_shapes"], true);
    assert_eq!(
        json["classes"],
        serde_json::json!([
            {"class": "cluster", "cells": 55},
            {"class": "keratocyte", "cells": 25},
            {"class": "knizocyte", "cells": 18},
            {"class": "multilobate", "cells": 10}
        ])
    );
    assert_eq!(
        json["obj_grids"],
        serde_json::json!([{"shape": [64, 64, 64], "cells": 108}])
    );
    assert_eq!(
        json["image_grids"],
        serde_json::json!([{"shape": [64, 64], "cells": 108}])
    );
    assert_eq!(json["problems"], serde_json::json!([]));
    assert_eq!(json["values"]["obj"]["dtypes"], serde_json::json!(["u8"]));
    assert_eq!(json["cells"].as_array().unwrap().len(), 108);
}

#[test]
fn folds_on_the_real_sample_are_stratified_and_repeatable() {
    let Some(sample) = real_sample_or_skip("folds_on_the_real_sample") else {
        return;
    };
    let run = || dispr(&["data", "folds", s(&sample), "--seed", "7"]);
    let (a, b) = (run(), run());
    assert!(a.status.success(), "{}", text(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let csv = text(&a.stdout);
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 108);
    for (class, n) in [
        ("cluster", 55),
        ("keratocyte", 25),
        ("knizocyte", 18),
        ("multilobate", 10),
    ] {
        for fold in 0..5 {
            let in_fold = rows
                .iter()
                .filter(|r| r[1] == class && r[2] == fold.to_string())
                .count();
            assert!(
                in_fold == n / 5 || in_fold == n / 5 + 1,
                "{class} fold {fold}: {in_fold}"
            );
        }
    }
}

#[test]
fn info_on_a_good_synthetic_dataset_succeeds() {
    let dir = good_dataset();
    let out = ok(&["data", "info", s(dir.path())]);
    assert!(text(&out.stdout).contains("1 cluster, 1 keratocyte"));
}

#[test]
fn truncated_tiff() {
    let dir = good_dataset();
    let obj = dir.path().join("obj/B_keratocytes000002.tif");
    let bytes = std::fs::read(&obj).unwrap();
    std::fs::write(&obj, &bytes[..bytes.len() / 3]).unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["1 problem found"]);
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("B_keratocytes000002.tif"))
        .unwrap();
    assert!(
        line.contains("obj/B_keratocytes000002.tif: truncated"),
        "{line}"
    );
}

#[test]
fn text_file_named_tif() {
    let dir = good_dataset();
    std::fs::write(
        dir.path().join("image/A_cell_clusters000001.tif"),
        "hello\n",
    )
    .unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["problem found"]);
    assert!(
        text(&out.stdout).contains("image/A_cell_clusters000001.tif: not a TIFF file"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn two_d_file_where_3d_is_expected() {
    let dir = good_dataset();
    write_image(
        &dir.path().join("obj/A_cell_clusters000001.tif"),
        &Image::filled([16, 16], 255u8),
    )
    .unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["problem found"]);
    assert!(text(&out.stdout).contains(
        "obj/A_cell_clusters000001.tif: expected a 3D stack, found a single 2D page (16×16)"
    ));
}

#[test]
fn three_d_mask() {
    let dir = good_dataset();
    write_volume(
        &dir.path().join("mask/A_cell_clusters000001.tif"),
        &Volume::filled([4, 16, 16], 255u8),
    )
    .unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["problem found"]);
    assert!(text(&out.stdout).contains(
        "mask/A_cell_clusters000001.tif: expected a single 2D image, found a 3D stack of 4 pages"
    ));
}

#[test]
fn empty_mask_and_wrong_grid() {
    let dir = good_dataset();
    write_cell(dir.path(), "C_knizocytes000003");
    write_image(
        &dir.path().join("mask/A_cell_clusters000001.tif"),
        &Image::filled([16, 16], 0u8),
    )
    .unwrap();
    write_image(
        &dir.path().join("image/C_knizocytes000003.tif"),
        &Image::filled([8, 8], 9u8),
    )
    .unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["problems found"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("mask/A_cell_clusters000001.tif: mask is empty"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mask/C_knizocytes000003.tif: mask is 16×16 but its image is 8×8"),
        "{stdout}"
    );
    assert!(
        stdout.contains("image/C_knizocytes000003.tif: image is 8×8 but 2 of 3 cells are 16×16"),
        "{stdout}"
    );
}

#[test]
fn mismatched_names() {
    let dir = good_dataset();
    std::fs::rename(
        dir.path().join("mask/B_keratocytes000002.tif"),
        dir.path().join("mask/B_keratocyte000002.tif"),
    )
    .unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["2 problems found"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("no partner file named 'B_keratocyte000002' in image/ and obj/"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no partner file named 'B_keratocytes000002' in mask/"),
        "{stdout}"
    );
    // `data folds` refuses a dataset with problems, naming the first one.
    let out = dispr(&["data", "folds", s(dir.path()), "--folds", "2"]);
    assert_fails(&out, 1, &["no partner file", "dispr data info"]);
}

#[test]
fn empty_and_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(
        &out,
        1,
        &[s(dir.path()), "not a dataset: no image/ and mask/ folders"],
    );
    std::fs::create_dir_all(dir.path().join("image")).unwrap();
    std::fs::create_dir_all(dir.path().join("mask")).unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["no cells found"]);
    // The folder as every other command takes it, --data DIR, reads the same; neither
    // or both is a bad flag.
    let out = dispr(&["data", "info", "--data", s(dir.path())]);
    assert_fails(&out, 1, &["no cells found"]);
    assert_fails(&dispr(&["data", "info"]), 2, &["required arguments"]);
    let both = dispr(&["data", "folds", s(dir.path()), "--data", s(dir.path())]);
    assert_fails(&both, 2, &["cannot be used with"]);
    let missing = dir.path().join("does-not-exist");
    let out = dispr(&["data", "info", "--json", s(&missing)]);
    assert_fails(&out, 1, &["does-not-exist: not found"]);
}

#[test]
fn unknown_class_in_labels_csv() {
    let dir = good_dataset();
    std::fs::write(
        dir.path().join("labels.csv"),
        "name,class\nA_cell_clusters000001,blobocyte\n",
    )
    .unwrap();
    let out = dispr(&["data", "info", s(dir.path())]);
    assert_fails(&out, 1, &["labels.csv: line 2: unknown class 'blobocyte'"]);
}

#[test]
fn bad_flags_exit_2() {
    let out = dispr(&["data", "info", "--frobnicate", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--frobnicate"));
    let dir = good_dataset();
    let out = dispr(&["data", "folds", s(dir.path()), "--folds", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let out = dispr(&["data", "folds", s(dir.path()), "--folds", "5"]);
    assert_fails(&out, 1, &["cannot split 2 cells into 5 folds"]);
}

#[test]
fn folds_write_atomically_to_a_file() {
    let dir = good_dataset();
    let out_path = dir.path().join("folds/folds.csv");
    ok(&[
        "data",
        "folds",
        s(dir.path()),
        "--folds",
        "2",
        "--out",
        s(&out_path),
    ]);
    let csv = std::fs::read_to_string(out_path).unwrap();
    assert!(
        csv.starts_with("name,class,fold\nA_cell_clusters000001,cluster,"),
        "{csv}"
    );
}
