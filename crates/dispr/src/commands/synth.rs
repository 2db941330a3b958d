//! `dispr synth`: a synthetic dataset in the real layout.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;
use dispr_core::data::class::CellClass;
use dispr_core::data::dataset::{IMAGE_DIR, MASK_DIR, OBJ_DIR};
use dispr_core::io::atomic::write_text_atomic;
use dispr_core::io::tiff::{write_image, write_shape};
use dispr_core::phantom::{Phantom, class_counts, generate};
use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::cli::SynthArgs;
use crate::output::print;
use crate::progress;

/// The class of every cell to make, in order (the index is the cell's RNG stream).
pub fn plan(n: usize, classes: &[CellClass]) -> Vec<CellClass> {
    dispr_core::phantom::class_plan(n, classes)
}

/// Writes one cell's three TIFFs.
fn write_cell(out: &Path, p: &Phantom) -> dispr_core::Result<()> {
    let file = format!("{}.tif", p.name);
    write_image(&out.join(IMAGE_DIR).join(&file), &p.image)?;
    write_image(&out.join(MASK_DIR).join(&file), &p.mask.to_u8_mask())?;
    write_shape(&out.join(OBJ_DIR).join(&file), &p.obj)
}

/// Generates and writes `n` cells of `classes` with `seed` into `out`; returns the CSV
/// of their parameters.
pub fn synthesize(
    out: &Path,
    n: usize,
    seed: u64,
    classes: &[CellClass],
    show_progress: bool,
) -> anyhow::Result<String> {
    synthesize_plan(out, &plan(n, classes), seed, show_progress)
}

/// Generates and writes one cell of each class listed in `plan` (cell i uses RNG
/// stream i); returns the CSV of their parameters.
pub fn synthesize_plan(
    out: &Path,
    plan: &[CellClass],
    seed: u64,
    show_progress: bool,
) -> anyhow::Result<String> {
    let bar = if show_progress {
        progress::bar(plan.len(), "cells")
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message("synthesizing");
    let rows: Vec<String> = plan
        .par_iter()
        .enumerate()
        .progress_with(bar.clone())
        .map(|(index, &class)| {
            let p = generate(seed, index, class);
            write_cell(out, &p)?;
            let i = p.imaging;
            Ok(format!(
                "{},{},{},{},{:.4},{:.4},{:.4},{:.1},{:.3},{:.4},{:.4}",
                p.name,
                p.class.name(),
                p.sde.map_or(String::new(), |s| format!("{:.2}", s.score())),
                p.sde.map_or("", |s| s.name()),
                i.sigma_xy,
                i.sigma_z,
                i.tau,
                i.peak_photons,
                i.background,
                i.membrane,
                i.gain
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();
    let mut csv = String::from(
        "name,class,sde_score,sde_shape,sigma_xy,sigma_z,tau,peak_photons,background,membrane,gain\n",
    );
    for row in rows {
        let _ = writeln!(csv, "{row}");
    }
    Ok(csv)
}

/// `dispr synth`.
pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    let classes: Vec<CellClass> = if args.classes.is_empty() {
        CellClass::ALL.to_vec()
    } else {
        args.classes
            .iter()
            .map(|c| {
                c.parse::<CellClass>()
                    .map_err(|e| anyhow::anyhow!("--classes: {e}"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let n = args.n as usize;
    if n < classes.len() {
        crate::output::note(&format!(
            "note: {n} cells cannot cover {} classes; the rarest are left out",
            classes.len()
        ));
    }
    for folder in [IMAGE_DIR, MASK_DIR, OBJ_DIR] {
        let dir = args.out.join(folder);
        let occupied = std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if occupied && !args.overwrite {
            bail!(
                "{}: already holds files; choose an empty folder or pass --overwrite",
                dir.display()
            );
        }
    }
    let started = std::time::Instant::now();
    let csv = synthesize(&args.out, n, args.seed, &classes, true)?;
    write_text_atomic(&args.out.join("synth.csv"), &csv)?;
    let mut summary = format!(
        "wrote {n} cells to {} in {:.1} s:",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    for (class, count) in class_counts(n, &classes) {
        let _ = write!(summary, " {count} {class},");
    }
    summary.pop();
    summary.push('\n');
    if args.preview {
        let path = args.out.join("preview.png");
        let rows = crate::preview::dataset_cells(&args.out, Some(2))?;
        crate::preview::draw_gallery(&path, &format!("dispr synth --seed {}", args.seed), &rows)?;
        let _ = writeln!(summary, "preview: {}", path.display());
    }
    print(&summary)
}
