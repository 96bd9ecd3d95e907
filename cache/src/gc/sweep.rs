//! Removing things from disk for prune: snapshot dirs, temp files and folders of
//! formats this kiln does not use.
//!
//! ```text
//! $KILN_ROOT/
//! ├── CACHEDIR.TAG  lock  index-v1.db*        kept
//! ├── reserve                                 deleted first, put back last (gc/mod.rs)
//! ├── .tmp-*                                  removed (an interrupted atomic write)
//! ├── content-v1/   .tmp-* removed; blobs/sha256/ unreachable blobs removed
//! ├── snapshots-v1/ .empty kept; new-* and <id>/ without a usable row removed
//! ├── containers-v1/                          kept
//! ├── tmp-v1/*  locks-v1/*                    removed
//! └── snapshots-v0/, content-v2/, …           removed (another format's folders)
//! ```

use crate::error::Result;
use crate::root::StateRoot;
use crate::tree::remove_tree;
use fs_err as fs;
use std::path::{Path, PathBuf};

/// Entries of the state root that this kiln uses.
const KNOWN: [&str; 11] = [
    "CACHEDIR.TAG",
    "lock",
    "index-v1.db",
    "index-v1.db-wal",
    "index-v1.db-shm",
    "index-v1.db-journal",
    "content-v1",
    "snapshots-v1",
    "containers-v1",
    "tmp-v1",
    "locks-v1",
];

/// The snapshot store's always-empty lower dir, never a snapshot.
pub(crate) const EMPTY_LOWER: &str = ".empty";

/// Names of the entries of `dir` (empty if it does not exist).
pub(crate) fn entry_names(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut names = Vec::new();
    for entry in entries {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Whether `name` looks like one of kiln's versioned folders (`snapshots-v0`,
/// `content-v2`): only those are taken for another format's data, so a state root
/// pointed at the wrong folder by mistake never loses anything else.
fn is_versioned_name(name: &str) -> bool {
    name.rsplit_once("-v").is_some_and(|(stem, version)| {
        !stem.is_empty()
            && stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Removes the leftovers outside the snapshot store: everything in `tmp-v1/` and in
/// `locks-v1/` (prune holds the root exclusively, so no process holds a key lock),
/// interrupted atomic writes (`.tmp-*`) at the root and in the content store, and the
/// folders of other formats at the root. Returns the removed paths and bytes.
pub(crate) fn remove_leftovers(state: &StateRoot) -> Result<(Vec<PathBuf>, u64)> {
    let (root, content) = (state.path(), state.content_dir());
    let mut removed = Vec::new();
    let mut bytes = 0;
    for dir in [state.tmp_dir(), state.locks_dir()] {
        for name in entry_names(&dir)? {
            let path = dir.join(name);
            bytes += remove_tree(&path)?;
            removed.push(path);
        }
    }
    for dir in [root, content.as_path()] {
        for name in entry_names(dir)? {
            if name.starts_with(".tmp-") {
                let path = dir.join(name);
                bytes += remove_tree(&path)?;
                removed.push(path);
            }
        }
    }
    for name in entry_names(root)? {
        let path = root.join(&name);
        if !KNOWN.contains(&name.as_str()) && is_versioned_name(&name) && path.is_dir() {
            bytes += remove_tree(&path)?;
            removed.push(path);
        }
    }
    Ok((removed, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_names() {
        for name in ["snapshots-v0", "content-v2", "index-v10", "build-cache-v3"] {
            assert!(is_versioned_name(name), "{name}");
        }
        for name in [
            "Documents",
            "-v1",
            "snapshots-v",
            "snapshots-vx",
            "Photos-v1",
            ".git",
        ] {
            assert!(!is_versioned_name(name), "{name}");
        }
    }
}
