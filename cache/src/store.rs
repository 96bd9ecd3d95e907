//! [`Store`]: an opened state root with its content store and cache index.

use crate::content::ContentStore;
use crate::error::Result;
use crate::index::Index;
use crate::root::{LockMode, StateRoot};
use std::path::Path;

/// An opened state root: the entry point to everything kiln keeps on disk.
#[derive(Debug)]
pub struct Store {
    root: StateRoot,
    content: ContentStore,
    index: Index,
}

impl Store {
    /// Opens (creating) the state root at `path`, holding its lock in `mode`.
    pub fn open(path: &Path, mode: LockMode) -> Result<Self> {
        Self::from_root(StateRoot::open(path, mode)?)
    }

    /// Opens the content store and the cache index of an opened state root.
    pub fn from_root(root: StateRoot) -> Result<Self> {
        let content = ContentStore::open(&root.content_dir(), &root.tmp_dir())?;
        let index = Index::open(&root.index_path())?;
        Ok(Self {
            root,
            content,
            index,
        })
    }

    /// The state root's folders.
    pub fn root(&self) -> &StateRoot {
        &self.root
    }

    /// The content store.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    /// The cache index.
    pub fn index(&self) -> &Index {
        &self.index
    }
}
