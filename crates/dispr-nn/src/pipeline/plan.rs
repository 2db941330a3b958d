//! The training plan: which cells a run trains on (all, or all but a held-out fold, plus
//! every cell of the extra datasets), loaded and checked against the model, and turned
//! into examples. Prediction prepares its cells with the same [`examples`].

use std::path::{Path, PathBuf};

use dispr_core::data::dataset::{Cell, CellFiles, Dataset, load_cell};
use dispr_core::data::prior::{GivenPriors, PriorBank, PriorSource};
use dispr_core::io::outdir::same_path;
use rayon::prelude::*;

use crate::checkpoint::EXTRA_PREFIX;
use crate::config::{Network, PriorConfig, TrainConfig};
use crate::data::{Example, example};
use crate::error::{Error, Result};

/// The indices of the cells a run trains on: all, or all but the held-out fold.
pub fn training_cells(dataset: &Dataset, train: &TrainConfig) -> Result<Vec<usize>> {
    let Some(fold) = train.fold else {
        return Ok((0..dataset.cells.len()).collect());
    };
    if fold >= train.folds {
        return Err(Error::Invalid(format!(
            "fold {fold} is out of range for {} folds",
            train.folds
        )));
    }
    let folds = dataset.folds(train.folds, train.split_seed)?;
    Ok((0..dataset.cells.len())
        .filter(|&i| folds[i] != fold)
        .collect())
}

/// Loads cells (in parallel), failing on the first unreadable one.
pub fn load_cells(dataset: &Dataset, indices: &[usize]) -> Result<Vec<Cell>> {
    indices
        .par_iter()
        .map(|&i| load_cell(&dataset.cells[i]).map_err(Error::from))
        .collect()
}

/// What is wrong with a training image of `shape` (y, x) for `model`, if anything: a
/// model trains on crops of its data grid's (y, x); prediction frames any size
/// ([`dispr_core::data::framing`]).
pub fn image_size_problem(shape: [usize; 2], model: &Network) -> Option<String> {
    let [_, h, w] = model.data_grid();
    (shape != [h, w]).then(|| {
        format!(
            "image is {}×{} but the model trains on {h}×{w} crops (prediction takes any size)",
            shape[0], shape[1]
        )
    })
}

/// Checks every cell fits the model's data grid and makes the examples (`files` are the
/// cells' files, for the messages), with their priors from `prior` when the model has
/// one.
pub fn examples(
    cells: &[Cell],
    files: &[&CellFiles],
    model: &Network,
    prior: Option<&PriorSource>,
) -> Result<Vec<Example>> {
    cells
        .par_iter()
        .zip(files)
        .map(|(cell, files)| {
            if let Some(problem) = image_size_problem(cell.image.shape(), model) {
                return Err(dispr_core::Error::new(&files.image, problem).into());
            }
            example(cell, model.grid(), prior)
                .map_err(|e| Error::Invalid(format!("cell '{}': {e}", cell.name)))
        })
        .collect()
}

/// Where the training cells' priors come from, for a model conditioned on one: for the
/// nearest-k prior, a bank of the main dataset's training cells (never the held-out
/// fold, never the extra cells; each training cell's own prior comes from the others);
/// for given priors, the folder `train.prior_shapes`.
pub fn prior_source(
    training: &[Cell],
    model: &Network,
    train: &TrainConfig,
) -> Result<Option<PriorSource>> {
    let Network::Dispr(m) = model else {
        return Ok(None);
    };
    match (m.prior, &train.prior_shapes) {
        (None, None) => Ok(None),
        (None, Some(_)) | (Some(PriorConfig::Nearest { .. }), Some(_)) => Err(Error::Invalid(
            "prior shapes are given but the model is not conditioned on given shapes".into(),
        )),
        (Some(PriorConfig::Given { .. }), None) => Err(Error::Invalid(
            "the model is conditioned on given prior shapes but no folder of them is set".into(),
        )),
        (Some(PriorConfig::Given { .. }), Some(dir)) => {
            Ok(Some(PriorSource::Given(GivenPriors::new(dir)?)))
        }
        (Some(PriorConfig::Nearest { k }), None) => {
            let refs: Vec<&Cell> = training.iter().collect();
            PriorBank::new(k, m.grid, &refs)
                .map(|bank| Some(PriorSource::Nearest(bank)))
                .map_err(|e| Error::Invalid(format!("the prior: {e}")))
        }
    }
}

/// Refuses extra datasets that are the training data itself (its held-out cells would be
/// trained on) or that are named twice.
pub fn check_extra_dirs(data: &Path, extra: &[PathBuf]) -> Result<()> {
    for (i, dir) in extra.iter().enumerate() {
        if same_path(dir, data) {
            return Err(dispr_core::Error::new(
                dir,
                "the extra data is the training data itself; its held-out cells would be trained on",
            )
            .into());
        }
        if extra[..i].iter().any(|d| same_path(d, dir)) {
            return Err(dispr_core::Error::new(dir, "extra data is given twice").into());
        }
    }
    Ok(())
}

