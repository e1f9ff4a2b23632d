//! Files that are replaced whole or not at all.
//!
//! A run killed, or a machine losing power, while a file is rewritten in place leaves it
//! truncated. Here a file is written beside its final name (`NAME.partial`), flushed to the disk
//! and renamed over the old one, which POSIX makes atomic; the directory is flushed too, so that
//! the rename itself survives a power cut.

use std::io;
use std::path::{Path, PathBuf};

/// Writes `path` through `write`, which is given the staging path to write to: `path` keeps its
/// old content until the new one is complete and on disk.
pub fn replace(path: &Path, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let staged = staged(path);
    write(&staged)?;
    sync_file(&staged)?;
    std::fs::rename(&staged, path)?;
    sync_dir(parent(path))
}

/// [`replace`] with bytes.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    replace(path, |staged| std::fs::write(staged, contents))
}

/// `path` with `.partial` appended to its name: where [`replace`] writes first.
pub fn staged(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    path.with_file_name(name)
}

/// Flushes a file's content to the disk.
pub fn sync_file(path: &Path) -> io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Flushes a directory's entries (names created, renamed or removed) to the disk. Only Unix
/// can open a directory for this; elsewhere it does nothing.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("args.json");
        write(&path, "old").unwrap();
        let error = replace(&path, |staged| {
            std::fs::write(staged, "half")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(error.unwrap_err().to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        write(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(!staged(&path).exists());
    }

    #[test]
    fn staged_names_keep_the_whole_name() {
        assert_eq!(
            staged(Path::new("runs/a.b/model.bpk")),
            Path::new("runs/a.b/model.bpk.partial")
        );
        assert_eq!(parent(Path::new("model.bpk")), Path::new("."));
    }
}
