//! Writing files so that a reader never sees half of one: write a temporary file next to the
//! destination, flush it to disk, then rename it over the destination (a rename within one
//! directory is atomic on POSIX file systems).

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{DataError, Result};

/// A temporary file that is deleted when dropped, unless it was [`TempFile::persist`]ed.
#[derive(Debug)]
pub(super) struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates a fresh, empty temporary file in the directory of `dest`, named after it
    /// (`.NAME.tmp-PID-N`, hidden, unique within this process and across processes).
    pub(super) fn create_beside(dest: &Path) -> Result<(TempFile, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = parent_dir(dest);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| DataError::io("create temporary file", &path, e))?;
        Ok((TempFile { path, armed: true }, file))
    }

    /// The temporary file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Disarms the deletion and returns the path: the caller now owns the file.
    pub(super) fn into_path(mut self) -> PathBuf {
        self.armed = false;
        std::mem::take(&mut self.path)
    }

    /// Renames the temporary file to `dest` (replacing it), and disarms the deletion.
    pub(super) fn persist(mut self, dest: &Path) -> Result<()> {
        fs::rename(&self.path, dest).map_err(|e| DataError::io("rename into place", dest, e))?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the file may already be gone, and a drop cannot report errors.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The directory a path lives in (`.` for a bare file name).
pub(super) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes a file atomically: `write` fills a buffered temporary file beside `dest`, which is
/// synced and renamed over `dest` only if everything succeeded. On any error the temporary file
/// is deleted and `dest` is left as it was.
pub fn write_atomic(
    dest: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let (temp, file) = TempFile::create_beside(dest)?;
    let mut out = BufWriter::new(file);
    write(&mut out).map_err(|e| DataError::io("write", temp.path(), e))?;
    let file = out
        .into_inner()
        .map_err(|e| DataError::io("write", temp.path(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| DataError::io("flush to disk", temp.path(), e))?;
    drop(file);
    temp.persist(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn write_atomic_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        fs::write(&dest, b"old").unwrap();
        write_atomic(&dest, |w| w.write_all(b"new content")).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new content");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_deletes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        fs::write(&dest, b"old").unwrap();
        let err = write_atomic(&dest, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn writing_into_a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("no-such-dir").join("out.bin");
        let err = write_atomic(&dest, |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("no-such-dir"), "{err}");
    }
}
