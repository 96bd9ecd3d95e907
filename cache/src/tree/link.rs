//! [`link_tree`]: a tree recreated elsewhere on the same filesystem, its files hard-linked.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode};

use super::{DirEntry, DirStack, Stat, Visitor, WalkError, entry_path, open_dir_at, stat_at, walk};
use crate::rootfs::ops;

/// Recreates the tree below the directory `from` inside the existing directory `to`:
/// every directory made anew with its mode, owner, mtime and extended attributes
/// (overlay's opaque mark included, its other `trusted.overlay.*` left out), every other
/// entry (files, symlinks, whiteouts) hard-linked, so nothing is copied and the layer
/// written from `to` is byte for byte the one written from `from`. Both must be on one
/// filesystem; neither is ever written through a symlink.
pub fn link_tree(from: &Path, to: &Path) -> Result<(), WalkError> {
    let top = open_dir_at(rustix::fs::CWD, from.as_os_str().as_bytes())
        .map_err(walk_err("open", from.to_path_buf()))?;
    let dest = open_dir_at(rustix::fs::CWD, to.as_os_str().as_bytes())
        .map_err(walk_err("open", to.to_path_buf()))?;
    let mut linker = Linker {
        from,
        to,
        dirs: DirStack::new(dest).map_err(walk_err("open", to.to_path_buf()))?,
    };
    walk(top, from, &mut linker)
}

struct Linker<'a> {
    from: &'a Path,
    to: &'a Path,
    /// The destination directories matching the source directories being walked.
    dirs: DirStack,
}

fn walk_err(op: &'static str, path: PathBuf) -> impl FnOnce(io::Error) -> WalkError {
    move |source| WalkError { op, path, source }
}

impl Linker<'_> {
    /// The error of `op` on the destination entry `name` of the directory `rel`.
    fn fail(
        &self,
        op: &'static str,
        rel: &[u8],
        name: &[u8],
    ) -> impl FnOnce(io::Error) -> WalkError + use<> {
        walk_err(op, entry_path(self.to, rel, name))
    }
}

impl Visitor for Linker<'_> {
    type Item = (Vec<u8>, Stat);
    type Error = WalkError;

    fn name<'b>(&self, item: &'b (Vec<u8>, Stat)) -> &'b [u8] {
        &item.0
    }

    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<(Vec<u8>, Stat)>, WalkError> {
        entries
            .into_iter()
            .map(|e| {
                let stat = stat_at(dir, &e.name).map_err(|source| WalkError {
                    op: "stat",
                    path: entry_path(self.from, rel, &e.name),
                    source,
                })?;
                Ok((e.name, stat))
            })
            .collect()
    }

    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        (name, stat): &(Vec<u8>, Stat),
    ) -> Result<bool, WalkError> {
        let to = self.dirs.current();
        if !stat.is_dir() {
            rustix::fs::linkat(dir, name.as_slice(), to, name.as_slice(), AtFlags::empty())
                .map_err(|e| self.fail("link", rel, name)(e.into()))?;
            return Ok(false);
        }
        rustix::fs::mkdirat(to, name.as_slice(), Mode::from_raw_mode(0o700))
            .map_err(|e| self.fail("create directory", rel, name)(e.into()))?;
        ops::copy_xattrs(dir, name, to, name).map_err(self.fail(
            "copy extended attributes to",
            rel,
            name,
        ))?;
        if crate::snapshot::is_opaque(&entry_path(self.from, rel, name)) {
            ops::set_xattr_at(to, name, b"trusted.overlay.opaque", b"y").map_err(self.fail(
                "mark opaque",
                rel,
                name,
            ))?;
        }
        let sub = open_dir_at(to, name).map_err(self.fail("open directory", rel, name))?;
        self.dirs
            .push(sub)
            .map_err(self.fail("open directory", rel, name))?;
        Ok(true)
    }

    /// Sets a directory's owner, mode and mtime once its entries exist.
    fn leave(
        &mut self,
        _parent: BorrowedFd<'_>,
        _dir: BorrowedFd<'_>,
        rel: &[u8],
        (_, stat): (Vec<u8>, Stat),
    ) -> Result<(), WalkError> {
        let fail = self.fail("set metadata of", rel, b"");
        let up = self.fail("go back up from", rel, b"");
        let Some(dir) = self.dirs.pop().map_err(up)? else {
            return Ok(());
        };
        let set = || -> io::Result<()> {
            rustix::fs::fchown(
                dir.as_fd(),
                Some(rustix::fs::Uid::from_raw(stat.uid)),
                Some(rustix::fs::Gid::from_raw(stat.gid)),
            )?;
            rustix::fs::fchmod(dir.as_fd(), Mode::from_raw_mode(stat.permissions()))?;
            let (secs, nsec) = stat.mtime;
            rustix::fs::futimens(dir.as_fd(), &ops::timestamps(secs, nsec))?;
            Ok(())
        };
        set().map_err(fail)
    }
}
