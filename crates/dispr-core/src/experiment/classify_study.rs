//! The classification experiment as `dispr classify` runs it: the forest cross-validated
//! without and with augmentation rows ([`ClassifyStudy::run`]), and the files that hold
//! its results ([`ClassifyStudy::write_tables`]; the confusion-matrix pictures are the
//! command line's).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::experiment::classify::{
    Augmentation, ClassifyConfig, FeatureTable, Outcome, cross_validate, folds, scores,
    smallest_classes,
};
use crate::experiment::evaluation::describe;
use crate::experiment::paired::{bootstrap_interval, mcnemar_exact_p};
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
    /// With against without augmentation, per cell, when both were run.
    pub effect: Option<AugmentationEffect>,
    /// F1 over all cells with intervals, per condition (without, then with).
    pub over_cells: Vec<F1OverCells>,
}

/// Right-or-wrong per cell under two conditions, paired (n = cells): the accuracies,
/// their difference with a 95 % bootstrap interval over cells, and McNemar's exact test.
/// (The median of per-cell differences of 0/1 outcomes is almost always 0, so the mean,
/// the accuracy difference, is the statistic; McNemar's test is the signed-rank test's
/// exact form for ±1 differences.)
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PairedAccuracy {
    /// Cells compared.
    pub cells: usize,
    /// Share classified right without augmentation.
    pub accuracy_without: f64,
    /// Share classified right with it.
    pub accuracy_with: f64,
    /// `accuracy_with − accuracy_without`.
    pub difference: f64,
    /// 2.5th percentile of the bootstrap differences.
    pub ci_low: f64,
    /// 97.5th percentile of the bootstrap differences.
    pub ci_high: f64,
    /// Cells wrong without and right with augmentation.
    pub gained: usize,
    /// Cells right without and wrong with augmentation.
    pub lost: usize,
    /// Two-sided exact McNemar p.
    pub mcnemar_p: f64,
}

impl PairedAccuracy {
    /// Compares per-cell outcomes `without` and `with` (the same cells, in one order;
    /// not empty).
    pub fn of(without: &[bool], with: &[bool]) -> Self {
        let d: Vec<f64> = without
            .iter()
            .zip(with)
            .map(|(&a, &b)| f64::from(u8::from(b)) - f64::from(u8::from(a)))
            .collect();
        let mean = |v: &mut [f64]| v.iter().sum::<f64>() / v.len() as f64;
        let share = |v: &[bool]| v.iter().filter(|&&x| x).count() as f64 / v.len() as f64;
        let (ci_low, ci_high) = bootstrap_interval(&d, mean);
        let gained = d.iter().filter(|&&x| x > 0.0).count();
        let lost = d.iter().filter(|&&x| x < 0.0).count();
        Self {
            cells: d.len(),
            accuracy_without: share(without),
            accuracy_with: share(with),
            difference: mean(&mut d.clone()),
            ci_low,
            ci_high,
            gained,
            lost,
            mcnemar_p: mcnemar_exact_p(gained, lost),
        }
    }
}

/// Macro and weighted F1 over all cells (each tested once, in its fold), each with its
/// 95 % bootstrap interval over cells (n = cells): how much the score depends on which
/// cells were sampled, the trained forests held fixed (the per-fold mean ± sd says how
/// the folds vary). Two conditions on the same cells are compared by
/// [`AugmentationEffect`], paired, not by the overlap of these intervals.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct F1OverCells {
    /// Cells.
    pub cells: usize,
    /// Macro F1 of the pooled predictions.
    pub macro_f1: f64,
    /// Its interval: 2.5th percentile.
    pub macro_low: f64,
    /// 97.5th percentile.
    pub macro_high: f64,
    /// Weighted F1 of the pooled predictions.
    pub weighted_f1: f64,
    /// Its interval: 2.5th percentile.
    pub weighted_low: f64,
    /// 97.5th percentile.
    pub weighted_high: f64,
}

impl F1OverCells {
    /// The F1 of `outcome`'s predictions of `table`'s rows (the table it was
    /// cross-validated on), resampling cells with replacement.
    pub fn of(table: &FeatureTable, outcome: &Outcome) -> Self {
        let k = outcome.classes.len();
        let truth: Vec<usize> = table
            .rows
            .iter()
            .map(|r| {
                outcome
                    .classes
                    .iter()
                    .position(|c| *c == r.class)
                    .expect("the outcome's classes hold every row's class")
            })
            .collect();
        // Rows are resampled by index (the bootstrap draws from their positions).
        let f1 = |rows: &[f64]| {
            let mut confusion = vec![vec![0usize; k]; k];
            for &i in rows {
                let i = i as usize;
                confusion[truth[i]][outcome.predicted[i]] += 1;
            }
            let (_, macro_f1, weighted_f1) = scores(&outcome.classes, &confusion);
            (macro_f1, weighted_f1)
        };
        let rows: Vec<f64> = (0..truth.len()).map(|i| i as f64).collect();
        let (macro_f1, weighted_f1) = f1(&rows);
        let (macro_low, macro_high) = bootstrap_interval(&rows, |v| f1(v).0);
        let (weighted_low, weighted_high) = bootstrap_interval(&rows, |v| f1(v).1);
        Self {
            cells: rows.len(),
            macro_f1,
            macro_low,
            macro_high,
            weighted_f1,
            weighted_low,
            weighted_high,
        }
    }
}

