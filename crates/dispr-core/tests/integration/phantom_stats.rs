//! Synthetic cells against the real sample (PHANTOMS.md, "Matching the real sample").
//!
//! For each class the real sample has, the medians of the same statistics over real and
//! generated cells must agree within tolerances justified below; the classes the sample
//! lacks are checked against published dimensions.

use dispr_core::data::class::CellClass;
use dispr_core::data::dataset::{Dataset, load_cell};
use dispr_core::io::tiff::read_image;
use dispr_core::phantom::generate;
use dispr_core::phantom::stats::{CellStats, cell_stats, median_stats};
use dispr_testkit::real_sample_or_skip;
use rayon::prelude::*;

const PER_CLASS: usize = 24;

fn synthetic(class: CellClass) -> CellStats {
    let cells: Vec<CellStats> = (0..PER_CLASS)
        .into_par_iter()
        .map(|i| {
            let p = generate(2023, i, class);
            cell_stats(&p.image, &p.mask, &p.obj)
        })
        .collect();
    median_stats(&cells)
}

fn real(sample: &std::path::Path, class: CellClass) -> CellStats {
    let dataset = Dataset::scan(sample).unwrap();
    let cells: Vec<CellStats> = dataset
        .cells
        .par_iter()
        .filter(|c| c.label.class() == Some(class))
        .map(|files| {
            let cell = load_cell(files).unwrap();
            let image = read_image(&files.image).unwrap();
            let dispr_core::io::tiff::Stack::U8(image) = image else {
                panic!("uint8 images")
            };
            cell_stats(&image.slice_z(0), &cell.mask, &cell.shape.unwrap())
        })
        .collect();
    median_stats(&cells)
}

/// Tolerances, as (statistic, allowed difference, relative?). The real medians come
/// from 10 (multilobate) to 55 (clusters) cells whose volumes and areas spread by about
/// 30 % (sd / median), so their medians are uncertain by about 1.25 · 30 % / √10 ≈ 12 %
/// for the smallest class; the synthetic medians over 24 cells by about 8 %. ±25 % on
/// sizes is about 1.7 combined standard errors: wide enough not to flake across seeds,
/// narrow enough to catch a class drifting away (e.g. PHANTOMS.md's 0.25–0.5·D notch
/// gives keratocyte masks 40 % too small). Extents vary less (sd ≈ 10 %), hence ±15 %
/// and ±12 %. Intensities: see below; the background is compared in grey levels and the
/// edge profile (already normalised) in absolute units.
fn check(class: CellClass, real: &CellStats, synthetic: &CellStats) -> Vec<String> {
    let mut failures = Vec::new();
    let mut rel = |name: &str, r: f64, s: f64, tol: f64| {
        if (s - r).abs() > tol * r.abs() {
            failures.push(format!(
                "{class} {name}: synthetic {s:.1} vs real {r:.1} (±{:.0} %)",
                tol * 100.0
            ));
        }
    };
    rel("volume", real.volume, synthetic.volume, 0.25);
    rel("mask area", real.mask_area, synthetic.mask_area, 0.25);
    rel("z extent", real.z_extent, synthetic.z_extent, 0.15);
    rel("xy extent", real.xy_extent, synthetic.xy_extent, 0.12);
    // Brightness varies ±25 % between cells (real slice maxima 138–251), so medians of
    // intensities over 10–25 cells are uncertain by ≈ 8 % each.
    rel("inside mean", real.inside_mean, synthetic.inside_mean, 0.2);
    rel("slice max", real.slice_max, synthetic.slice_max, 0.2);
    if (synthetic.background - real.background).abs() > 2.5 {
        failures.push(format!(
            "{class} background {} vs {}",
            synthetic.background, real.background
        ));
    }
    if !(31.0..=32.5).contains(&synthetic.z_centre) {
        failures.push(format!("{class} z centre {}", synthetic.z_centre));
    }
    if synthetic
        .xy_centre
        .iter()
        .any(|c| !(30.0..=34.0).contains(c))
    {
        failures.push(format!("{class} xy centre {:?}", synthetic.xy_centre));
    }
    for (i, (r, s)) in real
        .edge_profile
        .iter()
        .zip(&synthetic.edge_profile)
        .enumerate()
    {
        if (r - s).abs() > 0.1 {
            failures.push(format!("{class} edge profile [{i}]: {s:.2} vs {r:.2}"));
        }
    }
    failures
}

#[test]
fn synthetic_cells_match_the_real_sample() {
    let Some(sample) = real_sample_or_skip("synthetic_cells_match_the_real_sample") else {
        return;
    };
    let mut failures = Vec::new();
    eprintln!(
        "class        source     volume  mask  z_ext xy_ext  bg  inside  max  edge profile (-3..4 px)"
    );
    for class in [
        CellClass::Cluster,
        CellClass::Keratocyte,
        CellClass::Knizocyte,
        CellClass::Multilobate,
    ] {
        let (r, s) = (real(&sample, class), synthetic(class));
        for (source, st) in [("real", &r), ("synthetic", &s)] {
            let profile: Vec<String> = st.edge_profile.iter().map(|v| format!("{v:.2}")).collect();
            eprintln!(
                "{:<12} {source:<9} {:>7.0} {:>5.0} {:>5.1} {:>6.1} {:>3.0} {:>7.1} {:>4.0}  {}",
                class.name(),
                st.volume,
                st.mask_area,
                st.z_extent,
                st.xy_extent,
                st.background,
                st.inside_mean,
                st.slice_max,
                profile.join(" ")
            );
        }
        failures.extend(check(class, &r, &s));
    }
    assert!(
        failures.is_empty(),
        "synthetic cells drifted from the real ones:\n{}",
        failures.join("\n")
    );
}
