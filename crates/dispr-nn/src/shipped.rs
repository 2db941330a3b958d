//! The trained model that ships with dispr: the `fast` preset conditioned on the shape
//! of the topological SHAPR model it carries, trained on all 108 real cells by
//! `scripts/train/ship_shapr_prior.sh` (docs/accuracy.md), kept in git as
//! `models/dispr-fast.safetensors`
//! (safetensors: the network's named f32 tensors, the bytes of its SHAPR model's
//! checkpoint as one u8 tensor, the model card in its metadata)
//! beside its SHA-256 and built into the binary, so that `dispr predict` and `dispr demo`
//! work without `--model`, without files and without a network.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::checkpoint::Checkpoint;

/// How the shipped model is named in messages and reports.
pub const NAME: &str = "built-in model models/dispr-fast.safetensors";

/// The checkpoint's bytes, as committed.
pub const BYTES: &[u8] = include_bytes!("../../../models/dispr-fast.safetensors");

/// Its SHA-256, as `sha256sum` prints it (`models/dispr-fast.safetensors.sha256`).
pub const SHA256_FILE: &str = include_str!("../../../models/dispr-fast.safetensors.sha256");

/// The five-fold study of the shipped model's recipe, as its card shows it
/// (`models/dispr-fast.study.md`).
pub const STUDY: &str = include_str!("../../../models/dispr-fast.study.md");

/// The SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The shipped checkpoint, after checking its bytes against the committed SHA-256 (a
/// mismatch means the file in the repository was changed without its checksum).
pub fn checkpoint() -> crate::Result<Checkpoint> {
    let expected = SHA256_FILE.split_whitespace().next().unwrap_or_default();
    let actual = sha256_hex(BYTES);
    if actual != expected {
        return Err(format!(
            "{NAME}: SHA-256 {actual} does not match models/dispr-fast.safetensors.sha256 ({expected})"
        ).into());
    }
    Checkpoint::from_bytes(BYTES).map_err(|e| format!("{NAME}: {e}").into())
}

/// The shipped model's size calibration (`models/dispr-fast.safetensors.calibration.json`,
/// written by `dispr model calibrate --by scale --cells 40` with its default draw in
/// `scripts/train/ship_shapr_prior.sh`): the scale by which each sample is enlarged
/// about its centroid, learnt on 40 of its training cells (docs/accuracy.md).
pub const CALIBRATION_FILE: Option<&str> = Some(include_str!(
    "../../../models/dispr-fast.safetensors.calibration.json"
));

/// The shipped model's calibration, checked against its SHA-256.
pub fn calibration() -> crate::Result<Option<crate::calibration::Calibration>> {
    CALIBRATION_FILE
        .map(|text| {
            crate::calibration::Calibration::parse(text, &sha256_hex(BYTES))
                .map_err(|e| format!("{NAME}: calibration: {e}").into())
        })
        .transpose()
}

/// The shipped model's interval calibration
/// (`models/dispr-fast.safetensors.intervals.json`, written by `dispr model intervals`
/// in `scripts/train/ship_shapr_prior.sh`): fitted on held-out predictions of its
/// recipe's five fold models (docs/accuracy.md).
pub const INTERVALS_FILE: Option<&str> = Some(include_str!(
    "../../../models/dispr-fast.safetensors.intervals.json"
));

/// The shipped model's interval calibration, checked against its SHA-256.
pub fn intervals() -> crate::Result<Option<crate::intervals::IntervalCalibration>> {
    INTERVALS_FILE
        .map(|text| {
            crate::intervals::IntervalCalibration::parse(text, &sha256_hex(BYTES))
                .map_err(|e| format!("{NAME}: interval calibration: {e}").into())
        })
        .transpose()
}

/// The path-like label of the shipped model, for errors raised while loading it.
pub fn label() -> &'static Path {
    Path::new(NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_intervals_belong_to_the_shipped_model_and_its_default_draw() {
        let i = intervals()
            .unwrap()
            .expect("the built-in model has calibrated intervals");
        assert_eq!(
            i.fits.len(),
            4,
            "volume, surface area, roughness, curvature"
        );
        let crate::config::Network::Dispr(m) = checkpoint().unwrap().header.model else {
            panic!("the shipped model is DISPR")
        };
        // The draw `dispr predict` makes by default: the model's own sampler.
        let d = crate::pipeline::own_sampling(calibration().unwrap().as_ref());
        let name = d.sampler(&m.diffusion).unwrap().name();
        let size = calibration()
            .unwrap()
            .expect("the built-in model has a size calibration")
            .size;
        assert_eq!(size.fit, crate::calibration::SizeFit::Scale);
        assert!(i.applies_to(&name, 5, &size).is_some(), "{}", i.draw());
        assert!(
            i.coverage.iter().all(|c| c.calibrated.is_some()),
            "coverage measured"
        );
    }

    #[test]
    fn shipped_model_matches_its_checksum_and_is_the_fast_preset() {
        let c = checkpoint().unwrap();
        assert_eq!(c.header.model.kind(), crate::config::ModelKind::Dispr);
        assert_eq!(c.header.model.preset(), "fast");
        assert!(BYTES.len() <= 20 << 20, "keep the shipped model ≤ 20 MB");
        // A flipped byte is caught.
        let mut bytes = BYTES.to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_ne!(sha256_hex(&bytes), sha256_hex(BYTES));
        assert!(Checkpoint::from_bytes(&bytes).is_err());
    }

    /// Python's safetensors reader (scripts/fixtures/make_safetensors_fixtures.py) found
    /// the same named tensors, with the same shapes and sums, that dispr loads.
    #[test]
    fn shipped_model_opens_in_python_with_named_tensors() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/shipped_safetensors.json"))
                .unwrap();
        let expected = fixture["tensors"].as_object().unwrap();
        let file = safetensors::SafeTensors::deserialize(BYTES).unwrap();
        let tensors = file.tensors();
        assert_eq!(tensors.len(), expected.len());
        for (name, view) in tensors {
            let want = &expected[&name];
            let shape: Vec<usize> = serde_json::from_value(want["shape"].clone()).unwrap();
            assert_eq!(view.shape(), shape.as_slice(), "{name}");
            if name == crate::checkpoint::PRIOR_MODEL_TENSOR {
                // The SHAPR model the file carries, as the bytes of its own checkpoint.
                assert_eq!(view.dtype(), safetensors::Dtype::U8, "{name}");
                let sum: f64 = view.data().iter().map(|&b| b as f64).sum();
                assert_eq!(sum, want["sum"].as_f64().unwrap(), "{name}");
                continue;
            }
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let sum: f64 = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                .sum();
            let want_sum = want["sum"].as_f64().unwrap();
            assert!(
                (sum - want_sum).abs() <= 1e-9 * want_sum.abs().max(1.0),
                "{name}"
            );
        }
        let model = crate::model::Model::from_checkpoint(
            &checkpoint().unwrap(),
            label(),
            &burn::prelude::Device::flex(),
        )
        .unwrap();
        assert_eq!(
            burn::module::Module::num_params(&model.net) as u64,
            fixture["parameters"].as_u64().unwrap()
        );
        assert_eq!(fixture["preset"], "fast");
    }
}
