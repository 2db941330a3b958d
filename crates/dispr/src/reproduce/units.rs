//! The units of a reproduce run — a synthetic set, a trained model, a prediction, an
//! evaluation — in the order they run, with the folders they write and the record a
//! finished unit leaves, so that a rerun keeps every finished unit and redoes none.

use std::path::{Path, PathBuf};

use dispr_core::io::atomic::write_text_atomic;
use serde::{Deserialize, Serialize};

use super::budget::{Plan, setting_name};

/// One unit of work.
#[derive(Clone, Debug, PartialEq)]
pub enum Unit {
    /// Synthetic cells for DISPR's training set (index into the plan's sets).
    Synthetic(usize),
    /// Network `network` (index into the plan's networks) trained with `fold` held out.
    Train { network: usize, fold: usize },
    /// A baseline that learns nothing, for every cell.
    Baseline(BaselineKind),
    /// The held-out cells of `fold` predicted by network `network`'s fold model; for
    /// DISPR with the steps study's setting `setting`.
    Predict {
        network: usize,
        fold: usize,
        setting: Option<usize>,
    },
    /// The training cells of `fold` predicted by DISPR's fold model (Fig. 5's
    /// augmentation: the classifier's fold `fold` trains on them, and its test cells
    /// are the ones this model never saw).
    Augment { fold: usize },
    /// Table 1, per class, per cell and paired, box plots, steps plot.
    Evaluate,
    /// The features of the real and the generated shapes.
    Features,
    /// The random forest without and with each augmentation.
    Classify,
}

/// A baseline of Table 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BaselineKind {
    /// The mask extruded.
    Cylinder,
    /// An ellipsoid fitted to the mask.
    Ellipsoid,
    /// Majority of the nearest training shapes by mask IoU (cross-validated).
    Nearest,
}

impl Unit {
    /// Every unit of `plan`, in the order they run.
    pub fn all(plan: &Plan) -> Vec<Unit> {
        let folds = 0..plan.folds;
        let mut units: Vec<Unit> = (0..plan.synthetic.len()).map(Unit::Synthetic).collect();
        for network in 0..plan.networks.len() {
            units.extend(folds.clone().map(|fold| Unit::Train { network, fold }));
        }
        units.extend(
            [
                BaselineKind::Cylinder,
                BaselineKind::Ellipsoid,
                BaselineKind::Nearest,
            ]
            .map(Unit::Baseline),
        );
        for fold in folds.clone() {
            for setting in 0..plan.steps_study.len() {
                units.push(Unit::Predict {
                    network: 0,
                    fold,
                    setting: Some(setting),
                });
            }
            for network in 1..plan.networks.len() {
                units.push(Unit::Predict {
                    network,
                    fold,
                    setting: None,
                });
            }
            units.push(Unit::Augment { fold });
        }
        units.extend([Unit::Evaluate, Unit::Features, Unit::Classify]);
        units
    }

    /// The phase it belongs to: the units of one phase are independent of each other,
    /// and each phase needs the ones before it.
    pub fn phase(&self) -> u8 {
        match self {
            Unit::Synthetic(_) => 0,
            Unit::Train { .. } => 1,
            Unit::Baseline(_) | Unit::Predict { .. } | Unit::Augment { .. } => 2,
            Unit::Evaluate => 3,
            Unit::Features => 4,
            Unit::Classify => 5,
        }
    }

    /// A short id, unique in the run, e.g. `train-dispr-fold2` (its record's file name).
    pub fn id(&self, plan: &Plan) -> String {
        match self {
            Unit::Synthetic(i) => plan.synthetic[*i].name.to_string(),
            Unit::Train { network, fold } => {
                format!("train-{}-fold{fold}", plan.networks[*network].name)
            }
            Unit::Baseline(b) => format!("baseline-{}", b.method(plan)),
            Unit::Predict { fold, .. } => format!("predict-{}-fold{fold}", self.method(plan)),
            Unit::Augment { fold } => format!("augment-dispr-fold{fold}"),
            Unit::Evaluate => "evaluate".into(),
            Unit::Features => "features".into(),
            Unit::Classify => "classify".into(),
        }
    }

