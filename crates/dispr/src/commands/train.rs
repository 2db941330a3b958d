//! `dispr train`: train (or resume) a DISPR diffusion model or a SHAPR model on a dataset.

use anyhow::{Context, bail};
use dispr_core::dataset::{Cell, CellFiles, Dataset, load_cell};
use dispr_nn::checkpoint::{self, Checkpoint};
use dispr_nn::config::{Network, TrainConfig};
use dispr_nn::data::{Example, example};
use dispr_nn::shapr::AdversarialConfig;
use dispr_nn::train::Run;
use rayon::prelude::*;

use crate::cli::TrainArgs;
use crate::output::print;
use crate::progress;

/// The cells a run trains on: all, or all but the held-out fold.
pub fn training_cells(dataset: &Dataset, train: &TrainConfig) -> anyhow::Result<Vec<usize>> {
    let Some(fold) = train.fold else {
        return Ok((0..dataset.cells.len()).collect());
    };
    if fold >= train.folds {
        bail!("--fold {fold} is out of range for --folds {}", train.folds);
    }
    let folds = dataset
        .folds(train.folds, train.split_seed)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dataset.root.display()))?;
    Ok((0..dataset.cells.len())
        .filter(|&i| folds[i] != fold)
        .collect())
}

/// Loads cells (in parallel), failing on the first unreadable one.
pub fn load_cells(dataset: &Dataset, indices: &[usize]) -> anyhow::Result<Vec<Cell>> {
    indices
        .par_iter()
        .map(|&i| load_cell(&dataset.cells[i]).map_err(anyhow::Error::from))
        .collect()
}

/// Checks every cell fits the model's data grid and makes the examples (`files` are the
/// cells' files, for the messages).
pub fn examples(
    cells: &[Cell],
    files: &[&CellFiles],
    model: &Network,
) -> anyhow::Result<Vec<Example>> {
    let [_, h, w] = model.data_grid();
    cells
        .iter()
        .zip(files)
        .map(|(cell, files)| {
            if cell.image.shape() != [h, w] {
                bail!(
                    "{}: image is {}×{} but the model works on {h}×{w} images",
                    files.image.display(),
                    cell.image.shape()[0],
                    cell.image.shape()[1]
                );
            }
            example(cell, model.grid()).map_err(|e| anyhow::anyhow!("cell '{}': {e}", cell.name))
        })
        .collect()
}

