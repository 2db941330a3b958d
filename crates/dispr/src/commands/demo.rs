//! `dispr demo`: the main job on built-in defaults, end to end, in seconds.

use std::path::Path;

use anyhow::bail;
use dispr_core::class::CellClass;
use dispr_core::dataset::{Dataset, load_cell};
use dispr_core::fsio::write_text_atomic;
use dispr_core::mesh::io::write_mesh;
use dispr_core::mesh::marching_cubes;

use crate::cli::{BaselineArgs, DemoArgs, EvaluateArgs};
use crate::output::print;

/// Marks a folder as made by `dispr demo`, so a later demo may reuse it.
const MARKER: &str = ".dispr-demo";

/// `dispr demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let out = &args.out;
    let reused = out.join(MARKER).is_file();
    if out.exists()
        && !reused
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{}: not empty and not made by `dispr demo`; pass --out with a new folder",
            out.display()
        );
    }
    if reused {
        // Only what an earlier demo wrote is replaced.
        for sub in ["cells", "predictions", "meshes", "report"] {
            let dir = out.join(sub);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
    }
    write_text_atomic(&out.join(MARKER), "made by dispr demo\n")?;
    let started = std::time::Instant::now();

    // 1. Synthetic cells of every class.
    let data = out.join("cells");
    let plan: Vec<CellClass> = CellClass::ALL
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, args.per_class as usize))
        .collect();
    print(&format!(
        "1/4 synthesizing {} cells ({} per class) …\n",
        plan.len(),
        args.per_class
    ))?;
    let csv = super::synth::synthesize_plan(&data, &plan, args.seed, true)?;
    write_text_atomic(&data.join("synth.csv"), &csv)?;
    let gallery = out.join("report").join("cells.png");
    let rows = crate::preview::dataset_cells(&data, 1)?;
    crate::preview::draw_gallery(
        &gallery,
        "synthetic cells: image, mask and true shape",
        &rows,
    )?;

    // 2. Predictions (the geometric baselines until the trained model ships).
    print("2/4 predicting 3D shapes from the 2D masks …\n")?;
    let mut preds = Vec::new();
    for kind in ["cylinder", "ellipsoid"] {
        let dir = out.join("predictions").join(kind);
        super::baseline::run(&BaselineArgs {
            kind: kind.into(),
            data: data.clone(),
            out: dir.clone(),
            depth: None,
        })?;
        preds.push(format!("{kind}={}", dir.display()));
    }

    // 3. Meshes of the true shapes, one per class, for any 3D viewer.
    print("3/4 writing meshes …\n")?;
    write_meshes(&data, &out.join("meshes"))?;

    // 4. Evaluation: Table 1, box plots, HTML.
    print("4/4 evaluating …\n")?;
    let report = out.join("report");
    super::evaluate::run(&EvaluateArgs {
        data,
        preds,
        fold: None,
        folds: 5,
        split_seed: 0,
        out: report.clone(),
    })?;
    print(&format!(
        "\ndemo finished in {:.1} s. Open {} (cells: {}, meshes: {})\n",
        started.elapsed().as_secs_f64(),
        report.join("index.html").display(),
        gallery.display(),
        out.join("meshes").display()
    ))
}

/// The STL mesh of the first cell of each class.
fn write_meshes(data: &Path, out: &Path) -> anyhow::Result<()> {
    let dataset = Dataset::scan(data)?;
    for (class, _) in dataset.class_counts() {
        if let Some(files) = dataset.cells.iter().find(|c| c.label.name() == class) {
            let cell = load_cell(files)?;
            if let Some(shape) = cell.shape {
                write_mesh(
                    &out.join(format!("{}.stl", cell.name)),
                    &marching_cubes(&shape),
                )?;
            }
        }
    }
    Ok(())
}
