//! Model files: the checkpoint of a run, and the safetensors file a model is shared as.
//!
//! A checkpoint is a single file, written atomically, holding the model config, the
//! training state (step, seed, settings) and named binary sections (weights, EMA
//! weights, optimizer state), each with its length and CRC-32 so a truncated or corrupt
//! file is named as such instead of loading garbage.
//!
//! Layout: `DISPR-CHECKPOINT\n`, one line of JSON ([`Header`]), one line
//! `header-crc32 XXXXXXXX` (the CRC-32 of the JSON line, since format 2), then the
//! sections' bytes back to back in the header's order. So every byte of the file is
//! checksummed: an edited grid or schedule is refused, not run. Format 3 tags the network
//! in the header and stores the EMA weights as safetensors ([`WeightEncoding`]); formats
//! 1 (no header checksum) and 2 still load.
//!
//! A shared model ([`to_safetensors_model`], `dispr model export`, the built-in model) is
//! a standard safetensors file: named f32 tensors, and the header as its one metadata
//! entry (`dispr.header`) with a CRC-32 over the tensors and the header.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use burn::module::Module;
use burn::store::{ModuleRecord, ModuleSnapshot, SafetensorsStore};

use crate::config::{Network, PriorConfig, TrainConfig};
use dispr_core::data::prior::PriorBank;

/// First line of every checkpoint.
pub const MAGIC: &[u8] = b"DISPR-CHECKPOINT\n";
/// Format version written: 2 adds the header's checksum line, 3 tags the network and
/// stores the EMA weights as safetensors ([`WeightEncoding`]).
pub const FORMAT: u32 = 3;
/// The oldest format still read (format 1: no checksum of the header line).
pub const OLDEST_FORMAT: u32 = 1;
/// Start of the line after the header that holds the header's CRC-32 (format ≥ 2).
const HEADER_CRC_PREFIX: &[u8] = b"header-crc32 ";
/// File name of a run's checkpoint inside the run folder.
pub const FILE_NAME: &str = "checkpoint.dispr";

