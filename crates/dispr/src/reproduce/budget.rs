//! What `dispr reproduce` runs under each budget: the cells, the folds, the networks
//! and their training, the samplers and the classifier. `quick` is the same study made
//! small enough for a test; `full` is the real one (the shipped model's recipe).

use dispr_core::data::class::CellClass;
use dispr_nn::config::{ModelKind, Network, Preset, TrainConfig};
use dispr_nn::pipeline::SamplerSettings;
use dispr_nn::sampler::SamplerKind;
use serde::{Deserialize, Serialize};

/// How much of the study to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// Minutes on 2 cores: a subset of the cells, `tiny` networks, few steps.
    Quick,
    /// The real study: every cell, the shipped recipe, hours on 2 cores.
    Full,
}

impl Budget {
    /// The name as the flag spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Full => "full",
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Synthetic cells added to DISPR's training set in every fold (the shipped recipe's
/// `--extra-data`, scripts/train/fast_model.sh).
#[derive(Clone, Debug)]
pub struct SyntheticSet {
    /// Folder name under the run's work folder.
    pub name: &'static str,
    /// Number of cells.
    pub n: usize,
    /// Seed of `dispr synth`.
    pub seed: u64,
    /// Classes, in the dataset's proportions.
    pub classes: Vec<CellClass>,
}

/// A network trained once per fold.
#[derive(Clone, Debug)]
pub struct FoldNetwork {
    /// Its method name in the tables (`dispr`, `shapr`, `shapr-topo`).
    pub name: &'static str,
    /// DISPR or SHAPR.
    pub kind: ModelKind,
    /// The preset it starts from.
    pub preset: Preset,
    /// Optimisation steps.
    pub steps: usize,
    /// SHAPR's topological loss: weight and homology dimensions.
    pub topo: Option<(f64, Vec<usize>)>,
    /// Whether the synthetic cells join its training set.
    pub synthetic: bool,
}

impl FoldNetwork {
    /// The network and training settings of fold `fold` of a `folds`-fold split.
    pub fn settings(&self, fold: usize, folds: usize, split_seed: u64) -> (Network, TrainConfig) {
        let (mut network, mut train) =
            Network::preset_for(self.kind, self.preset).expect("the plan names valid presets");
        train.steps = self.steps;
        train.fold = Some(fold);
        train.folds = folds;
        train.split_seed = split_seed;
        train.checkpoint_every = (self.steps / 20).clamp(10, 100);
        if let (Network::Shapr(shapr), Some((weight, dims))) = (&mut network, &self.topo) {
            shapr.topo_weight = *weight;
            shapr.topo_dims = dims.clone();
        }
        (network, train)
    }
}

/// Everything a budget runs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The budget.
    pub budget: Budget,
    /// Cells per class taken from the dataset (the first by name), or all.
    pub cells_per_class: Option<usize>,
    /// Folds of the cross-validation (every cell predicted by models that never saw it).
    pub folds: usize,
    /// Seed of the fold split, shared by the networks, nearest-9 and the classifier.
    pub split_seed: u64,
    /// Synthetic cells DISPR trains on besides the real ones.
    pub synthetic: Vec<SyntheticSet>,
    /// DISPR, SHAPR and topological SHAPR.
    pub networks: Vec<FoldNetwork>,
    /// Samples per cell (Table 1 and the augmentation of Fig. 5).
    pub samples: usize,
    /// Seed of the sampling (mixed with each cell's name).
    pub sample_seed: u64,
    /// DISPR's sampler for Table 1 and Fig. 5 (the shipped default).
    pub sampler: SamplerSettings,
    /// The sampler settings of the steps-versus-quality plot (the default among them).
    pub steps_study: Vec<SamplerSettings>,
    /// Neighbours of the retrieval baseline.
    pub nearest_k: usize,
    /// Trees of the random forest (depth ≤ 10, as the paper).
    pub trees: u16,
}

/// A sampler setting's method name, e.g. `ddim-10` (what the steps plot reads).
pub fn setting_name(s: &SamplerSettings) -> String {
    format!("{}-{}", s.kind.name(), s.steps)
}

fn ddim(steps: usize) -> SamplerSettings {
    SamplerSettings {
        kind: SamplerKind::Ddim,
        steps,
        ..SamplerSettings::default()
    }
}

