//! Path resolution inside a rootfs that can never escape it: `kiln-inroot`'s, the same
//! the engine's COPY and WORKDIR use, so a path means one directory for both.
//!
//! Every lookup is an `openat2(root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: `..` and
//! absolute symlinks stop at the rootfs root, so an image whose `/etc` is a symlink to
//! `/host/path` resolves to `<rootfs>/host/path`. Mounts then target the resolved O_PATH fd
//! through `/proc/self/fd/N`, never a path string that could be swapped.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use kiln_inroot::NewDirs;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, statat, unlinkat};
use rustix::io::Errno;

/// "/proc/self/fd/N" for an fd, to hand a resolved location to `mount(2)`.
pub(crate) fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Opens `path` inside `root` as an O_PATH fd (following symlinks, but only inside the root).
pub(crate) fn open_in_root(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    kiln_inroot::open(root, path.as_bytes(), OFlags::PATH)
}

/// Opens `path` inside `root` as an O_PATH fd, refusing any symlink on the way (ELOOP): for
/// the kernel filesystems' mount points (/proc, /dev, /sys), which runc requires to be real
/// directories.
pub(crate) fn open_in_root_no_symlinks(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    kiln_inroot::open_with(
        root,
        path.as_bytes(),
        OFlags::PATH,
        ResolveFlags::NO_SYMLINKS,
    )
}

/// `mkdir -p path` inside `root` with `mode`. Returns the directory (O_PATH) and the
/// paths of the directories it created, outermost first. A dangling symlink on the way
/// is followed inside the root and its target created, like runc's `MkdirAllInRoot`.
pub(crate) fn mkdir_all_in_root(
    root: BorrowedFd<'_>,
    path: &str,
    mode: Mode,
) -> Result<(OwnedFd, Vec<String>), Errno> {
    let mut created = Vec::new();
    let new = NewDirs {
        mode: mode.bits(),
        owner: None,
    };
    let dir = kiln_inroot::mkdir_all(root, path.as_bytes(), new, &mut created)?;
    let created = created
        .into_iter()
        .map(|p| String::from_utf8_lossy(&p).into_owned())
        .collect();
    Ok((dir, created))
}

