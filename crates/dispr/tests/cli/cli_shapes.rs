//! End-to-end tests of `dispr measure`, `metrics`, `mesh`, `baseline` and `evaluate`.

use crate::common::{assert_fails, dispr, ok, s, text};
use std::path::{Path, PathBuf};

use dispr_core::grid::{Image, Volume};
use dispr_core::io::tiff::{write_image, write_shape, write_volume};
use dispr_testkit::real_sample_or_skip;

fn core_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dispr-core/tests/fixtures")
        .join(name)
}

fn ball(n: usize, r: f64, c: [f64; 3]) -> Volume<bool> {
    Volume::from_fn([n, n, n], |[z, y, x]| {
        (z as f64 - c[0]).powi(2) + (y as f64 - c[1]).powi(2) + (x as f64 - c[2]).powi(2) <= r * r
    })
}

#[test]
fn measure_matches_the_reference_values() {
    let sphere = core_fixture("shape_sphere_r20.tif");
    let out = ok(&["measure", "--json", s(&sphere)]);
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(core_fixture("metrics.json")).unwrap())
            .unwrap();
    let want = &reference["analytic"]["sphere_r20"];
    // Voxel units (the fixture states no scale), as numbers.
    assert_eq!(v["units"], "voxels");
    assert_eq!(v["volume"].as_f64(), want["volume"].as_f64());
    assert_eq!(v["roughness"].as_f64(), want["roughness"].as_f64());
    let rel = |k: &str| (v[k].as_f64().unwrap() / want[k].as_f64().unwrap() - 1.0).abs();
    assert!(rel("surface_area") < 1e-3 && rel("curvature") < 5e-3);
    assert!(
        v["file"]
            .as_str()
            .unwrap()
            .ends_with("shape_sphere_r20.tif")
    );
    // The table form lists the file.
    let out = dispr(&["measure", s(&sphere)]);
    assert!(text(&out.stdout).contains("shape_sphere_r20.tif"));
}

#[test]
fn measure_rejects_2d_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let flat = dir.path().join("flat.tif");
    write_image(&flat, &Image::filled([8, 8], 255u8)).unwrap();
    assert_fails(
        &dispr(&["measure", s(&flat)]),
        1,
        &["flat.tif: expected a 3D stack"],
    );
    assert_fails(
        &dispr(&["measure", s(&dir.path().join("nope.tif"))]),
        1,
        &["nope.tif: not found"],
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_fails(&dispr(&["measure", s(&empty)]), 1, &["no TIFF files"]);
}

#[test]
fn mesh_writes_every_format_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let vol = dir.path().join("ball.tif");
    write_shape(&vol, &ball(20, 6.0, [9.5, 9.5, 9.5])).unwrap();
    for ext in ["stl", "ply", "obj"] {
        let out_path = dir.path().join(format!("ball.{ext}"));
        let out = ok(&["mesh", s(&vol), "--out", s(&out_path)]);
        assert!(
            text(&out.stdout).contains("closed"),
            "{}",
            text(&out.stdout)
        );
        assert!(std::fs::metadata(&out_path).unwrap().len() > 1000);
    }
    let bad = dir.path().join("ball.vtk");
    assert_fails(
        &dispr(&["mesh", s(&vol), "--out", s(&bad)]),
        1,
        &["ball.vtk: unknown mesh format"],
    );
    assert!(!bad.exists());
    let empty = dir.path().join("empty.tif");
    write_volume(&empty, &Volume::filled([4, 4, 4], 0u8)).unwrap();
    assert_fails(
        &dispr(&["mesh", s(&empty), "--out", s(&dir.path().join("e.stl"))]),
        1,
        &["shape is empty"],
    );
}

