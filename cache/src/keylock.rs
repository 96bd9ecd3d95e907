//! Per-key locks: one kiln process at a time builds a given cache key, and the others
//! wait for it and then find its record, instead of running the step again.
//!
//! ```text
//! locks-v1/<hex of the key>.lock    flock(LOCK_EX) while a process builds the key
//! ```
//! The kernel drops a `flock` when its process dies, so `kill -9` never leaves a key
//! locked. The holder unlinks the file *before* it releases the lock; a waiter that
//! opened the old file finds, once it gets the lock, that the path no longer names
//! the file it locked, and starts over on a new one. So files do not pile up, and two
//! processes never hold the same key through two different files. A file left by a
//! killed process is removed by the next one to take the key, or by prune.

use crate::error::{CacheError, Result};
use crate::store::Store;
use fs_err as fs;
use rustix::fs::FlockOperation;
use std::path::{Path, PathBuf};

/// The exclusive lock on one cache key, released (and its file removed) on drop.
#[derive(Debug)]
pub struct KeyLock {
    path: PathBuf,
    /// Holds the `flock`; closed after the file is unlinked.
    _file: fs::File,
}

impl Store {
    /// Takes the lock on the cache key `key` (`sha256:…`), or `None` when another
    /// process holds it. Never waits: callers poll, so no thread blocks on it.
    pub fn try_lock_key(&self, key: &str) -> Result<Option<KeyLock>> {
        // Only letters, digits and `-`: a key can never name a path elsewhere.
        let name: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = self.root().locks_dir().join(format!("{name}.lock"));
        loop {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(failed("lock", &path, e)),
            }
            let locked = rustix::fs::fstat(&file).map_err(|e| failed("stat", &path, e))?;
            match rustix::fs::stat(&path) {
                Ok(now) if (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino) => {
                    return Ok(Some(KeyLock { path, _file: file }));
                }
                // The previous holder unlinked the file after we opened it: retry.
                Ok(_) | Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(failed("stat", &path, e)),
            }
        }
    }
}

/// An error of a `rustix` call on `path`, worded like `fs-err`'s.
fn failed(op: &str, path: &Path, errno: rustix::io::Errno) -> CacheError {
    let e = std::io::Error::from(errno);
    std::io::Error::new(
        e.kind(),
        format!("failed to {op} `{}`: {e}", path.display()),
    )
    .into()
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        // Unlinked while still locked (see the module docs). Failing leaves a stale
        // file, which the next holder or prune removes: nothing to report.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use crate::root::LockMode;
    use crate::store::Store;

    const KEY: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn concurrent_builds_wait_for_the_key_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), LockMode::Shared).unwrap();
        let other = Store::open(dir.path(), LockMode::Shared).unwrap();
        let held = store.try_lock_key(KEY).unwrap().unwrap();
        assert!(
            other.try_lock_key(KEY).unwrap().is_none(),
            "the key is taken"
        );
        drop(held);
        assert_eq!(
            std::fs::read_dir(store.root().locks_dir()).unwrap().count(),
            0
        );
        let again = other.try_lock_key(KEY).unwrap();
        assert!(again.is_some(), "released on drop");
    }
}
