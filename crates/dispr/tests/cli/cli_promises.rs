//! What dispr promises (docs/promises.md), one regression test per defect that attacking
//! it found (issue #19): bounded TIFF decoding, one run per output folder, deleting only
//! its own files, outputs that may not overwrite inputs, checksummed checkpoints,
//! refused non-finite and non-mask inputs, leak-free classification tables, bounded
//! flags, no leftovers or hangs, and small truths.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_fails, dispr, ok, s, text};
use dispr_core::grid::{Image, Volume};
use dispr_core::io::tiff::{write_image, write_volume};

/// A little-endian grayscale TIFF of `pages` pages of `h`×`w` 8-bit pixels whose pages
/// all point at one strip `strip` (compression 1 = none, 8 = deflate).
fn shared_strip_tiff(pages: usize, h: u32, w: u32, compression: u16, strip: &[u8]) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    let strip_offset = 8u32;
    let first_ifd = 8 + strip.len() as u32;
    out.extend(first_ifd.to_le_bytes());
    out.extend(strip);
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),
        (257, 4, h),
        (258, 3, 8),
        (259, 3, compression as u32),
        (262, 3, 1),
        (273, 4, strip_offset),
        (277, 3, 1),
        (278, 4, h),
        (279, 4, strip.len() as u32),
    ];
    let ifd_len = 2 + 12 * entries.len() as u32 + 4;
    for page in 0..pages {
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            if kind == 3 {
                out.extend((value as u16).to_le_bytes());
                out.extend(0u16.to_le_bytes());
            } else {
                out.extend(value.to_le_bytes());
            }
        }
        let next = if page + 1 < pages {
            first_ifd + ifd_len * (page as u32 + 1)
        } else {
            0
        };
        out.extend(next.to_le_bytes());
    }
    out
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Runs dispr with an address-space limit (so a regression aborts instead of swapping).
fn dispr_limited(limit_kib: u64, args: &[&str]) -> std::process::Output {
    let mut cmd = format!("ulimit -v {limit_kib}; exec \"$0\"");
    for i in 0..args.len() {
        cmd.push_str(&format!(" \"${}\"", i + 1));
    }
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(env!("CARGO_BIN_EXE_dispr"))
        .args(args)
        .output()
        .unwrap()
}

/// A small dataset of synthetic cells.
fn synth(dir: &Path, n: &str) {
    ok(&["synth", "--out", s(dir), "--n", n, "--seed", "3"]);
}

/// Item 1: 500 pages of 8192 × 8192 sharing one deflate strip (a 70 KB file) are refused
/// before anything is decoded, as a 3D stack and as a 2D image.
#[test]
fn a_tiff_memory_bomb_is_refused_before_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    let strip = deflate(&vec![0u8; 8192 * 8192]);
    let bomb = shared_strip_tiff(500, 8192, 8192, 8, &strip);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let path = tmp.path().join("bomb.tif");
    std::fs::write(&path, &bomb).unwrap();
    // 3 GiB of address space: far below the 32 GB the pages decode to.
    let out = dispr_limited(3 << 20, &["measure", s(&path)]);
    assert_fails(&out, 1, &["bomb.tif", "TIFF too large", "500 pages"]);

    let data = tmp.path().join("data");
    synth(&data, "6");
    let victim = std::fs::read_dir(data.join("image"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&victim, &bomb).unwrap();
    let out = dispr_limited(3 << 20, &["data", "info", s(&data)]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        stdout.contains("expected a single 2D image, found a 3D stack of 500 pages"),
        "{stdout}"
    );
}

/// Item 10 (last): a deflate page whose Compression tag was overwritten to "none" holds
/// fewer bytes than its pixels: refused, not read as raw pixels.
#[test]
fn an_overwritten_compression_tag_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let strip = deflate(&[7u8; 64 * 64]);
    let good = tmp.path().join("good.tif");
    std::fs::write(&good, shared_strip_tiff(4, 64, 64, 8, &strip)).unwrap();
    let stack = dispr_core::io::tiff::read_stack(&good).unwrap();
    assert_eq!(stack.shape(), [4, 64, 64]);
    let bad = tmp.path().join("bad.tif");
    std::fs::write(&bad, shared_strip_tiff(4, 64, 64, 1, &strip)).unwrap();
    assert_fails(
        &dispr(&["measure", s(&bad)]),
        1,
        &["bad.tif", "uncompressed but stores", "Compression tag"],
    );
}