/// Refuses a dataset without 3D shapes for every cell; `what` names its role.
pub fn require_shapes(dataset: &Dataset, what: &str) -> Result<()> {
    if dataset.has_shapes() {
        return Ok(());
    }
    Err(dispr_core::Error::new(
        &dataset.root,
        format!("{what} needs 3D shapes in obj/ for every cell"),
    )
    .into())
}

/// The examples of a run, ready to train on.
pub struct TrainingSet {
    /// Examples: the main dataset's training cells, then the extra cells (named
    /// `extra:NAME`, so that prediction never skips a user's cell because a synthetic
    /// cell of the same name was trained on).
    pub examples: Vec<Example>,
    /// How many of them come from the main dataset.
    pub main: usize,
    /// Cells of the main dataset held out.
    pub held_out: usize,
    /// µm per pixel of the main dataset's training images, when every one states the
    /// same (within 1 %).
    pub pixel_size_um: Option<f64>,
    /// The reference cells of the model's nearest-k prior, when it has one (saved in
    /// its checkpoint, [`crate::checkpoint::PRIOR_SECTION`]); `None` for given prior
    /// shapes, which the run's [`TrainConfig::prior_shapes`] names.
    pub prior: Option<PriorBank>,
}

/// Plans a run on `dataset` plus every cell of `extra`: picks the training cells, loads
/// them, checks they share one 3D grid (the model's, when `resume`), sets the model's
/// data grid from them, validates the model and makes the examples.
pub fn plan(
    dataset: &Dataset,
    extra: &[Dataset],
    model: &mut Network,
    train: &TrainConfig,
    resume: bool,
) -> Result<TrainingSet> {
    require_shapes(dataset, "training")?;
    for d in extra {
        require_shapes(d, "extra training data")?;
    }
    if let Some(dir) = &train.prior_shapes {
        given_prior_names_unique(dataset, extra, dir)?;
    }
    let indices = training_cells(dataset, train)?;
    let mut cells = load_cells(dataset, &indices)?;
    let pixel_size_um = common_pixel_size(&cells);
    let mut files: Vec<&CellFiles> = indices.iter().map(|&i| &dataset.cells[i]).collect();
    for d in extra {
        let all: Vec<usize> = (0..d.cells.len()).collect();
        cells.extend(load_cells(d, &all)?);
        files.extend(d.cells.iter());
    }
    let grid = cells
        .first()
        .and_then(|c| c.shape.as_ref())
        .map(|s| s.shape())
        .ok_or_else(|| Error::Invalid("no training cells".into()))?;
    if let Some(other) = cells
        .iter()
        .find(|c| c.shape.as_ref().map(|s| s.shape()) != Some(grid))
    {
        return Err(Error::Invalid(format!(
            "cell '{}': its shape is not {}×{}×{} like the others'",
            other.name, grid[0], grid[1], grid[2]
        )));
    }
    if resume && model.data_grid() != grid {
        return Err(Error::Invalid(format!(
            "the run was trained on {:?} volumes, this data has {:?}",
            model.data_grid(),
            grid
        )));
    }
    *model.data_grid_mut() = grid;
    model.validate()?;
    let prior = prior_source(&cells[..indices.len()], model, train)?;
    let mut examples = examples(&cells, &files, model, prior.as_ref())?;
    for e in &mut examples[indices.len()..] {
        e.name = format!("{EXTRA_PREFIX}{}", e.name);
    }
    Ok(TrainingSet {
        examples,
        main: indices.len(),
        held_out: dataset.cells.len() - indices.len(),
        pixel_size_um,
        prior: match prior {
            Some(PriorSource::Nearest(bank)) => Some(bank),
            _ => None,
        },
    })
}

/// Given prior shapes are found by cell name in `dir`, so an extra cell may not share
/// its name with a cell of the main dataset or of another extra dataset.
fn given_prior_names_unique(dataset: &Dataset, extra: &[Dataset], dir: &Path) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, &Path> = dataset
        .cells
        .iter()
        .map(|c| (c.name.as_str(), dataset.root.as_path()))
        .collect();
    for d in extra {
        for c in &d.cells {
            if let Some(first) = seen.insert(c.name.as_str(), d.root.as_path()) {
                return Err(dispr_core::Error::new(
                    &d.root,
                    format!(
                        "cell '{}' has the name of a cell of {}: both would take their prior shape from {}; rename one",
                        c.name,
                        first.display(),
                        dir.join(format!("{}.tif", c.name)).display()
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// The pixel size all `cells` state, within 1 % (their median), else `None`.
pub fn common_pixel_size(cells: &[Cell]) -> Option<f64> {
    let mut sizes: Vec<f64> = cells.iter().map(|c| c.pixel_size).collect::<Option<_>>()?;
    sizes.sort_by(f64::total_cmp);
    let median = *sizes.get(sizes.len() / 2)?;
    sizes
        .iter()
        .all(|s| (s - median).abs() <= 0.01 * median)
        .then_some(median)
}
