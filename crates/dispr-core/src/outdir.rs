//! Output folders owned by one run at a time: a lock file naming the run that holds the
//! folder, a manifest of the files dispr wrote there (the only files it will ever delete),
//! removal of the temporary files an interrupted run left, and the rule that an output
//! may not be, or hold, an input.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, describe_io};
use crate::fsio::PARTIAL_PREFIX;

/// File name of the lock inside an output folder.
pub const LOCK_FILE: &str = ".dispr-lock";
/// File name of the manifest inside an output folder: one path per line, relative to
/// the folder, of every file a dispr run wrote there.
pub const MANIFEST_FILE: &str = ".dispr-manifest";

/// An output folder held by this process until the value is dropped.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    lock: PathBuf,
    /// Opened on the first file recorded, so a run that records none leaves none.
    manifest: Option<File>,
    listed: std::collections::HashSet<String>,
}

impl OutputDir {
    /// Creates (if needed) and locks `dir`, then removes the temporary files an
    /// interrupted dispr run left in it (`.dispr-partial-*`, in the folder and its
    /// subfolders). A folder held by a live process is an error naming it; a lock left
    /// by a process that is gone is taken over.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::new(dir, format!("cannot create folder: {}", describe_io(&e))))?;
        let lock = dir.join(LOCK_FILE);
        for attempt in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut f) => {
                    let command: Vec<String> = std::env::args().collect();
                    writeln!(f, "{}\n{}", std::process::id(), command.join(" "))
                        .map_err(|e| Error::new(&lock, describe_io(&e)))?;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt == 0 => {
                    let text = std::fs::read_to_string(&lock).unwrap_or_default();
                    let pid: Option<u32> = text.lines().next().and_then(|l| l.trim().parse().ok());
                    match pid {
                        Some(pid) if process_alive(pid) && pid != std::process::id() => {
                            let command = text.lines().nth(1).unwrap_or("").trim();
                            return Err(Error::new(
                                dir,
                                format!(
                                    "in use by another dispr run (pid {pid}: {command}); wait for it to finish, or remove {} if that process is gone",
                                    lock.display()
                                ),
                            ));
                        }
                        // The holder is gone (killed): the lock is stale.
                        _ => {
                            let _ = std::fs::remove_file(&lock);
                        }
                    }
                }
                Err(e) => {
                    return Err(Error::new(
                        &lock,
                        format!("cannot lock the output folder: {}", describe_io(&e)),
                    ));
                }
            }
        }
        remove_partials(dir)?;
        let listed = std::fs::read_to_string(dir.join(MANIFEST_FILE))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        Ok(Self {
            dir: dir.to_path_buf(),
            lock,
            manifest: None,
            listed,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The path of `relative` inside the folder, recorded in the manifest first, so that
    /// a later run may replace or delete it. Call it before writing the file.
    pub fn file(&mut self, relative: impl AsRef<Path>) -> Result<PathBuf> {
        let relative = relative.as_ref();
        let key = relative.to_string_lossy().replace('\\', "/");
        if !self.listed.contains(&key) {
            let path = self.dir.join(MANIFEST_FILE);
            let fail =
                |e: std::io::Error| Error::new(&path, format!("cannot write: {}", describe_io(&e)));
            if self.manifest.is_none() {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(fail)?;
                self.manifest = Some(file);
            }
            let manifest = self.manifest.as_mut().expect("opened above");
            writeln!(manifest, "{key}")
                .and_then(|_| manifest.sync_data())
                .map_err(fail)?;
            self.listed.insert(key);
        }
        Ok(self.dir.join(relative))
    }

    /// True if the manifest lists `relative` (a file some dispr run wrote here).
    pub fn wrote(&self, relative: impl AsRef<Path>) -> bool {
        self.listed
            .contains(&relative.as_ref().to_string_lossy().replace('\\', "/"))
    }

    /// Deletes `relative` if, and only if, a dispr run wrote it (the manifest lists it);
    /// returns whether it was deleted. Anything else is left alone.
    pub fn remove_if_ours(&self, relative: impl AsRef<Path>) -> Result<bool> {
        let relative = relative.as_ref();
        if !self.wrote(relative) {
            return Ok(false);
        }
        let path = self.dir.join(relative);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::new(
                &path,
                format!("cannot remove an old output: {}", describe_io(&e)),
            )),
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Whether a process with this id runs (Linux: `/proc/PID`; elsewhere assumed alive).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Removes dispr's temporary files (`.dispr-partial-*`) under `dir`, one level of
/// subfolders deep (where dispr writes).
fn remove_partials(dir: &Path) -> Result<()> {
    let mut folders = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        folders.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_partial = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(PARTIAL_PREFIX));
            if is_partial && entry.file_type().is_ok_and(|t| t.is_file()) {
                std::fs::remove_file(entry.path()).map_err(|e| {
                    Error::new(
                        entry.path(),
                        format!(
                            "cannot remove a leftover temporary file: {}",
                            describe_io(&e)
                        ),
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// The absolute form of a path that may not exist yet: its deepest existing ancestor
/// canonicalized, with the rest appended.
pub fn absolute(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            out.extend(rest.iter().rev());
            return out;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Refuses an output (file or folder) that is one of the `inputs` (files or folders) or
/// lies inside an input folder: writing there could replace what the run reads (e.g.
/// `--data D --out D/obj`). An output folder may hold an input (synthetic cells inside
/// a run folder): dispr writes only its own file names there.
pub fn check_not_input(output: &Path, inputs: &[&Path]) -> Result<()> {
    let out = absolute(output);
    for input in inputs {
        let inp = absolute(input);
        if out.starts_with(&inp) {
            return Err(Error::new(
                output,
                format!(
                    "the output would overwrite an input ({}); choose another --out",
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_has_one_holder_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let held = OutputDir::acquire(&out).unwrap();
        // This process holds it: a second holder (as another live process) is refused.
        std::fs::write(out.join(LOCK_FILE), "1\ndispr predict …\n").unwrap();
        let err = OutputDir::acquire(&out).unwrap_err().to_string();
        assert!(err.contains("in use by another dispr run (pid 1"), "{err}");
        drop(held);
        // A lock of a process that is gone is stale.
        std::fs::write(out.join(LOCK_FILE), "4000000000\nold\n").unwrap();
        let again = OutputDir::acquire(&out).unwrap();
        drop(again);
        assert!(
            !out.join(LOCK_FILE).exists(),
            "the lock goes with its holder"
        );
    }

    #[test]
    fn only_files_in_the_manifest_are_deleted_and_partials_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::write(out.join("users_1.tif"), "not ours").unwrap();
        std::fs::create_dir_all(out.join("mesh")).unwrap();
        std::fs::write(out.join("mesh/.dispr-partial-abc"), "half").unwrap();
        std::fs::write(out.join(".dispr-partial-x"), "half").unwrap();
        let mut o = OutputDir::acquire(out).unwrap();
        assert!(!out.join("mesh/.dispr-partial-abc").exists());
        assert!(!out.join(".dispr-partial-x").exists());
        let p = o.file("cell_1.tif").unwrap();
        std::fs::write(&p, "ours").unwrap();
        drop(o);
        let o = OutputDir::acquire(out).unwrap();
        assert!(!o.remove_if_ours("users_1.tif").unwrap());
        assert!(out.join("users_1.tif").exists());
        assert!(o.remove_if_ours("cell_1.tif").unwrap());
        assert!(!out.join("cell_1.tif").exists());
    }

    #[test]
    fn outputs_may_not_be_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("obj")).unwrap();
        assert!(check_not_input(&data.join("obj"), &[&data]).is_err());
        assert!(check_not_input(&data, &[&data]).is_err());
        assert!(check_not_input(&data, &[&data.join("obj")]).is_ok());
        assert!(check_not_input(&data.join("obj/new/deeper"), &[&data.join("obj")]).is_err());
        assert!(check_not_input(&dir.path().join("preds"), &[&data]).is_ok());
        let ckpt = dir.path().join("run/checkpoint.dispr");
        assert!(check_not_input(&ckpt, &[&ckpt]).is_err());
    }
}
