//! `dispr predict`: sample 3D shapes of every cell with a trained DISPR model (or predict
//! one shape per cell with a SHAPR model).

use dispr_core::io::prediction_dir::PredictionDir;
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
    let method = model.predictor.method();
    let bar = progress::bar(cells * model.predictor.evaluations(), "network evaluations");
    bar.set_message(method.clone());
    let settings = PredictSettings {
        samples: args.samples as usize,
        seed: args.seed,
    };
    let report = predict_dataset(
        &model,
        &dataset,
        &selected.indices,
        settings,
        &out,
        &mut |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    let report = report?;
    print(&format!("{}\n", report.summary(&args.out)))?;
    Ok(())
}
