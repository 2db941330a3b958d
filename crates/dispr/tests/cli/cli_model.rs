//! `dispr model info`, `dispr train`, `dispr predict` and `dispr evaluate --fold` end to
//! end on a small synthetic dataset with the `tiny` preset, and their refusals.

use crate::common::{assert_fails, dispr, ok, s, text};

#[test]
fn model_info_prints_the_paper_parameter_count() {
    let out = text(&ok(&["model", "info"]).stdout);
    assert!(
        out.contains("paper") && out.contains("9,772,802 parameters"),
        "{out}"
    );
    assert!(out.contains("tiny") && out.contains("small"), "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&ok(&["model", "info", "--preset", "tiny", "--json"]).stdout)
            .unwrap();
    assert_eq!(json[0]["preset"], "tiny");
    assert!(json[0]["parameters"].as_u64().unwrap() > 10_000);
    // The built-in model's card: its checksum, what it was trained on.
    let card = text(&ok(&["model", "info", "--model", "builtin"]).stdout);
    let sha = dispr_nn::shipped::SHA256_FILE
        .split_whitespace()
        .next()
        .unwrap();
    assert!(card.contains(&format!("SHA-256 {sha}")), "{card}");
    assert!(
        card.contains("trained 3000 steps in 4536 s on 108 cells of the main data\n"),
        "{card}"
    );
    // Its classes, network, default sampler and the five-fold study of its recipe (the
    // default sampler's row as models/dispr-fast.study.md holds it).
    let study_row = dispr_nn::shipped::STUDY
        .lines()
        .find(|l| l.starts_with("| ddim-10-eta1-from0.7 + learnt scale (default) | 0."))
        .expect("the study has a row for the default sampler");
    for needle in [
        "classes (real + extra cells): cluster 55, keratocyte 25, knizocyte 18, multilobate 10",
        "network: fast preset, 114334 parameters, conditioned on a prior shape of every cell made by the SHAPR model it carries",
        "default sampler ddim-10-eta1-from0.7 (its calibration's)",
        "size: scale 1.026 (learnt), calibrated on 40 training cells",
        study_row,
    ] {
        assert!(card.contains(needle), "{needle}\n{card}");
    }
    // Presets are a flag value clap checks (exit 2), the same list as in `train --help`.
    assert_fails(
        &dispr(&["model", "info", "--preset", "huge"]),
        2,
        &["invalid value 'huge'", "--preset"],
    );
}

#[test]
fn train_resume_predict_evaluate_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = tmp.path().join("run");
    let pred = tmp.path().join("pred");
    ok(&["synth", "--out", s(&data), "--n", "10", "--seed", "3"]);
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            s(&data),
            "--out",
            s(&run),
            "--preset",
            "tiny",
            "--fold",
            "0",
            "--folds",
            "5",
            "--batch",
            "1",
        ];
        args.extend_from_slice(extra);
        dispr(&args)
    };
    let out = train(&["--steps", "2", "--checkpoint-every", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("trained 2 steps"),
        "{}",
        text(&out.stdout)
    );
    // A second run into the same folder is refused unless resumed or overwritten.
    assert_fails(
        &train(&["--steps", "2"]),
        1,
        &["already holds a run", "--resume"],
    );
    // Resume continues to more steps; settings other than the length cannot change.
    let resume_with = |extra: &[&str]| {
        let mut args = vec!["train", "--data", s(&data), "--out", s(&run), "--resume"];
        args.extend_from_slice(extra);
        dispr(&args)
    };
    let resumed = resume_with(&["--steps", "3"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stdout).contains("(1 this session)"),
        "{}",
        text(&resumed.stdout)
    );
    assert_fails(
        &resume_with(&["--lr", "1"]),
        1,
        &["--lr cannot change when resuming"],
    );
    // The held-out fold cannot change either (`--fold none` holds nothing out), and a
    // fold that is neither a number nor `none` is a bad flag.
    assert_fails(
        &resume_with(&["--fold", "none"]),
        1,
        &["--fold cannot change when resuming"],
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&pred),
            "--fold",
            "all",
        ]),
        2,
        &["expected a fold number (0, 1, ...) or none, got 'all'"],
    );
    let losses = std::fs::read_to_string(run.join("losses.csv")).unwrap();
    assert_eq!(losses.lines().count(), 4, "{losses}");

    // Prediction covers exactly the held-out cells, with every promised output.
    let out = ok(&[
        "predict",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&pred),
        "--samples",
        "2",
        "--steps",
        "3",
    ]);
    assert!(
        text(&out.stderr).contains("skipping 8 the model trained on"),
        "{}",
        text(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred.join("predict.json")).unwrap()).unwrap();
    assert_eq!(report["cells"], 2);
    assert_eq!(report["trained_steps"], 3);
    for cell in report["per_cell"].as_array().unwrap() {
        let name = cell["cell"].as_str().unwrap();
        for f in [
            format!("{name}_0.tif"),
            format!("{name}_1.tif"),
            format!("probability/{name}.tif"),
            format!("std/{name}.tif"),
            format!("ensemble/{name}.tif"),
            format!("mesh/{name}.stl"),
        ] {
            assert!(pred.join(&f).is_file(), "missing {f}");
        }
        assert!(!pred.join(format!("{name}_2.tif")).exists());
    }
    // A rerun with fewer samples leaves no stale sample behind.
    ok(&[
        "predict",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&pred),
        "--samples",
        "1",
        "--steps",
        "2",
    ]);
    for cell in report["per_cell"].as_array().unwrap() {
        let name = cell["cell"].as_str().unwrap();
        assert!(pred.join(format!("{name}_0.tif")).is_file());
        assert!(
            !pred.join(format!("{name}_1.tif")).exists(),
            "stale sample kept"
        );
    }
    // The predictions feed `dispr evaluate` for that fold directly.
    let report_dir = tmp.path().join("report");
    let out = ok(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        &format!("tiny={}", s(&pred)),
        "--fold",
        "0",
        "--out",
        s(&report_dir),
    ]);
    assert!(
        text(&out.stdout).contains("cells: 2"),
        "{}",
        text(&out.stdout)
    );

    // Calibration on the training cells: written beside the checkpoint, shown by
    // `model info`, used (and recorded) by predict.
    let out = ok(&[
        "model",
        "calibrate",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--cells",
        "5",
        "--samples",
        "2",
        "--steps",
        "2",
        "--eta",
        "1",
    ]);
    assert!(
        text(&out.stdout).contains("on 5 training cells × 2 samples"),
        "{}",
        text(&out.stdout)
    );
    let calibration: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run.join("checkpoint.dispr.calibration.json")).unwrap(),
    )
    .unwrap();
    // By default the scale is learnt, the level stays 0.
    assert_eq!(calibration["size_fit"], "scale");
    assert_eq!(calibration["level"], 0.0);
    let scale = calibration["scale"].as_f64().unwrap();
    assert!((0.75..=1.35).contains(&scale), "{scale}");
    let cells: Vec<&str> = calibration["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for held_out in report["per_cell"].as_array().unwrap() {
        assert!(
            !cells.contains(&held_out["cell"].as_str().unwrap()),
            "a test cell"
        );
    }
    let info = ok(&["model", "info", "--model", s(&run)]);
    assert!(
        text(&info.stdout).contains("calibrated on 5 training cells"),
        "{}",
        text(&info.stdout)
    );
    // The model draws with its own sampler, the one it was calibrated with; a flag
    // replaces that one setting of it.
    assert!(
        text(&info.stdout).contains("default sampler ddim-2-eta1"),
        "{}",
        text(&info.stdout)
    );
    let predict_args = |flags: &[&'static str]| {
        let mut args = vec![
            "predict",
            "--model",
            s(&run),
            "--data",
            s(&data),
            "--out",
            s(&pred),
            "--samples",
            "1",
        ];
        args.extend_from_slice(flags);
        args
    };
    let predict_with = |flags: &[&'static str]| {
        ok(&predict_args(flags));
        serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(pred.join("predict.json")).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(predict_with(&["--steps", "3"])["sampler"], "ddim-3-eta1");
    assert_eq!(predict_with(&["--eta", "0"])["sampler"], "ddim-2-eta0");
    assert_eq!(predict_with(&["--sampler", "ddpm"])["sampler"], "ddpm-2");
    let report = predict_with(&[]);
    assert_eq!(report["sampler"], "ddim-2-eta1");
    assert!((report["scale"].as_f64().unwrap() - scale).abs() < 1e-6);
    assert_eq!(report["size_fit"], "scale");
    assert_fails(
        &dispr(&predict_args(&["--eta", "2"])),
        2,
        &["η must be a number in [0, 1]"],
    );
    assert_fails(
        &dispr(&predict_args(&["--sampler", "ddpm", "--eta", "1"])),
        2,
        &["eta 1", "belongs to the ddim sampler", "ddpm"],
    );
    assert_fails(
        &dispr(&predict_args(&["--from-prior", "0.5"])),
        2,
        &["no prior shape to begin the walk from", "leave it out"],
    );
    // A calibration of another model is refused by name.
    let mut edited = calibration.clone();
    edited["model_sha256"] = serde_json::json!("0".repeat(64));
    std::fs::write(
        run.join("checkpoint.dispr.calibration.json"),
        serde_json::to_string(&edited).unwrap(),
    )
    .unwrap();
    assert_fails(
        &dispr(&[
            "predict",
            "--model",
            s(&run),
            "--data",
            s(&data),
            "--out",
            s(&pred),
        ]),
        1,
        &[
            "checkpoint.dispr.calibration.json",
            "calibrates another model",
        ],
    );
    // Calibrating again mends it (calibrate reads no calibration).
    let calibrate = [
        "model",
        "calibrate",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--cells",
        "5",
        "--samples",
        "1",
        "--steps",
        "2",
    ];
    ok(&calibrate);
    // An export carries the calibration over, bound to the exported file.
    let exported = tmp.path().join("m.safetensors");
    ok(&["model", "export", "--model", s(&run), "--out", s(&exported)]);
    let carried: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("m.safetensors.calibration.json")).unwrap(),
    )
    .unwrap();
    let sha = std::fs::read_to_string(tmp.path().join("m.safetensors.sha256")).unwrap();
    assert_eq!(
        carried["model_sha256"].as_str().unwrap(),
        sha.split_whitespace().next().unwrap()
    );
    ok(&[
        "predict",
        "--model",
        s(&exported),
        "--data",
        s(&data),
        "--out",
        s(&pred),
        "--samples",
        "1",
        "--steps",
        "2",
    ]);
    // A name no cell has is a bad value of --cells (exit 2).
    assert_fails(
        &dispr(&[
            "predict",
            "--model",
            s(&exported),
            "--data",
            s(&data),
            "--out",
            s(&pred),
            "--cells",
            "ghost",
        ]),
        2,
        &["no cell named 'ghost'"],
    );
    // On cells it never saw as well (--all-cells: a user's own cells with 3D truth):
    // all 10, not only its 8 training cells, drawn with the model's own sampler when no
    // flag names one (the mended calibration's ddim-2-eta0, 2 steps).
    let out = ok(&[
        "model",
        "calibrate",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--all-cells",
        "--cells",
        "1000",
        "--samples",
        "1",
    ]);
    assert!(
        text(&out.stdout).contains("on 10 cells × 1 samples (ddim-2-eta0)"),
        "{}",
        text(&out.stdout)
    );
    let info = ok(&["model", "info", "--model", s(&run)]);
    assert!(
        text(&info.stdout).contains("calibrated on 10 cells × 1 samples"),
        "{}",
        text(&info.stdout)
    );
    // Without it, only the training cells.
    let out = ok(&calibrate);
    assert!(
        text(&out.stdout).contains("on 5 training cells × 1 samples (ddim-2-eta0)"),
        "{}",
        text(&out.stdout)
    );
    // Training further changes the checkpoint: its calibration is removed.
    ok(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--resume",
        "--steps",
        "4",
    ]);
    assert!(!run.join("checkpoint.dispr.calibration.json").exists());

    // Refusals: unknown sampler, device and preset; a damaged checkpoint.
    let predict = |extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            s(&run),
            "--data",
            s(&data),
            "--out",
            s(&pred),
        ];
        args.extend_from_slice(extra);
        dispr(&args)
    };
    assert_fails(
        &predict(&["--sampler", "euler"]),
        2,
        &["invalid value 'euler'", "--sampler"],
    );
    // A device name is a flag value clap checks (exit 2), like the sampler's.
    assert_fails(
        &predict(&["--device", "tpu"]),
        2,
        &["invalid value 'tpu'", "--device"],
    );
    // So is a GPU this build lacks, found once the device is opened.
    assert_fails(&predict(&["--device", "cuda"]), 2, &["--features cuda"]);
    assert_fails(
        &predict(&["--steps", "5000"]),
        2,
        &["invalid value '5000'", "--steps"],
    );
    let ckpt = run.join("checkpoint.dispr");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() - 100]).unwrap();
    assert_fails(
        &predict(&[]),
        1,
        &["checkpoint.dispr", "truncated checkpoint"],
    );
    std::fs::write(&ckpt, b"not a checkpoint").unwrap();
    assert_fails(
        &predict(&[]),
        1,
        &["checkpoint.dispr", "not a dispr checkpoint"],
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&tmp.path().join("r2")),
            "--preset",
            "huge",
        ]),
        2,
        &["invalid value 'huge'", "--preset"],
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&tmp.path().join("r3")),
            "--fold",
            "5",
        ]),
        1,
        &["--fold 5 is out of range"],
    );
}

