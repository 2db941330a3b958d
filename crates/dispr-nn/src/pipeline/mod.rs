//! The pipeline as library code, what every front end (command line, Python) calls:
//!
//! * [`plan`]: the cells a training run uses, checked and made into examples;
//! * [`predictor`]: a trained DISPR or SHAPR model that turns a cell into the
//!   distribution of its shape;
//! * [`run_predict`]: a whole dataset predicted into a prediction folder;
//! * [`calibrate`]: a model's level learnt on its training cells;
//! * [`fit_intervals`]: a model's 90 % intervals fitted on held-out predictions.

pub mod calibrate;
pub mod fit_intervals;
pub mod plan;
pub mod predictor;
pub mod run_predict;

pub use plan::{TrainingSet, plan};
pub use predictor::{
    Draw, LoadedModel, ModelFile, Predictor, SamplerRequest, SamplerSettings, own_sampler_of,
    own_sampling,
};
pub use run_predict::{
    CellSelection, PredictSettings, PredictedCell, frame_cell, predict_cells, predict_dataset,
    predict_framed, select_cells,
};
