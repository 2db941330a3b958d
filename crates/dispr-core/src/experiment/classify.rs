//! The classification experiment (the paper's Fig. 5): a random forest on morphological
//! features, stratified k-fold cross-validation, macro and weighted F1, per-class scores
//! and confusion matrices — with and without augmentation by features of generated
//! shapes.
//!
//! The no-leak rule: an augmentation row (features of a shape generated from a real
//! cell, naming that cell in its `source` column) joins a fold's training set only when
//! its source cell is in that fold's training set, and never a test set.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::data::split::{fold_indices, stratified_folds};
use crate::error::{Error, Result};

/// One row of a features CSV (`dispr features`).
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureRow {
    /// Shape name.
    pub name: String,
    /// Class name.
    pub class: String,
    /// The real cell the shape belongs to (itself, or the cell a prediction came from).
    pub source: String,
    /// Feature values.
    pub values: Vec<f64>,
}

/// A features CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureTable {
    /// Feature names (the columns after name, class, source).
    pub names: Vec<String>,
    /// The rows.
    pub rows: Vec<FeatureRow>,
}

/// Reads a features CSV: columns `name,class,source,` then numeric features.
pub fn read_features(path: &Path) -> Result<FeatureTable> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| Error::new(path, format!("cannot read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| Error::new(path, format!("cannot read the header: {e}")))?
        .clone();
    if headers.len() < 4
        || &headers[0] != "name"
        || &headers[1] != "class"
        || &headers[2] != "source"
    {
        return Err(Error::new(
            path,
            "expected columns name,class,source followed by features (as `dispr features` writes)",
        ));
    }
    let names: Vec<String> = headers.iter().skip(3).map(str::to_string).collect();
    let mut rows = Vec::new();
    let mut lines = std::collections::HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| Error::new(path, format!("line {line}: {e}")))?;
        if record.len() != headers.len() {
            return Err(Error::new(
                path,
                format!(
                    "line {line}: {} fields, the header has {}",
                    record.len(),
                    headers.len()
                ),
            ));
        }
        let values = record
            .iter()
            .skip(3)
            .zip(&names)
            .map(|(v, n)| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        Error::new(
                            path,
                            format!(
                                "line {line}: feature '{}' is '{}', not a finite number",
                                n.escape_debug(),
                                v.escape_debug()
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<f64>>>()?;
        // Stored by its canonical name, so `Cluster` and `cell_clusters` are one class.
        let class = if record[1].eq_ignore_ascii_case("unlabeled") {
            "unlabeled"
        } else {
            match record[1].parse::<crate::data::class::CellClass>() {
                Ok(c) => c.name(),
                Err(_) => {
                    return Err(Error::new(
                        path,
                        format!(
                            "line {line}: unknown class '{}' (expected one of: {}, or unlabeled)",
                            record[1].escape_debug(),
                            crate::data::class::CellClass::ALL
                                .map(|c| c.name())
                                .join(", ")
                        ),
                    ));
                }
            }
        };
        // The same row twice would put one cell in a training and a test fold at once.
        if let Some(first) = lines.insert(record[0].to_string(), line) {
            return Err(Error::new(
                path,
                format!(
                    "line {line}: '{}' is listed again (first on line {first}); each shape may appear once",
                    record[0].escape_debug()
                ),
            ));
        }
        rows.push(FeatureRow {
            name: record[0].to_string(),
            class: class.to_string(),
            source: record[2].to_string(),
            values,
        });
    }
    if rows.is_empty() {
        return Err(Error::new(path, "no rows"));
    }
    Ok(FeatureTable { names, rows })
}

/// Settings of the experiment (the paper: 5 folds, 1000 trees of depth ≤ 10).
#[derive(Clone, Debug)]
pub struct ClassifyConfig {
    /// Number of folds.
    pub folds: usize,
    /// Seed of the folds and of the forest.
    pub seed: u64,
    /// Trees in the forest.
    pub trees: u16,
    /// Maximum tree depth.
    pub depth: u16,
    /// Classes whose augmentation rows are used (default: the three smallest).
    pub augment_classes: Option<Vec<String>>,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            folds: 5,
            seed: 0,
            trees: 1000,
            depth: 10,
            augment_classes: None,
        }
    }
}

