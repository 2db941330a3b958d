//! Property tests of the checkpoint format (issue #19): every byte of a checkpoint is
//! covered by a checksum, so any single changed byte, and any cut, is a clean error —
//! never a silently different model, never a huge allocation from an edited header.

use dispr_nn::checkpoint::Checkpoint;
use dispr_nn::config::{Network, preset};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A real checkpoint: the shipped model's header with small sections, plus the shipped
/// model itself.
fn checkpoints() -> Vec<Vec<u8>> {
    let (model, train) = preset("tiny").unwrap();
    let c = Checkpoint::new(
        Network::Dispr(model),
        Some(train),
        12,
        vec!["a".into(), "extra:b".into()],
        vec![("model", (0..200u8).collect()), ("ema", vec![9; 50])],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.dispr");
    c.save(&path).unwrap();
    let shipped = dispr_nn::shipped::checkpoint().unwrap();
    let shipped_path = dir.path().join("s.dispr");
    shipped.save(&shipped_path).unwrap();
    vec![
        std::fs::read(&path).unwrap(),
        std::fs::read(&shipped_path).unwrap(),
    ]
}

/// A property runner of `cases` cases that keeps no failure files.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn any_changed_byte_or_cut_is_refused() {
    let files = checkpoints();
    for f in &files {
        Checkpoint::from_bytes(f).expect("the originals load");
    }
    let mut runner = runner(500);
    runner
        .run(
            &(0..files.len(), any::<usize>(), 1..=255u8, any::<bool>()),
            |(k, pos, x, cut)| {
                let mut bytes = files[k].clone();
                let i = pos % bytes.len();
                if cut {
                    bytes.truncate(i);
                } else {
                    bytes[i] ^= x;
                }
                match Checkpoint::from_bytes(&bytes) {
                    Ok(_) => Err(TestCaseError::fail(format!(
                        "a {} at byte {i} of {} loaded",
                        if cut { "cut" } else { "changed byte" },
                        files[k].len()
                    ))),
                    Err(e) => {
                        prop_assert!(!e.to_string().contains('\n'), "{}", e);
                        Ok(())
                    }
                }
            },
        )
        .unwrap();
}

/// The shipped model as the safetensors file it is: any changed byte or cut is refused,
/// except a change the format ignores (the spaces that pad its JSON header): such a file
/// must then load as exactly the same model.
#[test]
fn any_changed_byte_or_cut_of_a_safetensors_model_is_refused_or_harmless() {
    let original = dispr_nn::shipped::BYTES;
    let tensors = |bytes: &[u8]| -> Vec<(String, Vec<usize>, Vec<u8>)> {
        let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
        let mut t: Vec<_> = file
            .tensors()
            .into_iter()
            .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
            .collect();
        t.sort();
        t
    };
    let reference = Checkpoint::from_bytes(original).unwrap();
    let reference_tensors = tensors(original);
    let mut runner = runner(300);
    runner
        .run(
            &(any::<usize>(), 1..=255u8, any::<bool>()),
            |(pos, x, cut)| {
                let mut bytes = original.to_vec();
                let i = pos % bytes.len();
                if cut {
                    bytes.truncate(i);
                } else {
                    bytes[i] ^= x;
                }
                match Checkpoint::from_bytes(&bytes) {
                    Ok(c) => {
                        prop_assert_eq!(&c.header.model, &reference.header.model);
                        prop_assert_eq!(c.header.step, reference.header.step);
                        prop_assert_eq!(&c.header.train_cells, &reference.header.train_cells);
                        prop_assert!(
                            tensors(&bytes) == reference_tensors,
                            "byte {} changed the weights",
                            i
                        );
                        Ok(())
                    }
                    Err(e) => {
                        prop_assert!(!e.to_string().contains('\n'), "{}", e);
                        Ok(())
                    }
                }
            },
        )
        .unwrap();
}
