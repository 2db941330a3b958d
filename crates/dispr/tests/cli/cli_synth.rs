//! End-to-end tests of `dispr synth` and `dispr data preview`.

use crate::common::{assert_fails, dispr, ok, s, text};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Every file under `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["image", "mask", "obj"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            out.insert(
                format!("{sub}/{}", path.file_name().unwrap().to_string_lossy()),
                std::fs::read(&path).unwrap(),
            );
        }
    }
    out
}

#[test]
fn synth_is_deterministic_and_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (out, seed) in [(&a, "3"), (&b, "3"), (&c, "4")] {
        let o = ok(&["synth", "--out", s(out), "--n", "12", "--seed", seed]);
        assert!(
            text(&o.stdout).contains("wrote 12 cells"),
            "{}",
            text(&o.stdout)
        );
    }
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(fa.len(), 36);
    assert_eq!(fa, fb, "same seed, same bytes");
    assert_ne!(fa, fc, "another seed, other cells");
    let info = ok(&["data", "info", "--json", s(&a)]);
    let json: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(json["cell_count"], 12);
    assert_eq!(
        json["classes"].as_array().unwrap().len(),
        6,
        "every class present: {}",
        json["classes"]
    );
    assert_eq!(
        json["obj_grids"][0]["shape"],
        serde_json::json!([64, 64, 64])
    );
    let csv = std::fs::read_to_string(a.join("synth.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13);
    assert!(csv.lines().any(|l| l.contains(",sde,")));
}

#[test]
fn synth_classes_preview_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    ok(&[
        "synth",
        "--out",
        s(&out),
        "--n",
        "4",
        "--classes",
        "keratocyte,knizocyte",
        "--preview",
    ]);
    let names: Vec<String> = files(&out)
        .keys()
        .filter(|k| k.starts_with("obj/"))
        .cloned()
        .collect();
    assert_eq!(names.len(), 4);
    assert!(
        names
            .iter()
            .all(|n| n.contains("B_keratocytes") || n.contains("C_knizocytes")),
        "{names:?}"
    );
    let png = std::fs::read(out.join("preview.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let again = dispr(&["synth", "--out", s(&out), "--n", "4"]);
    assert_fails(
        &again,
        1,
        &["already holds files; choose an empty folder or pass --overwrite"],
    );
    ok(&[
        "synth",
        "--out",
        s(&out),
        "--n",
        "4",
        "--classes",
        "keratocyte,knizocyte",
        "--overwrite",
    ]);

    let bad = dispr(&[
        "synth",
        "--out",
        s(&dir.path().join("x")),
        "--classes",
        "blob",
    ]);
    assert_fails(&bad, 1, &["--classes: unknown class 'blob'"]);
    assert_eq!(
        dispr(&["synth", "--out", s(&dir.path().join("y")), "--n", "0"])
            .status
            .code(),
        Some(2)
    );

    let gallery = dir.path().join("gallery.png");
    let p = ok(&[
        "data",
        "preview",
        s(&out),
        "--out",
        s(&gallery),
        "--per-class",
        "1",
    ]);
    assert!(text(&p.stdout).contains("(2 cells)"), "{}", text(&p.stdout));
    // The gallery is a PNG: another name is a bad value.
    let jpg = dispr(&["data", "preview", s(&out), "--out", "gallery.jpg"]);
    assert_fails(&jpg, 2, &["the gallery is a PNG image: name it NAME.png"]);
    // A user's cells without classes: up to 12 shown, not 2 of one group.
    let mine = dir.path().join("mine");
    for sub in ["image", "mask"] {
        std::fs::create_dir_all(mine.join(sub)).unwrap();
        let mut found: Vec<_> = std::fs::read_dir(out.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        found.sort();
        for (i, file) in found.iter().enumerate() {
            std::fs::copy(file, mine.join(sub).join(format!("cell{i}.tif"))).unwrap();
        }
    }
    let p = ok(&["data", "preview", s(&mine), "--out", s(&gallery)]);
    assert!(text(&p.stdout).contains("(4 cells)"), "{}", text(&p.stdout));
}

#[test]
fn demo_runs_on_built_in_defaults_and_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_dispr"))
            .args(["demo", "--per-class", "2", "--samples", "2", "--steps", "3"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let o = run();
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("demo finished"),
            "{}",
            text(&o.stdout)
        );
    }
    let out = dir.path().join("dispr-demo");
    for f in [
        "report/index.html",
        "report/table.md",
        "report/cells.png",
        "report/iou.png",
        "report/predictions.png",
        "predictions/dispr/predict.json",
        "cells/synth.csv",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read_dir(out.join("meshes")).unwrap().count(),
        6,
        "one mesh per class"
    );
    // 12 shapes (dispr's manifest of what it wrote there is a hidden file).
    assert_eq!(
        std::fs::read_dir(out.join("predictions/cylinder"))
            .unwrap()
            .filter(|e| !e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        12
    );
    // The built-in model predicted every cell: 2 samples each, an ensemble and a mesh.
    for k in 0..2 {
        assert!(
            out.join(format!("predictions/dispr/A_cell_clusters000000_{k}.tif"))
                .is_file()
        );
    }
    assert!(
        out.join("predictions/dispr/mesh/A_cell_clusters000000.stl")
            .is_file()
    );
    let table = std::fs::read_to_string(out.join("report/table.md")).unwrap();
    assert!(table.contains("| dispr |"), "{table}");
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    // The report shows the predictions, with the picture inside the page (self-contained).
    assert!(
        html.contains(r#"<img src="data:image/png;base64,"#)
            && html.contains("alt=\"side views of the true and predicted shapes\""),
        "the report shows the predictions"
    );
    // A folder the demo did not make is never touched.
    let foreign = dir.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.txt"), "precious").unwrap();
    let o = dispr(&["demo", "--out", s(&foreign)]);
    assert_fails(&o, 1, &["not empty and not made by `dispr demo`"]);
    assert_eq!(
        std::fs::read_to_string(foreign.join("thesis.txt")).unwrap(),
        "precious"
    );
}

/// Where `features_of_truth_and_predictions` keeps the truth's features in voxels.
fn csv_path_truth(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("f_truth.csv")
}

#[test]
fn features_of_truth_and_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&["synth", "--out", s(&data), "--n", "6"]);
    let csv_path = dir.path().join("f.csv");
    ok(&["features", "--data", s(&data), "--out", s(&csv_path)]);
    std::fs::copy(&csv_path, csv_path_truth(&dir)).unwrap();
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(&header[..4], &["name", "class", "source", "volume_vox3"]);
    assert_eq!(csv.lines().count(), 7);
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row.len(), header.len());
    assert!(
        row[3..]
            .iter()
            .all(|v| v.parse::<f64>().unwrap().is_finite())
    );

    // Predictions: every cell's baseline shape, labelled and sourced by its cell.
    let preds = dir.path().join("cyl");
    ok(&[
        "baseline",
        "cylinder",
        "--data",
        s(&data),
        "--out",
        s(&preds),
    ]);
    ok(&[
        "features",
        "--data",
        s(&data),
        "--pred",
        s(&preds),
        "--out",
        s(&csv_path),
    ]);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.lines().skip(1).all(|l| {
        let f: Vec<&str> = l.split(',').collect();
        f[0] == f[2]
    }));
    std::fs::remove_file(preds.join(format!(
        "{}.tif",
        csv.lines().nth(1).unwrap().split(',').next().unwrap()
    )))
    .unwrap();
    let o = dispr(&[
        "features",
        "--data",
        s(&data),
        "--pred",
        s(&preds),
        "--out",
        s(&csv_path),
    ]);
    assert_fails(&o, 1, &["no prediction for cell"]);
    // With a pixel size, features are in µm: each scales with its dimension.
    let um_path = dir.path().join("f_um.csv");
    let o = ok(&[
        "features",
        "--data",
        s(&data),
        "--out",
        s(&um_path),
        "--pixel-size",
        "0.5",
    ]);
    assert!(text(&o.stdout).contains("in µm, voxels of 0.5 µm"));
    let table = |path: &std::path::Path| -> Vec<std::collections::HashMap<String, String>> {
        let mut r = csv::Reader::from_path(path).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        r.records()
            .map(|rec| {
                header
                    .iter()
                    .cloned()
                    .zip(rec.unwrap().iter().map(String::from))
                    .collect()
            })
            .collect()
    };
    let (vox, um) = (table(&csv_path_truth(&dir)), table(&um_path));
    let value = |row: &std::collections::HashMap<String, String>, c: &str| -> f64 {
        row[c].parse().unwrap_or_else(|_| panic!("{c}"))
    };
    for (v, u) in vox.iter().zip(&um) {
        for (col_vox, col_um, factor) in [
            ("volume_vox3", "volume_um3", 0.125),
            ("surface_area_vox2", "surface_area_um2", 0.25),
            ("curvature_per_vox", "curvature_per_um", 2.0),
            ("radial_mean_vox", "radial_mean_um", 0.5),
            ("sphericity", "sphericity", 1.0),
        ] {
            let (a, b) = (value(v, col_vox) * factor, value(u, col_um));
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "{col_um}: {a} vs {b}"
            );
        }
    }
    // Voxels that are not cubes: features stay in voxels, and a note says why.
    let o = ok(&[
        "features",
        "--data",
        s(&data),
        "--out",
        s(&um_path),
        "--pixel-size",
        "0.5",
        "--z-step",
        "1.5",
    ]);
    assert!(
        text(&o.stderr).contains("are not cubes"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        std::fs::read_to_string(&um_path)
            .unwrap()
            .starts_with("name,class,source,volume_vox3,")
    );
    let help = dispr(&["features", "--help"]);
    assert!(
        text(&help.stdout).contains("sphericity"),
        "every feature is documented in --help"
    );
}

#[test]
fn classify_with_and_without_augmentation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&[
        "synth",
        "--out",
        s(&data),
        "--n",
        "30",
        "--classes",
        "keratocyte,knizocyte,multilobate",
        "--seed",
        "2",
    ]);
    let real = dir.path().join("real.csv");
    ok(&["features", "--data", s(&data), "--out", s(&real)]);
    let preds = dir.path().join("cyl");
    ok(&[
        "baseline",
        "cylinder",
        "--data",
        s(&data),
        "--out",
        s(&preds),
    ]);
    let generated = dir.path().join("gen.csv");
    ok(&[
        "features",
        "--data",
        s(&data),
        "--pred",
        s(&preds),
        "--out",
        s(&generated),
    ]);
    let report = dir.path().join("report");
    let o = ok(&[
        "classify",
        "--features",
        s(&real),
        "--augment",
        s(&generated),
        "--folds",
        "3",
        "--trees",
        "50",
        "--out",
        s(&report),
    ]);
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("| without augmentation |") && stdout.contains("| with augmentation |"),
        "{stdout}"
    );
    // What ± means, and with against without augmentation per cell, paired.
    assert!(
        stdout.contains("mean ± standard deviation over the 3 folds"),
        "{stdout}"
    );
    assert!(stdout.contains("| all | 30 |"), "{stdout}");
    assert!(stdout.contains("exact McNemar p"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("classification.json")).unwrap())
            .unwrap();
    let confusion = json["without"]["confusion"].as_array().unwrap();
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 30, "every cell tested exactly once");
    let effect = &json["with_against_without"]["all_cells"];
    assert_eq!(effect["cells"], 30);
    let (without, with) = (
        effect["accuracy_without"].as_f64().unwrap(),
        effect["accuracy_with"].as_f64().unwrap(),
    );
    let difference = effect["difference"].as_f64().unwrap();
    assert!((with - without - difference).abs() < 1e-12);
    assert!(effect["ci_low"].as_f64().unwrap() <= difference);
    assert!(difference <= effect["ci_high"].as_f64().unwrap());
    let (gained, lost) = (
        effect["gained"].as_f64().unwrap(),
        effect["lost"].as_f64().unwrap(),
    );
    assert!((difference - (gained - lost) / 30.0).abs() < 1e-12);
    // The per-cell predictions of both conditions.
    let folds_csv = std::fs::read_to_string(report.join("folds.csv")).unwrap();
    assert!(folds_csv.starts_with("name,class,fold,predicted_without,predicted_with\n"));
    assert_eq!(folds_csv.lines().count(), 31);
    // --json prints the same report on standard output, and nothing else.
    let o = ok(&[
        "classify",
        "--features",
        s(&real),
        "--augment",
        s(&generated),
        "--folds",
        "3",
        "--trees",
        "50",
        "--out",
        s(&report),
        "--json",
        "-q",
    ]);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        printed["with_against_without"],
        json["with_against_without"]
    );
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    // Three classes, all augmented: each fold adds the rows of its training cells only.
    let added: Vec<u64> = json["with"]["augmented"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(
        added.iter().sum::<u64>(),
        2 * 30,
        "each cell's row joins the 2 folds it trains in"
    );
    for f in [
        "summary.md",
        "folds.csv",
        "per_class.csv",
        "confusion.png",
        "confusion.svg",
        "confusion_augmented.png",
    ] {
        assert!(report.join(f).is_file(), "{f}");
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name,class,source,a\nx,cluster,x,oops\n").unwrap();
    let o = dispr(&["classify", "--features", s(&bad), "--out", s(&report)]);
    assert_fails(
        &o,
        1,
        &["bad.csv: line 2: feature 'a' is 'oops', not a finite number"],
    );
}
