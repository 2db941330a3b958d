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
    let rows = jobs
        .par_iter()
        .map(|job| {
            let shape = match &job.file {
                Some(path) => read_shape(path)?,
                None => load_cell(job.cell)?
                    .shape
                    .ok_or_else(|| Error::new(job.path(), "no 3D shape"))?,
            };
            let values = features_at(&shape, side)
                .ok_or_else(|| Error::new(job.path(), "the shape is empty"))?;
            on_row();
            Ok(FeatureRow {
                name: job.name.clone(),
                class: job.cell.label.name().into(),
                source: job.cell.name.clone(),
                values,
            })
        })
        .collect::<Result<_>>()?;
    let units = match side {
        Some(_) => Units::Micrometres,
        None => Units::Voxels,
    };
    Ok(FeatureTable {
        names: feature_columns(units),
        rows,
    })
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