#[test]
fn shapr_with_topological_loss_trains_predicts_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = tmp.path().join("shapr");
    let pred = tmp.path().join("pred");
    ok(&["synth", "--out", s(&data), "--n", "10", "--seed", "3"]);
    let out = ok(&[
        "train",
        "--model",
        "shapr",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--preset",
        "tiny",
        "--fold",
        "0",
        "--steps",
        "2",
        "--topo-weight",
        "0.1",
        "--topo-dims",
        "0,2",
    ]);
    assert!(text(&out.stdout).contains("trained 2 steps"));
    let info = text(&ok(&["model", "info", "--model", s(&run)]).stdout);
    assert!(
        info.contains("shapr") && info.contains("λ = 0.1 on dimensions [0, 2]"),
        "{info}"
    );
    ok(&[
        "predict",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&pred),
    ]);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred.join("predict.json")).unwrap()).unwrap();
    assert_eq!(report["model_kind"], "shapr");
    assert_eq!(report["samples"], 1);
    for cell in report["per_cell"].as_array().unwrap() {
        let name = cell["cell"].as_str().unwrap();
        // One shape per cell, named as the baselines' so evaluate reads it as one method.
        assert!(pred.join(format!("{name}.tif")).is_file());
        assert!(pred.join(format!("probability/{name}.tif")).is_file());
        assert!(pred.join(format!("mesh/{name}.stl")).is_file());
        assert!(!pred.join(format!("{name}_0.tif")).exists());
    }
    let out = ok(&[
        "evaluate",
        "--data",
        s(&data),
        "--pred",
        &format!("shapr={}", s(&pred)),
        "--fold",
        "0",
        "--out",
        s(&tmp.path().join("report")),
    ]);
    let table = text(&out.stdout);
    assert!(
        table.contains("shapr") && !table.contains("shapr ensemble"),
        "{table}"
    );
    // Refusals: SHAPR flags on DISPR, an unknown model, and a changed model on resume.
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", s(&data), "--preset", "tiny"];
        args.extend_from_slice(extra);
        dispr(&args)
    };
    let other = tmp.path().join("other");
    assert_fails(
        &train(&["--out", s(&other), "--topo-weight", "0.1"]),
        1,
        &["apply to --model shapr"],
    );
    assert_fails(
        &train(&["--out", s(&other), "--model", "unet"]),
        2,
        &["invalid value 'unet'", "--model"],
    );
    assert_fails(
        &train(&["--out", s(&run), "--resume", "--topo-weight", "1"]),
        1,
        &["--topo-weight cannot change when resuming"],
    );
    assert_fails(
        &train(&["--out", s(&other), "--model", "shapr", "--topo-dims", "0,3"]),
        1,
        &["homology dimensions are 0, 1 and 2"],
    );
}

