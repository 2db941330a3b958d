//! Issue #16, the user's own cells: one cell stored in every pixel type a microscope or
//! Fiji writes is read and predicted the same way, and `data info` says how it was read;
//! images that cannot be read as intensities are refused; a cell in a crop of any size
//! is placed in the model's field and its prediction placed back over it.

use std::path::{Path, PathBuf};

use crate::common::{assert_fails, ok, s, text};
use dispr_core::grid::{Image, Volume};
use dispr_core::io::tiff::{read_image, read_volume, write_image};

/// A dataset folder holding the one cell `name` with the given mask file; `write` writes
/// its image to the path it is given.
fn dataset_with(root: &Path, name: &str, mask: &Path, write: impl FnOnce(&Path)) -> PathBuf {
    std::fs::create_dir_all(root.join("image")).unwrap();
    std::fs::create_dir_all(root.join("mask")).unwrap();
    write(&root.join("image").join(format!("{name}.tif")));
    std::fs::copy(mask, root.join("mask").join(format!("{name}.tif"))).unwrap();
    root.to_path_buf()
}

fn iou(a: &Volume<bool>, b: &Volume<bool>) -> f64 {
    let inter = a
        .data()
        .iter()
        .zip(b.data())
        .filter(|(x, y)| **x && **y)
        .count();
    let union = a
        .data()
        .iter()
        .zip(b.data())
        .filter(|(x, y)| **x || **y)
        .count();
    inter as f64 / union.max(1) as f64
}

#[test]
fn one_cell_in_every_pixel_type_gives_the_same_prediction() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    let (name, raw, _) = synthetic_cell(&synth);
    let mask = synth.join("mask").join(format!("{name}.tif"));
    assert!(
        raw.data()
            .iter()
            .all(|v| (0.0..=255.0).contains(v) && v.fract() == 0.0)
    );
    let at = |dir: &str| tmp.path().join(dir);
    let variants = [
        (
            "uint8",
            dataset_with(&at("u8"), &name, &mask, |p| {
                write_image(p, &raw.map(|v| v as u8)).unwrap()
            }),
        ),
        (
            "uint16 ×257",
            dataset_with(&at("u16"), &name, &mask, |p| {
                write_image(p, &raw.map(|v| v as u16 * 257)).unwrap()
            }),
        ),
        (
            "12-bit in uint16",
            dataset_with(&at("u12"), &name, &mask, |p| {
                write_image(p, &raw.map(|v| v as u16 * 16)).unwrap()
            }),
        ),
        (
            "float32 0–255",
            dataset_with(&at("f255"), &name, &mask, |p| {
                write_image(p, &raw.map(|v| v)).unwrap()
            }),
        ),
        (
            "float32 0–1",
            dataset_with(&at("f1"), &name, &mask, |p| {
                write_image(p, &raw.map(|v| v / 255.0)).unwrap()
            }),
        ),
    ];
    let mut shapes = Vec::new();
    for (what, data) in &variants {
        let pred = data.with_extension("pred");
        ok(&[
            "predict",
            "--data",
            s(data),
            "--out",
            s(&pred),
            "--samples",
            "1",
            "--steps",
            "10",
            "--seed",
            "7",
        ]);
        let shape = read_volume(&pred.join(format!("{name}_0.tif")))
            .unwrap()
            .binarize();
        shapes.push((*what, shape));
        let table = std::fs::read_to_string(pred.join("cells.csv")).unwrap();
        assert!(
            table
                .lines()
                .nth(1)
                .unwrap()
                .starts_with(&format!("{name},,predicted,")),
            "{table}"
        );
    }
    let (_, reference) = &shapes[0];
    assert!(reference.count() > 0);
    for (what, shape) in &shapes[1..] {
        let overlap = iou(reference, shape);
        eprintln!("{what}: IoU {overlap:.3} with uint8");
        assert!(overlap >= 0.95, "{what}: IoU {overlap:.3} with uint8");
    }
    // `data info` says how each image was read, and calls none of them a problem.
    let info = text(&ok(&["data", "info", s(&variants[2].1)]).stdout);
    assert!(info.contains("intensity read as 12-bit (1 cell)"), "{info}");
    assert!(info.contains("uint16 image using only 12-bit"), "{info}");
    assert!(info.contains("problems  none"), "{info}");
    let info = text(&ok(&["data", "info", s(&variants[3].1)]).stdout);
    assert!(info.contains("beyond 0–1: read as 8-bit data"), "{info}");
    let info = text(&ok(&["data", "info", s(&variants[0].1)]).stdout);
    assert!(!info.contains("notes"), "{info}");
    assert!(
        info.contains("(image/ mask/; 1 cell,"),
        "no obj/ is not listed: {info}"
    );
}