    /// What it does, for the progress display.
    pub fn describe(&self, plan: &Plan) -> String {
        match self {
            Unit::Synthetic(i) => {
                let s = &plan.synthetic[*i];
                format!("synthesize {} cells ({})", s.n, s.name)
            }
            Unit::Train { network, fold } => {
                let n = &plan.networks[*network];
                format!(
                    "train {} ({} preset, {} steps), fold {fold} held out",
                    n.name,
                    n.preset.name(),
                    n.steps
                )
            }
            Unit::Baseline(b) => format!("baseline {} for every cell", b.method(plan)),
            Unit::Predict { fold, .. } => {
                format!("predict fold {fold}'s cells with {}", self.method(plan))
            }
            Unit::Augment { fold } => {
                format!("predict fold {fold}'s training cells with dispr (Fig. 5)")
            }
            Unit::Evaluate => "evaluate: Table 1, per class, per cell, paired".into(),
            Unit::Features => "features of the real and generated shapes".into(),
            Unit::Classify => "random forest without and with augmentation (Fig. 5)".into(),
        }
    }

    /// The method name a prediction unit contributes to Table 1.
    pub fn method(&self, plan: &Plan) -> String {
        match self {
            Unit::Predict {
                setting: Some(s), ..
            } => setting_name(&plan.steps_study[*s]),
            Unit::Predict { network, .. } => plan.networks[*network].name.to_string(),
            Unit::Baseline(b) => b.method(plan),
            other => other.id(plan),
        }
    }

    /// A rough cost in seconds on 2 cores, for the ETA (the run rescales it by what the
    /// finished units really took).
    pub fn estimate(&self, plan: &Plan, cells: usize) -> f64 {
        let per_fold = cells as f64 / plan.folds as f64;
        // Measured in the full run (2026-12-05, --jobs 2, one core per training): DISPR
        // `fast` 3000 steps in 5300–6100 s, SHAPR `small` 1500 steps in 1400 s, i.e.
        // ~0.9 and ~0.47 s of the two cores per step.
        let per_step = |n: &super::budget::FoldNetwork| match (n.kind, n.preset) {
            (_, dispr_nn::config::Preset::Tiny) => 0.05,
            (dispr_nn::config::ModelKind::Dispr, dispr_nn::config::Preset::Fast) => 0.9,
            (dispr_nn::config::ModelKind::Shapr, _) => 0.47,
            _ => 1.0,
        };
        // Seconds per network evaluation of a cell's samples (fast: ~0.35 s for 5).
        let per_eval = match plan.dispr().preset {
            dispr_nn::config::Preset::Tiny => 0.005,
            _ => 0.07 * plan.samples as f64,
        };
        match self {
            Unit::Synthetic(i) => 0.2 * plan.synthetic[*i].n as f64,
            Unit::Train { network, .. } => {
                let n = &plan.networks[*network];
                n.steps as f64 * per_step(n)
            }
            Unit::Baseline(_) => 0.05 * cells as f64,
            Unit::Predict {
                setting: Some(s), ..
            } => per_fold * (1.0 + plan.steps_study[*s].steps as f64 * per_eval),
            Unit::Predict { .. } => per_fold * 0.5,
            Unit::Augment { .. } => {
                (cells as f64 - per_fold) * (1.0 + plan.sampler.steps as f64 * per_eval)
            }
            Unit::Evaluate => 0.3 * cells as f64 * (plan.steps_study.len() * 2 + 5) as f64,
            Unit::Features => 0.1 * cells as f64 * (plan.samples + 3) as f64,
            Unit::Classify => 0.02 * plan.trees as f64,
        }
    }
}

impl BaselineKind {
    /// Its method name in the tables.
    pub fn method(self, plan: &Plan) -> String {
        match self {
            Self::Cylinder => "cylinder".into(),
            Self::Ellipsoid => "ellipsoid".into(),
            Self::Nearest => plan.nearest_name(),
        }
    }
}