/// A model conditioned on the nearest-k prior trains, says so on its card, is exported
/// with its reference cells and predicts from the exported file alone; bad uses of
/// `--prior-k` are refused.
#[test]
fn a_model_with_a_prior_trains_exports_and_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = tmp.path().join("run");
    let model = tmp.path().join("prior.safetensors");
    ok(&["synth", "--out", s(&data), "--n", "10", "--seed", "4"]);
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", s(&data), "--preset", "tiny"];
        args.extend_from_slice(extra);
        dispr(&args)
    };
    let out = train(&[
        "--out",
        s(&run),
        "--fold",
        "0",
        "--steps",
        "2",
        "--prior-k",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("conditioned on the nearest-3 prior of 8 cells"),
        "{}",
        text(&out.stderr)
    );
    ok(&["model", "export", "--model", s(&run), "--out", s(&model)]);
    // The exported file is all prediction needs: the run folder goes.
    std::fs::remove_dir_all(&run).unwrap();
    let info = text(&ok(&["model", "info", "--model", s(&model)]).stdout);
    assert!(
        info.contains("conditioned on the nearest-3 prior shape of its training cells"),
        "{info}"
    );
    let pred = tmp.path().join("pred");
    let predict = |flags: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--out",
            s(&pred),
            "--samples",
            "2",
        ];
        args.extend_from_slice(flags);
        let out = dispr(&args);
        let report = out.status.success().then(|| {
            serde_json::from_slice::<serde_json::Value>(
                &std::fs::read(pred.join("predict.json")).unwrap(),
            )
            .unwrap()
        });
        (out, report)
    };
    let (_, report) = predict(&[]);
    // The two held-out cells (predict skips the cells the model trained on).
    assert_eq!(report.unwrap()["per_cell"].as_array().unwrap().len(), 2);
    // Begun half-way from the prior shape: half the network evaluations.
    let from = |fraction| predict(&["--steps", "4", "--from-prior", fraction]);
    assert_eq!(from("0.5").1.unwrap()["sampler"], "ddim-4-eta0-from0.5");
    assert_fails(
        &from("0").0,
        2,
        &["--from-prior", "0 is not a fraction in (0, 1]"],
    );
    assert_fails(&from("0.25").0, 2, &["leaves at least 2"]);

    let other = tmp.path().join("other");
    assert_fails(
        &train(&["--out", s(&other), "--prior-k", "0"]),
        2,
        &["--prior-k"],
    );
    assert_fails(
        &train(&["--out", s(&other), "--model", "shapr", "--prior-k", "3"]),
        1,
        &["--prior-k and --prior-shapes apply to --model dispr"],
    );
    assert_fails(
        &train(&["--out", s(&other), "--fold", "0", "--prior-k", "8"]),
        1,
        &["a prior of 8 neighbours needs at least 9 reference cells, 8 given"],
    );
}

