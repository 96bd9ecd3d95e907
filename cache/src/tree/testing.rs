//! Helpers for tests of deep and wide trees.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use super::{open_dir_at, open_file_at};

/// The depth the regression tests of deep trees use.
pub(crate) const DEEP: usize = 10_000;

/// Runs `f` on a thread with a 256 KiB stack, where a walk recursing once per level of a deep
/// tree overflows.
pub(crate) fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn_scoped(scope, f);
        match thread.map(|t| t.join()) {
            Ok(Ok(value)) => value,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(e) => panic!("cannot start a thread: {e}"),
        }
    })
}

/// Creates `depth` nested directories `d` in the directory `top`, and a file `f` holding
/// `leaf` in the deepest one; fd-relative, so that depth is not bounded by `PATH_MAX`.
pub(crate) fn make_chain(top: &Path, depth: usize, leaf: &[u8]) -> io::Result<()> {
    let mut dir = open_dir_at(rustix::fs::CWD, top.as_os_str().as_bytes())?;
    for _ in 0..depth {
        rustix::fs::mkdirat(&dir, "d", Mode::from_raw_mode(0o755))?;
        dir = open_dir_at(dir.as_fd(), b"d")?;
    }
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    let file = rustix::fs::openat(&dir, "f", flags, Mode::from_raw_mode(0o644))?;
    rustix::io::write(&file, leaf)?;
    Ok(())
}

/// Follows a chain made by [`make_chain`] down from `top`: its depth and the leaf file's
/// content. Fails if a level holds anything but `d` (or, at the bottom, `f`).
pub(crate) fn read_chain(top: &Path) -> io::Result<(usize, Vec<u8>)> {
    let mut dir: OwnedFd = open_dir_at(rustix::fs::CWD, top.as_os_str().as_bytes())?;
    let mut depth = 0;
    loop {
        let names: Vec<Vec<u8>> = super::walk::read_dir(dir.as_fd())?
            .into_iter()
            .map(|e| e.name)
            .collect();
        match names.as_slice() {
            [name] if name == b"d" => {
                dir = open_dir_at(dir.as_fd(), b"d")?;
                depth += 1;
            }
            [name] if name == b"f" => {
                let mut leaf = Vec::new();
                io::Read::read_to_end(&mut open_file_at(dir.as_fd(), b"f")?, &mut leaf)?;
                return Ok((depth, leaf));
            }
            other => {
                return Err(io::Error::other(format!(
                    "unexpected entries at depth {depth}: {other:?}"
                )));
            }
        }
    }
}

/// A temp dir in memory (`/dev/shm`) where there is one: a million files are created there in
/// seconds, where a disk filesystem shared with other jobs may take minutes.
pub(crate) fn fast_tempdir() -> io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
}

/// Creates `count` empty files `0`, `1`, … in the directory `dir`.
pub(crate) fn make_wide(dir: &Path, count: usize) -> io::Result<()> {
    let dir = open_dir_at(rustix::fs::CWD, dir.as_os_str().as_bytes())?;
    let (kind, mode) = (FileType::RegularFile, Mode::from_raw_mode(0o644));
    for i in 0..count {
        rustix::fs::mknodat(&dir, i.to_string().as_str(), kind, mode, 0)?;
    }
    Ok(())
}
