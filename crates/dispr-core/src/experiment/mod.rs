//! The paper's experiments as numbers: Table 1 ([`evaluation`]), per-cell paired
//! comparisons ([`paired`]), the calibration of sample sets ([`calibration`]), and the
//! classification experiment's features ([`features`], a dataset's table of them:
//! [`feature_table`]) and random forest
//! ([`classify`]); [`study`] runs a whole evaluation of several methods and writes its
//! tables, Table 1 per cell with bootstrap intervals among them ([`cell_medians`]);
//! [`uncertainty`] summarises a cell's samples, and [`intervals`] calibrates their 90 %
//! intervals on held-out cells.

pub mod calibration;
pub mod cell_medians;
pub mod classify;
pub mod classify_study;
pub mod evaluation;
pub mod feature_table;
pub mod features;
pub mod intervals;
pub mod paired;
pub mod study;
pub mod uncertainty;
