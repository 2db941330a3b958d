//! `dispr reproduce`: the paper's experiments on a dataset with 3D shapes as one run —
//! five-fold cross-validation of DISPR, SHAPR, topological SHAPR and the baselines
//! (Table 1, per class, per cell with intervals, paired; Fig. 4's box plots; the
//! steps-versus-quality plot) and the classification experiment with and without
//! augmentation by predicted shapes (Fig. 5) — ending in one self-contained page.
//!
//! The run is a list of [`units::Unit`]s. A finished unit leaves a record (its time),
//! so a rerun after an interruption keeps it; an unfinished training resumes from its
//! last checkpoint and an unfinished prediction keeps the cells it had written.

pub mod budget;
mod page;
mod stages;
pub mod units;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use dispr_core::data::dataset::Dataset;
use dispr_core::io::outdir::{OutputDir, check_not_input};
use dispr_nn::device::DeviceKind;
use serde::{Deserialize, Serialize};

pub use budget::{Budget, Plan};
use units::{Layout, Record, Unit};

/// What the command asks for.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The dataset (images, masks, 3D shapes, labels).
    pub data: PathBuf,
    /// The run's folder.
    pub out: PathBuf,
    /// How much to run.
    pub budget: Budget,
    /// The networks' device.
    pub device: DeviceKind,
    /// The command line, for the report.
    pub command_line: Vec<String>,
    /// Units run at once where they are independent (trainings, predictions), each on
    /// its share of the threads.
    pub jobs: usize,
}

/// What the run tells its caller as it goes.
pub enum Event<'a> {
    /// A unit starts: its place in the run, what it does and the estimated time left
    /// for the whole run (once a unit has been timed).
    Started {
        /// 1-based.
        index: usize,
        /// Units in the run.
        total: usize,
        /// What it does.
        description: &'a str,
        /// Seconds left, estimated.
        eta: Option<f64>,
    },
    /// Progress inside unit `index`: `done` of `total` (steps, evaluations, cells).
    Progress {
        /// The unit, as in `Started`.
        index: usize,
        /// Done.
        done: usize,
        /// In all.
        total: usize,
        /// Of what.
        what: &'static str,
    },
    /// The unit finished, in `seconds`.
    Finished {
        /// The unit, as in `Started`.
        index: usize,
        /// What it did.
        description: &'a str,
        /// Wall time.
        seconds: f64,
    },
}

/// What a finished run did.
#[derive(Debug)]
pub struct Finished {
    /// The report page.
    pub page: PathBuf,
    /// Units in the run.
    pub units: usize,
    /// Units an earlier run had finished (kept, not redone).
    pub kept: usize,
    /// Wall time of this invocation.
    pub seconds: f64,
    /// Table 1 (markdown).
    pub table1: String,
    /// Fig. 5 (markdown).
    pub fig5: String,
}

/// The settings a run folder was started with; a rerun must match them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RunSettings {
    budget: Budget,
    data: PathBuf,
    cells: Vec<String>,
    dispr_version: String,
}

/// Runs (or resumes) the study.
pub fn run(settings: &Settings, on_event: &(dyn Fn(Event) + Sync)) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let plan = Plan::of(settings.budget);
    check_not_input(&settings.out, &[settings.data.as_path()])?;
    let layout = Layout {
        root: settings.out.clone(),
    };
    refuse_other_files(&layout)?;
    let dataset = study_cells(&settings.data, &plan)?;
    // One run per folder, held until the end.
    let _lock = OutputDir::acquire(&settings.out)?;
    check_settings(&layout, settings, &dataset)?;
    let ctx = stages::Context {
        plan: &plan,
        layout: &layout,
        dataset: &dataset,
        settings,
    };
    let units = Unit::all(&plan);
    let cells = dataset.cells.len();
    let mut pending = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        if Record::read(&layout, &unit.id(&plan))?.is_none() {
            pending.push(i);
        }
    }
    let kept = units.len() - pending.len();
    let tally = std::sync::Mutex::new(Tally {
        started: Instant::now(),
        done_estimate: 0.0,
        left_estimate: pending
            .iter()
            .map(|&i| units[i].estimate(&plan, cells))
            .sum(),
    });
    let runner = Runner {
        ctx: &ctx,
        units: &units,
        tally: &tally,
        on_event,
        jobs: settings.jobs.max(1),
    };
    // Phase by phase (each needs the one before); the units of a phase are independent.
    let mut phases: Vec<Vec<usize>> = Vec::new();
    for i in pending {
        match phases.last_mut() {
            Some(phase) if units[phase[0]].phase() == units[i].phase() => phase.push(i),
            _ => phases.push(vec![i]),
        }
    }
    for phase in phases {
        runner.run_phase(&phase)?;
    }
    // The page is drawn again on every run (cheap), from what the units wrote.
    let page = page::write(&ctx, &units)?;
    Ok(Finished {
        page,
        units: units.len(),
        kept,
        seconds: started.elapsed().as_secs_f64(),
        table1: {
            let path = layout.table1().join("table.md");
            std::fs::read_to_string(&path)
                .with_context(|| format!("{}: cannot read", path.display()))?
        },
        fig5: stages::fig5_markdown(&ctx)?,
    })
}