#[test]
fn images_that_are_not_intensities_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    let (name, _, mask_image) = synthetic_cell(&synth);
    let mask = synth.join("mask").join(format!("{name}.tif"));
    let [h, w] = mask_image.shape();
    let cases: [(&str, Image<f32>, &str); 3] = [
        (
            "constant",
            Image::filled([h, w], 40.0),
            "the image is constant",
        ),
        (
            "negative",
            Image::from_fn([h, w], |[y, _]| y as f32 - 3.0),
            "negative intensities",
        ),
        (
            "huge",
            Image::from_fn([h, w], |[y, _]| y as f32 * 1e5),
            "beyond 16-bit",
        ),
    ];
    for (what, image, needle) in cases {
        let data = dataset_with(&tmp.path().join(what), "c", &mask, |p| {
            write_image(p, &image).unwrap()
        });
        let out = crate::common::dispr(&["data", "info", s(&data)]);
        let err = assert_fails(&out, 1, &[]);
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(needle) && stdout.contains("c.tif"),
            "{what}: {stdout}{err}"
        );
        let pred = tmp.path().join(format!("{what}.pred"));
        let out = crate::common::dispr(&["predict", "--data", s(&data), "--out", s(&pred)]);
        assert_fails(&out, 1, &[needle, "image/c.tif"]);
    }
}

#[test]
fn a_crop_of_a_label_image_is_refused_not_cut_to_its_highest_label() {
    // A crop cut from a cellpose label image: the cell as label 3, a neighbour's corner
    // as label 9. Cutting at half the maximum would predict the neighbour alone.
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    let (name, _, mask) = synthetic_cell(&synth);
    let labels = Image::from_fn(mask.shape(), |[y, x]| match (y, x) {
        (0..8, 0..8) => 9u8,
        _ if mask.at([y, x]) > 0.0 => 3,
        _ => 0,
    });
    let label_file = tmp.path().join("crop_labels.tif");
    write_image(&label_file, &labels).unwrap();
    let image = synth.join("image").join(format!("{name}.tif"));
    let pred = tmp.path().join("pred");
    let out = crate::common::dispr(&["predict", s(&image), s(&label_file), "--out", s(&pred)]);
    assert_fails(
        &out,
        1,
        &[
            "crop_labels.tif",
            "mask holds 2 labels (3: ",
            "9: 64 px",
            "--labels",
        ],
    );
    assert!(!pred.exists());
    // --cells selects cells of --data or of an --image field; with IMAGE MASK it is
    // refused, not ignored.
    let mask_file = synth.join("mask").join(format!("{name}.tif"));
    let out = crate::common::dispr(&[
        "predict",
        s(&image),
        s(&mask_file),
        "--out",
        s(&pred),
        "--cells",
        "nonsense",
    ]);
    assert_fails(&out, 2, &["--cells", "cannot be used"]);
}

