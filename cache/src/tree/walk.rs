//! [`walk`]: a depth-first walk of a directory tree, driven by a [`Visitor`].

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

use super::WalkError;
use super::stack::DirStack;

/// One name read from a directory (`.` and `..` left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name.
    pub name: Vec<u8>,
    /// The type the directory listing gave; [`FileType::Unknown`] on filesystems that do not say.
    pub kind: FileType,
}

impl DirEntry {
    /// The entry's type, asking the filesystem when the listing did not say.
    pub fn file_type(&self, dir: BorrowedFd<'_>) -> io::Result<FileType> {
        match self.kind {
            FileType::Unknown => Ok(super::stat_at(dir, &self.name)?.file_type()),
            kind => Ok(kind),
        }
    }
}

/// The host path of the entry `name` of the directory `rel` below `top`, for errors.
pub fn entry_path(top: &Path, rel: &[u8], name: &[u8]) -> PathBuf {
    top.join(OsStr::from_bytes(rel))
        .join(OsStr::from_bytes(name))
}

/// What a [`walk`] does with the entries it finds.
///
/// `rel` is always the path below the walk's top of the directory concerned (`""` for the top,
/// no leading or trailing `/`).
pub trait Visitor {
    /// What the visitor keeps of each entry between listing and visiting it.
    type Item;
    /// The visitor's error; walk failures convert into it.
    type Error: From<WalkError>;

    /// The name of `item` in its directory.
    fn name<'a>(&self, item: &'a Self::Item) -> &'a [u8];

    /// The entries of the directory `dir` to visit, in the order to visit them.
    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<Self::Item>, Self::Error>;

    /// Visits one entry of `dir`; returns whether to walk into it, which only a directory allows.
    fn visit(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        item: &Self::Item,
    ) -> Result<bool, Self::Error>;

    /// Called once every entry below the directory `item` (opened as `dir`, whose path is
    /// `rel`) was visited; `parent` holds it.
    fn leave(
        &mut self,
        parent: BorrowedFd<'_>,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        item: Self::Item,
    ) -> Result<(), Self::Error> {
        let _ = (parent, dir, rel, item);
        Ok(())
    }
}

/// A directory being walked: its entries not visited yet (last first) and how it was reached.
struct Frame<T> {
    pending: Vec<T>,
    /// The directory's item in its parent (`None` for the top) and the length of the parent's
    /// `rel`.
    entered: Option<(T, usize)>,
}

/// Walks the tree below the directory `top` depth first, without recursion and without following
/// symlinks; `top_path` names it in errors. Each directory is listed once, when entered, so the
/// walk holds one listing per level and at most [`super::FD_BUDGET`] directory fds.
pub fn walk<V: Visitor>(top: OwnedFd, top_path: &Path, visitor: &mut V) -> Result<(), V::Error> {
    let fail = |op: &'static str, rel: &[u8], source: io::Error| WalkError {
        op,
        path: top_path.join(OsStr::from_bytes(rel)),
        source,
    };
    let mut stack = DirStack::new(top).map_err(|e| fail("open", b"", e))?;
    let mut rel = Vec::new();
    let entries = read_dir(stack.current()).map_err(|e| fail("read directory", b"", e))?;
    let mut pending = visitor.list(stack.current(), &rel, entries)?;
    pending.reverse();
    let mut frames = vec![Frame {
        pending,
        entered: None,
    }];
    while let Some(frame) = frames.last_mut() {
        if let Some(item) = frame.pending.pop() {
            if !visitor.visit(stack.current(), &rel, &item)? {
                continue;
            }
            let parent_len = rel.len();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(visitor.name(&item));
            let dir = open_dir_at(stack.current(), visitor.name(&item))
                .map_err(|e| fail("open directory", &rel, e))?;
            stack
                .push(dir)
                .map_err(|e| fail("open directory", &rel, e))?;
            let entries = read_dir(stack.current()).map_err(|e| fail("read directory", &rel, e))?;
            let mut pending = visitor.list(stack.current(), &rel, entries)?;
            pending.reverse();
            frames.push(Frame {
                pending,
                entered: Some((item, parent_len)),
            });
            continue;
        }
        let Some((item, parent_len)) = frames.pop().and_then(|f| f.entered) else {
            break;
        };
        let left = stack.pop().map_err(|e| fail("go back up from", &rel, e))?;
        if let Some(dir) = left {
            visitor.leave(stack.current(), dir.as_fd(), &rel, item)?;
        }
        rel.truncate(parent_len);
    }
    Ok(())
}

/// Opens the directory `name` in `dir` for listing, never through a symlink.
pub fn open_dir_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?)
}

/// Opens the file `name` in `dir` for reading, never through a symlink.
pub fn open_file_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<std::fs::File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?.into())
}

/// The names in the directory `dir`, in the order the filesystem gives them.
pub(crate) fn read_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<DirEntry>> {
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(DirEntry {
                name: name.to_vec(),
                kind: entry.file_type(),
            });
        }
    }
    Ok(out)
}