/// What the ETA is computed from: the wall time since the first unit started, against
/// the estimated cost of the units finished and of those left.
struct Tally {
    started: Instant,
    done_estimate: f64,
    left_estimate: f64,
}

/// Runs units, one at a time or several at once (`jobs`), each on its share of the
/// cores.
struct Runner<'a> {
    ctx: &'a stages::Context<'a>,
    units: &'a [Unit],
    tally: &'a std::sync::Mutex<Tally>,
    on_event: &'a (dyn Fn(Event) + Sync),
    jobs: usize,
}

impl Runner<'_> {
    /// Runs the units `phase` (indices), which do not depend on each other.
    fn run_phase(&self, phase: &[usize]) -> anyhow::Result<()> {
        let jobs = self.jobs.min(phase.len());
        if jobs <= 1 {
            return phase.iter().try_for_each(|&i| self.run_one(i));
        }
        // Each job runs its units on a pool of its own share of the threads: on 2 cores
        // two one-thread trainings go 1.5× faster than one two-thread training after
        // the other (scripts/train/fast_cv.sh).
        let threads = (rayon::current_num_threads() / jobs).max(1);
        let queue = std::sync::Mutex::new(phase.iter().copied());
        let failed = std::sync::atomic::AtomicBool::new(false);
        let stopped = || anyhow::anyhow!("a job stopped on an internal error (see above)");
        let results: Vec<anyhow::Result<()>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..jobs)
                .map(|_| {
                    scope.spawn(|| -> anyhow::Result<()> {
                        // A failure or a panic in one job stops the others taking units.
                        let work = || -> anyhow::Result<()> {
                            let pool = rayon::ThreadPoolBuilder::new()
                                .num_threads(threads)
                                .build()
                                .context("cannot start a job's threads")?;
                            while !failed.load(std::sync::atomic::Ordering::Relaxed) {
                                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                                let Some(i) = next else { break };
                                pool.install(|| self.run_one(i))?;
                            }
                            Ok(())
                        };
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                            .unwrap_or_else(|_| Err(stopped()));
                        if result.is_err() {
                            failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        result
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| Err(stopped())))
                .collect()
        });
        results.into_iter().collect()
    }

    /// Runs unit `i` and records it.
    fn run_one(&self, i: usize) -> anyhow::Result<()> {
        let plan = self.ctx.plan;
        let unit = &self.units[i];
        let id = unit.id(plan);
        let description = unit.describe(plan);
        let eta = {
            let t = self.tally.lock().expect("the tally's lock");
            // Rescaling by what has finished says something only once a fair share has:
            // a few cheap units (synthetic cells) say nothing about hours of training.
            (t.done_estimate > 0.0 && t.done_estimate >= 0.05 * (t.done_estimate + t.left_estimate))
                .then(|| t.left_estimate * t.started.elapsed().as_secs_f64() / t.done_estimate)
        };
        (self.on_event)(Event::Started {
            index: i + 1,
            total: self.units.len(),
            description: &description,
            eta,
        });
        let t = Instant::now();
        let report = |done, total, what| {
            (self.on_event)(Event::Progress {
                index: i + 1,
                done,
                total,
                what,
            })
        };
        stages::run_unit(self.ctx, unit, &report)
            .with_context(|| format!("{id} ({description})"))?;
        let seconds = t.elapsed().as_secs_f64();
        Record {
            unit: id,
            description: description.clone(),
            seconds,
            finished: units::now(),
        }
        .write(self.ctx.layout)?;
        {
            let mut t = self.tally.lock().expect("the tally's lock");
            let estimate = unit.estimate(plan, self.ctx.dataset.cells.len());
            t.done_estimate += estimate;
            t.left_estimate -= estimate;
        }
        (self.on_event)(Event::Finished {
            index: i + 1,
            description: &description,
            seconds,
        });
        Ok(())
    }
}