#[test]
fn a_hot_pixel_a_speck_an_inverted_mask_a_rerun_and_an_output_beside_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    let (name, raw, mask) = synthetic_cell(&synth);
    let mask_file = synth.join("mask").join(format!("{name}.tif"));
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    // The cell as 0–1 floats with a saturated pixel (1) in a corner, and again with
    // that pixel hot (1.2).
    let with_corner = |corner: f32| {
        Image::from_fn(raw.shape(), |[y, x]| match (y, x) {
            (0, 0) => corner,
            _ => raw.at([y, x]) / 255.0,
        })
    };
    let image = mine.join("cell.tif");
    write_image(&image, &with_corner(1.0)).unwrap();
    // (Same name: a cell's noise is drawn from the seed and its name.)
    std::fs::create_dir_all(tmp.path().join("hot-image")).unwrap();
    let hot = tmp.path().join("hot-image").join("cell.tif");
    write_image(&hot, &with_corner(1.2)).unwrap();
    let predict = |image: &Path, mask: &Path, out: &Path| {
        crate::common::dispr(&[
            "predict",
            s(image),
            s(mask),
            "--out",
            s(out),
            "--samples",
            "1",
            "--steps",
            "10",
            "--seed",
            "7",
        ])
    };
    let (clean, hot_out) = (tmp.path().join("clean"), tmp.path().join("hot"));
    let first = predict(&image, &mask_file, &clean);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(!text(&first.stderr).contains("touches the image's edge"));
    let saturated = predict(&hot, &mask_file, &hot_out);
    let said = text(&saturated.stderr);
    assert!(saturated.status.success(), "{said}");
    assert!(
        said.contains("cell.tif: 1 pixel above 1 (up to 1.2), too few to be the image's range: read as 0–1 data"),
        "{said}"
    );
    // Read as 0–1 data with the hot pixel saturated, not as 0–255 data: the same
    // shape as from the image whose pixel is 1.
    let shape = |dir: &Path, cell: &str| {
        read_volume(&dir.join(format!("{cell}_0.tif")))
            .unwrap()
            .binarize()
    };
    assert!(shape(&clean, "cell") == shape(&hot_out, "cell"));
    // A rerun of a finished prediction says so, and predicts nothing.
    let again = predict(&image, &mask_file, &clean);
    assert!(
        text(&again.stderr).contains("kept 1 cell an earlier run of this prediction had finished"),
        "{}",
        text(&again.stderr)
    );
    assert!(
        text(&again.stdout).starts_with("nothing left to predict"),
        "{}",
        text(&again.stdout)
    );
    assert!(!text(&again.stderr).contains("earlier run ("));
    // Another cell into the same folder: the first cell's files stay, and the run says
    // that its table does not list them.
    let second = tmp.path().join("hot-image").join("cell2.tif");
    std::fs::copy(&image, &second).unwrap();
    let other = predict(&second, &mask_file, &clean);
    assert!(other.status.success(), "{}", text(&other.stderr));
    assert!(
        text(&other.stderr).contains(
            "clean: 1 cell from an earlier run (cell) is still there but not in this run's cells.csv, predict.json or index.html"
        ),
        "{}",
        text(&other.stderr)
    );
    assert!(clean.join("cell_0.tif").is_file() && clean.join("cell2_0.tif").is_file());
    // The input's own folder as --out: refused before any work.
    let beside = predict(&image, &mask_file, &mine);
    assert_fails(
        &beside,
        1,
        &["holds the input", "cell.tif", "another output folder"],
    );
    assert!(!mine.join("cell_0.tif").exists());
    // A speck of the segmentation, and an inverted mask.
    let speck = mine.join("speck.tif");
    let dot = |[y, x]: [usize; 2]| y == 30 && (30..33).contains(&x);
    write_image(
        &speck,
        &Image::from_fn(mask.shape(), |p| 255 * u8::from(dot(p))),
    )
    .unwrap();
    let out = tmp.path().join("refused");
    let refused = predict(&image, &speck, &out);
    assert_fails(
        &refused,
        1,
        &["speck.tif", "only 3 pixels", "too small to be a cell"],
    );
    let inverted = mine.join("inverted.tif");
    write_image(&inverted, &mask.map(|v| 255 * u8::from(v == 0.0))).unwrap();
    let refused = predict(&image, &inverted, &out);
    assert_fails(
        &refused,
        1,
        &["inverted.tif", "all four corners", "inverted?"],
    );
}