/// A model conditioned on given prior shapes (`--prior-shapes`, e.g. SHAPR's
/// predictions) trains on the training cells' shapes, says so on its card, and predicts
/// only with a folder of the cells' shapes, naming a missing one, or with the SHAPR model
/// it carries once exported with one; calibration reads the training folder it was
/// trained with.
#[test]
fn a_model_on_given_prior_shapes_trains_and_predicts_with_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = tmp.path().join("run");
    ok(&["synth", "--out", s(&data), "--n", "10", "--seed", "4"]);
    // The cells' own shapes stand in for a first guess (a dataset folder: its obj/).
    let out = dispr(&[
        "train",
        "--data",
        s(&data),
        "--preset",
        "tiny",
        "--out",
        s(&run),
        "--fold",
        "0",
        "--steps",
        "2",
        "--prior-shapes",
        s(&data),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("conditioned on the prior shapes in"),
        "{}",
        text(&out.stderr)
    );
    let info = text(&ok(&["model", "info", "--model", s(&run)]).stdout);
    assert!(
        info.contains("a prior shape given with every cell"),
        "{info}"
    );
    let predict = |out: &str, extra: &[&str]| {
        let out = tmp.path().join(out);
        let mut args = vec![
            "predict",
            "--model",
            s(&run),
            "--data",
            s(&data),
            "--samples",
            "1",
            "--out",
        ];
        args.push(s(&out));
        args.extend_from_slice(extra);
        dispr(&args)
    };
    assert_fails(
        &predict("p0", &[]),
        1,
        &["pass the folder of them (--prior-shapes)"],
    );
    let done = predict("p1", &["--prior-shapes", s(&data)]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    // Cells cut out of an image of the user's own have no frame a file could be in.
    let cell = format!("{}/image", data.display());
    let first = std::fs::read_dir(&cell)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mask = data.join("mask").join(first.file_name().unwrap());
    assert_fails(
        &dispr(&[
            "predict",
            "--model",
            s(&run),
            s(&first),
            s(&mask),
            "--out",
            s(&tmp.path().join("own")),
            "--prior-shapes",
            s(&data),
        ]),
        1,
        &["--prior-shapes takes --data DIR"],
    );
    // A folder without the cells' shapes is refused, naming the missing file.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_fails(
        &predict("p2", &["--prior-shapes", s(&empty)]),
        1,
        &["empty", ".tif: no such file"],
    );
    ok(&[
        "model",
        "calibrate",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--cells",
        "5",
        "--samples",
        "1",
    ]);
    // A calibration cell without its given shape is refused before any sampling.
    assert_fails(
        &dispr(&[
            "model",
            "calibrate",
            "--model",
            s(&run),
            "--data",
            s(&data),
            "--all-cells",
            "--prior-shapes",
            s(&empty),
        ]),
        1,
        &["empty", "no prior shape of the calibration cell"],
    );
    // Exported with a SHAPR model trained on the same cells, it makes its priors itself,
    // exactly the shapes a folder of that SHAPR's predictions gives.
    let shapr = tmp.path().join("shapr");
    ok(&[
        "train",
        "--model",
        "shapr",
        "--data",
        s(&data),
        "--preset",
        "tiny",
        "--out",
        s(&shapr),
        "--fold",
        "0",
        "--steps",
        "2",
    ]);
    // Extra data: a copy of the cells (the same names) and cells of their own.
    let (twin, extra) = (tmp.path().join("twin"), tmp.path().join("extra-cells"));
    ok(&["synth", "--out", s(&twin), "--n", "10", "--seed", "4"]);
    ok(&["synth", "--out", s(&extra), "--n", "3", "--seed", "5"]);
    let shapr_pred = tmp.path().join("shapr-pred");
    ok(&[
        "predict",
        "--model",
        s(&shapr),
        "--data",
        s(&data),
        "--out",
        s(&shapr_pred),
    ]);
    let model = tmp.path().join("model.safetensors");
    ok(&[
        "model",
        "export",
        "--model",
        s(&run),
        "--out",
        s(&model),
        "--prior-model",
        s(&shapr),
    ]);
    let info = text(&ok(&["model", "info", "--model", s(&model)]).stdout);
    assert!(
        info.contains("made by the SHAPR model it carries"),
        "{info}"
    );
    let by_itself = tmp.path().join("p3");
    let from_files = tmp.path().join("p4");
    for (out, extra) in [
        (&by_itself, vec![]),
        (&from_files, vec!["--prior-shapes", s(&shapr_pred)]),
    ] {
        let mut args = vec![
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--samples",
            "1",
            "--out",
            s(out),
        ];
        args.extend(extra);
        ok(&args);
    }
    let shapes = |dir: &std::path::Path| {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "tif"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect::<Vec<_>>()
    };
    assert!(!shapes(&by_itself).is_empty());
    assert_eq!(shapes(&by_itself), shapes(&from_files));
    // The bench times the file's prediction with its SHAPR pass counted; the run
    // itself, which needs shapes from files, is refused before any timing.
    assert_fails(
        &dispr(&[
            "bench",
            "model",
            "--models",
            "shapr",
            "--presets",
            "tiny",
            "--model",
            s(&run),
        ]),
        1,
        &["carries no model to make it"],
    );
    let bench: serde_json::Value = serde_json::from_slice(
        &ok(&[
            "bench",
            "model",
            "--models",
            "shapr",
            "--presets",
            "tiny",
            "--no-train",
            "--repeat",
            "1",
            "--predict-steps",
            "2",
            "--samples",
            "2",
            "--model",
            s(&model),
        ])
        .stdout,
    )
    .unwrap();
    let row = bench["results"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(row["source"], s(&model), "{row}");
    assert_eq!(row["prior"], "the prediction of the SHAPR model it carries");
    assert_eq!(row["predict_one_cell"]["network_evaluations"], 3, "{row}");
    assert_eq!(row["predict_one_cell"]["samples"], 2);
    assert!(
        row["predict_one_cell"]["time"]["median_s"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // The exported file exports again to the same bytes, with or without the SHAPR
    // model named again (it replaces the one carried).
    for extra in [vec![], vec!["--prior-model", s(&shapr)]] {
        let again = tmp.path().join("again.safetensors");
        let mut args = vec!["model", "export", "--model", s(&model), "--out", s(&again)];
        args.extend(extra);
        ok(&args);
        assert_eq!(
            std::fs::read(&again).unwrap(),
            std::fs::read(&model).unwrap()
        );
    }
    // Calibrating the exported model on its training cells needs their cross-fitted
    // shapes: its SHAPR saw those cells.
    assert_fails(
        &dispr(&[
            "model",
            "calibrate",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--cells",
            "5",
        ]),
        1,
        &["trained on the calibration cells"],
    );
    // A SHAPR model that trained on the held-out cells (`--fold none`: on all) is refused.
    let seen = tmp.path().join("shapr-all");
    ok(&[
        "train",
        "--model",
        "shapr",
        "--data",
        s(&data),
        "--preset",
        "tiny",
        "--out",
        s(&seen),
        "--fold",
        "none",
        "--steps",
        "1",
    ]);
    assert_fails(
        &dispr(&[
            "model",
            "export",
            "--model",
            s(&run),
            "--out",
            s(&tmp.path().join("m2")),
            "--prior-model",
            s(&seen),
        ]),
        1,
        &["which the model did not train on"],
    );
    // A run resumes with the folder it keeps, or with the same shapes found elsewhere;
    // a run without given shapes refuses them.
    ok(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--resume",
        "--steps",
        "3",
    ]);
    let moved = tmp.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&moved),
            "--out",
            s(&run),
            "--resume",
            "--steps",
            "4",
        ]),
        1,
        &["the prior shapes' folder does not exist"],
    );
    ok(&[
        "train",
        "--data",
        s(&moved),
        "--out",
        s(&run),
        "--resume",
        "--steps",
        "4",
        "--prior-shapes",
        s(&moved),
    ]);
    std::fs::rename(&moved, &data).unwrap();
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&seen),
            "--resume",
            "--prior-shapes",
            s(&data),
        ]),
        1,
        &["--prior-shapes applies to a run trained with it"],
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--preset",
            "tiny",
            "--out",
            s(&tmp.path().join("extra")),
            "--prior-shapes",
            s(&data),
            "--extra-data",
            s(&twin),
        ]),
        1,
        &["has the name of a cell of"],
    );
    // Extra cells with names of their own take their shapes from the same folder.
    let both = tmp.path().join("both");
    std::fs::create_dir_all(&both).unwrap();
    for dir in [&data, &extra] {
        for f in std::fs::read_dir(dir.join("obj")).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, both.join(f.file_name().unwrap())).unwrap();
        }
    }
    let with_extra = |out: &str, priors: &std::path::Path| {
        dispr(&[
            "train",
            "--data",
            s(&data),
            "--preset",
            "tiny",
            "--out",
            s(&tmp.path().join(out)),
            "--steps",
            "1",
            "--prior-shapes",
            s(priors),
            "--extra-data",
            s(&extra),
        ])
    };
    let trained = with_extra("extra-ok", &both);
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    assert_fails(
        &with_extra("extra-missing", &data),
        1,
        &[".tif: no such file"],
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--preset",
            "tiny",
            "--out",
            s(&tmp.path().join("both")),
            "--prior-k",
            "3",
            "--prior-shapes",
            s(&data),
        ]),
        2,
        &["--prior-shapes"],
    );
}

