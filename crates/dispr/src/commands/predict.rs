//! `dispr predict`: sample 3D shapes of every cell with a trained DISPR model (or predict
//! one shape per cell with a SHAPR model).

use dispr_core::data::dataset::Dataset;
use dispr_core::io::prediction_dir::{PredictReport, PredictionDir};
use dispr_nn::pipeline::{
    CellSelection, LoadedModel, PredictSettings, SamplerSettings, predict_dataset, select_cells,
};

use crate::cli::PredictArgs;
use crate::output::print;
use crate::progress;

/// Runs `dispr predict`.
pub fn run(args: &PredictArgs) -> anyhow::Result<()> {
    let sampling = SamplerSettings {
        kind: args.sampler,
        steps: args.steps as usize,
        eta: args.eta,
    };
    let model = LoadedModel::load(args.model.as_deref(), sampling, args.device)?;
    let dataset = super::open_dataset(&args.data)?;
    let mut inputs = vec![args.data.as_path()];
    if args.model.is_some() {
        inputs.push(model.source.as_path());
    }
    let out = PredictionDir::create(&args.out, &inputs)?;
    let selection = CellSelection {
        names: args.cells.clone(),
        include_trained: args.all_cells,
    };
    let selected =
        select_cells(&dataset, &model.header.train_cells, &selection).map_err(|e| match e {
            dispr_nn::Error::AllTrained(_) => {
                anyhow::anyhow!("{e}; pass --all-cells to predict them anyway")
            }
            e => e.into(),
        })?;
    let cells = selected.indices.len();
    if selected.skipped_trained > 0 {
        eprintln!(
            "predicting {cells} cells; skipping {} the model trained on (--all-cells includes them)",
            selected.skipped_trained
        );
    }
    let settings = PredictSettings {
        samples: args.samples as usize,
        seed: args.seed,
    };
    let report = predict_with_progress(&model, &dataset, &selected.indices, settings, &out)?;
    print(&format!("{}\n", report.summary(&args.out)))?;
    Ok(())
}

/// Predicts the cells `indices` of `dataset` into `out` with a progress bar of network
/// evaluations (also `dispr demo`'s prediction step).
pub fn predict_with_progress(
    model: &LoadedModel,
    dataset: &Dataset,
    indices: &[usize],
    settings: PredictSettings,
    out: &PredictionDir,
) -> anyhow::Result<PredictReport> {
    let bar = progress::bar(
        indices.len() * model.predictor.evaluations(),
        "network evaluations",
    );
    bar.set_message(model.predictor.method());
    let report = predict_dataset(model, dataset, indices, settings, out, &mut |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    Ok(report?)
}
