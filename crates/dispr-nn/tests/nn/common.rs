//! Helpers shared by the dispr-nn integration tests.

use burn::prelude::*;
use dispr_core::data::class::CellClass;
use dispr_core::data::dataset::Cell;
use dispr_core::phantom;

/// The CPU device the tests run on.
pub fn device() -> Device {
    Device::flex()
}

/// A synthetic cell (PHANTOMS.md) as the dataset loader would give it.
pub fn phantom_cell(index: usize, class: CellClass) -> Cell {
    let p = phantom::generate(2023, index, class);
    Cell {
        name: p.name.clone(),
        label: dispr_core::data::class::Label::Class {
            class,
            sde_score: None,
        },
        image: p.image.map(|v| v as f32 / 255.0),
        mask: p.mask.clone(),
        shape: Some(p.obj.clone()),
        pixel_size: None,
    }
}