#[test]
fn a_cell_cut_by_the_crops_edge_is_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, raw, mask) = synthetic_cell(&tmp.path().join("synth"));
    // The crop without the cell's left 4 columns: its mask starts at the crop's edge.
    let first = (0..mask.shape()[1])
        .find(|&x| (0..mask.shape()[0]).any(|y| mask.at([y, x]) > 0.0))
        .unwrap();
    let cut = |im: &Image<f32>| {
        let [h, w] = im.shape();
        Image::from_fn([h, w - first - 4], |[y, x]| im.at([y, x + first + 4]) as u8)
    };
    let on_edge = (0..mask.shape()[0])
        .filter(|&y| mask.at([y, first + 4]) > 0.0)
        .count();
    let (image, mask_file) = (tmp.path().join("cut.tif"), tmp.path().join("cut_mask.tif"));
    write_image(&image, &cut(&raw)).unwrap();
    write_image(&mask_file, &cut(&mask)).unwrap();
    let out = tmp.path().join("out");
    let run = crate::common::dispr(&[
        "predict",
        s(&image),
        s(&mask_file),
        "--out",
        s(&out),
        "--samples",
        "1",
        "--steps",
        "2",
    ]);
    let said = text(&run.stderr);
    assert!(run.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "cut_mask.tif: cell 'cut': its mask touches the image's edge ({on_edge} of its"
        )) && said.contains("predicted from the part inside"),
        "{said}"
    );
}

#[test]
fn a_cluster_mask_in_two_parts_and_a_training_cell_are_noted() {
    let Some(data) = dispr_testkit::real_sample_or_skip(
        "a_cluster_mask_in_two_parts_and_a_training_cell_are_noted",
    ) else {
        return;
    };
    // A real cluster whose mask has two parts (641 and 526 pixels), which the built-in
    // model trained on.
    let name = "A_cell_clusters000613";
    let tmp = tempfile::tempdir().unwrap();
    let run = crate::common::dispr(&[
        "predict",
        s(&data.join("image").join(format!("{name}.tif"))),
        s(&data.join("mask").join(format!("{name}.tif"))),
        "--out",
        s(tmp.path()),
        "--samples",
        "1",
        "--steps",
        "2",
    ]);
    let said = text(&run.stderr);
    assert!(run.status.success(), "{said}");
    for needle in [
        &format!("cell '{name}': its mask has 2 separate parts ("),
        "predicted as one cell, as the training data's cell clusters are",
        &format!("cell '{name}' has the name of a cell the model trained on"),
    ] {
        assert!(said.contains(needle), "{needle}: {said}");
    }
}