#[test]
fn metrics_pairs_files_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    let (truth, pred) = (dir.path().join("truth"), dir.path().join("pred"));
    write_shape(&truth.join("cell.tif"), &ball(24, 8.0, [11.5, 11.5, 11.5])).unwrap();
    write_shape(&pred.join("cell_0.tif"), &ball(24, 8.0, [11.5, 11.5, 11.5])).unwrap();
    write_shape(&pred.join("cell_1.tif"), &ball(24, 7.0, [11.5, 11.5, 11.5])).unwrap();
    let out = ok(&["metrics", "--json", s(&pred), s(&truth)]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "two samples and their ensemble");
    assert_eq!(lines[0]["errors"]["iou"], 1.0);
    assert_eq!(lines[0]["errors"]["volume"], 0.0);
    assert!(lines[1]["errors"]["iou"].as_f64().unwrap() < 0.8);
    let out = dispr(&[
        "metrics",
        s(&pred.join("cell_1.tif")),
        s(&truth.join("cell.tif")),
    ]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("cell "), "{}", text(&out.stdout));

    write_shape(&truth.join("other.tif"), &ball(24, 5.0, [11.5, 11.5, 11.5])).unwrap();
    assert_fails(
        &dispr(&["metrics", s(&pred), s(&truth)]),
        1,
        &["no prediction for cell 'other'"],
    );
    std::fs::remove_file(truth.join("other.tif")).unwrap();
    write_shape(&pred.join("cell_0.tif"), &ball(16, 5.0, [7.5, 7.5, 7.5])).unwrap();
    assert_fails(
        &dispr(&["metrics", s(&pred), s(&truth)]),
        1,
        &["cell_0.tif: prediction is 16×16×16 but the ground truth"],
    );
    assert_fails(
        &dispr(&["metrics", s(&pred), s(&truth.join("cell.tif"))]),
        1,
        &["give two files or two folders"],
    );
}