/// Name of the section that holds a model's prior bank ([`Checkpoint::prior_bank`]).
pub const PRIOR_SECTION: &str = "prior";
/// Name of the byte tensor that holds it in a safetensors model file.
pub const PRIOR_TENSOR: &str = "dispr.prior";
/// Name of the section that holds the SHAPR model whose prediction is the prior of a
/// model conditioned on given prior shapes ([`Checkpoint::prior_model`]).
pub const PRIOR_MODEL_SECTION: &str = "prior-model";
/// Name of the byte tensor that holds it in a safetensors model file.
pub const PRIOR_MODEL_TENSOR: &str = "dispr.prior-model";
/// The sections a safetensors model carries as byte tensors, with their tensors' names.
const CARRIED_SECTIONS: [(&str, &str); 2] = [
    (PRIOR_SECTION, PRIOR_TENSOR),
    (PRIOR_MODEL_SECTION, PRIOR_MODEL_TENSOR),
];

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
    /// µm per pixel of the training images, when every one of the main data stated the
    /// same (prediction then resamples cells of another pixel size to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_size_um: Option<f64>,
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
                pixel_size_um: None,
                sections: infos,
            },
            sections: sections.into_iter().map(|(_, b)| b).collect(),
        }
    }

    /// Adds a named section at the end.
    pub fn with_section(mut self, name: &str, bytes: Vec<u8>) -> Self {
        self.header.sections.push(SectionInfo {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            crc32: crc32fast::hash(&bytes),
        });
        self.sections.push(bytes);
        self
    }

    /// The reference cells of a model conditioned on the nearest-k prior
    /// ([`crate::config::ModelConfig::prior`]), read from its [`PRIOR_SECTION`]; `None`
    /// for a model without one (no prior, or given prior shapes). Errors when the
    /// section is missing or does not match the model's settings.
    pub fn prior_bank(&self) -> crate::Result<Option<PriorBank>> {
        let Network::Dispr(model) = &self.header.model else {
            return Ok(None);
        };
        let Some(PriorConfig::Nearest { k }) = model.prior else {
            return Ok(None);
        };
        let bytes = self
            .section(PRIOR_SECTION)
            .ok_or("the model is conditioned on a prior but the file lacks its reference cells")?;
        let bank = PriorBank::from_bytes(bytes).map_err(|e| e.to_string())?;
        if bank.k() != k || bank.grid() != model.grid {
            return Err(format!(
                "the prior bank averages {} neighbours on a {:?} grid; the model expects {} on {:?}",
                bank.k(),
                bank.grid(),
                k,
                model.grid
            )
            .into());
        }
        Ok(Some(bank))
    }

    /// The SHAPR model a model conditioned on given prior shapes carries to make them
    /// itself ([`PRIOR_MODEL_SECTION`], added by `dispr model export --prior-model`);
    /// `None` when it carries none. Errors when the section is damaged or not a SHAPR
    /// model of the same data grid.
    pub fn prior_model(&self) -> crate::Result<Option<Checkpoint>> {
        let Some(bytes) = self.section(PRIOR_MODEL_SECTION) else {
            return Ok(None);
        };
        if !self.header.model.takes_given_prior() {
            return Err(
                "it carries a prior model but is not conditioned on given prior shapes".into(),
            );
        }
        let inner = Checkpoint::from_bytes(bytes).map_err(|e| format!("its prior model: {e}"))?;
        if !matches!(inner.header.model, Network::Shapr(_)) {
            return Err("its prior model is not a SHAPR model".into());
        }
        if inner.header.model.data_grid() != self.header.model.data_grid() {
            return Err(format!(
                "its prior model predicts {:?} volumes, the model works with {:?}",
                inner.header.model.data_grid(),
                self.header.model.data_grid()
            )
            .into());
        }
        Ok(Some(inner))
    }

    /// Records the training time so far.
    pub fn with_seconds(mut self, seconds: f64) -> Self {
        self.header.seconds = seconds;
        self
    }

    /// Records the training images' pixel size.
    pub fn with_pixel_size(mut self, pixel_size_um: Option<f64>) -> Self {
        self.header.pixel_size_um = pixel_size_um;
        self
    }

    /// Writes the checkpoint atomically (a crash leaves the previous file intact), in
    /// format [`FORMAT`].
    pub fn save(&self, path: &Path) -> Result<(), dispr_core::error::Error> {
        // Written with the header checksum (format ≥ 2) and the network tagged; the format
        // number stays what the sections' encoding is (a format-1 or -2 file read and
        // saved again keeps its burn-record weights readable as format 2).
        let format = if self.header.format >= SAFETENSORS_SINCE {
            FORMAT
        } else {
            2
        };
        let header = Header {
            format,
            ..self.header.clone()
        };
        let header = serde_json::to_string(&header).expect("header serializes");
        dispr_core::io::atomic::write_atomic(path, |w| {
            w.write_all(MAGIC)?;
            w.write_all(header.as_bytes())?;
            w.write_all(b"\n")?;
            w.write_all(HEADER_CRC_PREFIX)?;
            writeln!(w, "{:08x}", crc32fast::hash(header.as_bytes()))?;
            for s in &self.sections {
                w.write_all(s)?;
            }
            Ok(())
        })
    }

    /// Reads and verifies a checkpoint; the error says what is wrong with the file.
    pub fn load(path: &Path) -> Result<Self, dispr_core::error::Error> {
        let fail = |problem: String| dispr_core::error::Error::new(path, problem);
        let bytes = std::fs::read(path)
            .map_err(|e| dispr_core::error::Error::io(path, "cannot read checkpoint", e))?;
        // A model exported with `dispr model export` has its SHA-256 beside it
        // (`FILE.sha256`, as sha256sum writes it): when present, it must match. A run's
        // own checkpoint changes at every save, so only exported models are checked.
        let mut sum_path = path.as_os_str().to_owned();
        sum_path.push(".sha256");
        let checkpoint = Self::from_bytes(&bytes).map_err(|e| fail(e.to_string()))?;
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

    /// Parses checkpoint bytes: a dispr checkpoint, or a model shared as a safetensors
    /// file ([`to_safetensors_model`]).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            return from_safetensors_model(bytes);
        };
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
            ).into());
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
        let header = parse_header(header_line)?;
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
            )
            .into());
        }
        if available > expected {
            return Err(format!(
                "corrupt checkpoint: {} unexpected bytes after the weights",
                available - expected
            )
            .into());
        }
        let mut sections = Vec::new();
        for info in &header.sections {
            let data = &rest[offset..offset + info.bytes as usize];
            if crc32fast::hash(data) != info.crc32 {
                return Err(format!(
                    "corrupt checkpoint: section '{}' fails its checksum",
                    info.name
                )
                .into());
            }
            sections.push(data.to_vec());
            offset += info.bytes as usize;
        }
        Ok(Self { header, sections })
    }
}

