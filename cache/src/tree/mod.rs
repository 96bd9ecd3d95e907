//! Iterative, fd-relative walks of directory trees of any depth.
//!
//! Every walk here keeps its position as an explicit stack ([`walk`]), never as recursion,
//! and reaches each entry by name relative to its parent directory's fd, never by a host path:
//! a tree 10,000 levels deep neither overflows a thread's stack nor hits `PATH_MAX`. At most
//! [`FD_BUDGET`] directory fds per walk stay open; deeper levels are closed and reopened through
//! `..` on the way back up, checked by device and inode ([`stack::DirStack`]).
//!
//! **Invariant:** no walk follows a symlink: directories are opened with `O_NOFOLLOW`, so a walk
//! never leaves the tree it started in.

mod link;
mod remove;
mod stack;
pub(crate) mod stat;
mod walk;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

pub use link::link_tree;
pub use remove::remove_tree;
pub(crate) use remove::{remove_all_at, tree_size};
pub(crate) use stack::DirStack;
pub use stat::{Stat, stat_at};
pub use walk::{DirEntry, Visitor, entry_path, open_dir_at, open_file_at, walk};

/// Most directory fds one walk keeps open at once.
pub const FD_BUDGET: usize = 16;

/// A failed step of a tree walk, with the host path it was about.
#[derive(Debug, thiserror::Error)]
#[error("Failed to {op} `{}`", path.display())]
pub struct WalkError {
    /// What was being done.
    pub op: &'static str,
    /// The host path (the walk's top joined with the path below it).
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}
