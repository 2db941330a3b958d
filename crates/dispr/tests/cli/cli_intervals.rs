//! Calibrated 90 % intervals: `dispr model intervals` fits them on held-out predictions
//! of two fold models, `dispr evaluate` shows their cross-fitted coverage, `dispr
//! predict` reports them in cells.csv and says whether they apply; mistakes are refused
//! by name.

use crate::common::{assert_fails, dispr, ok, s, text};

#[test]
fn intervals_are_fitted_on_held_out_folds_and_predict_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&["synth", "--out", s(&data), "--n", "24", "--seed", "5"]);
    let run = |fold: &str| tmp.path().join(format!("run{fold}"));
    let pred = |name: &str| tmp.path().join(name);
    let path = |p: std::path::PathBuf| s(&p).to_string();
    let run_dispr = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        dispr(&args)
    };
    let predict = |fold: &str, out: &str, samples: &str, extra: &[&str]| {
        let mut args: Vec<String> = vec![
            "predict".into(),
            "--model".into(),
            path(run(fold)),
            "--data".into(),
            s(&data).into(),
            "--out".into(),
            path(pred(out)),
            "--samples".into(),
            samples.into(),
            "--steps".into(),
            "2".into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let out = run_dispr(args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        out
    };
    for fold in ["0", "1"] {
        ok(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&run(fold)),
            "--preset",
            "tiny",
            "--fold",
            fold,
            "--folds",
            "2",
            "--batch",
            "1",
            "--steps",
            "2",
        ]);
        predict(fold, &format!("held{fold}"), "3", &[]);
    }
    let intervals = |preds: &[&str]| {
        let mut args: Vec<String> = vec![
            "model".into(),
            "intervals".into(),
            "--model".into(),
            path(run("0")),
            "--data".into(),
            s(&data).into(),
        ];
        for p in preds {
            args.extend(["--pred".to_string(), path(pred(p))]);
        }
        run_dispr(args)
    };
    let out = intervals(&["held0", "held1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("calibrated on 24 held-out cells (2 folds, ddim-2-eta0 × 3)")
            && stdout.contains("| held-out | volume | 24 |"),
        "{stdout}"
    );
    let file = run("0").join("checkpoint.dispr.intervals.json");
    let fitted: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(fitted["samples"], 3);
    let volume = &fitted["coverage"][0];
    assert_eq!(volume["measure"], "volume");
    assert!(
        volume["calibrated"].as_f64().is_some(),
        "cross-fitted: {volume}"
    );
    let info = ok(&["model", "info", "--model", s(&run("0"))]);
    assert!(
        text(&info.stdout).contains("90 % intervals calibrated on 24 held-out cells"),
        "{}",
        text(&info.stdout)
    );

    // Drawn as the held-out predictions were: cells.csv has the calibrated interval
    // around each cell's mean, and the run says so.
    let out = predict("0", "calibrated", "3", &["--all-cells"]);
    assert!(
        text(&out.stdout).contains("90 % intervals (lo90, hi90): calibrated on 24"),
        "{}",
        text(&out.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred("calibrated").join("predict.json")).unwrap())
            .unwrap();
    assert_eq!(report["intervals"][0]["measure"], "volume");
    let table = std::fs::read_to_string(pred("calibrated").join("cells.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(table.as_bytes());
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut checked = 0;
    for row in rows.records() {
        let row = row.unwrap();
        let v = |name: &str| row[col(name)].parse::<f64>().unwrap();
        let (lo, mean, hi) = (
            v("volume_vox3_lo90"),
            v("volume_vox3_mean"),
            v("volume_vox3_hi90"),
        );
        assert!(lo >= 0.0 && lo <= mean && mean <= hi, "{lo} {mean} {hi}");
        checked += 1;
    }
    assert_eq!(checked, 24);
    // Drawn otherwise: the samples' own range only, and why.
    let out = predict("0", "other", "2", &["--all-cells"]);
    assert!(
        text(&out.stdout).contains(
            "not calibrated: the model's interval calibration holds for ddim-2-eta0 with 3 samples per cell at level 0"
        ) && text(&out.stdout).contains("2 samples per cell, not 3"),
        "{}",
        text(&out.stdout)
    );
    let table = std::fs::read_to_string(pred("other").join("cells.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(table.as_bytes());
    let lo90 = rows
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "volume_vox3_lo90")
        .unwrap();
    for row in rows.records() {
        assert_eq!(&row.unwrap()[lo90], "", "no calibrated interval");
    }

    // The pooled folds' evaluation shows the coverage before and after.
    let out = ok(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        &format!("tiny={}", s(&pred("held0"))),
        "--pred",
        &format!("tiny={}", s(&pred("held1"))),
        "--out",
        s(&tmp.path().join("eval")),
    ]);
    assert!(
        text(&out.stdout).contains("90 % intervals per cell"),
        "{}",
        text(&out.stdout)
    );
    assert!(tmp.path().join("eval/intervals.csv").is_file());
    let page = std::fs::read_to_string(tmp.path().join("eval/index.html")).unwrap();
    assert!(page.contains("<h2>90 % intervals per cell</h2>"));

    // The built-in model carries intervals for its default draw.
    let info = ok(&["model", "info", "--model", "builtin"]);
    assert!(
        text(&info.stdout).contains("90 % intervals calibrated on"),
        "{}",
        text(&info.stdout)
    );
    let builtin = tmp.path().join("builtin");
    let out = ok(&[
        "predict",
        "--data",
        s(&data),
        "--out",
        s(&builtin),
        "--cells",
        "0.00_discocyte000011",
        "--all-cells",
    ]);
    assert!(
        text(&out.stdout).contains("90 % intervals (lo90, hi90): calibrated on"),
        "{}",
        text(&out.stdout)
    );

    // Refusals: one fold only, cells the model trained on, folds drawn differently,
    // another model's file.
    assert_fails(
        &intervals(&["held0"]),
        1,
        &["1 prediction folder given", "at least two"],
    );
    predict("1", "seen", "3", &["--all-cells"]);
    assert_fails(
        &intervals(&["held0", "seen"]),
        1,
        &["seen", "trained on cell"],
    );
    assert_fails(
        &intervals(&["held0", "other"]),
        1,
        &["other", "every fold must be drawn alike"],
    );
    let mut edited = fitted.clone();
    edited["model_sha256"] = serde_json::json!("0".repeat(64));
    std::fs::write(&file, serde_json::to_string(&edited).unwrap()).unwrap();
    assert_fails(
        &dispr(&["model", "info", "--model", s(&run("0"))]),
        1,
        &["checkpoint.dispr.intervals.json", "another model"],
    );
}