/// Holds the lock of `dir` as another run would (an OS file lock on `.dispr-lock`,
/// taken by this test process), until the returned file is dropped.
fn lock_holder(dir: &Path) -> std::fs::File {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = std::fs::File::create(dir.join(".dispr-lock")).unwrap();
    f.try_lock().unwrap();
    writeln!(
        f,
        "pid {}\nhost test\ndispr predict (another run)",
        std::process::id()
    )
    .unwrap();
    f
}

fn wait_for(path: &Path, within: Duration) -> bool {
    let began = Instant::now();
    while began.elapsed() < within {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Item 2: two runs on one output folder. A second `train` while the first runs is
/// refused (a real concurrent run), and so is a `predict` or `baseline` into a folder a
/// live process holds; after the holder is gone the folder is free again.
#[test]
fn one_run_per_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "6");
    let run = tmp.path().join("run");
    let train = |steps: &str| {
        vec![
            "train".to_string(),
            "--data".into(),
            s(&data).into(),
            "--out".into(),
            s(&run).into(),
            "--preset".into(),
            "tiny".into(),
            "--batch".into(),
            "1".into(),
            "--steps".into(),
            steps.into(),
        ]
    };
    let mut first = Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args(train("100000"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(&run.join(".dispr-lock"), Duration::from_secs(30)));
    let second: Vec<String> = train("5");
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    let out = dispr(&second);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_fails(&out, 1, &["in use by another dispr run", "pid"]);
    // The killed run's lock is stale: the folder can be resumed.
    let mut resume = second.clone();
    resume.push("--overwrite");
    ok(&resume);

    let pred = tmp.path().join("pred");
    let holder = lock_holder(&pred);
    let out = dispr(&[
        "baseline",
        "cylinder",
        "--data",
        s(&data),
        "--out",
        s(&pred),
    ]);
    drop(holder);
    assert_fails(
        &out,
        1,
        &[
            "pred",
            "in use by another dispr run",
            "dispr predict (another run)",
        ],
    );
    ok(&[
        "baseline",
        "cylinder",
        "--data",
        s(&data),
        "--out",
        s(&pred),
    ]);
    assert!(
        !pred.join(".dispr-lock").exists(),
        "the lock goes with its run"
    );
}

fn predict(data: &Path, out: &Path, samples: &str, cells: &str) -> std::process::Output {
    dispr(&[
        "predict",
        "--data",
        s(data),
        "--out",
        s(out),
        "--samples",
        samples,
        "--steps",
        "2",
        "--cells",
        cells,
        "--all-cells",
    ])
}

/// Items 3 and 9: stale-sample removal deletes only files dispr wrote (its manifest),
/// never a user's file of a sample-like name; leftover temporary files are removed.
#[test]
fn only_dispr_s_own_files_are_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "6");
    let cell = "A_cell_clusters000000";
    let out = tmp.path().join("pred");
    std::fs::create_dir_all(out.join("mesh")).unwrap();
    let users = out.join(format!("{cell}_7.tif"));
    std::fs::write(&users, "the user's notes, not a TIFF").unwrap();
    std::fs::write(out.join("mesh/.dispr-partial-x1"), "half a mesh").unwrap();
    std::fs::write(out.join(".dispr-partial-x2"), "half a sample").unwrap();
    let r = predict(&data, &out, "3", cell);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(!out.join("mesh/.dispr-partial-x1").exists());
    assert!(!out.join(".dispr-partial-x2").exists());
    assert!(out.join(format!("{cell}_2.tif")).is_file());
    // Fewer samples: this run's extra samples go, the user's file stays.
    let r = predict(&data, &out, "1", cell);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(out.join(format!("{cell}_0.tif")).is_file());
    assert!(!out.join(format!("{cell}_1.tif")).exists());
    assert!(!out.join(format!("{cell}_2.tif")).exists());
    assert_eq!(
        std::fs::read_to_string(&users).unwrap(),
        "the user's notes, not a TIFF"
    );
}

