//! [`Parents`]: the open directories from the root down to the parent of the last entry
//! applied, so that entries resolve from where the previous one was, never from the root
//! through a path that may be longer than `PATH_MAX`.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::Mode;
use rustix::io::Errno;

use crate::rootfs::RootDir;
use crate::rootfs::resolve;
use crate::tree::{DirStack, open_dir_at};

/// Where the applier is in the tree being written.
///
/// Each level was opened by its plain name (`O_NOFOLLOW`) in the level above, so the names
/// resolve to the same directories for as long as nothing is removed: adding entries never
/// changes what an existing name is. The applier [`Parents::reset`]s it after every removal.
pub(super) struct Parents {
    /// The names from the root down to the current directory.
    names: Vec<Vec<u8>>,
    /// The root, then one directory per name.
    dirs: DirStack,
}

impl Parents {
    /// At the root.
    pub(super) fn new(root: &RootDir) -> io::Result<Parents> {
        let top = rustix::io::fcntl_dupfd_cloexec(root.as_fd(), 0)?;
        Ok(Parents {
            names: Vec::new(),
            dirs: DirStack::new(top)?,
        })
    }

    /// Back at the root.
    pub(super) fn reset(&mut self, root: &RootDir) -> io::Result<()> {
        *self = Parents::new(root)?;
        Ok(())
    }

    /// The directory `names` below the root, created (mode 0755, owner 0:0) where missing, as
    /// `mkdir -p` does. Fails with `ELOOP` or `ENOTDIR` at a name that is not a plain directory
    /// (a symlink to resolve in-root, or a file); the caller then resolves the path the slow way.
    pub(super) fn enter(&mut self, names: &[&[u8]]) -> io::Result<BorrowedFd<'_>> {
        let common = self
            .names
            .iter()
            .zip(names)
            .take_while(|(have, want)| have.as_slice() == **want)
            .count();
        self.dirs.truncate(common)?;
        self.names.truncate(common);
        for &name in &names[common..] {
            let fd = open_or_create(self.dirs.current(), name)?;
            self.dirs.push(fd)?;
            self.names.push(name.to_vec());
        }
        Ok(self.dirs.current())
    }
}

/// The plain directory `name` of `dir`, created when missing.
fn open_or_create(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    match open_dir_at(dir, name) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
        Ok(()) => resolve::set_owner_mode(dir, name, 0o755, Some((0, 0)))?,
        // Created concurrently: use it as it is.
        Err(Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    open_dir_at(dir, name)
}