/// The first format whose header tags the network (`"network": "dispr"`).
pub const TAGGED_NETWORK_SINCE: u32 = 3;

/// Parses a checkpoint's header line; before [`TAGGED_NETWORK_SINCE`] the network
/// settings were written untagged.
fn parse_header(line: &[u8]) -> crate::Result<Header> {
    let corrupt = |e: String| format!("corrupt checkpoint header: {e}");
    let mut value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))?;
    // Formats 1 and 2 wrote the settings untagged, and early format-3 builds did too;
    // `Network::from_json` reads both spellings.
    {
        let model = value
            .get_mut("model")
            .map(serde_json::Value::take)
            .ok_or_else(|| corrupt("no model settings".into()))?;
        let network = Network::from_json(model).map_err(|e| corrupt(e.to_string()))?;
        value["model"] = serde_json::to_value(network).expect("settings serialize");
    }
    serde_json::from_value(value).map_err(|e| corrupt(e.to_string()).into())
}

/// Resolves `--model`: a run folder (its `checkpoint.dispr`) or a checkpoint file.
pub fn resolve(path: &Path) -> std::path::PathBuf {
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    }
}

/// How a checkpoint's weight sections are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightEncoding {
    /// burn's own record bytes: readable only by the burn version that wrote them, but
    /// they keep each parameter's burn id, which the optimizer's state refers to. The
    /// training state (`model`, `optimizer`) is stored so.
    BurnRecord,
    /// safetensors: named f32 tensors any safetensors reader opens, e.g. Python's
    /// `safetensors.numpy.load_file`. The EMA weights, the ones a model predicts with,
    /// are stored so from format 3 on.
    Safetensors,
}

impl WeightEncoding {
    /// The encoding of weight section `name` (`ema`, `model`, `discriminator.ema`, …) in a
    /// checkpoint of `format`.
    pub fn of_section(format: u32, name: &str) -> Self {
        if format >= SAFETENSORS_SINCE && name.ends_with("ema") {
            Self::Safetensors
        } else {
            Self::BurnRecord
        }
    }
}

/// The first format whose EMA weights are safetensors.
pub const SAFETENSORS_SINCE: u32 = 3;

/// Serializes a network's weights (safetensors tensor names are the module's field
/// paths, e.g. `input.weight`, `down.0.res.conv1.weight`).
pub fn weights_to_bytes<M: Module>(net: &M, encoding: WeightEncoding) -> Vec<u8> {
    match encoding {
        WeightEncoding::BurnRecord => net
            .clone()
            .into_record()
            .into_bytes()
            .expect("weights serialize")
            .to_vec(),
        WeightEncoding::Safetensors => {
            let mut store = SafetensorsStore::from_bytes(None);
            net.save_into(&mut store).expect("weights serialize");
            store.get_bytes().expect("an in-memory store has bytes")
        }
    }
}

impl Checkpoint {
    /// The weights to predict with: the `ema` section (the `model` section when there is
    /// no EMA), with their encoding.
    pub fn weights(&self) -> Option<(&[u8], WeightEncoding)> {
        let format = self.header.format;
        ["ema", "model"].into_iter().find_map(|name| {
            self.section(name)
                .map(|bytes| (bytes, WeightEncoding::of_section(format, name)))
        })
    }
}