/// Trains the `tiny` preset one step on `data` into `run`.
fn train_one_step(data: &Path, run: &Path) {
    ok(&[
        "train",
        "--data",
        s(data),
        "--out",
        s(run),
        "--preset",
        "tiny",
        "--steps",
        "1",
        "--batch",
        "1",
    ]);
}

/// Item 4: `--out` may not be an input or lie inside one.
#[test]
fn outputs_may_not_overwrite_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "4");
    let before = std::fs::read_dir(data.join("obj")).unwrap().count();
    assert_fails(
        &dispr(&[
            "baseline",
            "cylinder",
            "--data",
            s(&data),
            "--out",
            s(&data.join("obj")),
        ]),
        1,
        &["the output would overwrite an input"],
    );
    assert_eq!(std::fs::read_dir(data.join("obj")).unwrap().count(), before);
    let run = tmp.path().join("run");
    train_one_step(&data, &run);
    let ckpt = run.join("checkpoint.dispr");
    let bytes = std::fs::read(&ckpt).unwrap();
    assert_fails(
        &dispr(&["model", "export", "--model", s(&run), "--out", s(&ckpt)]),
        1,
        &["the output would overwrite an input"],
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), bytes);
    assert_fails(
        &predict(&data, &data.join("mask"), "1", "A_cell_clusters000000"),
        1,
        &["the output would overwrite an input"],
    );
}

/// Item 5: an exported model whose `.sha256` does not match is refused; an edited
/// checkpoint header is refused.
#[test]
fn checkpoints_are_checksummed_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "4");
    let run = tmp.path().join("run");
    train_one_step(&data, &run);
    let model = tmp.path().join("m.dispr");
    ok(&["model", "export", "--model", s(&run), "--out", s(&model)]);
    ok(&["model", "info", "--model", s(&model)]);
    let sum = tmp.path().join("m.dispr.sha256");
    let text_sum = std::fs::read_to_string(&sum).unwrap();
    let flipped = if text_sum.starts_with('0') { "1" } else { "0" };
    std::fs::write(&sum, format!("{flipped}{}", &text_sum[1..])).unwrap();
    assert_fails(
        &dispr(&["model", "info", "--model", s(&model)]),
        1,
        &["m.dispr", "does not match", "changed after export"],
    );
    // Edit the grid in the header of the run's checkpoint.
    let ckpt = run.join("checkpoint.dispr");
    let bytes = std::fs::read(&ckpt).unwrap();
    let as_text = String::from_utf8_lossy(&bytes).into_owned();
    let at = as_text.find("\"grid\":[16,16,16]").expect("grid in header");
    let mut edited = bytes.clone();
    edited[at + 9..at + 11].copy_from_slice(b"99");
    std::fs::write(&ckpt, &edited).unwrap();
    assert_fails(
        &dispr(&["model", "info", "--model", s(&run)]),
        1,
        &["checkpoint.dispr", "header fails its checksum"],
    );
}

