//! In-root path resolution.
//!
//! Two ways to reach a directory inside a root, both unable to leave it:
//! - [`open_in_root`]: one `openat2` call with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`; the kernel
//!   resolves every symlink as if the root were `/` and clamps `..` at the root.
//! - [`mkdir_all`]: the same resolution done one component at a time in user space (symlinks read
//!   with `readlinkat` and re-rooted, `..` popped from a stack of directory fds that were each opened
//!   with `O_NOFOLLOW`), creating what is missing. It is used only when the fast path reports
//!   `ENOENT`, so that `mkdir -p` also works through dangling in-root symlinks.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Resolution flags for every kernel-side lookup inside a root.
pub(crate) const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Most symlinks followed while resolving one path, like the kernel's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// Splits an in-root path into its components, dropping empty ones and `.`; `..` is kept.
pub(crate) fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect()
}

/// Joins components into a relative path for `openat2` (`.` when empty).
pub(crate) fn join(components: &[&[u8]]) -> Vec<u8> {
    if components.is_empty() {
        return b".".to_vec();
    }
    components.join(&b'/')
}

/// Opens `path` inside `root` with kernel in-root resolution (symlinks resolve as if `root` were `/`).
pub(crate) fn open_in_root(
    root: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlags,
) -> io::Result<OwnedFd> {
    let rel = join(&components(path));
    rustix::fs::openat2(
        root,
        rel.as_slice(),
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE,
    )
    .map_err(io::Error::from)
}

/// Opens a directory inside `root` as an `O_PATH` fd, following in-root symlinks.
pub(crate) fn open_dir(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<OwnedFd> {
    open_in_root(root, path, OFlags::PATH | OFlags::DIRECTORY)
}

/// `mkdir -p` inside `root`: returns an `O_PATH` fd of the directory at `path`.
///
/// Missing components are created with `mode` (exactly, regardless of the umask) and `owner`;
/// existing ones are left as they are. Symlinks, dangling ones included, resolve inside the root.
pub(crate) fn mkdir_all(
    root: BorrowedFd<'_>,
    path: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<OwnedFd> {
    match open_dir(root, path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let mut stack: Vec<OwnedFd> = vec![rustix::io::fcntl_dupfd_cloexec(root, 0)?];
    let mut pending: Vec<Vec<u8>> = components(path).iter().rev().map(|c| c.to_vec()).collect();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == b".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let cur = stack.last().map(|fd| fd.as_fd()).ok_or(Errno::NOENT)?;
        let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(cur, name.as_slice(), dir_flags, Mode::empty()) {
            Ok(fd) => stack.push(fd),
            Err(Errno::NOENT) => {
                match rustix::fs::mkdirat(cur, name.as_slice(), Mode::from_raw_mode(0o700)) {
                    Ok(()) => {
                        set_owner_mode(cur, &name, mode, owner)?;
                    }
                    // Created concurrently: use it as it is.
                    Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                pending.push(name);
            }
            Err(Errno::NOTDIR) => {
                let st = rustix::fs::statat(cur, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                    return Err(Errno::NOTDIR.into());
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP.into());
                }
                let target = rustix::fs::readlinkat(cur, name.as_slice(), Vec::new())?;
                let target = target.as_bytes();
                if target.first() == Some(&b'/') {
                    stack.truncate(1);
                }
                pending.extend(components(target).iter().rev().map(|c| c.to_vec()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    stack.pop().ok_or_else(|| Errno::NOENT.into())
}

/// Sets the owner, then the exact mode (chown clears set-id bits), of a directory just created.
pub(crate) fn set_owner_mode(
    dir: BorrowedFd<'_>,
    name: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    if let Some((uid, gid)) = owner {
        chown_at(dir, name, uid, gid)?;
    }
    // The entry was created by us as a directory, so fchmodat following it is safe.
    rustix::fs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode & 0o7777),
        AtFlags::empty(),
    )?;
    Ok(())
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub(crate) fn chown_at(dir: BorrowedFd<'_>, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
    rustix::fs::chownat(
        dir,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

/// Splits a path into the components of its parent and its final name.
///
/// Fails with `EINVAL` when the final component is missing, `.` or `..`: such a path names a
/// directory that is resolved, never an entry that is created.
pub(crate) fn split_parent(path: &[u8]) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut trimmed = path;
    while let Some(t) = trimmed.strip_suffix(b"/") {
        trimmed = t;
    }
    let (parent, name) = match trimmed.iter().rposition(|b| *b == b'/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::INVAL.into());
    }
    Ok((parent.to_vec(), name.to_vec()))
}