/// Runs `dispr train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let device = dispr_nn::device::parse(&args.device).map_err(anyhow::Error::msg)?;
    let mut inputs = vec![args.data.as_path()];
    inputs.extend(args.extra_data.iter().map(|p| p.as_path()));
    dispr_core::outdir::check_not_input(&args.out, &inputs)?;
    // One run per folder; temporary files a killed run left are removed here.
    let _lock = dispr_core::outdir::OutputDir::acquire(&args.out)?;
    let ckpt_path = args.out.join(checkpoint::FILE_NAME);
    let (mut model, mut train) = if args.resume {
        let c = Checkpoint::load(&ckpt_path).context("cannot resume")?;
        let train = c
            .header
            .train
            .clone()
            .with_context(|| format!("{}: not a training run", ckpt_path.display()))?;
        (c.header.model, train)
    } else {
        if ckpt_path.exists() && !args.overwrite {
            bail!(
                "{}: already holds a run; use --resume to continue it or --overwrite to start again",
                args.out.display()
            );
        }
        Network::preset_for(
            args.model.as_deref().unwrap_or("dispr"),
            args.preset.as_deref().unwrap_or("small"),
        )
        .map_err(anyhow::Error::msg)?
    };
    if args.resume {
        // Only the length of a run may change when resuming.
        let fixed = [
            (
                args.model.as_deref().is_some_and(|m| m != model.kind()),
                "--model",
            ),
            (
                args.preset.as_deref().is_some_and(|p| p != model.preset()),
                "--preset",
            ),
            (args.topo_weight.is_some(), "--topo-weight"),
            (args.topo_dims.is_some(), "--topo-dims"),
            (args.adversarial_after.is_some(), "--adversarial-after"),
            (args.batch.is_some(), "--batch"),
            (args.lr.is_some(), "--lr"),
            (args.seed.is_some(), "--seed"),
            (args.fold.is_some(), "--fold"),
            (args.no_augment, "--no-augment"),
            (!args.extra_data.is_empty(), "--extra-data"),
        ];
        if let Some((_, flag)) = fixed.iter().find(|(given, _)| *given) {
            bail!("{flag} cannot change when resuming (only --steps and --checkpoint-every can)");
        }
    } else {
        if let Some(b) = args.batch {
            train.batch = b as usize;
        }
        if let Some(lr) = args.lr {
            if !(lr.is_finite() && lr > 0.0) {
                bail!("--lr must be a positive number, got {lr}");
            }
            train.lr = lr;
        }
        if let Some(seed) = args.seed {
            train.seed = seed;
        }
        train.fold = args.fold.map(|f| f as usize);
        train.folds = args.folds as usize;
        train.split_seed = args.split_seed;
        train.augment = !args.no_augment;
        train.extra_data = args.extra_data.clone();
        match &mut model {
            Network::Shapr(shapr) => {
                if let Some(weight) = args.topo_weight {
                    shapr.topo_weight = weight;
                }
                if let Some(dims) = &args.topo_dims {
                    shapr.topo_dims = dims.clone();
                }
                if let Some(after) = args.adversarial_after {
                    shapr.adversarial = Some(AdversarialConfig::starting_at(after));
                }
            }
            Network::Dispr(_) => {
                if args.topo_weight.is_some()
                    || args.topo_dims.is_some()
                    || args.adversarial_after.is_some()
                {
                    bail!(
                        "--topo-weight, --topo-dims and --adversarial-after apply to --model shapr"
                    );
                }
            }
        }
    }
    if let Some(steps) = args.steps {
        train.steps = steps as usize;
    }
    if let Some(every) = args.checkpoint_every {
        train.checkpoint_every = every as usize;
    }

    let dataset = super::open_dataset(&args.data)?;
    if !dataset.has_shapes() {
        bail!(
            "{}: training needs 3D shapes in obj/ for every cell",
            args.data.display()
        );
    }
    let indices = training_cells(&dataset, &train)?;
    let mut cells = load_cells(&dataset, &indices)?;
    let mut files: Vec<&CellFiles> = indices.iter().map(|&i| &dataset.cells[i]).collect();
    let extra: Vec<Dataset> = train
        .extra_data
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            // The main data again would put its held-out fold into training.
            let same = dispr_core::outdir::same_path;
            if same(dir, &args.data) {
                bail!(
                    "{}: --extra-data is the training data itself (--data); its held-out cells would be trained on",
                    dir.display()
                );
            }
            if train.extra_data[..i].iter().any(|d| same(d, dir)) {
                bail!("{}: --extra-data is given twice", dir.display());
            }
            let extra = super::open_dataset(dir)?;
            if !extra.has_shapes() {
                bail!(
                    "{}: --extra-data needs 3D shapes in obj/ for every cell",
                    dir.display()
                );
            }
            Ok(extra)
        })
        .collect::<anyhow::Result<_>>()?;
    for extra in &extra {
        let all: Vec<usize> = (0..extra.cells.len()).collect();
        cells.extend(load_cells(extra, &all)?);
        files.extend(extra.cells.iter());
    }
    let grid = cells[0]
        .shape
        .as_ref()
        .map(|s| s.shape())
        .context("no shape")?;
    if let Some(other) = cells
        .iter()
        .find(|c| c.shape.as_ref().map(|s| s.shape()) != Some(grid))
    {
        bail!(
            "cell '{}': its shape is not {}×{}×{} like the others'",
            other.name,
            grid[0],
            grid[1],
            grid[2]
        );
    }
    if args.resume && model.data_grid() != grid {
        bail!(
            "the run was trained on {:?} volumes, this data has {:?}",
            model.data_grid(),
            grid
        );
    }
    *model.data_grid_mut() = grid;
    model.validate().map_err(anyhow::Error::msg)?;
    let mut examples = examples(&cells, &files, &model)?;
    // Extra cells are listed in the checkpoint as `extra:NAME`, so that `dispr predict`
    // never skips a user's cell because a synthetic cell of the same name was trained on
    // (synthetic names repeat across seeds).
    for e in &mut examples[indices.len()..] {
        e.name = format!("{}{}", dispr_nn::checkpoint::EXTRA_PREFIX, e.name);
    }

    let run = Run {
        dir: args.out.clone(),
        model,
        train,
    };
    let held_out = dataset.cells.len() - indices.len();
    let extra_note = if cells.len() > indices.len() {
        format!(
            ", {} of them from --extra-data",
            cells.len() - indices.len()
        )
    } else {
        String::new()
    };
    let start_note = if args.resume { "resuming" } else { "training" };
    eprintln!(
        "{start_note} {} preset '{}' on {} cells{extra_note}{} ({}³ working grid, batch {}, {} steps) on {}",
        run.model.kind(),
        run.model.preset(),
        examples.len(),
        if held_out > 0 {
            format!(
                " (fold {} held out: {held_out} cells)",
                run.train.fold.unwrap_or(0)
            )
        } else {
            String::new()
        },
        run.model.grid()[1],
        run.train.batch,
        run.train.steps,
        args.device
    );
    let bar = progress::bar(run.train.steps, "steps");
    let mut started = false;
    let summary = run.train(&examples, args.resume, &device, &mut |r| {
        if !started {
            bar.set_position(r.step as u64 - 1);
            bar.reset_eta();
            started = true;
        }
        bar.set_position(r.step as u64);
        bar.set_message(format!("loss {:.4}", r.loss));
    });
    bar.finish_and_clear();
    let summary = summary?;
    print(&format!(
        "trained {} steps ({} this session) in {:.0} s; final loss {:.4}; checkpoint {}\n",
        summary.steps,
        summary.steps - summary.resumed_from,
        summary.seconds,
        summary.final_loss,
        summary.checkpoint.display()
    ))?;
    Ok(())
}