/// Item 6: non-finite volumes and masks that are no masks are refused.
#[test]
fn non_finite_and_non_mask_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = Volume::from_fn([8, 8, 8], |[z, y, x]| {
        if (2..6).contains(&z) && (2..6).contains(&y) && (2..6).contains(&x) {
            1.0f32
        } else {
            0.0
        }
    });
    v.set([0, 0, 0], f32::INFINITY);
    let inf = tmp.path().join("inf.tif");
    write_volume(&inf, &v).unwrap();
    for cmd in [
        vec!["measure", s(&inf)],
        vec!["mesh", s(&inf), "--out", "x.stl"],
    ] {
        assert_fails(&dispr(&cmd), 1, &["inf.tif", "NaN or infinite"]);
    }
    let data = tmp.path().join("data");
    synth(&data, "3");
    let masks: Vec<PathBuf> = {
        let mut m: Vec<PathBuf> = std::fs::read_dir(data.join("mask"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        m.sort();
        m
    };
    let gray = Image::from_fn([64, 64], |[y, x]| ((y * 64 + x) % 251) as u8);
    write_image(&masks[0], &gray).unwrap();
    write_image(&masks[1], &Image::filled([64, 64], 255u8)).unwrap();
    let out = dispr(&["data", "info", s(&data)]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("more than 32 distinct values"), "{stdout}");
    assert!(stdout.contains("mask covers the whole image"), "{stdout}");
}

/// Item 7: duplicated or unknown rows in a features CSV and a cell labelled twice in
/// labels.csv are errors, not silent leaks.
#[test]
fn tables_that_would_leak_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "name,class,source,volume,surface\n";
    let mut rows = String::from(header);
    for (i, class) in ["cluster", "keratocyte", "knizocyte"].iter().enumerate() {
        for k in 0..6 {
            rows.push_str(&format!(
                "{class}{k},{class},{class}{k},{},{}\n",
                i * 10 + k,
                k
            ));
        }
    }
    let dup = tmp.path().join("dup.csv");
    std::fs::write(&dup, format!("{rows}cluster0,cluster,cluster0,0,0\n")).unwrap();
    assert_fails(
        &dispr(&[
            "classify",
            "--features",
            s(&dup),
            "--out",
            s(&tmp.path().join("r1")),
        ]),
        1,
        &[
            "dup.csv",
            "line 20",
            "'cluster0' is listed again (first on line 2)",
        ],
    );
    let unknown = tmp.path().join("unknown.csv");
    std::fs::write(&unknown, format!("{rows}x,dragon,x,1,1\n")).unwrap();
    assert_fails(
        &dispr(&[
            "classify",
            "--features",
            s(&unknown),
            "--out",
            s(&tmp.path().join("r2")),
        ]),
        1,
        &["unknown.csv", "unknown class 'dragon'"],
    );
    let data = tmp.path().join("data");
    synth(&data, "6");
    std::fs::write(
        data.join("labels.csv"),
        "name,class\nA_cell_clusters000000,cluster\nA_cell_clusters000000,keratocyte\n",
    )
    .unwrap();
    assert_fails(
        &dispr(&["data", "info", s(&data)]),
        1,
        &["labels.csv", "line 3", "labelled again (first on line 2)"],
    );
}

/// Item 8: sizes from flags are bounded (exit status 2, before anything is allocated).
#[test]
fn sizes_from_flags_are_bounded() {
    for args in [
        vec!["train", "--data", "d", "--out", "o", "--batch", "1000"],
        vec![
            "baseline",
            "cylinder",
            "--data",
            "d",
            "--out",
            "o",
            "--depth",
            "4294967295",
        ],
        vec![
            "baseline", "cylinder", "--data", "d", "--out", "o", "--depth", "100000",
        ],
        vec!["predict", "--data", "d", "--out", "o", "--sampler", "foo"],
        vec![
            "baseline", "nearest", "--data", "d", "--out", "o", "--k", "0",
        ],
    ] {
        let out = dispr(&args);
        assert_fails(&out, 2, &["invalid value"]);
    }
}

/// Item 9: a FIFO named like an input is refused (no hang); cells `X` and `X_1` cannot
/// share a prediction folder.
#[test]
fn no_hangs_and_no_clashing_names() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "6");
    let fifo = data.join("image/A_cell_clusters000000.tif");
    std::fs::remove_file(&fifo).unwrap();
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args(["data", "info", s(&data)])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if began.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("data info hangs on a FIFO");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        text(&out.stdout).contains("is not a regular file"),
        "{}",
        text(&out.stdout)
    );

    let clash = tmp.path().join("clash");
    synth(&clash, "6");
    for folder in ["image", "mask", "obj"] {
        std::fs::copy(
            clash.join(folder).join("A_cell_clusters000000.tif"),
            clash.join(folder).join("A_cell_clusters000000_1.tif"),
        )
        .unwrap();
    }
    assert_fails(
        &dispr(&[
            "predict",
            "--data",
            s(&clash),
            "--out",
            s(&tmp.path().join("p")),
            "--samples",
            "2",
            "--steps",
            "2",
            "--all-cells",
        ]),
        1,
        &[
            "'A_cell_clusters000000' and 'A_cell_clusters000000_1'",
            "sample 1",
        ],
    );
}