impl Plan {
    /// The plan of `budget`.
    pub fn of(budget: Budget) -> Self {
        let other_classes = vec![
            CellClass::Cluster,
            CellClass::Multilobate,
            CellClass::Keratocyte,
            CellClass::Knizocyte,
            CellClass::Acanthocyte,
        ];
        let (other_n, sde_n) = match budget {
            Budget::Quick => (5, 2),
            Budget::Full => (60, 30),
        };
        let synthetic = vec![
            SyntheticSet {
                name: "synthetic-other",
                n: other_n,
                seed: 101,
                classes: other_classes,
            },
            SyntheticSet {
                name: "synthetic-sde",
                n: sde_n,
                seed: 102,
                classes: vec![CellClass::Sde],
            },
        ];
        let network = |name, kind, preset, steps, topo: Option<(f64, Vec<usize>)>| FoldNetwork {
            name,
            kind,
            preset,
            steps,
            synthetic: kind == ModelKind::Dispr,
            topo,
        };
        match budget {
            Budget::Quick => Self {
                budget,
                cells_per_class: Some(5),
                folds: 5,
                split_seed: 0,
                synthetic,
                networks: vec![
                    network("dispr", ModelKind::Dispr, Preset::Tiny, 30, None),
                    network("shapr", ModelKind::Shapr, Preset::Tiny, 20, None),
                    network(
                        "shapr-topo",
                        ModelKind::Shapr,
                        Preset::Tiny,
                        10,
                        Some((0.1, vec![0])),
                    ),
                ],
                samples: 2,
                sample_seed: 0,
                sampler: ddim(4),
                steps_study: vec![ddim(2), ddim(4)],
                nearest_k: 3,
                trees: 50,
            },
            Budget::Full => Self {
                budget,
                cells_per_class: None,
                folds: 5,
                split_seed: 0,
                synthetic,
                networks: vec![
                    // The shipped model's recipe (scripts/train/fast_model.sh).
                    network("dispr", ModelKind::Dispr, Preset::Fast, 3000, None),
                    // The #8 runs (scripts/train/shapr_fold0.sh).
                    network("shapr", ModelKind::Shapr, Preset::Small, 1500, None),
                    network(
                        "shapr-topo",
                        ModelKind::Shapr,
                        Preset::Small,
                        1500,
                        Some((0.1, vec![0, 1, 2])),
                    ),
                ],
                samples: 5,
                sample_seed: 0,
                sampler: ddim(10),
                steps_study: vec![
                    ddim(5),
                    ddim(10),
                    ddim(20),
                    SamplerSettings {
                        kind: SamplerKind::Ddpm,
                        steps: 50,
                        ..SamplerSettings::default()
                    },
                ],
                nearest_k: 9,
                trees: 1000,
            },
        }
    }

    /// The DISPR network (the plan's first).
    pub fn dispr(&self) -> &FoldNetwork {
        &self.networks[0]
    }

    /// The method name of the retrieval baseline, e.g. `nearest-9`.
    pub fn nearest_name(&self) -> String {
        format!("nearest-{}", self.nearest_k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `full` trains DISPR as the shipped model was trained — the same network and
    /// steps — but without the shipped model's prior channel (SHAPR's shape of each
    /// cell, whose cross-fitted five-fold study is scripts/train/shapr_prior_cv_all.sh).
    #[test]
    fn the_full_dispr_recipe_is_the_shipped_network_without_its_prior() {
        let shipped = dispr_nn::shipped::checkpoint().unwrap().header;
        let plan = Plan::of(Budget::Full);
        let (mut network, _) = plan.dispr().settings(0, 5, 0);
        *network.data_grid_mut() = shipped.model.data_grid();
        let Network::Dispr(mut without_prior) = shipped.model.clone() else {
            panic!("the shipped model is DISPR");
        };
        assert!(
            without_prior.prior.take().is_some(),
            "the shipped model is conditioned on a prior shape"
        );
        without_prior.unet.in_channels -= 1;
        assert_eq!(network, Network::Dispr(without_prior));
        // An exported model keeps its steps, not its optimiser.
        assert_eq!(plan.dispr().steps, shipped.step);
    }

    #[test]
    fn the_steps_study_holds_the_default_sampler() {
        for budget in [Budget::Quick, Budget::Full] {
            let plan = Plan::of(budget);
            assert!(plan.steps_study.contains(&plan.sampler), "{budget}");
            assert!(plan.steps_study.len() >= 2, "{budget}");
        }
    }
}
