//! `COPY` of host files into a root: the host side is walked by path (it is the build context,
//! never followed through symlinks), the root side only through fds (see [`super::resolve`]).

use std::fs::{self, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::Mode;

use super::ops::{self, Existing};
use super::resolve;
use super::{RootDir, RootfsError};

/// Options of [`RootDir::copy_in`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Owner `uid:gid` of everything copied and of the directories created (`--chown`); `0:0` when `None`.
    pub chown: Option<(u32, u32)>,
    /// Mode of every copied file and directory (`--chmod`); the source's mode when `None`.
    pub chmod: Option<u32>,
}

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Regular files and symlinks copied.
    pub files: u64,
    /// Bytes of regular-file content copied.
    pub bytes: u64,
}

struct Copier<'a> {
    owner: (u32, u32),
    chmod: Option<u32>,
    exclude: &'a dyn Fn(&Path, bool) -> bool,
    stats: CopyStats,
}

pub(super) fn copy_in(
    root: &RootDir,
    src: &Path,
    dest: &str,
    opts: &CopyOptions,
    exclude: &dyn Fn(&Path, bool) -> bool,
) -> Result<CopyStats, RootfsError> {
    let meta = fs::symlink_metadata(src).map_err(|e| source_err("stat", src, e))?;
    let mut copier = Copier {
        owner: opts.chown.unwrap_or((0, 0)),
        chmod: opts.chmod,
        exclude,
        stats: CopyStats::default(),
    };
    let dest_b = dest.as_bytes();
    let owner = Some(copier.owner);
    if meta.is_dir() {
        let dir = resolve::mkdir_all(root.as_fd(), dest_b, 0o755, owner)
            .map_err(|e| RootfsError::in_root("create directory", dest, e))?;
        copier.copy_dir_contents(src, dir.as_fd(), dest_b, Path::new(""))?;
        return Ok(copier.stats);
    }
    let into_dir = dest_b.ends_with(b"/") || resolve::open_dir(root.as_fd(), dest_b).is_ok();
    let (dir_path, name) = if into_dir {
        let name = src
            .file_name()
            .ok_or_else(|| source_err("copy", src, io::Error::from(io::ErrorKind::InvalidInput)))?;
        (dest_b.to_vec(), name.as_bytes().to_vec())
    } else {
        resolve::split_parent(dest_b).map_err(|e| RootfsError::in_root("copy to", dest, e))?
    };
    let dir = resolve::mkdir_all(root.as_fd(), &dir_path, 0o755, owner)
        .map_err(|e| RootfsError::in_root("create directory", &dir_path, e))?;
    let display = join_display(&dir_path, &name);
    copier.copy_entry(src, &meta, dir.as_fd(), &name, &display, Path::new(""))?;
    Ok(copier.stats)
}

impl Copier<'_> {
    /// Copies the entries of the host directory `src` into the in-root directory `dir`.
    fn copy_dir_contents(
        &mut self,
        src: &Path,
        dir: BorrowedFd<'_>,
        display: &[u8],
        rel: &Path,
    ) -> Result<(), RootfsError> {
        let mut names = Vec::new();
        for entry in fs::read_dir(src).map_err(|e| source_err("read directory", src, e))? {
            let entry = entry.map_err(|e| source_err("read directory", src, e))?;
            names.push(entry.file_name());
        }
        names.sort();
        for name in names {
            let child_rel = rel.join(&name);
            let child = src.join(&name);
            let meta = fs::symlink_metadata(&child).map_err(|e| source_err("stat", &child, e))?;
            if (self.exclude)(&child_rel, meta.is_dir()) {
                continue;
            }
            let child_display = join_display(display, name.as_bytes());
            self.copy_entry(
                &child,
                &meta,
                dir,
                name.as_bytes(),
                &child_display,
                &child_rel,
            )?;
        }
        Ok(())
    }

    /// Copies one host entry to `name` in the in-root directory `dir`.
    fn copy_entry(
        &mut self,
        src: &Path,
        meta: &Metadata,
        dir: BorrowedFd<'_>,
        name: &[u8],
        display: &[u8],
        rel: &Path,
    ) -> Result<(), RootfsError> {
        let ft = meta.file_type();
        let io_err = |op: &'static str| move |e: io::Error| RootfsError::in_root(op, display, e);
        if ft.is_dir() {
            let existing = ops::remove_existing(dir, name, true).map_err(io_err("replace"))?;
            if existing != Existing::Dir {
                rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
                    .map_err(|e| io_err("create directory")(e.into()))?;
            }
            let sub = ops::open_subdir(dir, name).map_err(io_err("open directory"))?;
            self.copy_dir_contents(src, sub.as_fd(), display, rel)?;
            // Metadata last, so that the mtime survives the children being created.
            let fd = ops::open_subdir_rdonly(dir, name).map_err(io_err("open directory"))?;
            let file = fs::File::from(fd);
            self.set_metadata(&file, meta)
                .map_err(io_err("set metadata of"))?;
        } else if ft.is_file() {
            self.replace_non_dir(dir, name, display)?;
            let mut from = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(src)
                .map_err(|e| source_err("open", src, e))?;
            let mut to = ops::create_file(dir, name).map_err(io_err("create"))?;
            // File to file: std uses copy_file_range (reflinks where the filesystem can).
            let n = io::copy(&mut from, &mut to).map_err(io_err("write"))?;
            self.set_metadata(&to, meta)
                .map_err(io_err("set metadata of"))?;
            self.stats.files += 1;
            self.stats.bytes += n;
        } else if ft.is_symlink() {
            self.replace_non_dir(dir, name, display)?;
            let target = fs::read_link(src).map_err(|e| source_err("read link", src, e))?;
            rustix::fs::symlinkat(target.as_os_str().as_bytes(), dir, name)
                .map_err(|e| io_err("create symlink")(e.into()))?;
            let (uid, gid) = self.owner;
            resolve::chown_at(dir, name, uid, gid).map_err(io_err("chown"))?;
            ops::set_times_at(dir, name, meta.mtime(), meta.mtime_nsec())
                .map_err(io_err("set times of"))?;
            self.stats.files += 1;
        }
        // Fifos, devices and sockets in a build context are skipped, as Docker does.
        Ok(())
    }

    fn replace_non_dir(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        display: &[u8],
    ) -> Result<(), RootfsError> {
        match ops::remove_existing(dir, name, true) {
            Ok(Existing::Dir) => Err(RootfsError::IsADirectory {
                path: String::from_utf8_lossy(display).into_owned(),
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(RootfsError::in_root("replace", display, e)),
        }
    }

    /// Owner, mode (after chown, which clears set-id bits) and mtime of a created entry, via its fd.
    fn set_metadata(&self, file: &fs::File, meta: &Metadata) -> io::Result<()> {
        let (uid, gid) = self.owner;
        rustix::fs::fchown(
            file,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        )?;
        let mode = self.chmod.unwrap_or(meta.mode()) & 0o7777;
        rustix::fs::fchmod(file, Mode::from_raw_mode(mode))?;
        rustix::fs::futimens(file, &ops::timestamps(meta.mtime(), meta.mtime_nsec()))?;
        Ok(())
    }
}

fn source_err(op: &'static str, path: &Path, source: io::Error) -> RootfsError {
    RootfsError::Source {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn join_display(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = dir.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}
