//! The features of a dataset's shapes as one table, as `dispr features` writes it and the
//! classification experiment reads it: a row per shape — each cell's true shape, or
//! every predicted shape of each cell (`NAME_0` … with the cell as its `source`).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::data::dataset::{CellFiles, Dataset, load_cell};
use crate::error::{Error, Result};
use crate::experiment::classify::{FeatureRow, FeatureTable};
use crate::experiment::features::{feature_columns, features_at};
use crate::io::prediction_dir::prediction_files;
use crate::io::tiff::read_shape;
use crate::scale::Units;

/// One shape of a features table.
#[derive(Clone, Debug)]
pub struct FeatureJob<'a> {
    /// Its row name: the cell's name, or a prediction file's stem.
    pub name: String,
    /// The cell it belongs to (its class and `source`).
    pub cell: &'a CellFiles,
    /// The predicted shape's file; `None`: the cell's own 3D shape (obj/).
    pub file: Option<PathBuf>,
}

impl FeatureJob<'_> {
    /// The file the shape is read from.
    pub fn path(&self) -> &Path {
        self.file
            .as_deref()
            .or(self.cell.obj.as_deref())
            .expect("a job has a prediction or the cell's obj/")
    }
}

/// The shapes of `dataset`'s table: every cell's true shape, or with `pred` every
/// prediction of every cell in that folder. A cell without a shape is an error.
pub fn feature_jobs<'a>(dataset: &'a Dataset, pred: Option<&Path>) -> Result<Vec<FeatureJob<'a>>> {
    let mut jobs = Vec::new();
    for cell in &dataset.cells {
        match pred {
            Some(dir) => {
                for file in prediction_files(dir, &cell.name)? {
                    let name = file
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    jobs.push(FeatureJob {
                        name,
                        cell,
                        file: Some(file),
                    });
                }
            }
            None if cell.obj.is_some() => jobs.push(FeatureJob {
                name: cell.name.clone(),
                cell,
                file: None,
            }),
            None => {
                return Err(Error::new(
                    &dataset.root,
                    format!("no 3D shape for cell '{}' (obj/)", cell.name),
                ));
            }
        }
    }
    Ok(jobs)
}

/// The features of every job's shape, whose voxels are cubes of `side` µm (`None`: voxel
/// units), in parallel; `on_row` after each. An empty shape is an error naming its file.
pub fn feature_table(
    jobs: &[FeatureJob],
    side: Option<f64>,
    on_row: &(dyn Fn() + Sync),
) -> Result<FeatureTable> {
    let (table, empty) = table_of(jobs, side, on_row, false)?;
    debug_assert!(empty.is_empty());
    Ok(table)
}

/// [`feature_table`] of generated shapes (predictions to augment a training set with):
/// an empty shape, which has no features, is left out instead of failing the table.
/// Returns the table and the files left out.
pub fn generated_feature_table(
    jobs: &[FeatureJob],
    side: Option<f64>,
    on_row: &(dyn Fn() + Sync),
) -> Result<(FeatureTable, Vec<PathBuf>)> {
    table_of(jobs, side, on_row, true)
}

fn table_of(
    jobs: &[FeatureJob],
    side: Option<f64>,
    on_row: &(dyn Fn() + Sync),
    skip_empty: bool,
) -> Result<(FeatureTable, Vec<PathBuf>)> {
    let rows: Vec<std::result::Result<FeatureRow, PathBuf>> = jobs
        .par_iter()
        .map(|job| {
            let shape = match &job.file {
                Some(path) => read_shape(path)?,
                None => load_cell(job.cell)?
                    .shape
                    .ok_or_else(|| Error::new(job.path(), "no 3D shape"))?,
            };
            on_row();
            let Some(values) = features_at(&shape, side) else {
                return match skip_empty {
                    true => Ok(Err(job.path().to_path_buf())),
                    false => Err(Error::new(job.path(), "the shape is empty")),
                };
            };
            Ok(Ok(FeatureRow {
                name: job.name.clone(),
                class: job.cell.label.name().into(),
                source: job.cell.name.clone(),
                values,
            }))
        })
        .collect::<Result<_>>()?;
    let units = match side {
        Some(_) => Units::Micrometres,
        None => Units::Voxels,
    };
    let mut table = FeatureTable {
        names: feature_columns(units),
        rows: Vec::new(),
    };
    let mut empty = Vec::new();
    for row in rows {
        match row {
            Ok(r) => table.rows.push(r),
            Err(file) => empty.push(file),
        }
    }
    Ok((table, empty))
}

/// The table as CSV: `name,class,source`, then one column per feature.
pub fn feature_table_csv(table: &FeatureTable) -> std::result::Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["name".to_string(), "class".into(), "source".into()];
    header.extend(table.names.iter().cloned());
    w.write_record(&header)?;
    for r in &table.rows {
        let mut row = vec![r.name.clone(), r.class.clone(), r.source.clone()];
        row.extend(r.values.iter().map(f64::to_string));
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::class::{CellClass, Label};
    use crate::grid::Volume;
    use crate::io::tiff::write_shape;

    /// A generated shape that is empty has no features: left out of an augmentation
    /// table (and named), an error in a table of real shapes.
    #[test]
    fn an_empty_generated_shape_is_left_out_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let ball = Volume::from_fn([24, 24, 24], |[z, y, x]| {
            let d = |a: usize| (a as f64 - 11.5).powi(2);
            d(z) + d(y) + d(x) < 64.0
        });
        let (full, empty) = (dir.path().join("c_0.tif"), dir.path().join("c_1.tif"));
        write_shape(&full, &ball).unwrap();
        write_shape(&empty, &Volume::filled([24, 24, 24], false)).unwrap();
        let cell = CellFiles {
            name: "c".into(),
            subset: None,
            image: dir.path().join("image.tif"),
            mask: dir.path().join("mask.tif"),
            obj: None,
            label: Label::Class {
                class: CellClass::Cluster,
                sde_score: None,
            },
        };
        let jobs: Vec<FeatureJob> = [&full, &empty]
            .iter()
            .map(|f| FeatureJob {
                name: f.file_stem().unwrap().to_string_lossy().into_owned(),
                cell: &cell,
                file: Some(f.to_path_buf()),
            })
            .collect();
        let (table, left_out) = generated_feature_table(&jobs, None, &|| {}).unwrap();
        assert_eq!(table.rows.len(), 1);
        assert_eq!(table.rows[0].name, "c_0");
        assert_eq!(left_out, vec![empty.clone()]);
        let err = feature_table(&jobs, None, &|| {}).unwrap_err().to_string();
        assert!(err.contains("c_1.tif") && err.contains("empty"), "{err}");
    }
}