/// The real cells go through training and prediction: fold 0's 86 training cells are
/// read and resampled, two steps are taken, and one held-out cell is predicted on the
/// real 64³ grid and evaluated.
#[test]
fn real_sample_trains_and_predicts() {
    let Some(data) = dispr_testkit::real_sample_or_skip("real_sample_trains_and_predicts") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let pred = tmp.path().join("pred");
    let out = ok(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--preset",
        "tiny",
        "--fold",
        "0",
        "--steps",
        "2",
        "--batch",
        "1",
    ]);
    assert!(
        text(&out.stderr).contains("on 86 cells (fold 0 held out: 22 cells)"),
        "{}",
        text(&out.stderr)
    );
    let cell = "A_cell_clusters000604";
    let folds = text(&ok(&["data", "folds", s(&data)]).stdout);
    let held_out: Vec<&str> = folds
        .lines()
        .filter(|l| l.ends_with(",0"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(held_out.len(), 22);
    let name = if held_out.contains(&cell) {
        cell
    } else {
        held_out[0]
    };
    ok(&[
        "predict",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&pred),
        "--cells",
        name,
        "--samples",
        "2",
        "--steps",
        "2",
    ]);
    let shape = dispr_core::io::tiff::read_volume(&pred.join(format!("{name}_0.tif"))).unwrap();
    assert_eq!(shape.shape(), [64, 64, 64]);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred.join("predict.json")).unwrap()).unwrap();
    assert_eq!(report["cells"], 1);
    assert_eq!(report["per_cell"][0]["cell"], name);
    // The shapes compare with the ground truth like any prediction.
    ok(&[
        "metrics",
        s(&pred.join(format!("{name}_0.tif"))),
        s(&data.join("obj").join(format!("{name}.tif"))),
    ]);
}

