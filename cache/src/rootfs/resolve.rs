//! In-root path resolution: `kiln-inroot`'s, the one the sandbox uses too, with
//! `io::Error`s for the cache's file operations.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use kiln_inroot::NewDirs;
use rustix::fs::OFlags;
use rustix::io::Errno;

pub(crate) use kiln_inroot::{components, join};

/// Opens `path` inside `root` with kernel in-root resolution (symlinks resolve as if `root` were `/`).
pub(crate) fn open_in_root(
    root: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlags,
) -> io::Result<OwnedFd> {
    Ok(kiln_inroot::open(root, path, flags)?)
}

/// Opens a directory inside `root` as an `O_PATH` fd, following in-root symlinks.
pub(crate) fn open_dir(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<OwnedFd> {
    Ok(kiln_inroot::open_dir(root, path)?)
}

/// `mkdir -p` inside `root` (see [`kiln_inroot::mkdir_all`]): missing directories get
/// exactly `mode` and `owner`.
pub(crate) fn mkdir_all(
    root: BorrowedFd<'_>,
    path: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<OwnedFd> {
    Ok(kiln_inroot::mkdir_all(
        root,
        path,
        NewDirs { mode, owner },
        &mut Vec::new(),
    )?)
}

/// Sets the owner, then the exact mode, of a directory just created.
pub(crate) fn set_owner_mode(
    dir: BorrowedFd<'_>,
    name: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    Ok(kiln_inroot::set_owner_mode(dir, name, mode, owner)?)
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn chown_at(dir: BorrowedFd<'_>, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
    Ok(kiln_inroot::chown_at(dir, name, uid, gid)?)
}

/// Splits a path into its parent and its final name; `EINVAL` when the final component
/// is missing, `.` or `..` (such a path names a directory that is resolved, never an
/// entry that is created).
pub(crate) fn split_parent(path: &[u8]) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let (parent, name) = kiln_inroot::split_parent(path).ok_or(Errno::INVAL)?;
    Ok((parent.to_vec(), name.to_vec()))
}