/// What augmentation changed: over all cells, over the cells of the augmented classes,
/// and per fold in macro F1.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AugmentationEffect {
    /// Every cell.
    pub all_cells: PairedAccuracy,
    /// The cells of the augmented classes (`None` when the table has none).
    pub augmented_classes: Option<PairedAccuracy>,
    /// Per fold, macro F1 with minus without.
    pub macro_f1_differences: Vec<f64>,
}

impl AugmentationEffect {
    /// The effect of `with` over `plain` on `table`, whose cells of `classes` were
    /// augmented.
    pub fn of(table: &FeatureTable, plain: &Outcome, with: &Outcome, classes: &[String]) -> Self {
        let (a, b) = (plain.correct(table), with.correct(table));
        let in_classes: Vec<usize> = (0..table.rows.len())
            .filter(|&i| classes.contains(&table.rows[i].class))
            .collect();
        let pick = |v: &[bool]| in_classes.iter().map(|&i| v[i]).collect::<Vec<_>>();
        Self {
            all_cells: PairedAccuracy::of(&a, &b),
            augmented_classes: (!in_classes.is_empty())
                .then(|| PairedAccuracy::of(&pick(&a), &pick(&b))),
            macro_f1_differences: with
                .macro_f1
                .iter()
                .zip(&plain.macro_f1)
                .map(|(w, p)| w - p)
                .collect(),
        }
    }
}

impl ClassifyStudy {
    /// Cross-validates the forest on `table`, and again with the allowed `augment`
    /// rows when given.
    pub fn run(
        table: &FeatureTable,
        augment: Option<Augmentation>,
        config: &ClassifyConfig,
    ) -> Result<Self> {
        // One row per cell: folds and intervals are over cells (n = cells).
        let mut seen = std::collections::HashMap::new();
        for r in &table.rows {
            let n = seen.entry(r.source.as_str()).or_insert(0);
            *n += 1;
            if *n == 2 {
                return Err(Error::invalid(format!(
                    "cell '{}' has more than one row (its source column): the table to classify needs one row per cell; shapes generated from a cell belong in the augmentation table",
                    r.source
                )));
            }
        }
        let augment_classes = config
            .augment_classes
            .clone()
            .unwrap_or_else(|| smallest_classes(table, 3));
        let folds = folds(table, config)?;
        let plain = cross_validate(table, None, config)?;
        let augmented = augment
            .map(|a| cross_validate(table, Some(a), config))
            .transpose()?;
        let effect = augmented
            .as_ref()
            .map(|a| AugmentationEffect::of(table, &plain, a, &augment_classes));
        let mut over_cells = vec![F1OverCells::of(table, &plain)];
        over_cells.extend(augmented.as_ref().map(|a| F1OverCells::of(table, a)));
        Ok(Self {
            config: config.clone(),
            augment_classes,
            folds,
            plain,
            augmented,
            effect,
            over_cells,
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
        let mut folds = vec![vec![
            "name".into(),
            "class".into(),
            "fold".into(),
            "predicted_without".into(),
        ]];
        if self.augmented.is_some() {
            folds[0].push("predicted_with".into());
        }
        for (i, (row, fold)) in table.rows.iter().zip(&self.folds).enumerate() {
            let mut record = vec![
                row.name.clone(),
                row.class.clone(),
                fold.to_string(),
                self.plain.classes[self.plain.predicted[i]].clone(),
            ];
            if let Some(a) = &self.augmented {
                record.push(a.classes[a.predicted[i]].clone());
            }
            folds.push(record);
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
        let report = self.report_json(sources);
        let json = serde_json::to_string_pretty(&report).expect("the report serializes");
        write_text_atomic(&out.join("classification.json"), &(json + "\n"))?;
        write_text_atomic(&out.join("summary.md"), &self.summary_markdown())
    }

    /// The content of `classification.json`: the fields of `sources` (the inputs as the
    /// caller names them), the settings, and both conditions' results.
    pub fn report_json(&self, sources: serde_json::Value) -> serde_json::Value {
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
                "with_against_without": self.effect,
                "f1_over_cells": {
                    "without": self.over_cells.first(),
                    "with": self.over_cells.get(1),
                },
            })
            .as_object()
            .expect("an object")
            .clone(),
        );
        serde_json::Value::Object(report)
    }