/// Precision, recall, F1 and support of one class (summed confusion matrix).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassScores {
    /// Class name.
    pub class: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Test cells of the class.
    pub support: usize,
}

/// The cross-validated result of one condition (with or without augmentation).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Outcome {
    /// Class names (rows and columns of the confusion matrix).
    pub classes: Vec<String>,
    /// Macro F1 of each fold.
    pub macro_f1: Vec<f64>,
    /// Weighted F1 of each fold.
    pub weighted_f1: Vec<f64>,
    /// Confusion matrix summed over folds (rows: true class, columns: predicted).
    pub confusion: Vec<Vec<usize>>,
    /// Scores per class from the summed matrix.
    pub per_class: Vec<ClassScores>,
    /// Augmentation rows added to each fold's training set.
    pub augmented: Vec<usize>,
    /// The class predicted for each row of the table (in its test fold), an index into
    /// `classes`.
    #[serde(skip)]
    pub predicted: Vec<usize>,
}

impl Outcome {
    /// Whether each row of `table` (the table it was cross-validated on) was classified
    /// right.
    pub fn correct(&self, table: &FeatureTable) -> Vec<bool> {
        table
            .rows
            .iter()
            .zip(&self.predicted)
            .map(|(r, &p)| self.classes[p] == r.class)
            .collect()
    }
}

/// Per-class scores and macro / weighted F1 of a confusion matrix (sklearn's
/// conventions: a class never predicted has precision 0; the macro mean runs over the
/// classes that occur in truth or prediction; the weighted mean weighs by support).
pub fn scores(classes: &[String], confusion: &[Vec<usize>]) -> (Vec<ClassScores>, f64, f64) {
    let k = classes.len();
    let mut per_class = Vec::with_capacity(k);
    let (mut macro_sum, mut present, mut weighted_sum, mut total) = (0.0, 0usize, 0.0, 0usize);
    for c in 0..k {
        let tp = confusion[c][c] as f64;
        let predicted: usize = (0..k).map(|r| confusion[r][c]).sum();
        let support: usize = confusion[c].iter().sum();
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        if support + predicted > 0 {
            macro_sum += f1;
            present += 1;
        }
        weighted_sum += f1 * support as f64;
        total += support;
        per_class.push(ClassScores {
            class: classes[c].clone(),
            precision,
            recall,
            f1,
            support,
        });
    }
    (
        per_class,
        if present > 0 {
            macro_sum / present as f64
        } else {
            0.0
        },
        if total > 0 {
            weighted_sum / total as f64
        } else {
            0.0
        },
    )
}

/// The augmentation rows a fold may train on: of an allowed class, and generated from a
/// cell of that fold's training set (the no-leak rule).
pub fn allowed_augmentation<'a>(
    augment: &'a FeatureTable,
    train_sources: &HashSet<&str>,
    classes: &[String],
) -> Vec<&'a FeatureRow> {
    augment
        .rows
        .iter()
        .filter(|r| classes.contains(&r.class) && train_sources.contains(r.source.as_str()))
        .collect()
}

/// The `n` classes with the fewest rows (ties by name).
pub fn smallest_classes(table: &FeatureTable, n: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &table.rows {
        *counts.entry(&r.class).or_default() += 1;
    }
    let mut by_size: Vec<(&str, usize)> = counts.into_iter().collect();
    by_size.sort_by_key(|&(name, count)| (count, name));
    by_size
        .into_iter()
        .take(n)
        .map(|(c, _)| c.to_string())
        .collect()
}

/// Test fold of every row of `table` (stratified by class, by row name and seed).
pub fn folds(table: &FeatureTable, config: &ClassifyConfig) -> Result<Vec<usize>> {
    let keys: Vec<(&str, &str)> = table
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.class.as_str()))
        .collect();
    stratified_folds(&keys, config.folds, config.seed)
}

