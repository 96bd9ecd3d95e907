//! Paths inside a root directory, resolved one way for the whole of kiln: the engine's
//! file operations (COPY, WORKDIR, layer apply) and the sandbox's mounts and working
//! directory. The kernel resolves them (`openat2` with `RESOLVE_IN_ROOT`): symlinks,
//! absolute ones included, and `..` resolve as if the root were `/` and never leave it,
//! and `..` after a symlink goes to the parent of the link's *target*, as POSIX (and
//! runc's `securejoin`, and BuildKit's `fs.RootPath`) have it. [`mkdir_all`] creates
//! missing directories with the same semantics, one component at a time.

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// `openat2` resolution for every in-root path: inside the root, no magic links.
pub const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Most symlinks followed while resolving one path, like the kernel's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// The components of an in-root path: empty ones and `.` dropped, `..` kept (it is
/// resolved against what the components before it resolve to, never lexically).
pub fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect()
}

/// Components joined into a relative path for `openat2` (`.` when there are none).
pub fn join(components: &[&[u8]]) -> Vec<u8> {
    if components.is_empty() {
        return b".".to_vec();
    }
    components.join(&b'/')
}

/// Opens `path` inside `root` with `flags` (plus `O_CLOEXEC`), resolved by the kernel.
pub fn open(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    open_with(root, path, flags, RESOLVE)
}

/// [`open`] with other resolution flags on top of [`RESOLVE`] (e.g. `NO_SYMLINKS`).
pub fn open_with(
    root: BorrowedFd<'_>,
    path: &[u8],
    flags: OFlags,
    resolve: ResolveFlags,
) -> Result<OwnedFd, Errno> {
    let rel = join(&components(path));
    rustix::fs::openat2(
        root,
        rel.as_slice(),
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE | resolve,
    )
}

/// Opens the directory at `path` inside `root` as an `O_PATH` fd.
pub fn open_dir(root: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Errno> {
    open(root, path, OFlags::PATH | OFlags::DIRECTORY)
}

/// How [`mkdir_all`] makes the directories it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDirs {
    /// Their exact mode (the umask does not apply).
    pub mode: u32,
    /// Their owner; the process's when `None`.
    pub owner: Option<(u32, u32)>,
}

/// `mkdir -p` inside `root`: returns an `O_PATH` fd of the directory at `path`.
///
/// Existing components are left as they are; missing ones are created as `new` says,
/// and their in-root paths (as resolved, so below a symlink's target) pushed to
/// `created`, outermost first. Symlinks on the way, dangling ones included, resolve
/// inside the root, and `..` goes back up what was resolved, as [`open`] does.
pub fn mkdir_all(
    root: BorrowedFd<'_>,
    path: &[u8],
    new: NewDirs,
    created: &mut Vec<Vec<u8>>,
) -> Result<OwnedFd, Errno> {
    match open_dir(root, path) {
        Err(Errno::NOENT) => {}
        other => return other,
    }
    // The resolved directories from the root down, with their names.
    let mut stack: Vec<(OwnedFd, Vec<u8>)> =
        vec![(rustix::io::fcntl_dupfd_cloexec(root, 0)?, Vec::new())];
    let mut pending: Vec<Vec<u8>> = components(path).iter().rev().map(|c| c.to_vec()).collect();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == b".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let cur = stack.last().map(|(fd, _)| fd.as_fd()).ok_or(Errno::NOENT)?;
        let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(cur, name.as_slice(), dir_flags, Mode::empty()) {
            Ok(fd) => stack.push((fd, name)),
            // A missing component that `..` leaves again is not created (as runc's
            // `securejoin` and `mkdir -p` of a cleaned path have it).
            Err(Errno::NOENT) if pending.last().is_some_and(|next| next == b"..") => {
                pending.pop();
            }
            Err(Errno::NOENT) => {
                match rustix::fs::mkdirat(cur, name.as_slice(), Mode::from_raw_mode(0o700)) {
                    Ok(()) => {
                        set_owner_mode(cur, &name, new.mode, new.owner)?;
                        let mut path: Vec<u8> = Vec::new();
                        for (_, component) in stack.iter().skip(1) {
                            path.push(b'/');
                            path.extend_from_slice(component);
                        }
                        path.push(b'/');
                        path.extend_from_slice(&name);
                        created.push(path);
                    }
                    // Created concurrently: use it as it is.
                    Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
                pending.push(name);
            }
            Err(Errno::NOTDIR | Errno::LOOP) => {
                let st = rustix::fs::statat(cur, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
                    return Err(Errno::NOTDIR);
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP);
                }
                let target = rustix::fs::readlinkat(cur, name.as_slice(), Vec::new())?;
                let target = target.as_bytes();
                if target.first() == Some(&b'/') {
                    stack.truncate(1);
                }
                pending.extend(components(target).iter().rev().map(|c| c.to_vec()));
            }
            Err(e) => return Err(e),
        }
    }
    stack.pop().map(|(fd, _)| fd).ok_or(Errno::NOENT)
}

