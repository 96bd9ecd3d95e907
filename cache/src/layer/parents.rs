//! [`Parents`]: the open directories from the root down to the parent of the last entry
//! applied, so that entries resolve from where the previous one was, never from the root
//! through a path that may be longer than `PATH_MAX`; and [`open_plain`], the same descent
//! without creating anything, for hard-link targets.
//!
//! Both only ever step into plain directories opened by name with `O_NOFOLLOW`: a symlink or a
//! file on the way stops them with [`Blocked::NotDir`], so nothing is written or linked through
//! a symlink, wherever it points.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;

use crate::rootfs::RootDir;
use crate::rootfs::resolve;
use crate::tree::{DirStack, open_dir_at};

/// Why a descent stopped.
#[derive(Debug)]
pub(super) enum Blocked {
    /// The first `depth + 1` names lead to something that is not a plain directory: a symlink
    /// (`symlink`) or another kind of file.
    NotDir { depth: usize, symlink: bool },
    /// Opening or creating a directory failed (`ENOENT` for a name [`open_plain`] did not find).
    Io(io::Error),
}

impl From<io::Error> for Blocked {
    fn from(e: io::Error) -> Self {
        Blocked::Io(e)
    }
}

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
    /// `mkdir -p` does, but never through a symlink.
    pub(super) fn enter(&mut self, names: &[&[u8]]) -> Result<BorrowedFd<'_>, Blocked> {
        let common = self
            .names
            .iter()
            .zip(names)
            .take_while(|(have, want)| have.as_slice() == **want)
            .count();
        self.dirs.truncate(common)?;
        self.names.truncate(common);
        for (depth, &name) in names.iter().enumerate().skip(common) {
            let fd = step(self.dirs.current(), name, depth, true)?;
            self.dirs.push(fd)?;
            self.names.push(name.to_vec());
        }
        Ok(self.dirs.current())
    }
}

/// The existing directory `names` below `root`, reached one plain directory at a time.
pub(super) fn open_plain(root: &RootDir, names: &[&[u8]]) -> Result<OwnedFd, Blocked> {
    let mut dir = rustix::io::fcntl_dupfd_cloexec(root.as_fd(), 0).map_err(io::Error::from)?;
    for (depth, &name) in names.iter().enumerate() {
        dir = step(dir.as_fd(), name, depth, false)?;
    }
    Ok(dir)
}

/// The plain directory `name` (at `depth`) of `dir`, created when missing if `create`.
fn step(dir: BorrowedFd<'_>, name: &[u8], depth: usize, create: bool) -> Result<OwnedFd, Blocked> {
    match open_dir_at(dir, name) {
        Err(e) if create && e.raw_os_error() == Some(libc::ENOENT) => {}
        // `O_NOFOLLOW | O_DIRECTORY` gives `ENOTDIR` for a symlink as for a file.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
            let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(io::Error::from)?;
            let symlink = FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
            return Err(Blocked::NotDir { depth, symlink });
        }
        other => return Ok(other?),
    }
    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
        Ok(()) => resolve::set_owner_mode(dir, name, 0o755, Some((0, 0)))?,
        // Created concurrently: use it as it is.
        Err(Errno::EXIST) => {}
        Err(e) => return Err(io::Error::from(e).into()),
    }
    Ok(open_dir_at(dir, name)?)
}
