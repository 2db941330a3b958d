//! `dispr classify`: the random-forest experiment, with and without augmentation.

use std::fmt::Write as _;

use anyhow::Context;
use dispr_core::experiment::classify::{
    ClassifyConfig, Outcome, cross_validate, folds, read_features, smallest_classes,
};
use dispr_core::experiment::evaluation::describe;
use dispr_core::io::atomic::write_text_atomic;
use serde_json::json;

use crate::cli::ClassifyArgs;
use crate::output::print;

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let (_, mean, sd) = describe(&mut v.to_vec());
    (mean, sd)
}

fn confusion_csv(o: &Outcome) -> String {
    let mut s = format!("true/predicted,{}\n", o.classes.join(","));
    for (class, row) in o.classes.iter().zip(&o.confusion) {
        let cells: Vec<String> = row.iter().map(usize::to_string).collect();
        let _ = writeln!(s, "{class},{}", cells.join(","));
    }
    s
}

/// `dispr classify`.
pub fn run(args: &ClassifyArgs) -> anyhow::Result<()> {
    let table = read_features(&args.features)?;
    let augment = args
        .augment
        .as_ref()
        .map(|p| read_features(p))
        .transpose()?;
    let config = ClassifyConfig {
        folds: args.folds as usize,
        seed: args.seed,
        trees: args.trees,
        depth: args.depth,
        augment_classes: (!args.augment_classes.is_empty()).then(|| args.augment_classes.clone()),
    };
    let augment_classes = config
        .augment_classes
        .clone()
        .unwrap_or_else(|| smallest_classes(&table, 3));
    let fail = |e: String| anyhow::anyhow!("{}: {e}", args.features.display());
    let fold_of = folds(&table, &config).map_err(fail)?;
    print(&format!(
        "cross-validating {} cells, {} features, {} folds, {} trees …\n",
        table.rows.len(),
        table.names.len(),
        config.folds,
        config.trees
    ))?;
    let plain = cross_validate(&table, None, &config).map_err(fail)?;
    let augmented = match &augment {
        Some(a) => Some(cross_validate(&table, Some(a), &config).map_err(fail)?),
        None => None,
    };
    let out = &args.out;
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the report folder", out.display()))?;
    let mut folds_csv = String::from("name,class,fold\n");
    for (row, fold) in table.rows.iter().zip(&fold_of) {
        let _ = writeln!(folds_csv, "{},{},{fold}", row.name, row.class);
    }
    write_text_atomic(&out.join("folds.csv"), &folds_csv)?;
    write_text_atomic(&out.join("confusion.csv"), &confusion_csv(&plain))?;
    crate::report::draw_confusion(&out.join("confusion.png"), "without augmentation", &plain)?;
    if let Some(a) = &augmented {
        write_text_atomic(&out.join("confusion_augmented.csv"), &confusion_csv(a))?;
        crate::report::draw_confusion(
            &out.join("confusion_augmented.png"),
            "with augmentation",
            a,
        )?;
    }
    let mut per_class = String::from("class,condition,precision,recall,f1,support\n");
    for (name, o) in [("without", Some(&plain)), ("with", augmented.as_ref())] {
        for c in o.map(|o| o.per_class.as_slice()).unwrap_or_default() {
            let _ = writeln!(
                per_class,
                "{},{name},{},{},{},{}",
                c.class, c.precision, c.recall, c.f1, c.support
            );
        }
    }
    write_text_atomic(&out.join("per_class.csv"), &per_class)?;
    let report = json!({
        "features": args.features.display().to_string(),
        "augment": args.augment.as_ref().map(|p| p.display().to_string()),
        "augment_classes": augment_classes,
        "folds": config.folds, "seed": config.seed, "trees": config.trees, "max_depth": config.depth,
        "without": plain, "with": augmented,
    });
    write_text_atomic(
        &out.join("classification.json"),
        &(serde_json::to_string_pretty(&report)? + "\n"),
    )?;

    let mut md = String::from("| condition | macro F1 | weighted F1 |\n|---|---|---|\n");
    for (name, o) in [
        ("without augmentation", Some(&plain)),
        ("with augmentation", augmented.as_ref()),
    ] {
        if let Some(o) = o {
            let (m, ms) = mean_sd(&o.macro_f1);
            let (w, ws) = mean_sd(&o.weighted_f1);
            let _ = writeln!(md, "| {name} | {m:.3} ± {ms:.3} | {w:.3} ± {ws:.3} |");
        }
    }
    md.push_str("\n| class | support | F1 without | F1 with |\n|---|---:|---|---|\n");
    for (i, c) in plain.per_class.iter().enumerate() {
        let with = augmented
            .as_ref()
            .map_or("–".to_string(), |a| format!("{:.3}", a.per_class[i].f1));
        let _ = writeln!(md, "| {} | {} | {:.3} | {with} |", c.class, c.support, c.f1);
    }
    if let Some(a) = &augmented {
        let _ = writeln!(
            md,
            "\naugmented classes: {}; rows added per fold: {:?}",
            augment_classes.join(", "),
            a.augmented
        );
    }
    write_text_atomic(&out.join("summary.md"), &md)?;
    print(&format!("{md}\nreport: {}\n", out.display()))
}
