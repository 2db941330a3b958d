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

#[test]
fn any_changed_byte_or_cut_is_refused() {
    let files = checkpoints();
    for f in &files {
        Checkpoint::from_bytes(f).expect("the originals load");
    }
    let mut runner = TestRunner::new(Config {
        cases: 500,
        failure_persistence: None,
        ..Config::default()
    });
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
                        prop_assert!(!e.contains('\n'), "{}", e);
                        Ok(())
                    }
                }
            },
        )
        .unwrap();
}
