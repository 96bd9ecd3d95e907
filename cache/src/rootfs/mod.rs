//! fd-relative, in-root file operations on a container root filesystem.
//!
//! Every path given to a [`RootDir`] is resolved *inside* the root: symlinks resolve as if the
//! root were `/` (absolute targets and `..` are clamped at the root), which is Docker's semantics
//! for `COPY` destinations and `WORKDIR`. Lookups go through `openat2` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` relative to an `O_PATH` fd of the root; entries are
//! created and changed with `*at` syscalls relative to the directory fd so resolved, and the
//! final component is never followed (a symlink there is replaced, not written through).
//!
//! **Invariant:** nothing in this module passes a path containing a symlink the kernel could
//! follow to a host-side lookup; a hostile rootfs cannot make a write land outside the root.

mod chmod;
mod copy;
pub(crate) mod ops;
pub(crate) mod resolve;
#[cfg(test)]
mod tests;

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

pub use chmod::{Chmod, ChmodError};
pub use copy::{CopyOptions, CopyStats};

/// Errors of in-root file operations; each names the path it was about.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// The root directory itself could not be opened.
    #[error("Failed to open root directory `{}`", path.display())]
    OpenRoot {
        /// The root directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An operation on a path inside the root failed.
    #[error("Failed to {op} `{path}` inside the root")]
    InRoot {
        /// What was being done (`create directory`, `write`, …).
        op: &'static str,
        /// The in-root path.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading a host-side source of a copy failed.
    #[error("Failed to {op} source `{}`", path.display())]
    Source {
        /// What was being done.
        op: &'static str,
        /// The host path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A directory in the copied tree would replace a non-directory, or the reverse.
    #[error("Cannot overwrite directory `{path}` inside the root with a non-directory")]
    IsADirectory {
        /// The in-root path.
        path: String,
    },
}

/// A failed step of walking a copy's host source.
impl From<crate::tree::WalkError> for RootfsError {
    fn from(e: crate::tree::WalkError) -> Self {
        RootfsError::Source {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

impl RootfsError {
    pub(crate) fn in_root(op: &'static str, path: impl AsRef<[u8]>, source: io::Error) -> Self {
        RootfsError::InRoot {
            op,
            path: String::from_utf8_lossy(path.as_ref()).into_owned(),
            source,
        }
    }
}

/// An open container root filesystem: an `O_PATH | O_DIRECTORY` fd every operation is relative to.
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
}

impl AsFd for RootDir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl RootDir {
    /// Opens the directory at the host path `path` as a root. `path` itself is trusted (it is a
    /// snapshot directory of ours); everything below it is not.
    pub fn open(path: &Path) -> Result<RootDir, RootfsError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd =
            rustix::fs::open(path, flags, Mode::empty()).map_err(|e| RootfsError::OpenRoot {
                path: path.to_path_buf(),
                source: e.into(),
            })?;
        Ok(RootDir { fd })
    }

    /// `mkdir -p` inside the root; missing components are created with `mode` and owner
    /// `uid:gid` (root when `None`), existing ones are left untouched.
    ///
    /// Returns an `O_PATH` fd of the directory. Fails if a component exists and is not a directory
    /// (after in-root symlink resolution); dangling symlinks are followed and their in-root
    /// targets created, as `mkdir -p` does.
    pub fn mkdir_all(
        &self,
        path: &str,
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> Result<OwnedFd, RootfsError> {
        resolve::mkdir_all(self.as_fd(), path.as_bytes(), mode, owner)
            .map_err(|e| RootfsError::in_root("create directory", path, e))
    }

    /// Opens the directory at `path` inside the root for reading (listing), following
    /// in-root symlinks; `""` or `/` is the root itself.
    pub fn open_dir(&self, path: &str) -> Result<OwnedFd, RootfsError> {
        resolve::open_in_root(
            self.as_fd(),
            path.as_bytes(),
            OFlags::RDONLY | OFlags::DIRECTORY,
        )
        .map_err(|e| RootfsError::in_root("open directory", path, e))
    }

    /// Reads a whole file inside the root (e.g. `/etc/passwd`), following in-root symlinks.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, RootfsError> {
        let fd = resolve::open_in_root(self.as_fd(), path.as_bytes(), OFlags::RDONLY)
            .map_err(|e| RootfsError::in_root("open", path, e))?;
        let mut buf = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut buf)
            .map_err(|e| RootfsError::in_root("read", path, e))?;
        Ok(buf)
    }

    /// Docker `COPY` of one host source to `dest` inside the root; see [`RootDir::copy_in_filtered`].
    pub fn copy_in(
        &self,
        src: &Path,
        dest: &str,
        opts: &CopyOptions,
    ) -> Result<CopyStats, RootfsError> {
        let name = src.file_name().ok_or_else(|| RootfsError::Source {
            op: "copy",
            path: src.to_path_buf(),
            source: io::ErrorKind::InvalidInput.into(),
        })?;
        self.copy_in_filtered(src, name.as_bytes(), dest, opts, &|_, _| false)
    }

    /// Docker `COPY` of one host source (file, directory or symlink, never followed: a caller
    /// that follows a symlink source passes its target) to `dest`:
    ///
    /// - a directory source has its *contents* copied into `dest`, which is created (`mkdir -p`);
    /// - a file or symlink source goes to `dest/<name>` when `dest` ends with `/` or is an
    ///   existing directory (in-root resolution), else to `dest` itself, through a symlink
    ///   there (resolved in the root, as BuildKit does);
    /// - existing non-directories at a target are replaced (below the destination, a symlink
    ///   is replaced, not followed); a directory merges into an existing directory; a
    ///   non-directory never replaces a directory ([`RootfsError::IsADirectory`]);
    /// - mode, mtime and xattr-free content are preserved; ownership is `opts.chown` or `0:0`, also
    ///   for the directories `copy_in` creates (as Docker and BuildKit do); `opts.chmod` replaces
    ///   the mode of every copied file and directory;
    /// - symlinks are copied as symlinks, hard links among the copied files are kept, and
    ///   special files are skipped or made empty files (`opts.special_as_files`).
    ///
    /// `exclude` is called with each path below a directory source, relative to `src`, and
    /// whether it is a directory; returning `true` skips it (and, for a directory,
    /// everything beneath it).
    ///
    /// `name` is the source's name at the destination (a followed symlink's own name).
    pub fn copy_in_filtered(
        &self,
        src: &Path,
        name: &[u8],
        dest: &str,
        opts: &CopyOptions,
        exclude: &dyn Fn(&Path, bool) -> bool,
    ) -> Result<CopyStats, RootfsError> {
        copy::copy_in(self, (src, name), dest, opts, exclude)
    }
}