/// Creates an empty file at `path` inside `root` unless something exists there (parents are
/// created too). Returns the paths created (parent directories, then the file).
pub(crate) fn create_file_in_root(
    root: BorrowedFd<'_>,
    path: &str,
    mode: Mode,
) -> Result<Vec<String>, Errno> {
    match open_in_root(root, path) {
        Ok(_) => return Ok(Vec::new()),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(e),
    }
    let (parent, name) = split_parent(path).ok_or(Errno::INVAL)?;
    let (dir, mut created) = mkdir_all_in_root(root, parent, Mode::from_raw_mode(0o755))?;
    let excl = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(&dir, name, excl, mode) {
        Ok(_) => created.push(path.to_string()),
        // A dangling symlink: create its target, in the root. It is not a stub we own.
        Err(Errno::EXIST) => {
            kiln_inroot::open(root, path.as_bytes(), OFlags::CREATE | OFlags::WRONLY)?;
        }
        Err(e) => return Err(e),
    }
    Ok(created)
}
/// Removes `path` inside `root` if it is still an empty stub: an empty directory, or an empty
/// regular file. Returns whether it was removed.
pub(crate) fn remove_stub_in_root(root: BorrowedFd<'_>, path: &str) -> Result<bool, Errno> {
    let Some((parent, name)) = split_parent(path) else {
        return Ok(false);
    };
    let dir = match kiln_inroot::open_dir(root, parent.as_bytes()) {
        Ok(d) => d,
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    let stat = match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(s) => s,
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    let result = match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => unlinkat(&dir, name, AtFlags::REMOVEDIR),
        FileType::RegularFile if stat.st_size == 0 => unlinkat(&dir, name, AtFlags::empty()),
        _ => return Ok(false),
    };
    match result {
        Ok(()) => Ok(true),
        Err(Errno::NOTEMPTY | Errno::EXIST | Errno::BUSY | Errno::NOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Splits "/a/b/c" into ("/a/b", "c"); `None` for the root or a final "..".
pub(crate) fn split_parent(path: &str) -> Option<(&str, &str)> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some((if parent.is_empty() { "/" } else { parent }, name))
}

/// Whether the fd is a directory.
pub(crate) fn is_dir(fd: impl AsFd) -> Result<bool, Errno> {
    let stat = rustix::fs::fstat(fd)?;
    Ok(FileType::from_raw_mode(stat.st_mode) == FileType::Directory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root(dir: &std::path::Path) -> Result<OwnedFd, Errno> {
        rustix::fs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    }

    #[test]
    fn split_parent_cases() {
        assert_eq!(split_parent("/etc/hosts"), Some(("/etc", "hosts")));
        assert_eq!(split_parent("/etc"), Some(("/", "etc")));
        assert_eq!(split_parent("etc/"), Some(("/", "etc")));
        assert_eq!(split_parent("/"), None);
        assert_eq!(split_parent("/a/.."), None);
    }

    #[test]
    fn absolute_symlink_stays_in_root() -> Result<(), Box<dyn std::error::Error>> {
        let host = tempfile::tempdir()?;
        let rootfs = tempfile::tempdir()?;
        symlink(host.path(), rootfs.path().join("etc"))?;
        let root = root(rootfs.path())?;
        let created = create_file_in_root(root.as_fd(), "/etc/hosts", Mode::from_raw_mode(0o644))?;
        assert!(!host.path().join("hosts").exists(), "escaped to the host");
        let inside = rootfs
            .path()
            .join(host.path().strip_prefix("/")?)
            .join("hosts");
        assert!(inside.exists());
        assert_eq!(created.last().map(String::as_str), Some("/etc/hosts"));
        Ok(())
    }

    #[test]
    fn dotdot_stays_in_root() -> Result<(), Box<dyn std::error::Error>> {
        let rootfs = tempfile::tempdir()?;
        let root = root(rootfs.path())?;
        let (_, created) = mkdir_all_in_root(
            root.as_fd(),
            "/../../x/./y/../z",
            Mode::from_raw_mode(0o755),
        )?;
        assert!(rootfs.path().join("x/z").is_dir());
        assert_eq!(created, vec!["/x".to_string(), "/x/z".into()]);
        Ok(())
    }

    #[test]
    fn symlink_loop_is_eloop() -> Result<(), Box<dyn std::error::Error>> {
        let rootfs = tempfile::tempdir()?;
        symlink("/b", rootfs.path().join("a"))?;
        symlink("/a", rootfs.path().join("b"))?;
        let root = root(rootfs.path())?;
        let r = mkdir_all_in_root(root.as_fd(), "/a/x", Mode::from_raw_mode(0o755));
        assert_eq!(r.err(), Some(Errno::LOOP));
        Ok(())
    }

    #[test]
    fn no_symlinks_refuses_symlinks() -> Result<(), Box<dyn std::error::Error>> {
        let rootfs = tempfile::tempdir()?;
        symlink("/", rootfs.path().join("proc"))?;
        let root = root(rootfs.path())?;
        assert_eq!(
            open_in_root_no_symlinks(root.as_fd(), "/proc").err(),
            Some(Errno::LOOP)
        );
        Ok(())
    }

    #[test]
    fn stubs_are_removed_only_when_empty() -> Result<(), Box<dyn std::error::Error>> {
        let rootfs = tempfile::tempdir()?;
        let root = root(rootfs.path())?;
        let created = create_file_in_root(root.as_fd(), "/etc/hosts", Mode::from_raw_mode(0o644))?;
        assert_eq!(created, vec!["/etc".to_string(), "/etc/hosts".into()]);
        std::fs::write(rootfs.path().join("etc/other"), b"x")?;
        assert!(remove_stub_in_root(root.as_fd(), "/etc/hosts")?);
        assert!(!remove_stub_in_root(root.as_fd(), "/etc")?);
        std::fs::remove_file(rootfs.path().join("etc/other"))?;
        std::fs::write(rootfs.path().join("etc/hosts"), b"written")?;
        assert!(!remove_stub_in_root(root.as_fd(), "/etc/hosts")?);
        Ok(())
    }

    #[test]
    fn existing_file_is_not_a_stub() -> Result<(), Box<dyn std::error::Error>> {
        let rootfs = tempfile::tempdir()?;
        std::fs::create_dir(rootfs.path().join("etc"))?;
        std::fs::write(rootfs.path().join("etc/hosts"), b"")?;
        let root = root(rootfs.path())?;
        assert!(
            create_file_in_root(root.as_fd(), "/etc/hosts", Mode::from_raw_mode(0o644))?.is_empty()
        );
        Ok(())
    }
}