/// Where the augmentation rows of each fold's training set come from.
#[derive(Clone, Copy, Debug)]
pub enum Augmentation<'a> {
    /// One table for every fold: shapes no training made (a baseline's, or a model's
    /// that never saw any cell of the table); the no-leak rule picks each fold's rows.
    Shared(&'a FeatureTable),
    /// A table per fold of the classifier's split: fold j's rows come from a model that
    /// never saw fold j's cells (e.g. DISPR trained with fold j held out), so no test
    /// cell's shape reaches a training set even through the generator's weights.
    PerFold(&'a [FeatureTable]),
}

impl<'a> Augmentation<'a> {
    /// The table fold `fold`'s training set draws from.
    pub fn for_fold(&self, fold: usize) -> &'a FeatureTable {
        match *self {
            Self::Shared(t) => t,
            Self::PerFold(tables) => &tables[fold],
        }
    }

    /// Refuses tables whose feature columns differ from `table`'s, or a per-fold list
    /// whose length is not the number of folds.
    fn check(&self, table: &FeatureTable, folds: usize) -> Result<()> {
        let tables: &[FeatureTable] = match self {
            Self::Shared(t) => std::slice::from_ref(*t),
            Self::PerFold(tables) if tables.len() != folds => {
                return Err(Error::invalid(format!(
                    "{} augmentation tables for {folds} folds: one per fold is needed",
                    tables.len()
                )));
            }
            Self::PerFold(tables) => tables,
        };
        if tables.iter().any(|a| a.names != table.names) {
            return Err(Error::invalid(
                "the augmentation CSV has other feature columns than the features CSV",
            ));
        }
        Ok(())
    }
}

