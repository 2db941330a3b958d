//! A model conditioned on a prior shape. The nearest-k prior (`dispr train --prior-k`):
//! its checkpoint and its exported model file carry the reference cells, prediction draws
//! the prior from them, and a file without them is refused by name. Given prior shapes
//! (`--prior-shapes`): prediction reads each cell's from the folder it is given, and
//! refuses to guess without one.

use crate::common::{device, phantom_cell};
use dispr_core::data::class::CellClass;
use dispr_core::data::dataset::Cell;
use dispr_core::data::prior::{GivenPriors, PriorBank, PriorSource};
use dispr_nn::checkpoint::{self, Checkpoint, PRIOR_SECTION};
use dispr_nn::config::{GivenPrior, Network, PriorConfig, preset};
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
    let model = model.with_prior(Some(PriorConfig::Nearest { k: 2 }));
    model.validate().unwrap();
    train.steps = 3;
    let cells = cells();
    let refs: Vec<&Cell> = cells.iter().collect();
    let bank = PriorBank::new(2, model.grid, &refs).unwrap();
    let source = PriorSource::Nearest(bank.clone());
    let examples: Vec<_> = cells
        .iter()
        .map(|c| example(c, model.grid, Some(&source)).unwrap())
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
    let mut wrong = model
        .clone()
        .with_prior(Some(PriorConfig::Nearest { k: 2 }));
    wrong.unet.in_channels = 3;
    let err = wrong.validate().unwrap_err().to_string();
    assert!(err.contains("input channels"), "{err}");
    assert!(model.with_prior(None).validate().is_ok());
}

#[test]
fn a_model_on_given_prior_shapes_reads_each_cell_s_from_the_folder_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let cells = cells();
    // Two folders of guesses for the same cells: their true shapes, and empty-ish ones.
    let truth = dir.path().join("truth");
    let other = dir.path().join("other");
    std::fs::create_dir_all(&truth).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    for c in &cells {
        let shape = c.shape.as_ref().unwrap();
        dispr_core::io::tiff::write_shape(&truth.join(format!("{}.tif", c.name)), shape).unwrap();
        let corner =
            dispr_core::grid::Volume::from_fn(shape.shape(), |[z, y, x]| z < 4 && y < 4 && x < 4);
        dispr_core::io::tiff::write_shape(&other.join(format!("{}.tif", c.name)), &corner).unwrap();
    }
    let (model, mut train) = preset("tiny").unwrap();
    let model = model.with_prior(Some(PriorConfig::Given {
        given: GivenPrior::Files,
    }));
    model.validate().unwrap();
    train.steps = 3;
    train.prior_shapes = Some(truth.clone());
    let source = PriorSource::Given(GivenPriors::new(&truth).unwrap());
    let examples: Vec<_> = cells
        .iter()
        .map(|c| example(c, model.grid, Some(&source)).unwrap())
        .collect();
    let run = Run {
        dir: dir.path().join("run"),
        model: Network::Dispr(model),
        train,
        pixel_size_um: None,
        prior: None,
    };
    run.train(&examples, false, &device(), &mut |_| {}).unwrap();

    // The model's config says what it needs, in words a file keeps.
    let ckpt = Checkpoint::load(&run.checkpoint_path()).unwrap();
    let json = serde_json::to_string(&ckpt.header.model).unwrap();
    assert!(json.contains(r#""prior":{"given":"files"}"#), "{json}");
    assert_eq!(ckpt.prior_bank().unwrap(), None);

    let load = || {
        LoadedModel::load(
            Some(&run.checkpoint_path()),
            SamplerSettings::default(),
            DeviceKind::Cpu,
        )
        .unwrap()
    };
    let cell = &cells[1];
    // Without a folder it refuses, saying what to pass.
    let err = load()
        .predict_image(&cell.name, &cell.image, &cell.mask, 1, 7)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("--prior-shapes"), "{err}");
    // With each folder it conditions on that folder's shape of the cell.
    let with = |dir: &std::path::Path| {
        load()
            .with_prior_shapes(dir)
            .unwrap()
            .predict_image(&cell.name, &cell.image, &cell.mask, 1, 7)
            .unwrap()
            .shapes
            .probability
    };
    assert_eq!(with(&truth), with(&truth));
    assert_ne!(with(&truth), with(&other));
    // A nearest-k or unconditioned model refuses a folder it would ignore.
    let nearest = trained(&dir.path().join("nearest")).0.checkpoint_path();
    let refused = LoadedModel::load(Some(&nearest), SamplerSettings::default(), DeviceKind::Cpu)
        .unwrap()
        .with_prior_shapes(&truth)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        refused.contains("not conditioned on given prior shapes"),
        "{refused}"
    );
}

#[test]
fn prior_configs_read_as_written_including_older_files() {
    let nearest: PriorConfig = serde_json::from_str(r#"{"k":9}"#).unwrap();
    assert_eq!(nearest, PriorConfig::Nearest { k: 9 });
    let given = PriorConfig::Given {
        given: GivenPrior::Files,
    };
    let json = serde_json::to_string(&given).unwrap();
    assert_eq!(json, r#"{"given":"files"}"#);
    assert_eq!(serde_json::from_str::<PriorConfig>(&json).unwrap(), given);
    assert!(serde_json::from_str::<PriorConfig>(r#"{"given":"elsewhere"}"#).is_err());
}