#[test]
fn baseline_and_evaluate_on_the_real_sample() {
    let Some(sample) = real_sample_or_skip("baseline_and_evaluate_on_the_real_sample") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cyl = dir.path().join("cylinder");
    let ell = dir.path().join("ellipsoid");
    for (kind, out_dir) in [("cylinder", &cyl), ("ellipsoid", &ell)] {
        ok(&["baseline", kind, "--data", s(&sample), "--out", s(out_dir)]);
        // 108 shapes; dispr's own bookkeeping (the manifest) is a hidden file.
        let shapes = std::fs::read_dir(out_dir)
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(shapes, 108);
    }
    let report = dir.path().join("report");
    ok(&[
        "evaluate",
        "--data",
        s(&sample),
        "--pred",
        &format!("cylinder={}", s(&cyl)),
        "--pred",
        s(&ell),
        "--out",
        s(&report),
    ]);
    let table: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(report.join("table.json")).unwrap()).unwrap();
    let median = |method: &str, metric: &str| {
        table
            .iter()
            .find(|r| r["method"] == method && r["metric"] == metric)
            .unwrap_or_else(|| panic!("{method} {metric}"))["median"]
            .as_f64()
            .unwrap()
    };
    // The mask's extrusion overlaps the truth far better than chance, worse than a model.
    assert!(
        (0.4..0.65).contains(&median("cylinder", "iou")),
        "{}",
        median("cylinder", "iou")
    );
    assert!(median("ellipsoid", "iou") < median("cylinder", "iou"));
    for metric in ["volume", "surface_area", "roughness", "curvature"] {
        let m = median("cylinder", metric);
        assert!(m > 0.05 && m < 1.0, "cylinder {metric} {m}");
    }
    for file in ["table.csv", "table.md", "cells.csv", "index.html"] {
        assert!(report.join(file).is_file(), "{file}");
    }
    let cells = std::fs::read_to_string(report.join("cells.csv")).unwrap();
    assert_eq!(cells.lines().count(), 1 + 2 * 108);
    for metric in dispr_core::experiment::evaluation::TABLE_METRICS {
        let png = std::fs::read(report.join(format!("{metric}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{metric}.png");
        let svg = std::fs::read_to_string(report.join(format!("{metric}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("cylinder (n=108)"),
            "{metric}.svg"
        );
    }
    // Only the best median of a column is bold: the cylinder's IoU, not the ellipsoid's.
    let page = std::fs::read_to_string(report.join("index.html")).unwrap();
    let iou = |m: f64| format!("{m:.3}");
    assert!(page.contains(&format!("<b>{}</b>", iou(median("cylinder", "iou")))));
    assert!(!page.contains(&format!("<b>{}</b>", iou(median("ellipsoid", "iou")))));
    assert!(page.contains("<a href=\"table.csv\">"));
    // --json prints Table 1 on standard output.
    let o = ok(&[
        "evaluate",
        "--data",
        s(&sample),
        "--pred",
        &format!("cylinder={}", s(&cyl)),
        "--pred",
        s(&ell),
        "--out",
        s(&report),
        "--json",
    ]);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed["cells"], 108);
    assert_eq!(printed["table"], serde_json::to_value(&table).unwrap());
}

/// The retrieval baseline on the real sample, cross-validated over the five folds: its
/// Table 1 row as docs/accuracy.md quotes it, every cell's neighbours drawn from the
/// other folds, and the per-cell paired comparison and calibration tables of evaluate.
#[test]
fn nearest_baseline_on_the_real_sample() {
    let Some(sample) = real_sample_or_skip("nearest_baseline_on_the_real_sample") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (near, five, cyl) = (
        dir.path().join("nearest"),
        dir.path().join("nearest5"),
        dir.path().join("cylinder"),
    );
    ok(&[
        "baseline",
        "nearest",
        "--data",
        s(&sample),
        "--out",
        s(&near),
    ]);
    ok(&[
        "baseline",
        "nearest",
        "--data",
        s(&sample),
        "--out",
        s(&five),
        "--samples",
        "5",
    ]);
    ok(&[
        "baseline",
        "cylinder",
        "--data",
        s(&sample),
        "--out",
        s(&cyl),
    ]);
    // Neighbours never come from the cell's own fold.
    let folds: std::collections::HashMap<String, String> =
        text(&ok(&["data", "folds", s(&sample)]).stdout)
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f[2].to_string())
            })
            .collect();
    let list = std::fs::read_to_string(near.join("neighbours.csv")).unwrap();
    assert_eq!(list.lines().count(), 109);
    for line in list.lines().skip(1) {
        let (cell, neighbours) = line.split_once(',').unwrap();
        let names: Vec<&str> = neighbours
            .split(' ')
            .map(|n| n.rsplit_once(':').unwrap().0)
            .collect();
        assert_eq!(names.len(), 9);
        assert!(names.iter().all(|n| folds[*n] != folds[cell] && *n != cell));
    }
    let report = dir.path().join("report");
    ok(&[
        "evaluate",
        "--data",
        s(&sample),
        "--pred",
        &format!("cylinder={}", s(&cyl)),
        "--pred",
        &format!("nearest-9={}", s(&near)),
        "--pred",
        &format!("nearest-5={}", s(&five)),
        "--baseline",
        "cylinder",
        "--baseline",
        "nearest-9",
        "--out",
        s(&report),
    ]);
    let table = std::fs::read_to_string(report.join("table.md")).unwrap();
    assert!(
        table.contains("| nearest-9 | 108 | 0.160 (") && table.contains("| 0.150 ("),
        "{table}"
    );
    let paired = std::fs::read_to_string(report.join("paired.md")).unwrap();
    assert!(
        paired.contains("| nearest-5 | cylinder | volume | 108 |"),
        "{paired}"
    );
    assert!(
        paired.contains("| nearest-5 | nearest-9 | iou | 108 |"),
        "{paired}"
    );
    assert!(
        !paired.contains("| cylinder | nearest-9 |"),
        "baselines are not compared with each other"
    );
    let calibration = std::fs::read_to_string(report.join("calibration.md")).unwrap();
    assert!(
        calibration.contains("| nearest-5 | volume | 108 | 5 |"),
        "{calibration}"
    );
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains("Per cell, paired with the baselines")
            && html.contains("Calibration of the samples")
    );
}

