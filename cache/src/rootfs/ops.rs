//! fd-relative operations on one entry of a directory: the final component of a path is never
//! followed, so a symlink planted there is replaced or re-owned, never written through.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;

/// What [`remove_existing`] found at the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Nothing was there.
    None,
    /// A non-directory was there and has been removed.
    Removed,
    /// A directory is there and has been kept (the caller asked to keep directories).
    Dir,
}

/// Removes whatever is at `name` in `dir` so that a new entry can be created there.
///
/// Directories are kept when `keep_dirs` (a directory replacing a directory merges) and removed
/// with everything below them otherwise.
pub(crate) fn remove_existing(
    dir: BorrowedFd<'_>,
    name: &[u8],
    keep_dirs: bool,
) -> io::Result<Existing> {
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(Existing::None),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        if keep_dirs {
            return Ok(Existing::Dir);
        }
        crate::tree::remove_all_at(dir, name)?;
    } else {
        rustix::fs::unlinkat(dir, name, AtFlags::empty())?;
    }
    Ok(Existing::Removed)
}

/// Creates the regular file `name` in `dir` (`O_CREAT | O_EXCL | O_NOFOLLOW`), open for writing.
pub(crate) fn create_file(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<std::fs::File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd: OwnedFd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
    Ok(std::fs::File::from(fd))
}

/// A timestamp as `Timestamps` with atime = mtime.
pub(crate) fn timestamps(secs: i64, nsec: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: secs,
        tv_nsec: nsec,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// `utimensat(dir, name, {mtime, mtime}, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn set_times_at(
    dir: BorrowedFd<'_>,
    name: &[u8],
    secs: i64,
    nsec: i64,
) -> io::Result<()> {
    rustix::fs::utimensat(
        dir,
        name,
        &timestamps(secs, nsec),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

/// `fchmodat(dir, name, mode)`; only for entries just created by the caller as non-symlinks.
pub(crate) fn chmod_at(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> io::Result<()> {
    rustix::fs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode & 0o7777),
        AtFlags::empty(),
    )
    .map_err(io::Error::from)
}

/// Sets an xattr on `name` in `dir` without following it, even for symlinks and device nodes
/// (which cannot be opened for `fsetxattr`): `lsetxattr("/proc/self/fd/<dir>/<name>")`. The magic
/// link only stands for `dir`, an fd we resolved ourselves; `name` is a single component.
pub(crate) fn set_xattr_at(
    dir: BorrowedFd<'_>,
    name: &[u8],
    key: &[u8],
    value: &[u8],
) -> io::Result<()> {
    let path = fd_path(dir, name);
    rustix::fs::lsetxattr(path.as_slice(), key, value, rustix::fs::XattrFlags::empty())
        .map_err(io::Error::from)
}

/// The largest xattr name list and value Linux allows (`XATTR_LIST_MAX`, `XATTR_SIZE_MAX`).
const XATTR_MAX: usize = 64 * 1024;

/// Copies the extended attributes of `from` in `from_dir` to `to` in `to_dir` (both
/// single names, not followed), as BuildKit's copy does: `user.*`, `security.capability`
/// and the rest, except overlayfs's own `trusted.overlay.*`. Call after any chown, which
/// clears `security.capability`.
pub(crate) fn copy_xattrs(
    from_dir: BorrowedFd<'_>,
    from: &[u8],
    to_dir: BorrowedFd<'_>,
    to: &[u8],
) -> io::Result<()> {
    let src = fd_path(from_dir, from);
    copy_xattrs_with(
        |buf| rustix::fs::llistxattr(src.as_slice(), buf),
        |name, buf| rustix::fs::lgetxattr(src.as_slice(), name, buf),
        |name, value| set_xattr_at(to_dir, to, name, value),
    )
}

/// [`copy_xattrs`] between open files: one `flistxattr` when there are none.
pub(crate) fn copy_file_xattrs(from: &std::fs::File, to: &std::fs::File) -> io::Result<()> {
    copy_xattrs_with(
        |buf| rustix::fs::flistxattr(from, buf),
        |name, buf| rustix::fs::fgetxattr(from, name, buf),
        |name, value| {
            rustix::fs::fsetxattr(to, name, value, rustix::fs::XattrFlags::empty())
                .map_err(io::Error::from)
        },
    )
}

/// Lists the source's extended attributes with `list`, reads each with `get` and
/// writes it with `set`.
fn copy_xattrs_with(
    list: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    get: impl Fn(&[u8], &mut [u8]) -> rustix::io::Result<usize>,
    set: impl Fn(&[u8], &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut small = [0u8; 1024];
    let mut large = Vec::new();
    let names: &[u8] = match list(&mut small[..]) {
        Ok(0) | Err(rustix::io::Errno::OPNOTSUPP) => return Ok(()),
        Ok(len) => &small[..len],
        Err(rustix::io::Errno::RANGE) => {
            large.resize(XATTR_MAX, 0);
            let len = list(&mut large[..])?;
            &large[..len]
        }
        Err(e) => return Err(e.into()),
    };
    let mut value = vec![0u8; XATTR_MAX];
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(b"trusted.overlay.") {
            continue;
        }
        let len = get(name, &mut value[..])?;
        set(name, &value[..len])?;
    }
    Ok(())
}

pub(crate) fn fd_path(dir: BorrowedFd<'_>, name: &[u8]) -> Vec<u8> {
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(name);
    path
}
