//! Files in and out: the TIFF format ([`tiff`]), atomic writes ([`atomic`]), output
//! folders owned by one run ([`outdir`]) and the layout of a prediction folder
//! ([`prediction_dir`]).

pub mod atomic;
pub mod outdir;
pub mod prediction_dir;
pub mod tiff;