/// Where a path leads inside a root once every symlink on it, the final one included,
/// is followed: the directory holding the entry and the entry's name in it.
#[derive(Debug)]
pub struct Located {
    /// The directory holding the entry (`O_PATH`); the root itself when `name` is empty.
    pub dir: OwnedFd,
    /// The entry's name in `dir`; empty when the path resolves to the root.
    pub name: Vec<u8>,
    /// The entry's in-root path, symlinks resolved: `/`-separated, no leading `/`,
    /// empty for the root.
    pub path: Vec<u8>,
    /// Whether the entry exists (a dangling final symlink locates its missing target).
    pub exists: bool,
}

/// Follows `path` inside `root` as [`open`] does, the final symlink included, and says
/// where it leads (see [`Located`]): BuildKit's `fs.RootPath`, with the kernel's
/// semantics for `..` after a symlink. A missing final entry (or a dangling final link's
/// missing target) is located with `exists: false`; a missing directory on the way is
/// created as `create` says (as [`mkdir_all`] would), or is `NOENT` without it; a
/// non-directory followed by more components is `NOTDIR`.
pub fn locate(
    root: BorrowedFd<'_>,
    path: &[u8],
    create: Option<NewDirs>,
) -> Result<Located, Errno> {
    let mut stack: Vec<(OwnedFd, Vec<u8>)> =
        vec![(rustix::io::fcntl_dupfd_cloexec(root, 0)?, Vec::new())];
    let mut pending: Vec<Vec<u8>> = components(path).iter().rev().map(|c| c.to_vec()).collect();
    let mut links = 0;
    let in_root = |stack: &[(OwnedFd, Vec<u8>)], name: &[u8]| {
        let mut names: Vec<&[u8]> = stack.iter().skip(1).map(|(_, n)| n.as_slice()).collect();
        names.push(name);
        names.retain(|n| !n.is_empty());
        names.join(&b'/')
    };
    while let Some(name) = pending.pop() {
        if name == b".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let cur = stack.last().map(|(fd, _)| fd.as_fd()).ok_or(Errno::NOENT)?;
        let kind = match rustix::fs::statat(cur, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
            Err(Errno::NOENT) if pending.is_empty() => None,
            // Not created: `..` leaves it again (as in `mkdir_all`).
            Err(Errno::NOENT) if pending.last().is_some_and(|next| next == b"..") => {
                pending.pop();
                continue;
            }
            Err(Errno::NOENT) => {
                let new = create.ok_or(Errno::NOENT)?;
                match rustix::fs::mkdirat(cur, name.as_slice(), Mode::from_raw_mode(0o700)) {
                    Ok(()) => set_owner_mode(cur, &name, new.mode, new.owner)?,
                    Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
                pending.push(name);
                continue;
            }
            Err(e) => return Err(e),
        };
        match kind {
            Some(FileType::Symlink) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::LOOP);
                }
                let target = rustix::fs::readlinkat(cur, name.as_slice(), Vec::new())?;
                let target = target.as_bytes();
                if target.first() == Some(&b'/') {
                    stack.truncate(1);
                }
                pending.extend(components(target).iter().rev().map(|c| c.to_vec()));
            }
            kind if pending.is_empty() => {
                let path = in_root(&stack, &name);
                let (dir, _) = stack.pop().ok_or(Errno::NOENT)?;
                return Ok(Located {
                    dir,
                    name,
                    path,
                    exists: kind.is_some(),
                });
            }
            Some(FileType::Directory) => {
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(cur, name.as_slice(), flags, Mode::empty())?;
                stack.push((fd, name));
            }
            _ => return Err(Errno::NOTDIR),
        }
    }
    // The path ended on a directory reached by `..` or a symlink: name it in its parent.
    let (fd, name) = stack.pop().ok_or(Errno::NOENT)?;
    let path = in_root(&stack, &name);
    let dir = match stack.pop() {
        Some((parent, _)) => parent,
        None => fd,
    };
    Ok(Located {
        dir,
        name,
        path,
        exists: true,
    })
}

/// Sets the owner, then the exact mode (chown clears set-id bits), of a directory just
/// created as `name` in `dir`.
pub fn set_owner_mode(
    dir: BorrowedFd<'_>,
    name: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), Errno> {
    if let Some((uid, gid)) = owner {
        chown_at(dir, name, uid, gid)?;
    }
    // The entry was created by us as a directory, so fchmodat following it is safe.
    rustix::fs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode & 0o7777),
        AtFlags::empty(),
    )
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub fn chown_at(dir: BorrowedFd<'_>, name: &[u8], uid: u32, gid: u32) -> Result<(), Errno> {
    rustix::fs::chownat(
        dir,
        name,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
}

/// Splits a path into its parent and its final name; `None` when the final component
/// is missing, `.` or `..` (such a path names a directory to resolve, never an entry
/// to create).
pub fn split_parent(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut trimmed = path;
    while let Some(t) = trimmed.strip_suffix(b"/") {
        trimmed = t;
    }
    let (parent, name) = match trimmed.iter().rposition(|b| *b == b'/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return None;
    }
    Some((parent, name))
}

#[cfg(test)]
mod tests;