#[test]
fn extra_data_is_trained_on_in_every_fold_and_the_built_in_model_predicts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let extra = tmp.path().join("extra");
    let run = tmp.path().join("run");
    ok(&["synth", "--out", s(&data), "--n", "10", "--seed", "3"]);
    ok(&["synth", "--out", s(&extra), "--n", "6", "--seed", "4"]);
    let out = ok(&[
        "train",
        "--data",
        s(&data),
        "--extra-data",
        s(&extra),
        "--out",
        s(&run),
        "--preset",
        "tiny",
        "--fold",
        "0",
        "--steps",
        "1",
        "--batch",
        "1",
    ]);
    // 8 of the 10 main cells (fold 0 holds out 2) and all 6 extra ones.
    assert!(
        text(&out.stderr).contains("on 14 cells, 6 of them from --extra-data"),
        "{}",
        text(&out.stderr)
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--out",
            s(&run),
            "--resume",
            "--extra-data",
            s(&extra),
        ]),
        1,
        &["--extra-data cannot change when resuming"],
    );
    assert_fails(
        &dispr(&[
            "train",
            "--data",
            s(&data),
            "--extra-data",
            s(&tmp.path().join("nowhere")),
            "--out",
            s(&tmp.path().join("run2")),
            "--preset",
            "tiny",
        ]),
        1,
        &["nowhere"],
    );
    // The main data again (spelled differently), or one folder twice, is refused.
    let respelled = data.join("..").join("data");
    for (extras, message) in [
        (vec![s(&respelled)], "is the training data itself"),
        (vec![s(&extra), s(&extra)], "is given twice"),
    ] {
        let mut args = vec!["train", "--data", s(&data), "--preset", "tiny"];
        let run2 = tmp.path().join("run2");
        args.extend(["--out", s(&run2)]);
        for e in extras {
            args.extend(["--extra-data", e]);
        }
        assert_fails(&dispr(&args), 1, &[message]);
    }
    // Without --model, the built-in fast model predicts.
    let pred = tmp.path().join("pred");
    ok(&[
        "predict",
        "--data",
        s(&data),
        "--out",
        s(&pred),
        "--samples",
        "1",
        "--steps",
        "2",
        "--cells",
        "A_cell_clusters000000",
    ]);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred.join("predict.json")).unwrap()).unwrap();
    assert_eq!(report["preset"], "fast");
    assert!(
        report["model"].as_str().unwrap().contains("built-in"),
        "{report}"
    );
    assert!(pred.join("A_cell_clusters000000_0.tif").is_file());
}

