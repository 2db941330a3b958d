//! `dispr reproduce --budget quick` on the real sample: the whole paper end to end, killed
//! part way (SIGKILL) and resumed without redoing a finished unit; the page it writes;
//! and its refusals.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{assert_fails, dispr, s, text};
use dispr_core::io::atomic::PARTIAL_PREFIX;

/// The finished units' records in `out` (file name, modification time).
fn records(out: &Path) -> Vec<(String, SystemTime)> {
    let Ok(dir) = std::fs::read_dir(out.join("work/done")) else {
        return Vec::new();
    };
    // Records, not the temporary file of one being written when the run was killed
    // (the rerun neither keeps nor counts it).
    let mut r: Vec<(String, SystemTime)> = dir
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect();
    r.sort();
    r
}

#[test]
fn quick_reproduces_the_paper_and_a_killed_run_resumes_without_redoing_work() {
    let Some(data) = dispr_testkit::real_sample_or_skip(
        "quick_reproduces_the_paper_and_a_killed_run_resumes_without_redoing_work",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("paper");
    let args = [
        "reproduce",
        "--data",
        s(&data),
        "--out",
        s(&out),
        "--budget",
        "quick",
        "--jobs",
        "2",
    ];

    // Start the run and kill it (SIGKILL: no clean-up) once the first models are trained.
    let mut child = Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while records(&out).len() < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no progress in 10 minutes"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it was killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = records(&out);
    assert!(before.len() >= 5, "{before:?}");
    assert!(
        !out.join("report/index.html").exists(),
        "killed before the end"
    );

    // The rerun keeps every finished unit (their records untouched) and does the rest.
    let rerun = dispr(&args);
    let stdout = text(&rerun.stdout);
    let stderr = text(&rerun.stderr);
    assert!(rerun.status.success(), "{stderr}");
    let after = records(&out);
    for (name, time) in &before {
        let kept = after.iter().find(|(n, _)| n == name);
        assert_eq!(kept, Some(&(name.clone(), *time)), "{name} was redone");
    }
    assert!(after.len() > before.len());
    assert!(
        stderr.contains(&format!("kept {} of {} units", before.len(), after.len())),
        "{stderr}"
    );
    for unit in &before {
        let id = unit.0.trim_end_matches(".json");
        let described = match id {
            "synthetic-other" => "synthesize 5 cells (synthetic-other)".to_string(),
            "synthetic-sde" => "synthesize 2 cells (synthetic-sde)".to_string(),
            _ => continue,
        };
        assert!(!stderr.contains(&described), "{id} ran again:\n{stderr}");
    }

    // Table 1 and Fig. 5 as printed: every method, every condition.
    for method in [
        "| ddim-2 |",
        "| ddim-4 |",
        "| shapr |",
        "| shapr-topo |",
        "| cylinder |",
        "| ellipsoid |",
        "| nearest-3 |",
    ] {
        assert!(stdout.contains(method), "{method} missing:\n{stdout}");
    }
    for condition in [
        "without augmentation",
        "with dispr shapes",
        "with cylinder shapes",
        "with ellipsoid shapes",
    ] {
        assert!(stdout.contains(condition), "{condition}:\n{stdout}");
    }

    // Every held-out cell was predicted by the fold model that never saw it.
    for fold in 0..5 {
        let journal = out.join(format!("work/predictions/ddim-4/fold{fold}/predict.json"));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
        assert_eq!(report["cells"], 4, "fold {fold}: {report}");
    }

    // One self-contained page: its pictures embedded, its sections present.
    let page = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    for section in [
        "What was run",
        "Table 1",
        "Per cell, with intervals",
        "Per cell, paired with the baselines",
        "Per class",
        "Sampler steps",
        "Fig. 5",
        "Time per stage",
        "SHA-256",
    ] {
        assert!(page.contains(section), "{section} missing from the page");
    }
    assert!(!page.contains("src=\"table1/"), "pictures must be embedded");
    assert!(page.matches("data:image/png;base64,").count() >= 10);
    for link in [
        "table1/index.html",
        "fig5/dispr/summary.md",
        "fig5/features/real.csv",
    ] {
        assert!(out.join("report").join(link).is_file(), "{link}");
    }

    // A finished run run again redoes nothing.
    let again = dispr(&args);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(records(&out), after);

    // Another budget in the same folder is refused.
    let full = dispr(&["reproduce", "--data", s(&data), "--out", s(&out)]);
    assert_fails(&full, 1, &["holds a --budget quick run", "another --out"]);
}

#[test]
fn reproduce_refuses_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let bad_budget = dispr(&[
        "reproduce",
        "--data",
        s(tmp.path()),
        "--out",
        s(&out),
        "--budget",
        "huge",
    ]);
    assert_fails(&bad_budget, 2, &["--budget", "huge"]);
    let missing = tmp.path().join("nothing-here");
    let no_data = dispr(&["reproduce", "--data", s(&missing), "--out", s(&out)]);
    assert_fails(&no_data, 1, &["nothing-here"]);
    // A dataset without 3D shapes cannot be reproduced.
    let data = tmp.path().join("no-shapes");
    let synth = dispr(&["synth", "--out", s(&data), "--n", "6", "--seed", "3"]);
    assert!(synth.status.success(), "{}", text(&synth.stderr));
    std::fs::remove_dir_all(data.join("obj")).unwrap();
    let no_shapes = dispr(&["reproduce", "--data", s(&data), "--out", s(&out)]);
    assert_fails(&no_shapes, 1, &["no-shapes", "3D shape"]);
    // A folder with other files in it is not taken over.
    let busy = tmp.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let synth_ok = tmp.path().join("synth-ok");
    let made = dispr(&[
        "synth",
        "--out",
        s(&synth_ok),
        "--n",
        "10",
        "--seed",
        "3",
        "--classes",
        "sde,cluster",
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let taken = dispr(&[
        "reproduce",
        "--data",
        s(&synth_ok),
        "--out",
        s(&busy),
        "--budget",
        "quick",
    ]);
    assert_fails(&taken, 1, &["busy", "holds other files"]);
    assert_eq!(
        std::fs::read_to_string(busy.join("notes.txt")).unwrap(),
        "mine"
    );
}