/// Cross-validates the forest on `table`, optionally adding allowed `augment` rows to
/// each training set. Unlabeled rows are not classified.
pub fn cross_validate(
    table: &FeatureTable,
    augment: Option<Augmentation>,
    config: &ClassifyConfig,
) -> Result<Outcome> {
    if let Some(a) = &augment {
        a.check(table, config.folds)?;
    }
    let classes: Vec<String> = {
        let mut c: Vec<String> = table.rows.iter().map(|r| r.class.clone()).collect();
        c.sort();
        c.dedup();
        c
    };
    if classes.len() < 2 {
        return Err(Error::invalid(format!(
            "need at least two classes, found {classes:?}"
        )));
    }
    if classes.iter().any(|c| c == "unlabeled") {
        return Err(Error::invalid(
            "some rows are unlabeled; label them (labels.csv) or leave them out",
        ));
    }
    let augment_classes = config
        .augment_classes
        .clone()
        .unwrap_or_else(|| smallest_classes(table, 3));
    let fold_of = folds(table, config)?;
    let index = |c: &str| classes.iter().position(|x| x == c);
    let k = classes.len();
    let mut outcome = Outcome {
        classes: classes.clone(),
        macro_f1: Vec::new(),
        weighted_f1: Vec::new(),
        confusion: vec![vec![0; k]; k],
        per_class: Vec::new(),
        augmented: Vec::new(),
        predicted: vec![0; table.rows.len()],
    };
    for fold in 0..config.folds {
        let (test, train) = fold_indices(&fold_of, fold);
        let train_sources: HashSet<&str> = train
            .iter()
            .map(|&i| table.rows[i].source.as_str())
            .collect();
        let test_sources: HashSet<&str> = test
            .iter()
            .map(|&i| table.rows[i].source.as_str())
            .collect();
        let mut train_rows: Vec<&FeatureRow> = train.iter().map(|&i| &table.rows[i]).collect();
        let extra = augment
            .map(|a| allowed_augmentation(a.for_fold(fold), &train_sources, &augment_classes))
            .unwrap_or_default();
        debug_assert!(
            extra
                .iter()
                .all(|r| !test_sources.contains(r.source.as_str()))
        );
        let extra: Vec<&FeatureRow> = extra
            .into_iter()
            .filter(|r| index(&r.class).is_some())
            .collect();
        outcome.augmented.push(extra.len());
        train_rows.extend(extra);
        let x = DenseMatrix::from_2d_vec(&train_rows.iter().map(|r| r.values.clone()).collect())
            .map_err(|e| Error::invalid(format!("fold {fold}: {e}")))?;
        let y: Vec<u32> = train_rows
            .iter()
            .map(|r| index(&r.class).expect("known class") as u32)
            .collect();
        let params = RandomForestClassifierParameters::default()
            .with_n_trees(config.trees)
            .with_max_depth(config.depth)
            .with_seed(config.seed.wrapping_add(fold as u64));
        let forest = RandomForestClassifier::fit(&x, &y, params)
            .map_err(|e| Error::invalid(format!("fold {fold}: {e}")))?;
        let test_x =
            DenseMatrix::from_2d_vec(&test.iter().map(|&i| table.rows[i].values.clone()).collect())
                .map_err(|e| Error::invalid(format!("fold {fold}: {e}")))?;
        let predicted: Vec<u32> = forest
            .predict(&test_x)
            .map_err(|e| Error::invalid(format!("fold {fold}: {e}")))?;
        let mut confusion = vec![vec![0usize; k]; k];
        for (&i, &p) in test.iter().zip(&predicted) {
            let truth = index(&table.rows[i].class).expect("known class");
            confusion[truth][p as usize] += 1;
            outcome.confusion[truth][p as usize] += 1;
            outcome.predicted[i] = p as usize;
        }
        let (_, macro_f1, weighted_f1) = scores(&classes, &confusion);
        outcome.macro_f1.push(macro_f1);
        outcome.weighted_f1.push(weighted_f1);
    }
    outcome.per_class = scores(&classes, &outcome.confusion).0;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, class: &str, source: &str, values: Vec<f64>) -> FeatureRow {
        FeatureRow {
            name: name.into(),
            class: class.into(),
            source: source.into(),
            values,
        }
    }

    #[test]
    fn f1_conventions() {
        let classes = vec!["a".to_string(), "b".to_string()];
        // a: 3 right, 1 called b; b: 2 right, none called a.
        let (per, macro_f1, weighted) = scores(&classes, &[vec![3, 1], vec![0, 2]]);
        assert_eq!(per[0].precision, 1.0);
        assert_eq!(per[0].recall, 0.75);
        assert!((per[1].f1 - 0.8).abs() < 1e-12);
        assert!((macro_f1 - (6.0 / 7.0 + 0.8) / 2.0).abs() < 1e-12);
        assert!((weighted - (4.0 * 6.0 / 7.0 + 2.0 * 0.8) / 6.0).abs() < 1e-12);
        let (per, _, _) = scores(&classes, &[vec![2, 0], vec![2, 0]]);
        assert_eq!((per[1].precision, per[1].f1), (0.0, 0.0));
        // A class absent from a fold (no support, never predicted) is not averaged.
        let three = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let (_, macro_f1, _) = scores(&three, &[vec![1, 0, 0], vec![0, 1, 0], vec![0, 0, 0]]);
        assert_eq!(macro_f1, 1.0);
    }

    #[test]
    fn augmentation_never_leaks_test_cells() {
        let augment = FeatureTable {
            names: vec!["x".into()],
            rows: vec![
                row("c1_0", "rare", "c1", vec![1.0]),
                row("c2_0", "rare", "c2", vec![1.0]),
                row("c3_0", "common", "c3", vec![1.0]),
            ],
        };
        let train: HashSet<&str> = ["c1", "c3"].into_iter().collect();
        let allowed = allowed_augmentation(&augment, &train, &["rare".to_string()]);
        assert_eq!(
            allowed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["c1_0"]
        );
    }

    #[test]
    fn cross_validation_separates_separable_classes_and_respects_folds() {
        // Two classes far apart in both features (smartcore's trees stop when the features
        // drawn for a split cannot split, unlike sklearn's, so every feature must inform);
        // augmentation rows come from every cell.
        let rows: Vec<FeatureRow> = (0..20)
            .map(|i| {
                let class = if i < 10 { "a" } else { "b" };
                let x = if i < 10 { 0.0 } else { 10.0 } + i as f64 * 0.01;
                row(
                    &format!("cell{i:02}"),
                    class,
                    &format!("cell{i:02}"),
                    vec![x, -2.0 * x],
                )
            })
            .collect();
        let table = FeatureTable {
            names: vec!["f0".into(), "f1".into()],
            rows,
        };
        let augment = FeatureTable {
            names: table.names.clone(),
            rows: table
                .rows
                .iter()
                .map(|r| {
                    row(
                        &format!("{}_0", r.name),
                        &r.class,
                        &r.source,
                        r.values.clone(),
                    )
                })
                .collect(),
        };
        let config = ClassifyConfig {
            trees: 20,
            augment_classes: Some(vec!["a".into()]),
            ..Default::default()
        };
        let plain = cross_validate(&table, None, &config).unwrap();
        assert!(
            plain.macro_f1.iter().all(|&f| f == 1.0),
            "{:?}",
            plain.macro_f1
        );
        assert_eq!(plain.confusion, vec![vec![10, 0], vec![0, 10]]);
        let aug = cross_validate(&table, Some(Augmentation::Shared(&augment)), &config).unwrap();
        // Each fold trains on 8 of the 10 'a' cells, so it may add exactly their 8 rows.
        assert_eq!(aug.augmented, vec![8; 5]);
        let again = cross_validate(&table, Some(Augmentation::Shared(&augment)), &config).unwrap();
        assert_eq!(aug.macro_f1, again.macro_f1, "seeded");
    }

    #[test]
    fn reads_and_rejects_feature_csvs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        std::fs::write(&p, "name,class,source,a,b\nx,cluster,x,1,2\n").unwrap();
        assert_eq!(read_features(&p).unwrap().rows[0].values, vec![1.0, 2.0]);
        std::fs::write(&p, "name,class,source,a\nx,cluster,x,NaN\n").unwrap();
        assert!(
            read_features(&p)
                .unwrap_err()
                .to_string()
                .contains("line 2: feature 'a' is 'NaN'")
        );
        std::fs::write(&p, "id,a\nx,1\n").unwrap();
        assert!(
            read_features(&p)
                .unwrap_err()
                .to_string()
                .contains("expected columns name,class,source")
        );
    }

    #[test]
    fn per_fold_augmentation_draws_each_fold_from_its_own_table() {
        let rows: Vec<FeatureRow> = (0..20)
            .map(|i| {
                let class = if i < 10 { "a" } else { "b" };
                let x = if i < 10 { 0.0 } else { 10.0 } + i as f64 * 0.01;
                let name = format!("cell{i:02}");
                row(&name, class, &name, vec![x, -2.0 * x])
            })
            .collect();
        let table = FeatureTable {
            names: vec!["f0".into(), "f1".into()],
            rows,
        };
        let config = ClassifyConfig {
            folds: 4,
            trees: 5,
            augment_classes: Some(vec!["a".into(), "b".into()]),
            ..ClassifyConfig::default()
        };
        // Fold k's table holds k + 1 copies of every cell's shape.
        let per_fold: Vec<FeatureTable> = (0..config.folds)
            .map(|k| FeatureTable {
                names: table.names.clone(),
                rows: table
                    .rows
                    .iter()
                    .flat_map(|r| {
                        (0..=k).map(move |c| {
                            row(
                                &format!("{}_{c}", r.name),
                                &r.class,
                                &r.source,
                                r.values.clone(),
                            )
                        })
                    })
                    .collect(),
            })
            .collect();
        let fold_of = folds(&table, &config).unwrap();
        let outcome =
            cross_validate(&table, Some(Augmentation::PerFold(&per_fold)), &config).unwrap();
        for k in 0..config.folds {
            let train = fold_of.iter().filter(|&&f| f != k).count();
            assert_eq!(outcome.augmented[k], train * (k + 1), "fold {k}");
        }
        // One table per fold, or an error.
        let short = cross_validate(&table, Some(Augmentation::PerFold(&per_fold[..2])), &config);
        assert!(short.unwrap_err().to_string().contains("one per fold"));
    }
}
