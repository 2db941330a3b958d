//! Training: a [`Run`] in a folder drives a [`Learner`] one optimisation step at a
//! time and keeps its losses and checkpoints; exact resume and a clean stop on a
//! non-finite loss. All randomness of step n comes from ChaCha8(seed, stream n), so a
//! resumed run draws exactly what the uninterrupted run would have.
//!
//! * [`run`]: the loop around the steps — losses CSV, checkpoints, resume;
//! * [`learner`]: the [`Learner`] trait and what every learner shares (batches, random
//!   streams), with the DISPR learner in [`dispr`] and SHAPR's in [`shapr`];
//! * [`state`]: a network under training (weights, EMA, optimizer, step);
//! * [`ema`]: the exponential moving average of the weights.

pub mod dispr;
pub mod ema;
pub mod learner;
pub mod run;
pub mod shapr;
pub mod state;

pub use dispr::Trainer;
pub use learner::{Learner, StepLosses, learner_from_checkpoint, loss_columns, new_learner};
pub use run::{LOSSES_FILE, Run, StepReport, TrainSummary, read_losses};
pub use shapr::ShaprTrainer;
pub use state::Weights;
