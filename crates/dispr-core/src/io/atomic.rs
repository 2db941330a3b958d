//! Atomic file output: write to a temporary file beside the target, then rename, so an
//! interrupted run never leaves a half-written file that looks complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Name prefix of the temporary files [`write_atomic`] writes before renaming them; a run
/// that is killed can leave one behind, and the next run in that folder removes it
/// ([`crate::io::outdir::OutputDir::acquire`]).
pub const PARTIAL_PREFIX: &str = ".dispr-partial-";

/// Writes `path` atomically: `fill` writes the whole content into a buffered temporary
/// file in the same folder, which is then renamed over `path`. Missing parent folders
/// are created. On any error the target is left untouched. A target that exists but is
/// not an ordinary file (a device such as `/dev/null`, a pipe, a folder) is refused:
/// renaming over it would replace it.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(Error::new(
            path,
            "is not an ordinary file (a device, pipe or folder?); dispr writes its outputs as files: choose a file name",
        ));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "cannot create folder", e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(PARTIAL_PREFIX);
    // Temporary files are private (0600) by default; the result is an ordinary output
    // file, readable like any other (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, "cannot write here", e))?;
    let mut writer = BufWriter::new(tmp.reopen().map_err(|e| Error::io(path, "", e))?);
    fill(&mut writer).map_err(|e| Error::io(path, "cannot write", e))?;
    writer
        .flush()
        .map_err(|e| Error::io(path, "cannot write", e))?;
    writer
        .get_ref()
        .sync_all()
        .map_err(|e| Error::io(path, "cannot write", e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(path, "cannot write", e.error))?;
    Ok(())
}

/// Writes a text (CSV, JSON, Markdown) atomically.
pub fn write_text_atomic(path: &Path, text: &str) -> Result<()> {
    write_atomic(path, |w| w.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        write_text_atomic(&target, "first").unwrap();
        let err = write_atomic(&target, |w| {
            w.write_all(b"half").unwrap();
            Err(std::io::Error::other("simulated failure"))
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("out.txt: cannot write: simulated failure")
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "first");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_pipe_or_folder_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let mut targets = vec![dir.path().to_path_buf()];
        if made.is_ok_and(|s| s.success()) {
            targets.push(fifo);
        }
        for target in targets {
            let err = write_text_atomic(&target, "x").unwrap_err().to_string();
            assert!(err.contains("is not an ordinary file"), "{err}");
            assert!(!std::fs::metadata(&target).unwrap().is_file(), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_not_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("shared.txt");
        write_text_atomic(&target, "x").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_ne!(mode & 0o044, 0, "mode {mode:o}: group/others cannot read");
    }

    #[test]
    fn creates_missing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/c.txt");
        write_text_atomic(&target, "x").unwrap();
        assert_eq!(std::fs::read_to_string(target).unwrap(), "x");
    }
}
