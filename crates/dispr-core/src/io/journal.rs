//! The journal of a prediction folder, `journal.jsonl`: one line per cell whose files are
//! all written, appended (and flushed to disk) as each cell finishes. A run that is
//! interrupted and rerun keeps the cells the journal lists under the same key (the same
//! inputs, model, sampler, samples and seed, hence the same files) and predicts only the
//! others; a cell listed under another key is predicted again. A torn last line, from a
//! run killed while writing it, is ignored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::prediction_dir::{CellTiming, PredictionDir};

/// File name of the journal inside a prediction folder.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// One finished cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// What the cell's files were predicted from (a hash of the inputs and settings).
    pub key: String,
    /// The cell's name and time.
    pub timing: CellTiming,
}

/// The journal of one prediction folder, open for appending.
pub struct Journal {
    path: PathBuf,
    file: Option<File>,
    finished: HashMap<String, JournalEntry>,
}

impl Journal {
    /// Reads the journal of `out` (none yet: empty) and records it as this run's file.
    pub fn open(out: &PredictionDir) -> Result<Self> {
        let path = out.file(JOURNAL_FILE)?;
        Ok(Self {
            finished: read_entries(&path)?,
            path,
            file: None,
        })
    }

    /// The finished cells listed in the journal of the prediction folder `dir` (none
    /// when it has no journal), by cell name; read only, e.g. from a shard's folder.
    pub fn read(dir: &Path) -> Result<HashMap<String, JournalEntry>> {
        read_entries(&dir.join(JOURNAL_FILE))
    }

    /// The time of `cell` if the journal lists it as finished under `key`.
    pub fn finished(&self, cell: &str, key: &str) -> Option<&CellTiming> {
        self.finished
            .get(cell)
            .filter(|e| !e.key.is_empty() && e.key == key)
            .map(|e| &e.timing)
    }

    /// Marks `cell` unfinished before its files are rewritten, when the journal lists it:
    /// a run killed while writing them leaves a cell no later run keeps (its files may
    /// come from two runs).
    pub fn start(&mut self, cell: &str) -> Result<()> {
        if !self.finished.contains_key(cell) {
            return Ok(());
        }
        self.record(JournalEntry {
            key: String::new(),
            timing: CellTiming {
                cell: cell.to_string(),
                seconds: 0.0,
                pixel_size_um: None,
                downscale: 1,
                scale: 1.0,
            },
        })
    }

    /// Appends a finished cell (after all its files are written) and flushes it to disk.
    pub fn record(&mut self, entry: JournalEntry) -> Result<()> {
        let fail = |e: std::io::Error| Error::io(&self.path, "cannot write", e);
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(fail)?;
            self.file = Some(file);
        }
        let file = self.file.as_mut().expect("opened above");
        // A killed run may have left a torn line: start on a line of our own.
        let line = serde_json::to_string(&entry).expect("a journal entry serializes");
        writeln!(file, "\n{line}")
            .and_then(|_| file.sync_data())
            .map_err(fail)?;
        self.finished.insert(entry.timing.cell.clone(), entry);
        Ok(())
    }
}

/// The entries of the journal at `path`, by cell (the last line for a cell counts);
/// torn lines are skipped.
fn read_entries(path: &Path) -> Result<HashMap<String, JournalEntry>> {
    // Bytes, not text: a line torn inside a multi-byte character is skipped, not fatal.
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(path, "", e)),
    };
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<JournalEntry>(line).ok())
        .map(|e| (e.timing.cell.clone(), e))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cell: &str, key: &str) -> JournalEntry {
        JournalEntry {
            key: key.into(),
            timing: CellTiming {
                cell: cell.into(),
                seconds: 1.5,
                pixel_size_um: None,
                downscale: 1,
                scale: 1.0,
            },
        }
    }

    #[test]
    fn a_journal_survives_a_torn_line_and_keys_its_cells() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let out = PredictionDir::create(tmp.path(), &[]).unwrap();
            let mut j = Journal::open(&out).unwrap();
            j.record(entry("a", "k1")).unwrap();
            j.record(entry("b", "k1")).unwrap();
        }
        // A run killed in the middle of a line.
        let path = tmp.path().join(JOURNAL_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"key\":\"k1\",\"tim");
        std::fs::write(&path, text).unwrap();
        let out = PredictionDir::create(tmp.path(), &[]).unwrap();
        let mut j = Journal::open(&out).unwrap();
        assert_eq!(j.finished("a", "k1").unwrap().seconds, 1.5);
        assert!(
            j.finished("a", "k2").is_none(),
            "another key is not finished"
        );
        assert!(j.finished("c", "k1").is_none());
        j.record(entry("c", "k1")).unwrap();
        j.record(entry("a", "k2")).unwrap();
        let mut j = Journal::open(&out).unwrap();
        assert!(j.finished("c", "k1").is_some(), "a line after the torn one");
        assert!(j.finished("a", "k2").is_some() && j.finished("a", "k1").is_none());
        // A cell being rewritten (then killed) is finished under no key.
        j.start("c").unwrap();
        let j = Journal::open(&out).unwrap();
        assert!(j.finished("c", "k1").is_none() && j.finished("c", "").is_none());
    }
}