#[test]
fn evaluate_and_baseline_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mask = Image::from_fn([16, 16], |[y, x]| {
        (y as f64 - 8.0).powi(2) + (x as f64 - 7.0).powi(2) < 20.0
    });
    for name in ["A_cell_clusters1", "B_keratocytes2"] {
        write_image(&data.join(format!("image/{name}.tif")), &mask.to_u8_mask()).unwrap();
        write_image(&data.join(format!("mask/{name}.tif")), &mask.to_u8_mask()).unwrap();
        write_shape(
            &data.join(format!("obj/{name}.tif")),
            &ball(16, 4.0, [8.0, 8.0, 7.0]),
        )
        .unwrap();
    }
    let preds = dir.path().join("preds");
    let out = ok(&[
        "baseline",
        "ellipsoid",
        "--data",
        s(&data),
        "--out",
        s(&preds),
    ]);
    assert!(text(&out.stdout).contains("wrote 2 ellipsoid shapes (16 slices deep)"));
    let report = dir.path().join("report");
    ok(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        &format!("e={}", s(&preds)),
        "--out",
        s(&report),
    ]);

    std::fs::remove_file(preds.join("B_keratocytes2.tif")).unwrap();
    let out = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        s(&preds),
        "--out",
        s(&report),
    ]);
    assert_fails(&out, 1, &["no prediction for cell 'B_keratocytes2'"]);
    // --cells evaluates the cells predicted; a name no cell has, or a fold out of range,
    // is a bad value.
    let evaluate = |extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "--data",
            s(&data),
            "--pred",
            s(&preds),
            "--out",
            s(&report),
        ];
        args.extend(extra);
        dispr(&args)
    };
    let out = evaluate(&["--cells", "A_cell_clusters1", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["cells"], 1, "{summary}");
    assert_fails(
        &evaluate(&["--cells", "A_cell_clusters1,ghost"]),
        2,
        &["--cells", "no cell named 'ghost'"],
    );
    assert_fails(
        &evaluate(&["--fold", "7"]),
        2,
        &["--fold 7 is out of range"],
    );
    assert_fails(
        &evaluate(&["--baseline", "cylinder"]),
        2,
        &["--baseline cylinder: no method of that name"],
    );
    // Several cells without a prediction: how many, and which.
    std::fs::remove_file(preds.join("A_cell_clusters1.tif")).unwrap();
    assert_fails(
        &evaluate(&[]),
        1,
        &[
            "method 'preds' has no prediction for 2 of the 2 cells (A_cell_clusters1, B_keratocytes2)",
        ],
    );
    let out = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        "x=/does/not/exist",
        "--out",
        s(&report),
    ]);
    assert_fails(&out, 1, &["/does/not/exist: prediction folder not found"]);
    let p = format!("a={}", s(&preds));
    let out = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        &p,
        "--pred",
        &p,
        "--out",
        s(&report),
    ]);
    assert_fails(&out, 1, &["the method name 'a' is used twice"]);
    let out = dispr(&["baseline", "sphere", "--data", s(&data), "--out", s(&preds)]);
    assert_eq!(out.status.code(), Some(2));

    // An empty mask fails its cell and names it; the other cell is still written.
    write_image(
        &data.join("mask/A_cell_clusters1.tif"),
        &Image::filled([16, 16], 0u8),
    )
    .unwrap();
    let out2 = dir.path().join("preds2");
    let out = dispr(&[
        "baseline",
        "cylinder",
        "--data",
        s(&data),
        "--out",
        s(&out2),
    ]);
    assert_fails(&out, 1, &["1 of 2 cells failed"]);
    assert!(
        text(&out.stderr).contains("mask/A_cell_clusters1.tif: mask is empty"),
        "{}",
        text(&out.stderr)
    );
    assert!(out2.join("B_keratocytes2.tif").is_file());
}

