//! A model conditioned on a prior shape (`dispr train --prior-k`): its checkpoint and
//! its exported model file carry the reference cells, prediction draws the prior from
//! them, and a file without them is refused by name.

use crate::common::{device, phantom_cell};
use dispr_core::data::class::CellClass;
use dispr_core::data::dataset::Cell;
use dispr_core::data::prior::PriorBank;
use dispr_nn::checkpoint::{self, Checkpoint, PRIOR_SECTION};
use dispr_nn::config::{Network, PriorConfig, preset};
use dispr_nn::data::example;
use dispr_nn::device::DeviceKind;
use dispr_nn::pipeline::{LoadedModel, SamplerSettings};
use dispr_nn::training::Run;

fn cells() -> Vec<Cell> {
    let classes = [
        CellClass::Keratocyte,
        CellClass::Knizocyte,
        CellClass::Cluster,
    ];
    (0..6).map(|i| phantom_cell(i, classes[i % 3])).collect()
}

/// A tiny prior model trained 3 steps in `dir`, with its bank.
fn trained(dir: &std::path::Path) -> (Run, PriorBank) {
    let (model, mut train) = preset("tiny").unwrap();
    let model = model.with_prior(Some(PriorConfig { k: 2 }));
    model.validate().unwrap();
    train.steps = 3;
    let cells = cells();
    let refs: Vec<&Cell> = cells.iter().collect();
    let bank = PriorBank::new(2, model.grid, &refs).unwrap();
    let examples: Vec<_> = cells
        .iter()
        .map(|c| example(c, model.grid, Some(&bank)).unwrap())
        .collect();
    // Mask and image repeated along z, then the prior: three channels.
    let [d, h, w] = model.grid;
    assert_eq!(examples[0].conditioning.len(), 3 * d * h * w);
    let run = Run {
        dir: dir.to_path_buf(),
        model: Network::Dispr(model),
        train,
        pixel_size_um: None,
        prior: Some(bank.clone()),
    };
    run.train(&examples, false, &device(), &mut |_| {}).unwrap();
    (run, bank)
}

fn predict(model: &std::path::Path, cell: &Cell) -> Vec<f32> {
    let m = LoadedModel::load(Some(model), SamplerSettings::default(), DeviceKind::Cpu).unwrap();
    assert!(m.prior.is_some());
    let p = m
        .predict_image(&cell.name, &cell.image, &cell.mask, 2, 7)
        .unwrap();
    p.shapes.probability.data().to_vec()
}

#[test]
fn a_prior_model_carries_its_reference_cells_through_checkpoint_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let (run, bank) = trained(dir.path());
    let ckpt = Checkpoint::load(&run.checkpoint_path()).unwrap();
    assert_eq!(ckpt.prior_bank().unwrap(), Some(bank));

    // The exported model file predicts exactly as the run's checkpoint.
    let exported = dir.path().join("model.safetensors");
    std::fs::write(&exported, checkpoint::to_safetensors_model(&ckpt).unwrap()).unwrap();
    let cell = phantom_cell(9, CellClass::Knizocyte);
    assert_eq!(
        predict(&run.checkpoint_path(), &cell),
        predict(&exported, &cell)
    );

    // A file that lost its reference cells is refused, naming the file and the problem.
    let mut stripped = ckpt.clone();
    let i = stripped
        .header
        .sections
        .iter()
        .position(|s| s.name == PRIOR_SECTION)
        .unwrap();
    stripped.header.sections.remove(i);
    stripped.sections.remove(i);
    let path = dir.path().join("stripped.dispr");
    stripped.save(&path).unwrap();
    let err = LoadedModel::load(Some(&path), SamplerSettings::default(), DeviceKind::Cpu)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("stripped.dispr") && err.contains("lacks its reference cells"),
        "{err}"
    );
}

#[test]
fn a_network_whose_inputs_do_not_match_its_conditioning_is_refused() {
    let (model, _) = preset("tiny").unwrap();
    let mut wrong = model.clone().with_prior(Some(PriorConfig { k: 2 }));
    wrong.unet.in_channels = 3;
    let err = wrong.validate().unwrap_err().to_string();
    assert!(err.contains("input channels"), "{err}");
    assert!(model.with_prior(None).validate().is_ok());
}
