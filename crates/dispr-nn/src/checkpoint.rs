//! The one checkpoint format: a single file, written atomically, holding the model
//! config, the training state (step, seed, settings) and named binary sections (weights,
//! EMA weights, optimizer state), each with its length and CRC-32 so a truncated or
//! corrupt file is named as such instead of loading garbage.
//!
//! Layout: `DISPR-CHECKPOINT\n`, one line of JSON ([`Header`]), then the sections'
//! bytes back to back in the header's order. A shipped model is the same file with only
//! the `ema` section.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Network, TrainConfig};

/// First line of every checkpoint.
pub const MAGIC: &[u8] = b"DISPR-CHECKPOINT\n";
/// Format version written (and the only one read).
pub const FORMAT: u32 = 1;
/// File name of a run's checkpoint inside the run folder.
pub const FILE_NAME: &str = "checkpoint.dispr";

/// Prefix of the names of `--extra-data` cells in [`Header::train_cells`].
pub const EXTRA_PREFIX: &str = "extra:";

/// One named section's place in the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SectionInfo {
    /// `model`, `ema` or `optimizer`.
    pub name: String,
    /// Length in bytes.
    pub bytes: u64,
    /// CRC-32 of the bytes.
    pub crc32: u32,
}

/// The JSON line after the magic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Format version.
    pub format: u32,
    /// The network (and for DISPR the diffusion) settings.
    pub model: Network,
    /// The run's training settings (absent in a shipped model).
    pub train: Option<TrainConfig>,
    /// Optimisation steps done.
    pub step: usize,
    /// Training seconds so far, over all sessions.
    #[serde(default)]
    pub seconds: f64,
    /// Names of the training cells (so a resume on other data is refused).
    pub train_cells: Vec<String>,
    /// The sections that follow.
    pub sections: Vec<SectionInfo>,
}

/// A checkpoint in memory.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// Settings and state.
    pub header: Header,
    /// Section bytes, in header order.
    pub sections: Vec<Vec<u8>>,
}

impl Checkpoint {
    /// Bytes of section `name`, if present.
    pub fn section(&self, name: &str) -> Option<&[u8]> {
        self.header
            .sections
            .iter()
            .position(|s| s.name == name)
            .map(|i| self.sections[i].as_slice())
    }

    /// Builds a checkpoint from its header fields and named sections.
    pub fn new<S: AsRef<str>>(
        model: Network,
        train: Option<TrainConfig>,
        step: usize,
        train_cells: Vec<String>,
        sections: Vec<(S, Vec<u8>)>,
    ) -> Self {
        let infos = sections
            .iter()
            .map(|(name, bytes)| SectionInfo {
                name: name.as_ref().to_string(),
                bytes: bytes.len() as u64,
                crc32: crc32fast::hash(bytes),
            })
            .collect();
        Self {
            header: Header {
                format: FORMAT,
                model,
                train,
                step,
                seconds: 0.0,
                train_cells,
                sections: infos,
            },
            sections: sections.into_iter().map(|(_, b)| b).collect(),
        }
    }

    /// Records the training time so far.
    pub fn with_seconds(mut self, seconds: f64) -> Self {
        self.header.seconds = seconds;
        self
    }

    /// Writes the checkpoint atomically (a crash leaves the previous file intact).
    pub fn save(&self, path: &Path) -> Result<(), dispr_core::error::Error> {
        let header = serde_json::to_string(&self.header).expect("header serializes");
        dispr_core::fsio::write_atomic(path, |w| {
            let io = |e: std::io::Error| e.to_string();
            w.write_all(MAGIC).map_err(io)?;
            w.write_all(header.as_bytes()).map_err(io)?;
            w.write_all(b"\n").map_err(io)?;
            for s in &self.sections {
                w.write_all(s).map_err(io)?;
            }
            Ok(())
        })
    }

    /// Reads and verifies a checkpoint; the error says what is wrong with the file.
    pub fn load(path: &Path) -> Result<Self, dispr_core::error::Error> {
        let fail = |problem: String| dispr_core::error::Error::new(path, problem);
        let bytes = std::fs::read(path).map_err(|e| {
            fail(format!(
                "cannot read checkpoint: {}",
                dispr_core::error::describe_io(&e)
            ))
        })?;
        Self::from_bytes(&bytes).map_err(fail)
    }

    /// Parses checkpoint bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or("not a dispr checkpoint (missing DISPR-CHECKPOINT header)")?;
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated checkpoint (header line incomplete)")?;
        let header: Header = serde_json::from_slice(&rest[..end])
            .map_err(|e| format!("corrupt checkpoint header: {e}"))?;
        if header.format != FORMAT {
            return Err(format!(
                "checkpoint format {} is not supported (this dispr reads format {FORMAT})",
                header.format
            ));
        }
        header
            .model
            .validate()
            .map_err(|e| format!("invalid model config: {e}"))?;
        let mut offset = end + 1;
        let expected: u64 = header.sections.iter().map(|s| s.bytes).sum();
        let available = (rest.len() - offset) as u64;
        if available < expected {
            return Err(format!(
                "truncated checkpoint: {expected} bytes of weights expected, {available} present"
            ));
        }
        if available > expected {
            return Err(format!(
                "corrupt checkpoint: {} unexpected bytes after the weights",
                available - expected
            ));
        }
        let mut sections = Vec::new();
        for info in &header.sections {
            let data = &rest[offset..offset + info.bytes as usize];
            if crc32fast::hash(data) != info.crc32 {
                return Err(format!(
                    "corrupt checkpoint: section '{}' fails its checksum",
                    info.name
                ));
            }
            sections.push(data.to_vec());
            offset += info.bytes as usize;
        }
        Ok(Self { header, sections })
    }
}

/// Resolves `--model`: a run folder (its `checkpoint.dispr`) or a checkpoint file.
pub fn resolve(path: &Path) -> std::path::PathBuf {
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::preset;

    fn sample() -> Checkpoint {
        let (model, train) = preset("tiny").unwrap();
        Checkpoint::new(
            crate::config::Network::Dispr(model),
            Some(train),
            7,
            vec!["a".into(), "b".into()],
            vec![("model", vec![1, 2, 3]), ("ema", vec![4, 5])],
        )
    }

    #[test]
    fn round_trip_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.dispr");
        let c = sample();
        c.save(&path).unwrap();
        let back = Checkpoint::load(&path).unwrap();
        assert_eq!(back.header, c.header);
        assert_eq!(back.section("ema"), Some(&[4u8, 5][..]));
        assert_eq!(back.section("optimizer"), None);

        let bytes = std::fs::read(&path).unwrap();
        let truncated = Checkpoint::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(truncated.contains("truncated"), "{truncated}");
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let corrupt = Checkpoint::from_bytes(&flipped).unwrap_err();
        assert!(
            corrupt.contains("section 'ema' fails its checksum"),
            "{corrupt}"
        );
        let other = Checkpoint::from_bytes(b"II*\0 a tiff").unwrap_err();
        assert!(other.contains("not a dispr checkpoint"), "{other}");
        let cut_header = Checkpoint::from_bytes(&bytes[..MAGIC.len() + 10]).unwrap_err();
        assert!(cut_header.contains("truncated"), "{cut_header}");
    }
}
