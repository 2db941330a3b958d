//! SHAPR on the `tiny` preset: exact resume (the training machinery it shares with DISPR),
//! the topological loss's gradient, and an overfit of one synthetic cell predicted back.

use crate::common::{device, phantom_cell};
use burn::prelude::*;
use dispr_core::data::class::CellClass;
use dispr_core::shape::metrics::overlap;
use dispr_nn::checkpoint::Checkpoint;
use dispr_nn::config::{ModelKind, Network, Preset};
use dispr_nn::data::{Example, example};
use dispr_nn::model::ShaprModel;
use dispr_nn::predict::predict_shapr;
use dispr_nn::shapr::{AdversarialConfig, ShaprConfig, topo_loss};
use dispr_nn::training::{Run, read_losses};

fn run(dir: &std::path::Path, steps: usize, topo: f64) -> Run {
    run_with(dir, steps, topo, None)
}

fn run_with(
    dir: &std::path::Path,
    steps: usize,
    topo: f64,
    adversarial_after: Option<usize>,
) -> Run {
    let (mut model, mut train) = Network::preset_for(ModelKind::Shapr, Preset::Tiny).unwrap();
    if let Network::Shapr(m) = &mut model {
        m.topo_weight = topo;
        m.adversarial = adversarial_after.map(AdversarialConfig::starting_at);
    }
    train.steps = steps;
    train.checkpoint_every = 2;
    Run {
        dir: dir.to_path_buf(),
        model,
        train,
        pixel_size_um: None,
        prior: None,
    }
}

fn examples(n: usize, grid: [usize; 3]) -> Vec<Example> {
    (0..n)
        .map(|i| example(&phantom_cell(i, CellClass::Knizocyte), grid, None).unwrap())
        .collect()
}

fn tiny_config() -> ShaprConfig {
    match Network::preset_for(ModelKind::Shapr, Preset::Tiny)
        .unwrap()
        .0
    {
        Network::Shapr(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn a_resumed_shapr_run_with_topological_loss_repeats_the_uninterrupted_one() {
    let data = examples(2, tiny_config().grid);
    let whole = tempfile::tempdir().unwrap();
    let parts = tempfile::tempdir().unwrap();
    run(whole.path(), 4, 0.1)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    run(parts.path(), 2, 0.1)
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    run(parts.path(), 4, 0.1)
        .train(&data, true, &device(), &mut |_| {})
        .unwrap();
    let a = read_losses(whole.path()).unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a, read_losses(parts.path()).unwrap());
    let header = std::fs::read_to_string(whole.path().join("losses.csv")).unwrap();
    assert!(header.starts_with("step,loss,segmentation,topological,seconds"));
    // The topological part is logged and non-negative.
    let topo: f32 = header
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!(topo >= 0.0 && topo.is_finite(), "{topo}");
    // A SHAPR checkpoint is refused as a DISPR model, with the reason.
    let err = dispr_nn::model::Model::load(whole.path(), &device()).unwrap_err();
    assert!(err.to_string().contains("holds a shapr model"), "{err}");
}

#[test]
fn adversarial_fine_tuning_trains_a_discriminator_and_resumes_exactly() {
    let data = examples(2, tiny_config().grid);
    let whole = tempfile::tempdir().unwrap();
    let parts = tempfile::tempdir().unwrap();
    run_with(whole.path(), 4, 0.0, Some(1))
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    run_with(parts.path(), 2, 0.0, Some(1))
        .train(&data, false, &device(), &mut |_| {})
        .unwrap();
    run_with(parts.path(), 4, 0.0, Some(1))
        .train(&data, true, &device(), &mut |_| {})
        .unwrap();
    assert_eq!(
        read_losses(whole.path()).unwrap(),
        read_losses(parts.path()).unwrap()
    );
    let csv = std::fs::read_to_string(whole.path().join("losses.csv")).unwrap();
    let rows: Vec<Vec<f32>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert!(csv.starts_with("step,loss,segmentation,topological,adversarial,discriminator"));
    // Step 1 is supervised only; from step 2 both adversarial terms are positive and the
    // total is 10 × supervised + 1 × adversarial.
    assert_eq!((rows[0][4], rows[0][5]), (0.0, 0.0));
    for r in &rows[1..] {
        assert!(r[4] > 0.0 && r[5] > 0.0, "{r:?}");
        assert!((r[1] - (10.0 * r[2] + r[4])).abs() < 1e-3 * r[1], "{r:?}");
    }
    let c = Checkpoint::load(&whole.path().join("checkpoint.dispr")).unwrap();
    assert!(c.section("discriminator.model").is_some());
    assert!(c.section("discriminator.optimizer").is_some());
}

#[test]
fn the_topological_loss_pushes_a_spurious_blob_away() {
    // Truth: one cube. Prediction: the cube plus a second, fainter blob — an extra
    // component. The gradient must lower the blob's probability (raise its logit's
    // filtration value) and leave far-away voxels alone.
    let device = Device::flex().autodiff();
    let n = 8;
    let mut truth = vec![0f32; n * n * n];
    let mut logits = vec![-4f32; n * n * n];
    let at = |z: usize, y: usize, x: usize| (z * n + y) * n + x;
    for z in 1..4 {
        for y in 1..4 {
            for x in 1..4 {
                truth[at(z, y, x)] = 1.0;
                logits[at(z, y, x)] = 4.0;
            }
        }
    }
    logits[at(6, 6, 6)] = 1.0;
    let logits =
        Tensor::<5>::from_data(TensorData::new(logits, [1, 1, n, n, n]), &device).require_grad();
    let truth = Tensor::<5>::from_data(TensorData::new(truth, [1, 1, n, n, n]), &device);
    let loss = topo_loss(logits.clone(), truth, &[0, 1, 2], n);
    let value: f32 = loss.clone().into_scalar();
    assert!(value > 0.0, "the extra component costs something: {value}");
    let grads = loss.backward();
    let g: Vec<f32> = logits
        .grad(&grads)
        .unwrap()
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap();
    assert!(
        g[at(6, 6, 6)] > 0.0,
        "descent lowers the blob's logit: {}",
        g[at(6, 6, 6)]
    );
    assert_eq!(g[at(0, 7, 0)], 0.0, "a non-critical voxel gets no gradient");
}

#[test]
fn a_tiny_shapr_overfits_one_cell() {
    let config = tiny_config();
    let data = examples(1, config.grid);
    let dir = tempfile::tempdir().unwrap();
    let mut r = run(dir.path(), 150, 0.0);
    r.train.lr = 3e-3;
    r.train.augment = false;
    r.train.batch = 2;
    r.train.checkpoint_every = 150;
    r.train(&data, false, &device(), &mut |_| {}).unwrap();
    let model = ShaprModel::load(dir.path(), &device()).unwrap();
    let cell = phantom_cell(0, CellClass::Knizocyte);
    let truth = cell.shape.unwrap();
    let p = predict_shapr(&model, &data[0], truth.shape(), &device());
    assert_eq!(p.shapes.samples.len(), 1);
    let iou = overlap(&p.shapes.ensemble, &truth).iou;
    eprintln!("SHAPR tiny overfit: IoU {iou:.3}");
    assert!(iou >= 0.8, "IoU {iou}");
}
