//! `dispr classify`: the random-forest experiment, with and without augmentation.

use dispr_core::experiment::classify::{Augmentation, ClassifyConfig, read_features};
use dispr_core::experiment::classify_study::ClassifyStudy;
use serde_json::json;

use crate::cli::ClassifyArgs;
use crate::output::{note, print, print_json};
use crate::report::draw_confusion;

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
    note(&format!(
        "cross-validating {} cells, {} features, {} folds, {} trees …",
        table.rows.len(),
        table.names.len(),
        config.folds,
        config.trees
    ));
    let study = ClassifyStudy::run(&table, augment.as_ref().map(Augmentation::Shared), &config)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.features.display()))?;
    let out = &args.out;
    let sources = json!({
        "features": args.features.display().to_string(),
        "augment": args.augment.as_ref().map(|p| p.display().to_string()),
    });
    study.write_tables(out, &table, sources.clone())?;
    draw_confusion(
        &out.join("confusion.png"),
        "without augmentation",
        &study.plain,
    )?;
    if let Some(a) = &study.augmented {
        draw_confusion(&out.join("confusion_augmented.png"), "with augmentation", a)?;
    }
    if args.json {
        return print_json(&study.report_json(sources));
    }
    print(&format!(
        "{}\nreport: {}\n",
        study.summary_markdown(),
        out.display()
    ))
}
