//! Output folders owned by one run at a time: a lock file naming the run that holds the
//! folder, a manifest of the files dispr wrote there (the only files it will ever delete),
//! removal of the temporary files an interrupted run left, and the rule that an output
//! may not be, or hold, an input.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::atomic::PARTIAL_PREFIX;

/// File name of the lock inside an output folder.
pub const LOCK_FILE: &str = ".dispr-lock";
/// File name of the manifest inside an output folder: one path per line, relative to
/// the folder, of every file a dispr run wrote there.
pub const MANIFEST_FILE: &str = ".dispr-manifest";

/// An output folder held by this process until the value is dropped. The hold is an OS
/// file lock on `.dispr-lock` (released by the system when the process ends, even when
/// it is killed); the file also names the holder's pid, host and command line, for the
/// message another run gets. Methods take `&self`, so parallel writers can share it.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    lock_path: PathBuf,
    /// The locked file; held open for as long as the folder is held.
    _lock: File,
    manifest: std::sync::Mutex<Manifest>,
}

/// The manifest file (opened on the first file recorded, so that a run that records
/// none leaves none) and the paths it lists.
#[derive(Debug, Default)]
struct Manifest {
    file: Option<File>,
    listed: std::collections::HashSet<String>,
}

/// Tries to take the lock file `lock`: `Ok(Some(file))` when taken, `Ok(None)` when
/// another process holds it.
fn try_lock(lock: &Path) -> Result<Option<File>> {
    let fail = |e: std::io::Error| Error::io(lock, "cannot lock the output folder", e);
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock)
            .map_err(fail)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        // The holder before us may have removed the file between our open and our lock:
        // then we locked a file nobody else will ever see. Lock the file at the path.
        if same_file(&file, lock) {
            return Ok(Some(file));
        }
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

impl OutputDir {
    /// Creates (if needed) and locks `dir`, then removes the temporary files an
    /// interrupted dispr run left in it (`.dispr-partial-*`, in the folder and in its
    /// subfolders, two levels deep, that no other run holds). A folder another process
    /// holds is an error naming that run.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create folder", e))?;
        let lock_path = dir.join(LOCK_FILE);
        let Some(mut lock) = try_lock(&lock_path)? else {
            let text = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = text.lines().take(3).collect::<Vec<_>>().join(", ");
            let holder = if holder.trim().is_empty() {
                "starting".to_string()
            } else {
                holder.escape_debug().to_string()
            };
            return Err(Error::new(
                dir,
                format!(
                    "in use by another dispr run ({holder}); wait for it to finish, or choose another output folder"
                ),
            ));
        };
        let command: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let info = format!(
            "pid {}\nhost {}\n{}\n",
            std::process::id(),
            host.trim(),
            command.join(" ")
        );
        lock.set_len(0)
            .and_then(|_| lock.write_all(info.as_bytes()))
            .and_then(|_| lock.flush())
            .map_err(|e| Error::io(&lock_path, "", e))?;
        let listed = std::fs::read_to_string(dir.join(MANIFEST_FILE))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let held = Self {
            dir: dir.to_path_buf(),
            lock_path,
            _lock: lock,
            manifest: std::sync::Mutex::new(Manifest { file: None, listed }),
        };
        remove_partials(dir)?;
        Ok(held)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The path of `relative` inside the folder, recorded in the manifest first, so that
    /// a later run may replace or delete it. Call it before writing the file.
    pub fn file(&self, relative: impl AsRef<Path>) -> Result<PathBuf> {
        let relative = relative.as_ref();
        let key = manifest_key(relative);
        let mut m = self.manifest.lock().expect("manifest lock");
        if !m.listed.contains(&key) {
            let path = self.dir.join(MANIFEST_FILE);
            let fail = |e: std::io::Error| Error::io(&path, "cannot write", e);
            if m.file.is_none() {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(fail)?;
                m.file = Some(file);
            }
            let file = m.file.as_mut().expect("opened above");
            writeln!(file, "{key}")
                .and_then(|_| file.sync_data())
                .map_err(fail)?;
            m.listed.insert(key);
        }
        Ok(self.dir.join(relative))
    }

