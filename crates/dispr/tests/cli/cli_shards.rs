//! Sharded prediction (`dispr predict --shard K/N`, `dispr merge`) and resume by cell:
//! the union of the shards is the unsharded run byte for byte, whatever the thread
//! count; a killed run keeps its finished cells; and the refusals of both commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_fails, dispr, ok, s, text};

/// Every file under `dir` (relative paths, sorted), except those of `skip`.
fn files(dir: &Path, skip: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if skip.iter().any(|k| rel.starts_with(k)) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(rel);
            }
        }
    }
    found.sort();
    found
}

/// The files a prediction run writes that must not depend on how it was run: each
/// cell's samples, probability, std, ensemble, mesh and gallery image, and cells.csv.
/// (predict.json, index.html and the journal carry times, thread counts and the
/// command line.)
const RUN_RECORDS: &[&str] = &[
    "predict.json",
    "index.html",
    "journal.jsonl",
    ".dispr-manifest",
];

/// Asserts that `b` holds the same cell files as `a`, byte for byte.
fn assert_same_cells(a: &Path, b: &Path, skip_b: &[&str]) {
    let fa = files(a, RUN_RECORDS);
    let skip: Vec<&str> = RUN_RECORDS.iter().chain(skip_b).copied().collect();
    let fb = files(b, &skip);
    assert_eq!(fa, fb, "the two runs wrote different files");
    assert!(fa.iter().any(|f| f.ends_with("cells.csv")));
    for f in &fa {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{} differs between {} and {}",
            f.display(),
            a.display(),
            b.display()
        );
    }
}

/// Synthetic cells and a `tiny` model trained on none of them (so every cell is
/// predicted), in `tmp`.
fn data_and_model(tmp: &Path, n: usize) -> (PathBuf, PathBuf) {
    let data = tmp.join("data");
    let other = tmp.join("other");
    let run = tmp.join("run");
    ok(&[
        "synth",
        "--out",
        s(&data),
        "--n",
        &n.to_string(),
        "--seed",
        "3",
    ]);
    ok(&["synth", "--out", s(&other), "--n", "4", "--seed", "9"]);
    ok(&[
        "train",
        "--data",
        s(&other),
        "--out",
        s(&run),
        "--preset",
        "tiny",
        "--steps",
        "1",
        "--batch",
        "1",
        "-q",
    ]);
    (data, run)
}

fn predict(model: &Path, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "predict",
        "--model",
        s(model),
        "--data",
        s(data),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    // Few samples and steps unless the caller says otherwise.
    if !extra.contains(&"--samples") {
        args.extend_from_slice(&["--samples", "2"]);
    }
    if !extra.contains(&"--steps") {
        args.extend_from_slice(&["--steps", "2"]);
    }
    dispr(&args)
}

#[test]
fn the_union_of_the_shards_is_the_unsharded_run_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, model) = data_and_model(tmp.path(), 7);
    let whole = tmp.path().join("whole");
    let sharded = tmp.path().join("sharded");
    let out = predict(&model, &data, &whole, &["--threads", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Three shards, each on another thread count; 7 cells deal out as 3 + 2 + 2.
    for (k, threads) in [(1, "1"), (2, "2"), (3, "1")] {
        let out = predict(
            &model,
            &data,
            &sharded,
            &["--shard", &format!("{k}/3"), "--threads", threads],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let folder = sharded.join(format!("shard-{k}-of-3"));
        assert!(
            text(&out.stdout).contains(&format!("report: {}", folder.join("index.html").display())),
            "{}",
            text(&out.stdout)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("predict.json")).unwrap()).unwrap();
        assert_eq!(report["cells"], if k == 1 { 3 } else { 2 });
    }
    // `dispr evaluate` reads the shards before they are merged, as one run.
    let eval = |pred: &Path, report: &Path| {
        ok(&[
            "evaluate",
            "--data",
            s(&data),
            "--pred",
            &format!("dispr={}", s(pred)),
            "--out",
            s(report),
            "--json",
        ])
    };
    let whole_eval = eval(&whole, &tmp.path().join("eval-whole"));
    let sharded_eval = eval(&sharded, &tmp.path().join("eval-sharded"));
    assert_eq!(
        std::fs::read(tmp.path().join("eval-whole/cells.csv")).unwrap(),
        std::fs::read(tmp.path().join("eval-sharded/cells.csv")).unwrap(),
        "evaluate differs on the unmerged shards"
    );
    assert!(whole_eval.status.success() && sharded_eval.status.success());

    let merged = ok(&["merge", s(&sharded)]);
    assert!(
        text(&merged.stdout).contains("merged 3 shards: 7 cells"),
        "{}",
        text(&merged.stdout)
    );
    assert_same_cells(
        &whole,
        &sharded,
        &["shard-1-of-3", "shard-2-of-3", "shard-3-of-3"],
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sharded.join("predict.json")).unwrap()).unwrap();
    assert_eq!(report["cells"], 7);
    assert_eq!(report["merged_shards"], 3);
    let page = std::fs::read_to_string(sharded.join("index.html")).unwrap();
    assert!(page.contains("summed over 3 shards"), "{page}");

    // The merged folder's journal lists every cell: the whole run rerun into it
    // predicts nothing again.
    let rerun = predict(&model, &data, &sharded, &[]);
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    assert!(
        text(&rerun.stderr).contains("kept 7 cells"),
        "{}",
        text(&rerun.stderr)
    );
    assert_same_cells(
        &whole,
        &sharded,
        &["shard-1-of-3", "shard-2-of-3", "shard-3-of-3"],
    );
}