/// The built-in model's predictions of two real cells, recorded as digests of every
/// output volume: a refactor must leave them bit-identical. A change that alters
/// predictions on purpose re-records them with `scripts/fixtures/bless_golden.sh`.
#[test]
fn built_in_model_predictions_are_unchanged() {
    let Some(data) = dispr_testkit::real_sample_or_skip("built_in_model_predictions_are_unchanged")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let pred = tmp.path().join("pred");
    let cells = ["A_cell_clusters000604", "B_keratocytes000673"];
    let mut args = vec![
        "predict",
        "--data",
        s(&data),
        "--out",
        s(&pred),
        "--samples",
        "2",
        "--steps",
        "10",
        "--seed",
        "7",
        "--all-cells",
    ];
    for c in cells {
        args.extend(["--cells", c]);
    }
    ok(&args);
    let mut digests = String::new();
    for cell in cells {
        for file in [
            format!("{cell}_0.tif"),
            format!("{cell}_1.tif"),
            format!("probability/{cell}.tif"),
            format!("std/{cell}.tif"),
            format!("ensemble/{cell}.tif"),
        ] {
            let stack = dispr_core::io::tiff::read_volume(&pred.join(&file)).unwrap();
            let values = stack.to_f32();
            // FNV-1a over the values' bits, and the count of non-zero voxels for a
            // readable difference.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for v in values.data() {
                for b in v.to_bits().to_le_bytes() {
                    h ^= b as u64;
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
            let nonzero = values.data().iter().filter(|v| **v != 0.0).count();
            digests.push_str(&format!("{file} {h:016x} {nonzero}\n"));
        }
    }
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/golden_predictions.txt");
    if std::env::var_os("DISPR_BLESS").is_some() {
        std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
        std::fs::write(&fixture, &digests).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&fixture).unwrap();
    assert_eq!(
        digests, expected,
        "the built-in model's predictions changed (file, digest, non-zero voxels)"
    );
}

/// A model trained on images that state their pixel size records it, and predicts a
/// cell imaged at another pixel size at its own: resampled in, mapped back out.
#[test]
fn a_model_records_its_pixel_size_and_resamples_other_cells_to_it() {
    use dispr_core::grid::Image;
    use dispr_core::io::tiff::{read_image, read_volume, write_image_at};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&["synth", "--out", s(&data), "--n", "6", "--seed", "4"]);
    let images: Vec<std::path::PathBuf> = std::fs::read_dir(data.join("image"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for path in &images {
        let image = read_image(path).unwrap().to_f32().slice_z(0);
        write_image_at(path, &image.map(|v| v as u8), Some(0.2)).unwrap();
    }
    let run = tmp.path().join("run");
    ok(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--preset",
        "tiny",
        "--steps",
        "1",
    ]);
    let info: serde_json::Value =
        serde_json::from_slice(&ok(&["model", "info", "--model", s(&run), "--json"]).stdout)
            .unwrap();
    assert_eq!(info[0]["card"]["pixel_size_um"], 0.2);
    // One of the cells imaged at 0.1 µm: twice the pixels.
    let name = images[0].file_stem().unwrap().to_str().unwrap().to_string();
    let read = |sub: &str| {
        read_image(&data.join(sub).join(format!("{name}.tif")))
            .unwrap()
            .to_f32()
            .slice_z(0)
    };
    let twice = |im: &Image<f32>| Image::from_fn([128, 128], |[y, x]| im.at([y / 2, x / 2]) as u8);
    let (image, mask) = (
        tmp.path().join("fine.tif"),
        tmp.path().join("fine_mask.tif"),
    );
    write_image_at(&image, &twice(&read("image")), Some(0.1)).unwrap();
    write_image_at(&mask, &twice(&read("mask")), None).unwrap();
    let pred = tmp.path().join("pred");
    ok(&[
        "predict",
        "--model",
        s(&run),
        s(&image),
        s(&mask),
        "--out",
        s(&pred),
        "--samples",
        "1",
        "--steps",
        "2",
    ]);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred.join("predict.json")).unwrap()).unwrap();
    assert_eq!(record["per_cell"][0]["scale"], 2.0);
    assert_eq!(record["per_cell"][0]["downscale"], 1);
    assert_eq!(record["per_cell"][0]["pixel_size_um"], 0.1);
    let sample = read_volume(&pred.join("fine_0.tif")).unwrap();
    assert_eq!(sample.shape(), [128, 128, 128], "at the input's own pixels");
    // Told it is at the model's pixel size, it is taken as it is (a 64 × 64 field
    // centred in the 128 × 128 crop).
    ok(&[
        "predict",
        "--model",
        s(&run),
        s(&image),
        s(&mask),
        "--out",
        s(&pred),
        "--samples",
        "1",
        "--steps",
        "2",
        "--pixel-size",
        "0.2",
        "--downscale",
    ]);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pred.join("predict.json")).unwrap()).unwrap();
    assert_eq!(
        record["per_cell"][0]["scale"],
        record["per_cell"][0]["downscale"].as_f64().unwrap()
    );
}