/// Loads weights into a network built from the same config.
pub fn weights_from_bytes<M: Module>(
    net: M,
    bytes: &[u8],
    encoding: WeightEncoding,
) -> crate::Result<M> {
    match encoding {
        WeightEncoding::BurnRecord => {
            let record =
                ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
                    .map_err(|e| format!("corrupt weights: {e}"))?;
            net.try_load_record(record)
                .map_err(|e| format!("weights do not fit the model config: {e}").into())
        }
        WeightEncoding::Safetensors => {
            let mut net = net;
            let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()));
            let applied = net
                .load_from(&mut store)
                .map_err(|e| format!("weights do not fit the model config: {e}"))?;
            // The carried sections' byte tensors ride along in a model file; no weights.
            if let Some(extra) = applied
                .unused
                .iter()
                .find(|n| !CARRIED_SECTIONS.iter().any(|(_, t)| n == t))
            {
                return Err(format!(
                    "weights do not fit the model config: the file has tensor '{extra}', which the model lacks"
                ).into());
            }
            Ok(net)
        }
    }
}

/// The `ema` weights of a checkpoint (or its `model` weights when it has no EMA) loaded
/// into `net`; errors name the file.
pub fn load_weights<M: Module>(
    c: &Checkpoint,
    file: &Path,
    net: M,
) -> Result<M, dispr_core::error::Error> {
    let (bytes, encoding) = c
        .weights()
        .ok_or_else(|| dispr_core::error::Error::new(file, "checkpoint holds no weights"))?;
    weights_from_bytes(net, bytes, encoding)
        .map_err(|e| dispr_core::error::Error::new(file, e.to_string()))
}

/// Metadata key of a model file's [`Header`] (JSON) in a safetensors file.
pub const SAFETENSORS_HEADER_KEY: &str = "dispr.header";

/// A model for sharing as one standard safetensors file: the checkpoint's EMA weights
/// (re-encoded if they are burn records of an older format) as named tensors, and its
/// header (model config, steps, training cells; no training state) as metadata under
/// [`SAFETENSORS_HEADER_KEY`]. `Checkpoint::load` reads it back.
pub fn to_safetensors_model(c: &Checkpoint) -> crate::Result<Vec<u8>> {
    let (weights, encoding) = c.weights().ok_or("checkpoint holds no weights")?;
    let weights = match encoding {
        WeightEncoding::Safetensors => weights.to_vec(),
        WeightEncoding::BurnRecord => {
            // Through a network on the CPU: burn's records have no other reader.
            let device = burn::prelude::Device::flex();
            let to = WeightEncoding::Safetensors;
            match &c.header.model {
                Network::Dispr(m) => weights_to_bytes(
                    &weights_from_bytes(m.unet.init(&device), weights, encoding)?,
                    to,
                ),
                Network::Shapr(m) => {
                    weights_to_bytes(&weights_from_bytes(m.init(&device), weights, encoding)?, to)
                }
            }
        }
    };
    let tensors = safetensors::SafeTensors::deserialize(&weights)
        .map_err(|e| format!("corrupt weights: {e}"))?;
    // A model conditioned on a prior carries its reference cells, or the model that
    // makes its prior, as byte tensors.
    // A model file read back holds them among its weights already: they are written
    // once, from the sections.
    let mut views = tensors.tensors();
    views.retain(|(name, _)| !CARRIED_SECTIONS.iter().any(|(_, t)| t == name));
    for (section, tensor) in CARRIED_SECTIONS {
        if let Some(bytes) = c.section(section) {
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::U8,
                vec![bytes.len()],
                bytes,
            )
            .map_err(|e| format!("cannot encode the {section} section: {e}"))?;
            views.push((tensor.to_string(), view));
        }
    }
    // One metadata entry, the header (a map of several would be written in a random
    // order). The tensor bytes do not depend on it: encode once to checksum them, then
    // again with the checksum in the header, so a damaged weight is refused like in a
    // checkpoint.
    let encode = |header: &Header| {
        let metadata = std::collections::HashMap::from([(
            SAFETENSORS_HEADER_KEY.to_string(),
            serde_json::to_string(header).expect("header serializes"),
        )]);
        safetensors::serialize(views.clone(), Some(metadata))
            .map_err(|e| format!("cannot encode the weights: {e}"))
    };
    let unsigned = encode(&Header {
        format: FORMAT,
        train: None,
        sections: Vec::new(),
        ..c.header.clone()
    })?;
    let (_, data) = safetensors_data(&unsigned)?;
    let mut header = Header {
        format: FORMAT,
        train: None,
        sections: vec![SectionInfo {
            name: SAFETENSORS_WEIGHTS.into(),
            bytes: data.len() as u64,
            crc32: 0,
        }],
        ..c.header.clone()
    };
    header.sections[0].crc32 = safetensors_crc(views.clone(), &header)?;
    encode(&header).map_err(crate::Error::from)
}