#[test]
fn a_killed_run_keeps_its_finished_cells_and_a_rerun_predicts_only_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, model) = data_and_model(tmp.path(), 6);
    let whole = tmp.path().join("whole");
    let killed = tmp.path().join("killed");
    let slow = ["--samples", "3", "--steps", "4", "--threads", "1"];
    let out = predict(&model, &data, &whole, &slow);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Start the same run and kill it (SIGKILL: no clean-up) once a cell is journalled.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args([
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&data),
            "--out",
            s(&killed),
        ])
        .args(&slow[..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = killed.join("journal.jsonl");
    let start = Instant::now();
    let journalled = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().filter(|l| !l.is_empty()).count())
            .unwrap_or(0)
    };
    while journalled() == 0 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let done = journalled();
    assert!(done >= 1, "no cell was journalled");
    assert!(!killed.join("predict.json").exists() || status.success());

    let rerun = predict(&model, &data, &killed, &slow);
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(killed.join("predict.json")).unwrap()).unwrap();
    assert_eq!(report["cells"], 6);
    if !status.success() {
        // Killed before the end: the rerun kept what was journalled, predicted the rest.
        let resumed = report["resumed"].as_u64().unwrap() as usize;
        assert!(
            resumed >= done.min(6) && resumed < 6,
            "resumed {resumed} of {done}"
        );
        assert!(
            text(&rerun.stderr).contains(&format!("kept {resumed} cell")),
            "{}",
            text(&rerun.stderr)
        );
    }
    assert_same_cells(&whole, &killed, &[]);

    // A cell whose files went missing is predicted again, not trusted to the journal.
    let gone = std::fs::read_dir(killed.join("ensemble"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&gone).unwrap();
    let again = predict(&model, &data, &killed, &slow);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("kept 5 cells"),
        "{}",
        text(&again.stderr)
    );
    assert_same_cells(&whole, &killed, &[]);

    // Other settings are another prediction: nothing is kept.
    let other = predict(&model, &data, &killed, &["--samples", "3", "--steps", "3"]);
    assert!(other.status.success(), "{}", text(&other.stderr));
    assert!(
        !text(&other.stderr).contains("kept "),
        "{}",
        text(&other.stderr)
    );
}

#[test]
fn bad_shards_and_unmergeable_runs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, model) = data_and_model(tmp.path(), 4);
    let out = tmp.path().join("out");
    for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
        assert_fails(
            &predict(&model, &data, &out, &["--shard", bad]),
            2,
            &["--shard"],
        );
    }
    // A shard needs a dataset to split.
    let cell = data
        .join("image")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mask = data.join("mask").join(cell.file_name().unwrap());
    assert_fails(
        &dispr(&[
            "predict",
            s(&cell),
            s(&mask),
            "--out",
            s(&out),
            "--model",
            s(&model),
            "--shard",
            "1/2",
        ]),
        2,
        &["--shard"],
    );
    // More shards than cells: an empty shard would fail its task, so N is refused.
    assert_fails(
        &predict(&model, &data, &out, &["--shard", "1/5"]),
        1,
        &["--shard 1/5: the run has", "so at most"],
    );
    // Merging: nothing to merge, a missing shard, an unfinished shard, mixed runs.
    assert_fails(&dispr(&["merge", s(&out)]), 1, &["no such folder"]);
    assert!(!out.exists(), "merge made the folder it was asked to merge");
    std::fs::create_dir_all(&out).unwrap();
    assert_fails(&dispr(&["merge", s(&out)]), 1, &["holds no shard folders"]);
    let o = predict(&model, &data, &out, &["--shard", "1/2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_fails(&dispr(&["merge", s(&out)]), 1, &["shard 2 of 2 is missing"]);
    std::fs::create_dir_all(out.join("shard-2-of-2")).unwrap();
    assert_fails(&dispr(&["merge", s(&out)]), 1, &["has not finished"]);
    let o = predict(&model, &data, &out, &["--shard", "2/2", "--samples", "3"]);
    // (shard 2's folder existed unfinished: the run takes it over)
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_fails(
        &dispr(&["merge", s(&out)]),
        1,
        &["differs from shard 1", "samples"],
    );
    let o = predict(&model, &data, &out, &["--shard", "2/2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = predict(&model, &data, &out, &["--shard", "1/3", "--all-cells"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_fails(&dispr(&["merge", s(&out)]), 1, &["split 2 and 3 ways"]);
    std::fs::remove_dir_all(out.join("shard-1-of-3")).unwrap();
    ok(&["merge", s(&out), "-q"]);
}
