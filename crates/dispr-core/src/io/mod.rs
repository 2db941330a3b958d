//! Files in and out: the TIFF format ([`tiff`]), label images saved as PNG ([`png`]),
//! atomic writes ([`atomic`]), output folders owned by one run ([`outdir`]), the layout
//! of a prediction folder ([`prediction_dir`]), its journal of finished cells
//! ([`journal`]) and the folder of a sharded run ([`shards`]).

pub mod atomic;
pub mod journal;
pub mod outdir;
pub mod png;
pub mod prediction_dir;
pub mod shards;
pub mod tiff;