    /// Macro and weighted F1 per condition (mean ± sd over folds), F1 per class.
    pub fn summary_markdown(&self) -> String {
        let mean_sd = |v: &[f64]| {
            let (_, mean, sd) = describe(&mut v.to_vec());
            (mean, sd)
        };
        let mut md = format!(
            "{} cells, {}-fold stratified cross-validation (every cell tested once); \
             F1 as mean ± standard deviation over the {} folds, and over all cells with \
             its 95 % bootstrap interval over cells.\n\n\
             | condition | macro F1 | weighted F1 | macro F1, all cells [95 % CI] | weighted F1, all cells [95 % CI] |\n\
             |---|---|---|---|---|\n",
            self.plain.predicted.len(),
            self.config.folds,
            self.config.folds
        );
        for ((name, o), f) in self.conditions().into_iter().zip(&self.over_cells) {
            let (m, ms) = mean_sd(&o.macro_f1);
            let (w, ws) = mean_sd(&o.weighted_f1);
            let _ = writeln!(
                md,
                "| {name} augmentation | {m:.3} ± {ms:.3} | {w:.3} ± {ws:.3} | {:.3} [{:.3}, {:.3}] | {:.3} [{:.3}, {:.3}] |",
                f.macro_f1,
                f.macro_low,
                f.macro_high,
                f.weighted_f1,
                f.weighted_low,
                f.weighted_high
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
        if let Some(e) = &self.effect {
            md.push_str(
                "\nWith against without augmentation, per cell and paired (n = cells; \
                 accuracy difference with its 95 % bootstrap interval over cells; cells \
                 gained / lost; exact McNemar p):\n\n\
                 | cells | n | accuracy without | accuracy with | difference [95 % CI] | gained / lost | p |\n\
                 |---|---:|---:|---:|---|---|---:|\n",
            );
            let mut line = |what: &str, p: &PairedAccuracy| {
                let _ = writeln!(
                    md,
                    "| {what} | {} | {:.3} | {:.3} | {:+.3} [{:+.3}, {:+.3}] | {} / {} | {:.3} |",
                    p.cells,
                    p.accuracy_without,
                    p.accuracy_with,
                    p.difference,
                    p.ci_low,
                    p.ci_high,
                    p.gained,
                    p.lost,
                    p.mcnemar_p
                );
            };
            line("all", &e.all_cells);
            if let Some(p) = &e.augmented_classes {
                line("augmented classes", p);
            }
            let folds: Vec<String> = e
                .macro_f1_differences
                .iter()
                .map(|d| format!("{d:+.3}"))
                .collect();
            let _ = writeln!(
                md,
                "\nmacro F1 with − without, per fold: {}",
                folds.join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::classify::FeatureRow;

    /// A table of `truth` classes and an outcome that predicted `predicted`.
    fn case(truth: &[usize], predicted: &[usize]) -> (FeatureTable, Outcome) {
        let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let rows = truth
            .iter()
            .enumerate()
            .map(|(i, &c)| FeatureRow {
                name: format!("cell{i}"),
                class: classes[c].clone(),
                source: format!("cell{i}"),
                values: vec![0.0],
            })
            .collect();
        let mut confusion = vec![vec![0; 3]; 3];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let (per_class, _, _) = scores(&classes, &confusion);
        let outcome = Outcome {
            classes,
            macro_f1: vec![],
            weighted_f1: vec![],
            confusion,
            per_class,
            augmented: vec![],
            predicted: predicted.to_vec(),
        };
        let table = FeatureTable {
            names: vec!["x".into()],
            rows,
        };
        (table, outcome)
    }

    #[test]
    fn f1_over_cells_is_the_pooled_score_with_a_bootstrap_interval() {
        let (table, perfect) = case(&[0, 0, 1, 1, 2, 2], &[0, 0, 1, 1, 2, 2]);
        let f = F1OverCells::of(&table, &perfect);
        assert_eq!(
            (f.cells, f.macro_f1, f.macro_low, f.macro_high),
            (6, 1.0, 1.0, 1.0)
        );
        let truth = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 2, 0, 1, 2, 0, 1];
        let predicted = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 1, 2, 0, 1, 1, 0, 1];
        let (table, outcome) = case(&truth, &predicted);
        let f = F1OverCells::of(&table, &outcome);
        let (_, macro_f1, weighted_f1) = scores(&outcome.classes, &outcome.confusion);
        assert_eq!((f.macro_f1, f.weighted_f1), (macro_f1, weighted_f1));
        assert!(
            f.macro_low < f.macro_f1 && f.macro_f1 < f.macro_high,
            "{f:?}"
        );
        assert!(f.weighted_low < f.weighted_f1 && f.weighted_f1 < f.weighted_high);
        assert!(f.macro_low > 0.4 && f.macro_high <= 1.0, "{f:?}");
    }

    #[test]
    fn a_cell_with_two_rows_is_refused() {
        let (mut table, _) = case(&[0, 0, 1, 1, 2, 2], &[0, 0, 1, 1, 2, 2]);
        table.rows[1].source = "cell0".into();
        let config = ClassifyConfig {
            folds: 2,
            seed: 0,
            trees: 5,
            depth: 3,
            augment_classes: None,
        };
        let e = ClassifyStudy::run(&table, None, &config)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cell 'cell0' has more than one row"), "{e}");
    }
}
