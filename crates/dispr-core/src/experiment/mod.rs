//! The paper's experiments as numbers: Table 1 ([`evaluation`]), per-cell paired
//! comparisons ([`paired`]), the calibration of sample sets ([`calibration`]), and the
//! classification experiment's features ([`features`]) and random forest
//! ([`classify`]).

pub mod calibration;
pub mod classify;
pub mod evaluation;
pub mod features;
pub mod paired;