#[test]
fn one_channel_of_a_multi_channel_image_is_read_with_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, raw, mask) = synthetic_cell(&tmp.path().join("synth"));
    let [h, w] = raw.shape();
    let as_u8 = |im: &Image<f32>, f: f32| Image::from_fn([h, w], |p| (im.at(p) * f) as u8);
    std::fs::create_dir_all(tmp.path().join("one")).unwrap();
    std::fs::create_dir_all(tmp.path().join("two")).unwrap();
    let (one, two) = (
        tmp.path().join("one/cell.tif"),
        tmp.path().join("two/cell.tif"),
    );
    let mask_file = tmp.path().join("mask.tif");
    write_image(&one, &as_u8(&raw, 1.0)).unwrap();
    write_image(&mask_file, &as_u8(&mask, 1.0)).unwrap();
    // Two channels, the cell's image second: two pages without metadata (tifffile's
    // CYX).
    let mut encoder =
        tiff::encoder::TiffEncoder::new(std::fs::File::create(&two).unwrap()).unwrap();
    for page in [as_u8(&raw, 0.5), as_u8(&raw, 1.0)] {
        encoder
            .write_image::<tiff::encoder::colortype::Gray8>(w as u32, h as u32, page.data())
            .unwrap();
    }
    // A z-stack (dispr's own 3D TIFF states its slices): no page of it is a channel.
    let zstack = tmp.path().join("zstack.tif");
    let slices = [as_u8(&raw, 0.5), as_u8(&raw, 1.0)];
    dispr_core::io::tiff::write_volume(&zstack, &Volume::from_slices(&slices).unwrap()).unwrap();
    let predict = |image: &Path, out: &str, extra: &[&str]| {
        let out = tmp.path().join(out);
        let mut args = vec![
            "predict",
            s(image),
            s(&mask_file),
            "--out",
            s(&out),
            "--samples",
            "1",
            "--steps",
            "2",
        ];
        args.extend(extra);
        crate::common::dispr(&args)
    };
    assert_fails(
        &predict(&two, "refused", &[]),
        1,
        &[
            "cell.tif: holds 2 pages, not one 2D image: if they are channels, choose the one to read with --channel K (0 to 1",
        ],
    );
    assert_fails(
        &predict(&two, "refused", &["--channel", "2"]),
        2,
        &["--channel 2: ", "cell.tif has 2 channels (0 to 1)"],
    );
    assert_fails(
        &predict(&zstack, "refused", &["--channel", "1"]),
        1,
        &["zstack.tif: holds 2 pages of z-slices or time points, not channels alone"],
    );
    let run = predict(&one, "from-one", &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let run = predict(&two, "from-two", &["--channel", "1"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let sample = |out: &str| std::fs::read(tmp.path().join(out).join("cell_0.tif")).unwrap();
    assert_eq!(sample("from-one"), sample("from-two"));
    let with_data = crate::common::dispr(&[
        "predict",
        "--data",
        s(tmp.path()),
        "--channel",
        "1",
        "--out",
        s(&tmp.path().join("x")),
    ]);
    assert_fails(&with_data, 2, &["cannot be used with '--channel <K>'"]);
}

/// The first cell of a one-cell synthetic dataset: (name, image, mask).
fn synthetic_cell(dir: &Path) -> (String, Image<f32>, Image<f32>) {
    ok(&["synth", "--out", s(dir), "--n", "1", "--seed", "11"]);
    let image_file = std::fs::read_dir(dir.join("image"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let name = image_file
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let read = |p: &Path| read_image(p).unwrap().to_f32().slice_z(0);
    let mask = read(&dir.join("mask").join(format!("{name}.tif")));
    (name, read(&image_file), mask)
}

/// `image` placed at `(oy, ox)` in a zero image of `size`.
fn placed(image: &Image<f32>, size: [usize; 2], (oy, ox): (usize, usize)) -> Image<u8> {
    let [h, w] = image.shape();
    Image::from_fn(size, |[y, x]| {
        if (oy..oy + h).contains(&y) && (ox..ox + w).contains(&x) {
            image.at([y - oy, x - ox]) as u8
        } else {
            0
        }
    })
}

#[test]
fn a_cell_in_a_crop_of_any_size_is_predicted_over_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let (name, image, mask) = synthetic_cell(&tmp.path().join("synth"));
    let predict = |dir: &str, size: [usize; 2], at: (usize, usize)| {
        let data = tmp.path().join(dir);
        for (sub, img) in [("image", &image), ("mask", &mask)] {
            std::fs::create_dir_all(data.join(sub)).unwrap();
            let file = data.join(sub).join(format!("{name}.tif"));
            write_image(&file, &placed(img, size, at)).unwrap();
        }
        let pred = tmp.path().join(format!("{dir}.pred"));
        ok(&[
            "predict",
            "--data",
            s(&data),
            "--out",
            s(&pred),
            "--samples",
            "1",
            "--steps",
            "10",
            "--seed",
            "7",
        ]);
        read_volume(&pred.join(format!("{name}_0.tif")))
            .unwrap()
            .binarize()
    };
    // The 64 × 64 cell padded into 200 × 150 at (50, 30) and into 90 × 120 at (10, 40):
    // the same prediction, shifted by the same offsets, in each crop's own frame.
    let wide = predict("wide", [200, 150], (50, 30));
    let small = predict("small", [90, 120], (10, 40));
    assert_eq!(wide.shape(), [64, 200, 150]);
    assert_eq!(small.shape(), [64, 90, 120]);
    assert!(small.count() > 0);
    assert_eq!(wide.count(), small.count(), "nothing is cut off");
    let [d, h, w] = [64, 64, 64];
    for z in 0..d {
        for y in 0..h {
            for x in 0..w {
                assert_eq!(
                    wide.at([z, y + 50, x + 30]),
                    small.at([z, y + 10, x + 40]),
                    "voxel {z},{y},{x}"
                );
            }
        }
    }
    // It lies over the cell: its top view covers the mask's pixels in the crop.
    let top = |v: &Volume<bool>, y: usize, x: usize| (0..d).any(|z| v.at([z, y, x]));
    let inside = (0..h)
        .flat_map(|y| (0..w).map(move |x| (y, x)))
        .filter(|&(y, x)| mask.at([y, x]) > 127.0);
    let (n, covered) = inside.fold((0, 0), |(n, c), (y, x)| {
        (n + 1, c + top(&wide, y + 50, x + 30) as usize)
    });
    assert!(
        covered as f64 >= 0.8 * n as f64,
        "{covered} of {n} mask pixels"
    );
    // A cell larger than the field is refused, naming the cell and the sizes.
    let data = tmp.path().join("huge");
    let big = Image::from_fn(
        [100, 100],
        |[y, x]| if y < 80 && x < 70 { 255.0 } else { 0.0 },
    );
    let noise = Image::from_fn([100, 100], |[y, x]| ((y * 7 + x * 3) % 200) as f32);
    for (sub, img) in [("image", &noise), ("mask", &big)] {
        std::fs::create_dir_all(data.join(sub)).unwrap();
        write_image(
            &data.join(sub).join("c.tif"),
            &placed(img, [100, 100], (0, 0)),
        )
        .unwrap();
    }
    let out = crate::common::dispr(&[
        "predict",
        "--data",
        s(&data),
        "--out",
        s(&tmp.path().join("huge.pred")),
    ]);
    assert_fails(
        &out,
        1,
        &[
            "mask/c.tif",
            "cell 'c'",
            "80×70 pixels but the model's field is 64×64",
            "--downscale to shrink it 2×",
        ],
    );
    // With --downscale it is shrunk 2× and its outputs enlarged back: 128 slices over
    // its own 100 × 100 frame, lying over the cell.
    let huge = tmp.path().join("huge.pred");
    let out = ok(&[
        "predict",
        "--data",
        s(&data),
        "--out",
        s(&huge),
        "--samples",
        "1",
        "--downscale",
    ]);
    assert!(
        text(&out.stderr).contains("cell c was shrunk 2×"),
        "{}",
        text(&out.stderr)
    );
    let shape = read_volume(&huge.join("c_0.tif")).unwrap().binarize();
    assert_eq!(shape.shape(), [128, 100, 100]);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(huge.join("predict.json")).unwrap()).unwrap();
    assert_eq!(record["per_cell"][0]["downscale"], 2);
    let outside = (0..128)
        .flat_map(|z| (0..100).flat_map(move |y| (0..100).map(move |x| (z, y, x))))
        .filter(|&(z, y, x)| shape.at([z, y, x]) && (y >= 82 || x >= 72))
        .count();
    assert!(
        outside * 20 < shape.count().max(1),
        "{outside} of {} voxels beyond the mask's box",
        shape.count()
    );
}

#[test]
fn a_field_with_a_cellpose_label_image_is_predicted_cell_by_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let synth = tmp.path().join("synth");
    ok(&["synth", "--out", s(&synth), "--n", "3", "--seed", "5"]);
    let mut names: Vec<String> = std::fs::read_dir(synth.join("image"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    names.sort();
    let read = |sub: &str, name: &str| {
        read_image(&synth.join(sub).join(format!("{name}.tif")))
            .unwrap()
            .to_f32()
            .slice_z(0)
    };
    // Three cells side by side in a 100 × 230 field; the third is placed so that it is
    // cut by the right edge.
    let (fh, fw) = (100usize, 230usize);
    let mut image = Image::filled([fh, fw], 0u8);
    let mut labels = Image::filled([fh, fw], 0u16);
    for (k, (name, x0)) in names.iter().zip([5usize, 80, 190]).enumerate() {
        let (img, mask) = (read("image", name), read("mask", name));
        for y in 0..64 {
            for x in 0..64 {
                let (fy, fx) = (y + 20, x + x0);
                if fx < fw && mask.at([y, x]) > 127.0 {
                    image.set([fy, fx], img.at([y, x]) as u8);
                    labels.set([fy, fx], k as u16 + 1);
                }
            }
        }
    }
    let field = tmp.path().join("field.tif");
    write_image(&field, &image).unwrap();
    write_image(&tmp.path().join("field_cp_masks.tif"), &labels).unwrap();
    let pred = tmp.path().join("pred");
    let out = ok(&[
        "predict",
        "--image",
        s(&field),
        "--out",
        s(&pred),
        "--samples",
        "2",
        "--steps",
        "10",
    ]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("predicted 2 cells × 2 samples"), "{stdout}");
    assert!(stdout.contains("cells: 2 predicted, 1 skipped"), "{stdout}");
    assert!(
        text(&out.stderr).contains("skipping cell field_3 (label 3): touches the field's border")
    );
    let table = std::fs::read_to_string(pred.join("cells.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with(
            "name,label,status,y0,x0,area_px,reason,samples,volume_vox3_mean,volume_vox3_sd,volume_vox3_p05,volume_vox3_p95,"
        ),
        "{table}"
    );
    assert!(lines[0].ends_with(",pairwise_1_minus_iou"), "{table}");
    assert!(lines[1].starts_with("field_1,1,predicted,"), "{table}");
    assert!(lines[1].contains(",,2,"), "two samples summarised: {table}");
    assert!(
        lines[3].starts_with("field_3,3,skipped,,,,touches"),
        "{table}"
    );
    // predict.json records what made it.
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pred.join("predict.json")).unwrap()).unwrap();
    let sha = dispr_nn::shipped::SHA256_FILE
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(record["model_sha256"], sha);
    assert_eq!(record["dispr_version"], env!("CARGO_PKG_VERSION"));
    assert!(record["started"].as_str().unwrap().ends_with('Z'));
    assert_eq!(record["command_line"][1], "predict");
    assert_eq!(record["inputs"][0], s(&field));
    for k in [1, 2] {
        let sample = read_volume(&pred.join(format!("field_{k}_1.tif"))).unwrap();
        assert_eq!(sample.shape(), [64, 64, 64]);
        assert!(sample.binarize().count() > 0);
    }
    // The run's page: every cell in the table (the skipped one with its reason), a
    // gallery row per predicted cell, links to its files.
    let page = std::fs::read_to_string(pred.join("index.html")).unwrap();
    for needle in [
        "href=\"#field_1\"",
        "skipped: touches the field",
        "href=\"cells.csv\"",
        "field_2_1.tif",
    ] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    for k in [1, 2] {
        let png = std::fs::read(pred.join("gallery").join(format!("field_{k}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    assert!(!pred.join("gallery").join("field_3.png").exists());
    // Some of the field's cells, by label or name; a label the field lacks is a bad flag.
    let some = tmp.path().join("some");
    let field_cells = |cells: &str, out: &Path| {
        crate::common::dispr(&[
            "predict",
            "--image",
            s(&field),
            "--out",
            s(out),
            "--samples",
            "1",
            "--steps",
            "2",
            "--cells",
            cells,
        ])
    };
    let out = field_cells("2,field_3", &some);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("cells: 1 predicted, 1 skipped"));
    assert!(some.join("field_2_0.tif").is_file() && !some.join("field_1_0.tif").exists());
    let nowhere = tmp.path().join("nowhere");
    assert_fails(
        &field_cells("2,7", &nowhere),
        2,
        &["--cells", "field_cp_masks.tif has no cell labelled 7"],
    );
    assert_fails(
        &field_cells("cell_2", &nowhere),
        2,
        &["--cells: 'cell_2' is neither a label", "field_5"],
    );
    assert_fails(
        &field_cells("2,", &nowhere),
        2,
        &["--cells: an empty entry"],
    );
    assert_fails(
        &field_cells("0", &nowhere),
        2,
        &["--cells: 0 is the background"],
    );
    // Only a cell the field skips: the run says why, of the cells chosen.
    assert_fails(
        &field_cells("3", &nowhere),
        1,
        &[
            "none of the 1 cells chosen with --cells can be predicted",
            "field_3 (label 3): touches",
        ],
    );
    assert!(!nowhere.exists());
    // The cellpose GUI's labels, a 16-bit PNG beside the image, read the same; --labels
    // without --image is a bad flag, not ignored.
    let gui = tmp.path().join("gui");
    std::fs::create_dir_all(&gui).unwrap();
    std::fs::copy(&field, gui.join("field.tif")).unwrap();
    let mut encoder = png::Encoder::new(
        std::fs::File::create(gui.join("field_cp_masks.png")).unwrap(),
        fw as u32,
        fh as u32,
    );
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Sixteen);
    let be: Vec<u8> = labels.data().iter().flat_map(|v| v.to_be_bytes()).collect();
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&be)
        .unwrap();
    let from_png = tmp.path().join("from_png");
    let run = crate::common::dispr(&[
        "predict",
        "--image",
        s(&gui.join("field.tif")),
        "--out",
        s(&from_png),
        "--samples",
        "1",
        "--steps",
        "2",
        "--cells",
        "2",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(from_png.join("field_2_0.tif").is_file());
    let stray = crate::common::dispr(&[
        "predict",
        "--data",
        s(&synth),
        "--labels",
        "nope.tif",
        "--out",
        s(&nowhere),
    ]);
    assert_fails(
        &stray,
        2,
        &["'--data <DATA>' cannot be used with '--labels <LABELS>'"],
    );
    // The same cell as IMAGE MASK, with a JSON summary, one thread and no chatter; and
    // the refusals.
    let one = tmp.path().join("one");
    let cell = &names[0];
    let out = ok(&[
        "predict",
        s(&synth.join("image").join(format!("{cell}.tif"))),
        s(&synth.join("mask").join(format!("{cell}.tif"))),
        "--out",
        s(&one),
        "--samples",
        "1",
        "--json",
        "--threads",
        "1",
        "-q",
    ]);
    assert!(one.join(format!("{cell}_0.tif")).is_file());
    assert!(out.stderr.is_empty(), "-q: {}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["report"]["threads"], 1);
    assert_eq!(summary["cells"][0]["name"], cell.as_str());
    assert_eq!(summary["cells"][0]["samples"], 1);
    assert_eq!(summary["cells"][0]["units"], "voxels");
    assert!(summary["cells"][0]["volume_vox3_mean"].as_f64().unwrap() > 0.0);
    // -v names each cell's time.
    let out = ok(&[
        "predict",
        s(&synth.join("image").join(format!("{cell}.tif"))),
        s(&synth.join("mask").join(format!("{cell}.tif"))),
        "--out",
        s(&one),
        "--samples",
        "1",
        "-v",
    ]);
    assert!(
        text(&out.stderr).contains(&format!("{cell}: ")),
        "{}",
        text(&out.stderr)
    );
    assert_fails(
        &crate::common::dispr(&["predict", "--out", "x", "-q", "-v", "--data", "y"]),
        2,
        &["cannot be used with"],
    );
    assert_fails(
        &crate::common::dispr(&["predict", "--out", "x", "--threads", "0", "--data", "y"]),
        2,
        &["--threads"],
    );
    let lonely = tmp.path().join("lonely.tif");
    write_image(&lonely, &image).unwrap();
    assert_fails(
        &crate::common::dispr(&[
            "predict",
            "--image",
            s(&lonely),
            "--out",
            s(&tmp.path().join("p2")),
        ]),
        1,
        &["lonely.tif: no --labels given and no cellpose label image"],
    );
    let small = tmp.path().join("small_labels.tif");
    write_image(&small, &Image::filled([fh, fw - 1], 1u16)).unwrap();
    assert_fails(
        &crate::common::dispr(&[
            "predict",
            "--image",
            s(&field),
            "--labels",
            s(&small),
            "--out",
            s(&tmp.path().join("p3")),
        ]),
        1,
        &["small_labels.tif: labels are 100×229 but the image is 100×230"],
    );
    assert_fails(
        &crate::common::dispr(&["predict", "--out", s(&tmp.path().join("p4"))]),
        2,
        &["required arguments were not provided"],
    );
}