/// The CRC-32 a safetensors model's header records: over the tensors (names, dtypes,
/// shapes and bytes, as safetensors encodes them without metadata) and the header itself
/// with its checksum field zero, so no byte of the file that matters goes unchecked.
fn safetensors_crc(
    tensors: Vec<(String, safetensors::tensor::TensorView<'_>)>,
    header: &Header,
) -> crate::Result<u32> {
    let mut unsigned = header.clone();
    unsigned.sections.iter_mut().for_each(|s| s.crc32 = 0);
    let mut crc = crc32fast::Hasher::new();
    crc.update(
        &safetensors::serialize(tensors, None)
            .map_err(|e| format!("cannot encode the weights: {e}"))?,
    );
    crc.update(
        serde_json::to_string(&unsigned)
            .expect("header serializes")
            .as_bytes(),
    );
    Ok(crc.finalize())
}

/// The one section a safetensors model's header lists: its tensor bytes.
const SAFETENSORS_WEIGHTS: &str = "tensors";

/// A safetensors file's metadata and its tensor bytes (everything after the header).
fn safetensors_data(bytes: &[u8]) -> crate::Result<(safetensors::tensor::Metadata, &[u8])> {
    let (n, metadata) = safetensors::SafeTensors::read_metadata(bytes).map_err(|_| {
        // A safetensors file starts with its header's length and then `{`.
        if bytes.len() > 8 && bytes[8] == b'{' {
            "truncated or damaged safetensors model".to_string()
        } else {
            "not a dispr checkpoint (missing DISPR-CHECKPOINT header) nor a safetensors model"
                .to_string()
        }
    })?;
    let start = n
        .checked_add(8)
        .filter(|&s| s <= bytes.len())
        .ok_or("truncated safetensors file")?;
    Ok((metadata, &bytes[start..]))
}

/// A safetensors model file ([`to_safetensors_model`]) as a checkpoint with one `ema`
/// section holding the whole file.
fn from_safetensors_model(bytes: &[u8]) -> crate::Result<Checkpoint> {
    let (metadata, data) = safetensors_data(bytes)?;
    let entries = metadata.metadata().clone().unwrap_or_default();
    let header = entries
        .get(SAFETENSORS_HEADER_KEY)
        .ok_or("a safetensors file without dispr's model header (not a dispr model)")?;

    let mut header =
        parse_header(header.as_bytes()).map_err(|e| format!("in the safetensors metadata: {e}"))?;
    if header.format < SAFETENSORS_SINCE || header.format > FORMAT {
        return Err(format!(
            "model format {} in a safetensors file is not supported (this dispr reads formats {SAFETENSORS_SINCE}–{FORMAT} there)",
            header.format
        ).into());
    }
    header
        .model
        .validate()
        .map_err(|e| format!("invalid model config: {e}"))?;
    let carried = match header.sections.as_slice() {
        [s] if s.name == SAFETENSORS_WEIGHTS => {
            if s.bytes != data.len() as u64 {
                return Err(format!(
                    "truncated or padded model: {} bytes of weights expected, {} present",
                    s.bytes,
                    data.len()
                )
                .into());
            }
            let tensors = safetensors::SafeTensors::deserialize(bytes)
                .map_err(|e| format!("corrupt safetensors model: {e}"))?;
            if s.crc32 != safetensors_crc(tensors.tensors(), &header)? {
                return Err(
                    "corrupt model: the weights or header fail their checksum (edited or damaged)"
                        .into(),
                );
            }
            CARRIED_SECTIONS
                .iter()
                .filter_map(|(section, tensor)| {
                    tensors
                        .tensor(tensor)
                        .ok()
                        .map(|t| (*section, t.data().to_vec()))
                })
                .collect::<Vec<_>>()
        }
        _ => return Err("a dispr safetensors model without its weights checksum".into()),
    };
    header.sections = vec![SectionInfo {
        name: "ema".into(),
        bytes: bytes.len() as u64,
        crc32: crc32fast::hash(bytes),
    }];
    let checkpoint = Checkpoint {
        header,
        sections: vec![bytes.to_vec()],
    };
    Ok(carried.into_iter().fold(checkpoint, |c, (section, bytes)| {
        c.with_section(section, bytes)
    }))
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
        let truncated = Checkpoint::from_bytes(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .to_string();
        assert!(truncated.contains("truncated"), "{truncated}");
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let corrupt = Checkpoint::from_bytes(&flipped).unwrap_err().to_string();
        assert!(
            corrupt.contains("section 'ema' fails its checksum"),
            "{corrupt}"
        );
        let other = Checkpoint::from_bytes(b"II*\0 a tiff")
            .unwrap_err()
            .to_string();
        assert!(other.contains("not a dispr checkpoint"), "{other}");
        let cut_header = Checkpoint::from_bytes(&bytes[..MAGIC.len() + 10])
            .unwrap_err()
            .to_string();
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
        let err = Checkpoint::from_bytes(edited.as_bytes())
            .unwrap_err()
            .to_string();
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

        // Formats 1 and 2 wrote the network settings untagged; a SHAPR run's still read
        // as SHAPR.
        let (shapr, _) =
            Network::preset_for(crate::config::ModelKind::Shapr, crate::config::Preset::Tiny)
                .unwrap();
        let Network::Shapr(settings) = &shapr else {
            unreachable!()
        };
        let mut json = serde_json::to_value(&header).unwrap();
        json["model"] = serde_json::to_value(settings).unwrap();
        assert!(json["model"].get("network").is_none());
        let mut old = MAGIC.to_vec();
        old.extend(serde_json::to_vec(&json).unwrap());
        old.push(b'\n');
        for s in &c.sections {
            old.extend(s);
        }
        assert_eq!(Checkpoint::from_bytes(&old).unwrap().header.model, shapr);
    }

    /// A format-1 model (burn record weights, untagged header, no header checksum: the
    /// shipped model as it was until format 3) still loads; exported, it is byte for byte the shipped
    /// safetensors model, gives the same network, and a damaged weight byte is refused.
    #[test]
    fn old_models_load_and_export_to_the_shipped_safetensors_model() {
        use crate::model::Model;
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dispr-fast-format1.dispr");
        let old = Checkpoint::load(&file).unwrap();
        assert_eq!(old.header.format, 1);
        let device = burn::prelude::Device::flex();
        let before = Model::from_checkpoint(&old, &file, &device).unwrap();
        let bytes = to_safetensors_model(&old).unwrap();
        let exported = Checkpoint::from_bytes(&bytes).unwrap();
        assert_eq!(exported.header.format, FORMAT);
        assert_eq!(exported.header.train, None);
        assert_eq!(exported.header.train_cells, old.header.train_cells);
        let after = Model::from_checkpoint(&exported, &file, &device).unwrap();
        let values = |m: &Model| -> Vec<f32> {
            let [d, h, w] = m.config.grid;
            let x = burn::prelude::Tensor::<5>::ones([1, 3, d, h, w], &device).mul_scalar(0.3);
            m.net
                .forward(x, &[500])
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(values(&before), values(&after));
        // Exporting is reproducible: exporting an export writes the same bytes (the
        // built-in model before session 19 was this very export).
        assert_eq!(to_safetensors_model(&exported).unwrap(), bytes);
        let mut damaged = bytes.clone();
        *damaged.last_mut().unwrap() ^= 1;
        let err = Checkpoint::from_bytes(&damaged).unwrap_err().to_string();
        assert!(err.contains("fail their checksum"), "{err}");
        // An edited header (same length) and a cut file are refused too.
        let at = bytes
            .windows(13)
            .position(|w| w == b"\\\"step\\\":3000")
            .expect("the step in the header");
        let mut edited = bytes.clone();
        edited[at + 12] = b'1';
        let err = Checkpoint::from_bytes(&edited).unwrap_err().to_string();
        assert!(err.contains("fail their checksum"), "{err}");
        let err = Checkpoint::from_bytes(&bytes[..bytes.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
