//! [`DirStack`]: the directories from a walk's top down to the one it is in, with at most
//! [`FD_BUDGET`] of them open.

use std::io;
use std::mem;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use super::FD_BUDGET;
use super::stat::fstat;

/// The directories from a walk's top down to the current one.
///
/// Only the current directory and the [`FD_BUDGET`]` - 1` nearest above it stay open. Going back
/// up to a directory whose fd was closed reopens it as `..` of the one below, and checks it is
/// the same directory (device and inode) as on the way down: a tree renamed during the walk
/// fails the walk instead of leading it elsewhere.
#[derive(Debug)]
pub(crate) struct DirStack {
    current: OwnedFd,
    current_id: (u64, u64),
    /// The directories above the current one, the top first.
    above: Vec<Level>,
}

#[derive(Debug)]
struct Level {
    fd: Option<OwnedFd>,
    /// Device and inode.
    id: (u64, u64),
}

impl DirStack {
    /// A stack holding only `top`.
    pub(crate) fn new(top: OwnedFd) -> io::Result<DirStack> {
        let current_id = identity(top.as_fd())?;
        Ok(DirStack {
            current: top,
            current_id,
            above: Vec::new(),
        })
    }

    /// The current directory.
    pub(crate) fn current(&self) -> BorrowedFd<'_> {
        self.current.as_fd()
    }

    /// How many levels below the top the current directory is.
    pub(crate) fn depth(&self) -> usize {
        self.above.len()
    }

    /// Enters `child`, a directory just opened relative to the current one.
    pub(crate) fn push(&mut self, child: OwnedFd) -> io::Result<()> {
        let child_id = identity(child.as_fd())?;
        let parent = mem::replace(&mut self.current, child);
        let parent_id = mem::replace(&mut self.current_id, child_id);
        self.above.push(Level {
            fd: Some(parent),
            id: parent_id,
        });
        if let Some(far) = self.above.len().checked_sub(FD_BUDGET) {
            self.above[far].fd = None;
        }
        Ok(())
    }

    /// Goes back up one level and returns the directory left, or `None` at the top.
    pub(crate) fn pop(&mut self) -> io::Result<Option<OwnedFd>> {
        let Some(level) = self.above.pop() else {
            return Ok(None);
        };
        let parent = match level.fd {
            Some(fd) => fd,
            None => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(&self.current, "..", flags, Mode::empty())?;
                if identity(fd.as_fd())? != level.id {
                    return Err(io::Error::other("the directory was moved during the walk"));
                }
                fd
            }
        };
        self.current_id = level.id;
        Ok(Some(mem::replace(&mut self.current, parent)))
    }

    /// Goes back up to `depth` levels below the top.
    pub(crate) fn truncate(&mut self, depth: usize) -> io::Result<()> {
        while self.depth() > depth {
            self.pop()?;
        }
        Ok(())
    }
}

fn identity(fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    let st = fstat(fd)?;
    Ok((st.dev, st.ino))
}