/// The dataset's cells the plan studies: every cell, or the first `n` of each class by
/// name. Every cell needs a 3D shape and a class.
fn study_cells(data: &Path, plan: &Plan) -> anyhow::Result<Dataset> {
    let mut dataset = crate::commands::open_dataset(data)?;
    if !dataset.has_shapes() {
        bail!(
            "{}: reproduce needs a 3D shape of every cell (obj/)",
            data.display()
        );
    }
    if let Some(cell) = dataset.cells.iter().find(|c| c.label.name() == "unlabeled") {
        bail!(
            "{}: cell '{}' has no class; reproduce's classification needs every cell labelled (labels.csv)",
            data.display(),
            cell.name
        );
    }
    if let Some(n) = plan.cells_per_class {
        let mut names: Vec<(&str, &str)> = dataset
            .cells
            .iter()
            .map(|c| (c.label.name(), c.name.as_str()))
            .collect();
        names.sort();
        let mut keep = std::collections::HashSet::new();
        let mut last = ("", 0);
        for (class, name) in names {
            last = if last.0 == class {
                (class, last.1 + 1)
            } else {
                (class, 1)
            };
            if last.1 <= n {
                keep.insert(name.to_string());
            }
        }
        dataset.cells.retain(|c| keep.contains(&c.name));
    }
    // Every cell is read now, not hours in: an unreadable or empty mask or shape is an
    // error naming its file before any unit runs.
    {
        use rayon::prelude::*;
        dataset.cells.par_iter().try_for_each(|files| {
            let cell = dispr_core::data::dataset::load_cell(files)?;
            if !cell.mask.data().iter().any(|&v| v) {
                bail!(
                    "{}: the mask of cell '{}' is empty",
                    files.mask.display(),
                    cell.name
                );
            }
            if !cell
                .shape
                .as_ref()
                .is_some_and(|s| s.data().iter().any(|&v| v))
            {
                let obj = files.obj.as_deref().unwrap_or(&files.image);
                bail!(
                    "{}: the 3D shape of cell '{}' is empty",
                    obj.display(),
                    cell.name
                );
            }
            Ok(())
        })?;
    }
    let counts = dataset.class_counts();
    if let Some((class, n)) = counts.iter().find(|(_, n)| *n < plan.folds) {
        bail!(
            "{}: class {class} has {n} cells, fewer than the {} folds of the study",
            data.display(),
            plan.folds
        );
    }
    if counts.len() < 2 {
        bail!(
            "{}: the classification needs at least two classes",
            data.display()
        );
    }
    Ok(dataset)
}

/// Refuses a folder that holds files but no reproduce run (a user's files are never
/// mixed with a run's).
fn refuse_other_files(layout: &Layout) -> anyhow::Result<()> {
    if layout.settings().exists() {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(&layout.root) else {
        return Ok(());
    };
    if entries
        .filter_map(|e| e.ok())
        .any(|e| !e.file_name().to_string_lossy().starts_with(".dispr"))
    {
        bail!(
            "{}: holds other files; reproduce needs an empty or new folder",
            layout.root.display()
        );
    }
    Ok(())
}

/// Records the run's settings in a new run folder, and refuses a folder that holds
/// another run (another budget, dataset or dispr version).
fn check_settings(layout: &Layout, settings: &Settings, dataset: &Dataset) -> anyhow::Result<()> {
    let data = std::fs::canonicalize(&settings.data).unwrap_or(settings.data.clone());
    let mine = RunSettings {
        budget: settings.budget,
        data,
        cells: dataset.cells.iter().map(|c| c.name.clone()).collect(),
        dispr_version: env!("CARGO_PKG_VERSION").into(),
    };
    let path = layout.settings();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let theirs: RunSettings = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!("{}: not a reproduce run's settings ({e})", path.display())
            })?;
            if theirs.budget != mine.budget {
                bail!(
                    "{}: holds a --budget {} run; choose another --out for --budget {}",
                    settings.out.display(),
                    theirs.budget,
                    mine.budget
                );
            }
            if theirs.data != mine.data || theirs.cells != mine.cells {
                bail!(
                    "{}: holds a run on {} ({} cells); choose another --out for {}",
                    settings.out.display(),
                    theirs.data.display(),
                    theirs.cells.len(),
                    mine.data.display()
                );
            }
            if theirs.dispr_version != mine.dispr_version {
                bail!(
                    "{}: was run by dispr {}; this is {} — choose another --out",
                    settings.out.display(),
                    theirs.dispr_version,
                    mine.dispr_version
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let json = serde_json::to_string_pretty(&mine).expect("settings serialize");
            dispr_core::io::atomic::write_text_atomic(&path, &(json + "\n"))?;
            Ok(())
        }
        Err(e) => bail!("{}: cannot read: {e}", path.display()),
    }
}
