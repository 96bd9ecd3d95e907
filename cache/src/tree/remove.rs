//! Removing and measuring whole trees, iteratively: [`remove_tree`], [`remove_all_at`],
//! [`tree_size`].

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType};

use super::walk::{DirEntry, Visitor, entry_path, open_dir_at, walk};
use super::{WalkError, stat_at};

/// Removes the file or whole tree at `path` without following symlinks or crossing into another
/// filesystem (a mount point inside fails the removal rather than emptying the mount); returns
/// the bytes of the regular files removed. A missing path is 0.
pub fn remove_tree(path: &Path) -> Result<u64, WalkError> {
    let fail = |op: &'static str| {
        move |source: io::Error| WalkError {
            op,
            path: path.to_path_buf(),
            source,
        }
    };
    let meta = match fs_err::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(fail("stat")(e)),
    };
    if !meta.is_dir() {
        std::fs::remove_file(path).map_err(fail("remove"))?;
        return Ok(if meta.is_file() { meta.len() } else { 0 });
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        fail("remove")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a removable directory name",
        ))
    })?;
    let parent = open_dir_at(rustix::fs::CWD, parent.as_os_str().as_bytes())
        .map_err(fail("open the parent of"))?;
    remove_below(parent.as_fd(), name.as_bytes(), path, meta.dev())
}

/// `rm -rf` of the directory `name` in `dir`, without following any symlink or crossing into
/// another filesystem; returns the bytes of the regular files removed.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<u64> {
    let dev = stat_at(dir, name)?.dev;
    remove_below(dir, name, Path::new(OsStr::from_bytes(name)), dev).map_err(io::Error::other)
}

/// Removes the directory `name` of `dir` (shown as `path`) and everything below it.
fn remove_below(dir: BorrowedFd<'_>, name: &[u8], path: &Path, dev: u64) -> Result<u64, WalkError> {
    let fail = |op: &'static str| {
        move |source: io::Error| WalkError {
            op,
            path: path.to_path_buf(),
            source,
        }
    };
    let top = open_dir_at(dir, name).map_err(fail("open directory"))?;
    let mut remover = Measure {
        top: path.to_path_buf(),
        remove_on: Some(dev),
        bytes: 0,
        entries: 0,
    };
    walk(top, path, &mut remover)?;
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR).map_err(|e| fail("remove")(e.into()))?;
    Ok(remover.bytes)
}

/// Bytes of the regular files and number of entries below the directory `path` (not counting
/// `path` itself), without following symlinks.
pub(crate) fn tree_size(path: &Path) -> Result<(u64, u64), WalkError> {
    let top =
        open_dir_at(rustix::fs::CWD, path.as_os_str().as_bytes()).map_err(|source| WalkError {
            op: "open directory",
            path: path.to_path_buf(),
            source,
        })?;
    let mut sizer = Measure {
        top: path.to_path_buf(),
        remove_on: None,
        bytes: 0,
        entries: 0,
    };
    walk(top, path, &mut sizer)?;
    Ok((sizer.bytes, sizer.entries))
}

/// Counts the entries and the bytes of regular files of a tree, and removes them as it goes
/// when asked to.
struct Measure {
    top: PathBuf,
    /// Remove everything, which must be on this device.
    remove_on: Option<u64>,
    bytes: u64,
    entries: u64,
}

impl Visitor for Measure {
    type Item = DirEntry;
    type Error = WalkError;

    fn name<'a>(&self, item: &'a DirEntry) -> &'a [u8] {
        &item.name
    }

    fn list(
        &mut self,
        _dir: BorrowedFd<'_>,
        _rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<DirEntry>, WalkError> {
        Ok(entries)
    }

    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        item: &DirEntry,
    ) -> Result<bool, WalkError> {
        let fail = |op: &'static str| {
            let path = entry_path(&self.top, rel, &item.name);
            move |source: io::Error| WalkError { op, path, source }
        };
        self.entries += 1;
        let kind = item.file_type(dir).map_err(|e| fail("stat")(e))?;
        if kind == FileType::Directory {
            if let Some(dev) = self.remove_on
                && stat_at(dir, &item.name).map_err(|e| fail("stat")(e))?.dev != dev
            {
                let e = io::Error::other("a mount point: another filesystem is mounted here");
                return Err(fail("remove")(e));
            }
            return Ok(true);
        }
        if kind == FileType::RegularFile {
            self.bytes += stat_at(dir, &item.name).map_err(|e| fail("stat")(e))?.size;
        }
        if self.remove_on.is_some() {
            rustix::fs::unlinkat(dir, item.name.as_slice(), AtFlags::empty())
                .map_err(|e| fail("remove")(e.into()))?;
        }
        Ok(false)
    }

    fn leave(
        &mut self,
        parent: BorrowedFd<'_>,
        _dir: BorrowedFd<'_>,
        rel: &[u8],
        item: DirEntry,
    ) -> Result<(), WalkError> {
        if self.remove_on.is_none() {
            return Ok(());
        }
        rustix::fs::unlinkat(parent, item.name.as_slice(), AtFlags::REMOVEDIR).map_err(|e| {
            WalkError {
                op: "remove",
                path: self.top.join(OsStr::from_bytes(rel)),
                source: e.into(),
            }
        })
    }
}
