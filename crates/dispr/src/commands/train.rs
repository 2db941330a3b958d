//! `dispr train`: train (or resume) a DISPR diffusion model or a SHAPR model on a dataset.
//! The flags become validated settings here ([`settings`]); the library plans the run
//! ([`dispr_nn::pipeline::plan`]) and trains it ([`Run`]).

use anyhow::{Context, bail};
use dispr_core::data::dataset::Dataset;
use dispr_core::io::outdir::{OutputDir, check_not_input};
use dispr_nn::checkpoint::{self, Checkpoint};
use dispr_nn::config::{GivenPrior, ModelKind, Network, Preset, PriorConfig, TrainConfig};
use dispr_nn::pipeline::plan::{check_extra_dirs, plan, require_shapes};
use dispr_nn::shapr::AdversarialConfig;
use dispr_nn::training::Run;

use crate::cli::{HeldOut, TrainArgs};
use crate::output::print;
use crate::progress;

/// The model and training settings the flags ask for: a new run's preset with the
/// flags applied, or a resumed run's own settings, of which only the length may change.
fn settings(args: &TrainArgs) -> anyhow::Result<(Network, TrainConfig)> {
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
            args.model.unwrap_or(ModelKind::Dispr),
            args.preset.unwrap_or(Preset::Small),
        )
        .map_err(anyhow::Error::msg)?
    };
    if args.resume {
        // Only the length of a run may change when resuming.
        let fixed = [
            (args.model.is_some_and(|m| m != model.kind()), "--model"),
            (
                args.preset.is_some_and(|p| p.name() != model.preset()),
                "--preset",
            ),
            (args.topo_weight.is_some(), "--topo-weight"),
            (args.topo_dims.is_some(), "--topo-dims"),
            (args.adversarial_after.is_some(), "--adversarial-after"),
            (args.prior_k.is_some(), "--prior-k"),
            (args.batch.is_some(), "--batch"),
            (args.lr.is_some(), "--lr"),
            (args.seed.is_some(), "--seed"),
            (
                args.fold
                    .is_some_and(|f| f.fold().map(|k| k as usize) != train.fold),
                "--fold",
            ),
            (args.no_augment, "--no-augment"),
            (!args.extra_data.is_empty(), "--extra-data"),
        ];
        if let Some((_, flag)) = fixed.iter().find(|(given, _)| *given) {
            bail!(
                "{flag} cannot change when resuming (only --steps, --checkpoint-every and the --prior-shapes folder can)"
            );
        }
        if let Some(dir) = &args.prior_shapes {
            // The same shapes, found elsewhere (a run moved to another machine).
            if !model.takes_given_prior() {
                bail!("--prior-shapes applies to a run trained with it");
            }
            train.prior_shapes = Some(absolute(dir)?);
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
        let fold = args.fold.and_then(HeldOut::fold);
        if let Some(fold) = fold
            && fold >= args.folds
        {
            bail!("--fold {fold} is out of range for --folds {}", args.folds);
        }
        train.fold = fold.map(|f| f as usize);
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
                if args.prior_k.is_some() || args.prior_shapes.is_some() {
                    bail!("--prior-k and --prior-shapes apply to --model dispr");
                }
            }
            Network::Dispr(dispr) => {
                if let Some(k) = args.prior_k {
                    *dispr = dispr
                        .clone()
                        .with_prior(Some(PriorConfig::Nearest { k: k as usize }));
                }
                if let Some(dir) = &args.prior_shapes {
                    *dispr = dispr.clone().with_prior(Some(PriorConfig::Given {
                        given: GivenPrior::Files,
                    }));
                    train.prior_shapes = Some(absolute(dir)?);
                }
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

    Ok((model, train))
}

/// `dir` as an absolute path (the run keeps it, and may resume from elsewhere).
fn absolute(dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    std::path::absolute(dir).with_context(|| format!("{}: cannot resolve", dir.display()))
}

/// Runs `dispr train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let device = args.device.open().map_err(anyhow::Error::msg)?;
    let mut inputs = vec![args.data.as_path()];
    inputs.extend(args.extra_data.iter().map(|p| p.as_path()));
    check_not_input(&args.out, &inputs)?;
    // One run per folder; temporary files a killed run left are removed here.
    let _lock = OutputDir::acquire(&args.out)?;
    let (mut model, train) = settings(args)?;
    let dataset = super::open_dataset(&args.data)?;
    require_shapes(&dataset, "training")?;
    check_extra_dirs(&args.data, &train.extra_data)?;
    let extra: Vec<Dataset> = train
        .extra_data
        .iter()
        .map(|dir| super::open_dataset(dir))
        .collect::<anyhow::Result<_>>()?;
    let set = plan(&dataset, &extra, &mut model, &train, args.resume)?;
    let run = Run {
        dir: args.out.clone(),
        model,
        train,
        pixel_size_um: set.pixel_size_um,
        prior: set.prior.clone(),
    };
    crate::output::note(&start_line(args, &run, &set));
    let bar = progress::bar(run.train.steps, "steps");
    let mut started = false;
    let summary = run.train(&set.examples, args.resume, &device, &mut |r| {
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

/// What the run is about to do, e.g. `training dispr preset 'small' on 176 cells, 90 of
/// them from --extra-data (fold 0 held out: 22 cells) (32³ working grid, …) on cpu`.
fn start_line(args: &TrainArgs, run: &Run, set: &dispr_nn::pipeline::TrainingSet) -> String {
    let extra = set.examples.len() - set.main;
    let extra_note = if extra > 0 {
        format!(", {extra} of them from --extra-data")
    } else {
        String::new()
    };
    let held_out = if set.held_out > 0 {
        format!(
            " (fold {} held out: {} cells)",
            run.train.fold.unwrap_or(0),
            set.held_out
        )
    } else {
        String::new()
    };
    let prior_note = match (&run.model, &run.train.prior_shapes) {
        (Network::Dispr(m), Some(dir)) if m.prior.is_some() => {
            format!(", conditioned on the prior shapes in {}", dir.display())
        }
        (Network::Dispr(m), None) => match (&m.prior, &set.prior) {
            (Some(PriorConfig::Nearest { k }), Some(bank)) => {
                format!(
                    ", conditioned on the nearest-{k} prior of {} cells",
                    bank.len()
                )
            }
            _ => String::new(),
        },
        _ => String::new(),
    };
    format!(
        "{} {} preset '{}' on {} cells{extra_note}{held_out}{prior_note} ({}³ working grid, batch {}, {} steps) on {}",
        if args.resume { "resuming" } else { "training" },
        run.model.kind(),
        run.model.preset(),
        set.examples.len(),
        run.model.grid()[1],
        run.train.batch,
        run.train.steps,
        args.device
    )
}
