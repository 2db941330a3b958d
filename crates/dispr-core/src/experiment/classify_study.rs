//! The classification experiment as `dispr classify` runs it: the forest cross-validated
//! without and with augmentation rows ([`ClassifyStudy::run`]), and the files that hold
//! its results ([`ClassifyStudy::write_tables`]; the confusion-matrix pictures are the
//! command line's).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::experiment::classify::{
    ClassifyConfig, FeatureTable, Outcome, cross_validate, folds, smallest_classes,
};
use crate::experiment::evaluation::describe;
use crate::io::atomic::write_text_atomic;

/// The two conditions of the experiment, and what they were run on.
#[derive(Clone, Debug)]
pub struct ClassifyStudy {
    /// The settings.
    pub config: ClassifyConfig,
    /// The classes whose augmentation rows were allowed.
    pub augment_classes: Vec<String>,
    /// Each row's test fold.
    pub folds: Vec<usize>,
    /// Without augmentation.
    pub plain: Outcome,
    /// With augmentation, when augmentation rows were given.
    pub augmented: Option<Outcome>,
}

impl ClassifyStudy {
    /// Cross-validates the forest on `table`, and again with the allowed `augment`
    /// rows when given.
    pub fn run(
        table: &FeatureTable,
        augment: Option<&FeatureTable>,
        config: &ClassifyConfig,
    ) -> Result<Self> {
        let augment_classes = config
            .augment_classes
            .clone()
            .unwrap_or_else(|| smallest_classes(table, 3));
        let folds = folds(table, config)?;
        let plain = cross_validate(table, None, config)?;
        let augmented = augment
            .map(|a| cross_validate(table, Some(a), config))
            .transpose()?;
        Ok(Self {
            config: config.clone(),
            augment_classes,
            folds,
            plain,
            augmented,
        })
    }

    /// The conditions that were run, named.
    fn conditions(&self) -> Vec<(&'static str, &Outcome)> {
        let mut c = vec![("without", &self.plain)];
        c.extend(self.augmented.as_ref().map(|a| ("with", a)));
        c
    }

    /// Writes `folds.csv`, `confusion.csv` (and `confusion_augmented.csv`),
    /// `per_class.csv`, `classification.json` (starting with the fields of `sources`,
    /// the inputs as the caller names them) and `summary.md` into `out`.
    pub fn write_tables(
        &self,
        out: &Path,
        table: &FeatureTable,
        sources: serde_json::Value,
    ) -> Result<()> {
        std::fs::create_dir_all(out)
            .map_err(|e| Error::io(out, "cannot create the report folder", e))?;
        let csv_file = |name: &str, rows: Vec<Vec<String>>| -> Result<()> {
            let path = out.join(name);
            let fail = |e: csv::Error| Error::new(&path, format!("cannot write CSV: {e}"));
            let mut w = csv::Writer::from_writer(Vec::new());
            for row in rows {
                w.write_record(row).map_err(fail)?;
            }
            let bytes = w.into_inner().map_err(|e| fail(e.into_error().into()))?;
            write_text_atomic(&path, &String::from_utf8(bytes).expect("UTF-8 fields"))
        };
        let mut folds = vec![vec!["name".into(), "class".into(), "fold".into()]];
        for (row, fold) in table.rows.iter().zip(&self.folds) {
            folds.push(vec![row.name.clone(), row.class.clone(), fold.to_string()]);
        }
        csv_file("folds.csv", folds)?;
        csv_file("confusion.csv", confusion_rows(&self.plain))?;
        if let Some(a) = &self.augmented {
            csv_file("confusion_augmented.csv", confusion_rows(a))?;
        }
        let mut per_class = vec![
            ["class", "condition", "precision", "recall", "f1", "support"]
                .map(String::from)
                .to_vec(),
        ];
        for (name, o) in self.conditions() {
            for c in &o.per_class {
                per_class.push(vec![
                    c.class.clone(),
                    name.into(),
                    c.precision.to_string(),
                    c.recall.to_string(),
                    c.f1.to_string(),
                    c.support.to_string(),
                ]);
            }
        }
        csv_file("per_class.csv", per_class)?;
        let c = &self.config;
        let mut report = match sources {
            serde_json::Value::Object(fields) => fields,
            _ => serde_json::Map::new(),
        };
        report.extend(
            serde_json::json!({
                "augment_classes": self.augment_classes,
                "folds": c.folds, "seed": c.seed, "trees": c.trees, "max_depth": c.depth,
                "without": self.plain, "with": self.augmented,
            })
            .as_object()
            .expect("an object")
            .clone(),
        );
        let json = serde_json::to_string_pretty(&report).expect("the report serializes");
        write_text_atomic(&out.join("classification.json"), &(json + "\n"))?;
        write_text_atomic(&out.join("summary.md"), &self.summary_markdown())
    }

    /// Macro and weighted F1 per condition (mean ± sd over folds), F1 per class.
    pub fn summary_markdown(&self) -> String {
        let mean_sd = |v: &[f64]| {
            let (_, mean, sd) = describe(&mut v.to_vec());
            (mean, sd)
        };
        let mut md = String::from("| condition | macro F1 | weighted F1 |\n|---|---|---|\n");
        for (name, o) in self.conditions() {
            let (m, ms) = mean_sd(&o.macro_f1);
            let (w, ws) = mean_sd(&o.weighted_f1);
            let _ = writeln!(
                md,
                "| {name} augmentation | {m:.3} ± {ms:.3} | {w:.3} ± {ws:.3} |"
            );
        }
        md.push_str("\n| class | support | F1 without | F1 with |\n|---|---:|---|---|\n");
        for (i, c) in self.plain.per_class.iter().enumerate() {
            let with = self
                .augmented
                .as_ref()
                .map_or("–".to_string(), |a| format!("{:.3}", a.per_class[i].f1));
            let _ = writeln!(md, "| {} | {} | {:.3} | {with} |", c.class, c.support, c.f1);
        }
        if let Some(a) = &self.augmented {
            let _ = writeln!(
                md,
                "\naugmented classes: {}; rows added per fold: {:?}",
                self.augment_classes.join(", "),
                a.augmented
            );
        }
        md
    }
}

/// A confusion matrix as CSV rows: a header of predicted classes, a row per true class.
fn confusion_rows(o: &Outcome) -> Vec<Vec<String>> {
    let mut rows = vec![
        std::iter::once("true/predicted".to_string())
            .chain(o.classes.iter().cloned())
            .collect(),
    ];
    for (class, row) in o.classes.iter().zip(&o.confusion) {
        rows.push(
            std::iter::once(class.clone())
                .chain(row.iter().map(usize::to_string))
                .collect(),
        );
    }
    rows
}