#[test]
fn evaluate_pools_a_method_given_once_per_fold() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mask = Image::from_fn([16, 16], |[y, x]| {
        (y as f64 - 8.0).powi(2) + (x as f64 - 7.0).powi(2) < 20.0
    });
    let names = ["A_cell_clusters1", "B_keratocytes2", "C_knizocytes3"];
    for (i, name) in names.iter().enumerate() {
        write_image(&data.join(format!("image/{name}.tif")), &mask.to_u8_mask()).unwrap();
        write_image(&data.join(format!("mask/{name}.tif")), &mask.to_u8_mask()).unwrap();
        let truth = ball(16, 3.0 + i as f64, [8.0, 8.0, 7.0]);
        write_shape(&data.join(format!("obj/{name}.tif")), &truth).unwrap();
    }
    let all = dir.path().join("all");
    ok(&[
        "baseline",
        "ellipsoid",
        "--data",
        s(&data),
        "--out",
        s(&all),
    ]);
    // The same predictions split as two folds would write them.
    let (fold0, fold1) = (dir.path().join("fold0"), dir.path().join("fold1"));
    for (folder, cells) in [(&fold0, &names[..1]), (&fold1, &names[1..])] {
        std::fs::create_dir_all(folder).unwrap();
        for name in cells {
            let file = format!("{name}.tif");
            std::fs::copy(all.join(&file), folder.join(&file)).unwrap();
        }
    }
    let table = |preds: &[&Path], out: &str| {
        let report = dir.path().join(out);
        let mut args = vec!["evaluate", "--data", s(&data), "--out", s(&report)];
        let specs: Vec<String> = preds.iter().map(|p| format!("e={}", s(p))).collect();
        for spec in &specs {
            args.extend(["--pred", spec]);
        }
        ok(&args);
        std::fs::read_to_string(report.join("cells.csv")).unwrap()
    };
    let pooled = table(&[&fold0, &fold1], "pooled");
    assert_eq!(pooled, table(&[&all], "whole"));
    assert_eq!(pooled.lines().count(), 1 + names.len());
    // --fold given twice keeps the test cells of both folds of the split.
    let split = dir.path().join("folds.csv");
    ok(&[
        "data",
        "folds",
        s(&data),
        "--folds",
        "3",
        "--out",
        s(&split),
    ]);
    let fold_of: Vec<(String, String)> = std::fs::read_to_string(&split)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[0].to_string(), cols[2].to_string())
        })
        .collect();
    // Two different folds, and a cell in neither.
    let first = &fold_of[0].1;
    let second = &fold_of.iter().find(|(_, f)| f != first).unwrap().1;
    assert!(fold_of.iter().any(|(_, f)| f != first && f != second));
    let kept = [first, second];
    let report = dir.path().join("two-folds");
    let spec = format!("e={}", s(&all));
    let mut args = vec!["evaluate", "--data", s(&data), "--out", s(&report)];
    args.extend([
        "--pred", &spec, "--folds", "3", "--fold", kept[0], "--fold", kept[1],
    ]);
    ok(&args);
    let cells = std::fs::read_to_string(report.join("cells.csv")).unwrap();
    for (name, fold) in &fold_of {
        assert_eq!(
            cells.contains(name.as_str()),
            kept.contains(&fold),
            "{name} of fold {fold}"
        );
    }
    // A cell in two pooled folders, or in none, is refused by name.
    std::fs::copy(
        all.join(format!("{}.tif", names[0])),
        fold1.join(format!("{}.tif", names[0])),
    )
    .unwrap();
    let spec = |p: &Path| format!("e={}", s(p));
    let twice = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--out",
        s(&dir.path().join("r2")),
        "--pred",
        &spec(&fold0),
        "--pred",
        &spec(&fold1),
    ]);
    assert_fails(
        &twice,
        1,
        &["cell 'A_cell_clusters1' has predictions of method 'e' here and in"],
    );
    std::fs::remove_file(fold1.join(format!("{}.tif", names[0]))).unwrap();
    std::fs::remove_file(fold1.join(format!("{}.tif", names[2]))).unwrap();
    let missing = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--out",
        s(&dir.path().join("r3")),
        "--pred",
        &spec(&fold0),
        "--pred",
        &spec(&fold1),
    ]);
    assert_fails(
        &missing,
        1,
        &[
            "no prediction for cell 'C_knizocytes3' (expected C_knizocytes3.tif or C_knizocytes3_0.tif, …) in any of the 2 folders of method 'e'",
        ],
    );
    // Two bare folders of one folder name are two methods of one name, not a pool.
    let (a, b) = (dir.path().join("a/e"), dir.path().join("b/e"));
    for folder in [&a, &b] {
        std::fs::create_dir_all(folder).unwrap();
    }
    let bare = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--out",
        s(&dir.path().join("r4")),
        "--pred",
        s(&a),
        "--pred",
        s(&b),
    ]);
    assert_fails(&bare, 1, &["the method name 'e' is used twice"]);
    // A pooled folder with wrong files for a cell is an error, not a folder to skip.
    let name = names[1];
    std::fs::copy(
        fold1.join(format!("{name}.tif")),
        fold1.join(format!("{name}_0.tif")),
    )
    .unwrap();
    std::fs::copy(
        all.join(format!("{}.tif", names[2])),
        fold0.join(format!("{}.tif", names[2])),
    )
    .unwrap();
    let wrong = dispr(&[
        "evaluate",
        "--data",
        s(&data),
        "--out",
        s(&dir.path().join("r5")),
        "--pred",
        &spec(&fold0),
        "--pred",
        &spec(&fold1),
    ]);
    assert_fails(&wrong, 1, &["ambiguous", name]);
}
