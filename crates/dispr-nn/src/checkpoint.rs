//! The one checkpoint format: a single file, written atomically, holding the model
//! config, the training state (step, seed, settings) and named binary sections (weights,
//! EMA weights, optimizer state), each with its length and CRC-32 so a truncated or
//! corrupt file is named as such instead of loading garbage.
//!
//! Layout: `DISPR-CHECKPOINT\n`, one line of JSON ([`Header`]), one line
//! `header-crc32 XXXXXXXX` (the CRC-32 of the JSON line, since format 2), then the
//! sections' bytes back to back in the header's order. So every byte of the file is
//! checksummed: an edited grid or schedule is refused, not run. A shipped model is the
//! same file with only the `ema` section. Format 1 files (no header line checksum) still
//! load.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use burn::module::Module;
use burn::store::ModuleRecord;

use crate::config::{Network, TrainConfig};

/// First line of every checkpoint.
pub const MAGIC: &[u8] = b"DISPR-CHECKPOINT\n";
/// Format version written: 2 adds the header's checksum line.
pub const FORMAT: u32 = 2;
/// The oldest format still read (format 1: no checksum of the header line).
pub const OLDEST_FORMAT: u32 = 1;
/// Start of the line after the header that holds the header's CRC-32 (format ≥ 2).
const HEADER_CRC_PREFIX: &[u8] = b"header-crc32 ";
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

    /// Writes the checkpoint atomically (a crash leaves the previous file intact), in
    /// format [`FORMAT`].
    pub fn save(&self, path: &Path) -> Result<(), dispr_core::error::Error> {
        // Always written in the current format, whatever format it was read from.
        let header = Header {
            format: FORMAT,
            ..self.header.clone()
        };
        let header = serde_json::to_string(&header).expect("header serializes");
        dispr_core::io::atomic::write_atomic(path, |w| {
            let io = |e: std::io::Error| e.to_string();
            w.write_all(MAGIC).map_err(io)?;
            w.write_all(header.as_bytes()).map_err(io)?;
            w.write_all(b"\n").map_err(io)?;
            w.write_all(HEADER_CRC_PREFIX).map_err(io)?;
            writeln!(w, "{:08x}", crc32fast::hash(header.as_bytes())).map_err(io)?;
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
        // A model exported with `dispr model export` has its SHA-256 beside it
        // (`FILE.sha256`, as sha256sum writes it): when present, it must match. A run's
        // own checkpoint changes at every save, so only exported models are checked.
        let mut sum_path = path.as_os_str().to_owned();
        sum_path.push(".sha256");
        let checkpoint = Self::from_bytes(&bytes).map_err(fail)?;
        let exported = checkpoint.header.train.is_none();
        if let Some(sum) = std::fs::read_to_string(&sum_path).ok().filter(|_| exported) {
            let expected = sum.split_whitespace().next().unwrap_or("").to_lowercase();
            let actual = crate::shipped::sha256_hex(&bytes);
            if expected != actual {
                return Err(fail(format!(
                    "SHA-256 {actual} does not match {} ({expected}); the file was changed after export",
                    Path::new(&sum_path).display()
                )));
            }
        }
        Ok(checkpoint)
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
        let header_line = &rest[..end];
        let mut offset = end + 1;
        // The format decides whether a checksum line follows; read it before trusting
        // anything else in the header.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format = serde_json::from_slice::<Format>(header_line)
            .map_err(|e| format!("corrupt checkpoint header: {e}"))?
            .format;
        if !(OLDEST_FORMAT..=FORMAT).contains(&format) {
            return Err(format!(
                "checkpoint format {format} is not supported (this dispr reads formats {OLDEST_FORMAT}–{FORMAT})"
            ));
        }
        if format >= 2 {
            let line_end = rest[offset..]
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("truncated checkpoint (header checksum line incomplete)")?;
            let line = &rest[offset..offset + line_end];
            let stored = line
                .strip_prefix(HEADER_CRC_PREFIX)
                .ok_or("corrupt checkpoint: the header checksum line is missing or damaged")?;
            // Compared as written (8 lower-case hex digits): any changed byte is refused.
            if stored != format!("{:08x}", crc32fast::hash(header_line)).as_bytes() {
                return Err(
                    "corrupt checkpoint: the header fails its checksum (edited or damaged)".into(),
                );
            }
            offset += line_end + 1;
        }
        let header: Header = serde_json::from_slice(header_line)
            .map_err(|e| format!("corrupt checkpoint header: {e}"))?;
        header
            .model
            .validate()
            .map_err(|e| format!("invalid model config: {e}"))?;
        let expected: u64 = header
            .sections
            .iter()
            .try_fold(0u64, |sum, s| sum.checked_add(s.bytes))
            .ok_or("corrupt checkpoint: section sizes overflow")?;
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

/// Serializes a network's weights.
pub fn weights_to_bytes<M: Module>(net: &M) -> Vec<u8> {
    let bytes = net
        .clone()
        .into_record()
        .into_bytes()
        .expect("weights serialize");
    bytes.to_vec()
}

/// Loads weights into a network built from the same config.
pub fn weights_from_bytes<M: Module>(net: M, bytes: &[u8]) -> Result<M, String> {
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("corrupt weights: {e}"))?;
    net.try_load_record(record)
        .map_err(|e| format!("weights do not fit the model config: {e}"))
}

/// The `ema` weights of a checkpoint (or its `model` weights when it has no EMA) loaded
/// into `net`; errors name the file.
pub fn load_weights<M: Module>(
    c: &Checkpoint,
    file: &Path,
    net: M,
) -> Result<M, dispr_core::error::Error> {
    let bytes = c
        .section("ema")
        .or_else(|| c.section("model"))
        .ok_or_else(|| dispr_core::error::Error::new(file, "checkpoint holds no weights"))?;
    weights_from_bytes(net, bytes).map_err(|e| dispr_core::error::Error::new(file, e))
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

    /// Issue #19, item 5: an edited header (here the step count) is refused, and a
    /// format-1 file (no header checksum) still loads.
    #[test]
    fn the_header_is_checksummed_and_format_1_still_loads() {
        let c = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.dispr");
        c.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let edited = text.replacen("\"step\":7", "\"step\":9", 1);
        assert_ne!(edited, text);
        let err = Checkpoint::from_bytes(edited.as_bytes()).unwrap_err();
        assert!(err.contains("header fails its checksum"), "{err}");

        // Format 1: magic, header line, sections.
        let mut header = c.header.clone();
        header.format = 1;
        let mut old = MAGIC.to_vec();
        old.extend(serde_json::to_vec(&header).unwrap());
        old.push(b'\n');
        for s in &c.sections {
            old.extend(s);
        }
        let back = Checkpoint::from_bytes(&old).unwrap();
        assert_eq!(back.sections, c.sections);
        assert_eq!(back.header.step, 7);
    }
}