    /// True if the manifest lists `relative` (a file some dispr run wrote here).
    pub fn wrote(&self, relative: impl AsRef<Path>) -> bool {
        let key = manifest_key(relative.as_ref());
        self.manifest
            .lock()
            .expect("manifest lock")
            .listed
            .contains(&key)
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
            Err(e) => Err(Error::io(&path, "cannot remove an old output", e)),
        }
    }

    /// Removes the samples `NAME_k.tif` for k ≥ `n` that an earlier dispr run wrote here
    /// (and only those), so that a folder holds exactly one run's samples of a cell.
    pub fn remove_stale_samples(&self, name: &str, n: usize) -> Result<()> {
        let mut k = n;
        while self.remove_if_ours(format!("{name}_{k}.tif"))? {
            k += 1;
        }
        Ok(())
    }
}

/// A relative path as the manifest lists it (forward slashes).
fn manifest_key(relative: &Path) -> String {
    relative.to_string_lossy().replace('\\', "/")
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // Removed while still locked; the lock goes with the file handle right after.
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Two cell names whose files would mix in a folder of samples: `A` and `A_K` (K a
/// number), since `A_K.tif` is also the name of sample K of `A`.
pub fn sample_name_clash<'a>(names: &[&'a str]) -> Option<(&'a str, &'a str)> {
    let set: std::collections::HashSet<&str> = names.iter().copied().collect();
    names.iter().find_map(|b| {
        let (a, k) = b.rsplit_once('_')?;
        (!k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()) && set.contains(a))
            .then_some((a, *b))
    })
}

/// True when two paths name the same existing file or folder (any spelling).
pub fn same_path(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// How deep under an output folder dispr writes (`OUT/work/done` of `dispr reproduce`):
/// the depth [`remove_partials`] looks for leftovers to.
const WRITTEN_DEPTH: usize = 2;

/// Removes dispr's temporary files (`.dispr-partial-*`) under `dir` and its subfolders
/// down to [`WRITTEN_DEPTH`], except in a subfolder another running dispr holds.
fn remove_partials(dir: &Path) -> Result<()> {
    let mut folders = vec![(dir.to_path_buf(), 0)];
    while let Some((folder, depth)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                // A subfolder another run holds (e.g. predictions inside a run folder) is
                // its own.
                let lock = entry.path().join(LOCK_FILE);
                if depth < WRITTEN_DEPTH && !(lock.exists() && try_lock(&lock)?.is_none()) {
                    folders.push((entry.path(), depth + 1));
                }
                continue;
            }
            let is_partial = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(PARTIAL_PREFIX));
            if is_partial && kind.is_file() {
                std::fs::remove_file(entry.path()).map_err(|e| {
                    Error::io(entry.path(), "cannot remove a leftover temporary file", e)
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
                    "the output would overwrite an input ({}); choose another output folder",
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
    fn a_folder_has_one_holder_and_a_dead_holder_s_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let held = OutputDir::acquire(&out).unwrap();
        let err = OutputDir::acquire(&out).unwrap_err().to_string();
        assert!(err.contains("in use by another dispr run (pid "), "{err}");
        assert!(!err.contains('\n'), "{err}");
        drop(held);
        assert!(
            !out.join(LOCK_FILE).exists(),
            "the lock goes with its holder"
        );
        // A lock file nobody holds (its process was killed) does not hold the folder.
        std::fs::write(out.join(LOCK_FILE), "pid 4000000000\nold\n").unwrap();
        let again = OutputDir::acquire(&out).unwrap();
        drop(again);
    }

    #[test]
    fn sample_names_that_clash_are_found() {
        assert_eq!(sample_name_clash(&["x", "x_1", "y"]), Some(("x", "x_1")));
        assert_eq!(sample_name_clash(&["x", "x_a", "y_1"]), None);
    }

    #[test]
    fn only_files_in_the_manifest_are_deleted_and_partials_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::write(out.join("users_1.tif"), "not ours").unwrap();
        std::fs::create_dir_all(out.join("mesh")).unwrap();
        std::fs::write(out.join("mesh/.dispr-partial-abc"), "half").unwrap();
        std::fs::write(out.join(".dispr-partial-x"), "half").unwrap();
        std::fs::create_dir_all(out.join("work/done")).unwrap();
        std::fs::write(out.join("work/done/.dispr-partial-y"), "half").unwrap();
        let o = OutputDir::acquire(out).unwrap();
        assert!(!out.join("mesh/.dispr-partial-abc").exists());
        assert!(!out.join(".dispr-partial-x").exists());
        assert!(!out.join("work/done/.dispr-partial-y").exists());
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