/// Item 10: a cut `losses.csv` row is dropped on resume; resuming a finished run reports
/// its real final loss; `--resume --preset` cannot change the preset; a failing
/// baseline does not claim to have written anything.
#[test]
fn small_truths() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "4");
    let run = tmp.path().join("run");
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", s(&data), "--out", s(&run)];
        args.extend_from_slice(extra);
        dispr(&args)
    };
    let out = train(&[
        "--preset",
        "tiny",
        "--batch",
        "1",
        "--steps",
        "3",
        "--checkpoint-every",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let losses = run.join("losses.csv");
    let full = std::fs::read_to_string(&losses).unwrap();
    // Cut the last row short, as a kill mid-write would.
    std::fs::write(&losses, &full[..full.len() - 6]).unwrap();
    let out = train(&["--resume", "--steps", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("(0 this session)") && !stdout.contains("NaN"),
        "{stdout}"
    );
    let kept = std::fs::read_to_string(&losses).unwrap();
    assert_eq!(
        kept.lines().count(),
        3,
        "header and the 2 whole rows: {kept}"
    );
    assert_fails(
        &train(&["--resume", "--preset", "small"]),
        1,
        &["--preset cannot change when resuming"],
    );
    // Same preset or model as the run's is not a change.
    let out = train(&[
        "--resume", "--preset", "tiny", "--model", "dispr", "--steps", "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    std::fs::write(
        std::fs::read_dir(data.join("mask"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
        b"not a tiff",
    )
    .unwrap();
    let out = dispr(&[
        "baseline",
        "cylinder",
        "--data",
        s(&data),
        "--out",
        s(&tmp.path().join("b")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !text(&out.stdout).contains("wrote"),
        "{}",
        text(&out.stdout)
    );
}

/// Files under `dir` (recursively) whose names start with dispr's temporary prefix.
fn partials(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e
                .file_name()
                .to_string_lossy()
                .starts_with(".dispr-partial-")
            {
                found.push(p);
            }
        }
    }
    found
}

/// Runs dispr until it exits or `after` has passed, then kills it (SIGKILL); true if it
/// finished by itself.
fn run_or_kill(args: &[String], after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    while began.elapsed() < after {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "dispr {args:?} failed");
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    false
}

/// The losses of a run without the wall-clock column.
fn losses_without_time(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("losses.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

/// Fault injection: `train` and `predict` killed at random points (seeded) and run
/// again end exactly where an uninterrupted run ends — the same losses and weights, the
/// same output files byte for byte — with no temporary file left behind.
#[test]
fn killed_runs_resume_exactly_and_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "6");
    let train_args = |run: &Path, resume: bool| -> Vec<String> {
        let mut a: Vec<String> = [
            "train",
            "--data",
            s(&data),
            "--out",
            s(run),
            "--steps",
            "16",
        ]
        .map(String::from)
        .to_vec();
        if resume {
            a.push("--resume".into());
        } else {
            a.extend(
                [
                    "--preset",
                    "tiny",
                    "--batch",
                    "1",
                    "--checkpoint-every",
                    "2",
                    "--overwrite",
                ]
                .map(String::from),
            );
        }
        a
    };
    let reference = tmp.path().join("reference");
    assert!(run_or_kill(
        &train_args(&reference, false),
        Duration::from_secs(600)
    ));

    // A pseudo-random but fixed sequence of kill times.
    let mut state: u64 = 0x5eed;
    let mut next_delay = |lo_ms: u64, span_ms: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_millis(lo_ms + (state >> 33) % span_ms)
    };
    let killed = tmp.path().join("killed");
    let mut kills = 0;
    let mut started = false;
    loop {
        let resume = started && killed.join("checkpoint.dispr").is_file();
        let args = train_args(&killed, resume);
        started = true;
        // Random kill times, later and later (a loaded machine starts slowly); after six
        // kills the run may finish.
        let after = if kills < 6 {
            next_delay(300 + 400 * kills as u64, 1500)
        } else {
            Duration::from_secs(600)
        };
        if run_or_kill(&args, after) {
            break;
        }
        kills += 1;
    }
    assert!(kills >= 1, "the run was never interrupted");
    assert_eq!(
        losses_without_time(&killed),
        losses_without_time(&reference)
    );
    let a = dispr_nn::checkpoint::Checkpoint::load(&reference.join("checkpoint.dispr")).unwrap();
    let b = dispr_nn::checkpoint::Checkpoint::load(&killed.join("checkpoint.dispr")).unwrap();
    assert_eq!(a.header.step, b.header.step);
    assert!(partials(&killed).is_empty(), "{:?}", partials(&killed));
    // The same weights: burn's record bytes hold random parameter ids, so the two
    // models are compared by what they predict (same seed: the same bytes).
    let cell = std::fs::read_dir(data.join("image"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .min()
        .unwrap();
    for (model, out) in [(&reference, "check_ref"), (&killed, "check_killed")] {
        ok(&[
            "predict",
            "--data",
            s(&data),
            "--out",
            s(&tmp.path().join(out)),
            "--model",
            s(model),
            "--samples",
            "2",
            "--steps",
            "3",
            "--all-cells",
            &format!("--cells={cell}"),
        ]);
    }
    for k in 0..2 {
        let file = format!("probability/{cell}.tif");
        let sample = format!("{cell}_{k}.tif");
        for f in [file, sample] {
            assert!(
                std::fs::read(tmp.path().join("check_ref").join(&f)).unwrap()
                    == std::fs::read(tmp.path().join("check_killed").join(&f)).unwrap(),
                "{f}: the resumed model predicts otherwise after {kills} kills"
            );
        }
    }

    // Prediction: killed, then run again over the same folder.
    let predict_args = |out: &Path| -> Vec<String> {
        [
            "predict",
            "--data",
            s(&data),
            "--out",
            s(out),
            "--model",
            s(&reference),
            "--samples",
            "2",
            "--steps",
            "3",
            "--all-cells",
        ]
        .map(String::from)
        .to_vec()
    };
    let ref_pred = tmp.path().join("ref_pred");
    assert!(run_or_kill(
        &predict_args(&ref_pred),
        Duration::from_secs(600)
    ));
    let pred = tmp.path().join("pred");
    for _ in 0..3 {
        run_or_kill(&predict_args(&pred), next_delay(200, 800));
    }
    assert!(run_or_kill(&predict_args(&pred), Duration::from_secs(600)));
    assert!(partials(&pred).is_empty(), "{:?}", partials(&pred));
    let mut compared = 0;
    for sub in ["", "probability", "std", "ensemble", "mesh", "gallery"] {
        for e in std::fs::read_dir(ref_pred.join(sub)).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            // predict.json, the page and the journal record when and how fast the run went.
            let timed = ["predict.json", "index.html", "journal.jsonl"].contains(&name.as_str());
            if e.path().is_file() && !name.starts_with('.') && !timed {
                let theirs = std::fs::read(pred.join(sub).join(&name)).unwrap();
                assert!(
                    std::fs::read(e.path()).unwrap() == theirs,
                    "{sub}/{name} differs"
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 6 * 6, "{compared} files compared");
}

/// Progress reaches a log: when standard error is not a terminal, plain lines with the
/// count, rate and ETA (here one per redraw: `DISPR_PROGRESS_INTERVAL=0`).
#[test]
fn progress_is_printed_as_lines_into_a_log() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    synth(&data, "6");
    let out = Command::new(env!("CARGO_BIN_EXE_dispr"))
        .args([
            "train",
            "--data",
            s(&data),
            "--out",
            s(&tmp.path().join("run")),
            "--preset",
            "tiny",
            "--batch",
            "1",
            "--steps",
            "6",
        ])
        .env("DISPR_PROGRESS_INTERVAL", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress:"))
        .collect();
    assert!(lines.len() >= 2, "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/6 steps") && l.contains("eta")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r'),
        "no terminal control in a log: {stderr:?}"
    );
}