/// Where a run keeps its work and its report.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The run's folder (`--out`).
    pub root: PathBuf,
}

impl Layout {
    /// The run's settings: budget, dataset, cells.
    pub fn settings(&self) -> PathBuf {
        self.root.join("reproduce.json")
    }
    /// Everything but the report.
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    /// The finished units' records.
    pub fn done(&self) -> PathBuf {
        self.work().join("done")
    }
    /// A synthetic set's dataset folder.
    pub fn synthetic(&self, name: &str) -> PathBuf {
        self.work().join("synthetic").join(name)
    }
    /// A fold model's run folder.
    pub fn model(&self, network: &str, fold: usize) -> PathBuf {
        self.work()
            .join("models")
            .join(format!("{network}-fold{fold}"))
    }
    /// A method's prediction folder (a fold's, or the only one of a baseline).
    pub fn predictions(&self, method: &str, fold: Option<usize>) -> PathBuf {
        let dir = self.work().join("predictions").join(method);
        match fold {
            Some(k) => dir.join(format!("fold{k}")),
            None => dir,
        }
    }
    /// The report folder.
    pub fn report(&self) -> PathBuf {
        self.root.join("report")
    }
    /// Table 1's evaluation folder.
    pub fn table1(&self) -> PathBuf {
        self.report().join("table1")
    }
    /// Fig. 5's folder: features and one classification per augmentation source.
    pub fn fig5(&self) -> PathBuf {
        self.report().join("fig5")
    }
}

/// What a finished unit left: how long it took and when it finished.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    /// The unit's id.
    pub unit: String,
    /// What it did.
    pub description: String,
    /// Wall time of the run that finished it, in seconds (the time of earlier,
    /// interrupted attempts of a training is not included).
    pub seconds: f64,
    /// When it finished, seconds since 1970.
    pub finished: u64,
}

impl Record {
    fn path(layout: &Layout, id: &str) -> PathBuf {
        layout.done().join(format!("{id}.json"))
    }

    /// The record of unit `id`, if it finished.
    pub fn read(layout: &Layout, id: &str) -> anyhow::Result<Option<Record>> {
        let path = Self::path(layout, id);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a unit record ({e}); delete it to redo the unit",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("{}: cannot read: {e}", path.display())),
        }
    }

    /// Writes the record (atomically: a killed run leaves it whole or absent).
    pub fn write(&self, layout: &Layout) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a record serializes");
        write_text_atomic(&Self::path(layout, &self.unit), &(json + "\n"))?;
        Ok(())
    }
}

/// Seconds since 1970 now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Removes `dir` and everything in it, if it exists (a unit that is redone from the
/// start: a synthetic set, a baseline).
pub fn clear(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("{}: cannot remove: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproduce::budget::Budget;

    #[test]
    fn unit_ids_are_unique_and_every_model_is_trained_before_it_predicts() {
        for budget in [Budget::Quick, Budget::Full] {
            let plan = Plan::of(budget);
            let units = Unit::all(&plan);
            let ids: Vec<String> = units.iter().map(|u| u.id(&plan)).collect();
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "{ids:?}");
            for (i, u) in units.iter().enumerate() {
                let needs = match u {
                    Unit::Predict { network, fold, .. } => Some((*network, *fold)),
                    Unit::Augment { fold } => Some((0, *fold)),
                    _ => None,
                };
                if let Some((network, fold)) = needs {
                    let trained = units
                        .iter()
                        .position(|t| *t == Unit::Train { network, fold });
                    assert!(trained.is_some_and(|t| t < i), "{}", u.id(&plan));
                }
            }
            assert_eq!(units.last(), Some(&Unit::Classify));
            // Phases run in order, so a phase's units must be contiguous.
            assert!(units.windows(2).all(|w| w[0].phase() <= w[1].phase()));
        }
    }
}
