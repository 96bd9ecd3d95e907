//! The state root: where it is, its versioned folders, and the process lock.

use crate::error::{CacheError, Result};
use fs_err as fs;
use rustix::fs::FlockOperation;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Environment variable that overrides the state root.
pub const ENV_ROOT: &str = "KILN_ROOT";
/// Environment variable: seconds `prune` waits for the exclusive lock (default 60).
pub const ENV_LOCK_TIMEOUT: &str = "KILN_LOCK_TIMEOUT";

/// Bytes kept in the state root's `reserve` file. Prune deletes it before anything
/// else, so SQLite has room for its write-ahead log even on a completely full disk,
/// and puts it back at the end.
const RESERVE_BYTES: u64 = 8 << 20;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by kiln.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// The state root's location: `$KILN_ROOT`, else `/var/lib/kiln` as root, else
/// `$XDG_DATA_HOME/kiln` (or `~/.local/share/kiln`).
pub fn default_root() -> PathBuf {
    if let Some(root) = std::env::var_os(ENV_ROOT).filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    if rustix::process::geteuid().is_root() {
        return PathBuf::from("/var/lib/kiln");
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("kiln")
}

/// How a process holds the state root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Builds, runs, listings: many at once.
    Shared,
    /// Prune: no other kiln process may use the root meanwhile.
    Exclusive,
}

/// An opened state root with its versioned folders created and a lock held for the
/// lifetime of this value.
#[derive(Debug)]
pub struct StateRoot {
    path: PathBuf,
    _lock: fs::File,
}

/// Marks `dir` as the top of unrelated directory trees (`chattr +T`), so that ext4
/// places each snapshot dir made in it in a block group of its own choosing (Orlov)
/// instead of next to its siblings. Without it, files made soon after a large delete
/// (a prune, a removed state root) land in the groups just freed, where ext4's inode
/// allocator steps over every recently deleted inode one at a time: a COPY of 10,000
/// small files took 3–5 s instead of 0.5 s. Best effort: other filesystems ignore it.
fn spread_subdirs(dir: &Path) {
    use rustix::fs::{IFlags, Mode, OFlags, ioctl_getflags, ioctl_setflags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(dir, flags, Mode::empty()) else {
        return;
    };
    if let Ok(current) = ioctl_getflags(&fd)
        && !current.contains(IFlags::TOPDIR)
    {
        let _ = ioctl_setflags(&fd, current | IFlags::TOPDIR);
    }
}

impl StateRoot {
    /// Whether a state root was ever opened at `path` (commands that only read, such as
    /// `kiln check`, leave a missing one uncreated).
    pub fn exists(path: &Path) -> bool {
        path.join("CACHEDIR.TAG").is_file()
    }

    /// Opens (creating if needed) the state root at `path` and takes the lock.
    pub fn open(path: &Path, mode: LockMode) -> Result<Self> {
        fs::create_dir_all(path)?;
        let tag = path.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(path, &tag, CACHEDIR_TAG.as_bytes())?;
        }
        for dir in [
            "content-v1/blobs/sha256",
            "snapshots-v1",
            "containers-v1",
            "tmp-v1",
            "locks-v1",
        ] {
            fs::create_dir_all(path.join(dir))?;
        }
        for dir in ["snapshots-v1", "containers-v1", "tmp-v1"] {
            spread_subdirs(&path.join(dir));
        }
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join("lock"))?;
        take_lock(&lock, path, mode)?;
        let root = Self {
            path: path.to_path_buf(),
            _lock: lock,
        };
        if mode == LockMode::Shared {
            root.ensure_reserve();
        }
        Ok(root)
    }

    /// Creates the reserve file if it is missing. Best effort: when the disk has no
    /// room for it (or the filesystem cannot `fallocate`) there is none, and prune
    /// works with what deleting unreferenced files frees first.
    pub fn ensure_reserve(&self) {
        let path = self.reserve_path();
        if path.exists() {
            return;
        }
        let Ok(file) = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        else {
            return;
        };
        if rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, RESERVE_BYTES)
            .is_err()
        {
            let _ = fs::remove_file(&path);
        }
    }

    /// Deletes the reserve file, freeing its space (prune, before it writes).
    pub fn release_reserve(&self) -> Result<()> {
        match fs::remove_file(self.reserve_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn reserve_path(&self) -> PathBuf {
        self.path.join("reserve")
    }

    /// The root folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The content store folder (an OCI image layout).
    pub fn content_dir(&self) -> PathBuf {
        self.path.join("content-v1")
    }

    /// The snapshot store folder.
    pub fn snapshots_dir(&self) -> PathBuf {
        self.path.join("snapshots-v1")
    }

    /// The folder of `kiln run` containers.
    pub fn containers_dir(&self) -> PathBuf {
        self.path.join("containers-v1")
    }

    /// The folder for temp files (same filesystem as everything else).
    pub fn tmp_dir(&self) -> PathBuf {
        self.path.join("tmp-v1")
    }

    /// The folder of per-key build locks.
    pub fn locks_dir(&self) -> PathBuf {
        self.path.join("locks-v1")
    }

    /// The cache index database.
    pub fn index_path(&self) -> PathBuf {
        self.path.join("index-v1.db")
    }
}

fn take_lock(file: &fs::File, path: &Path, mode: LockMode) -> Result<()> {
    let try_op = match mode {
        LockMode::Shared => FlockOperation::NonBlockingLockShared,
        LockMode::Exclusive => FlockOperation::NonBlockingLockExclusive,
    };
    if rustix::fs::flock(file, try_op).is_ok() {
        return Ok(());
    }
    let timeout = std::env::var(ENV_LOCK_TIMEOUT)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60);
    // A closed stderr must not stop kiln from waiting: the message is only a courtesy.
    let _ = writeln!(
        std::io::stderr(),
        "Waiting for the lock on `{}`: another kiln process is using it ({ENV_LOCK_TIMEOUT}={timeout}s)",
        path.display()
    );
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        if rustix::fs::flock(file, try_op).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(CacheError::Locked {
                path: path.to_path_buf(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `data` to `dest` atomically: a temp file in `dir` (same filesystem), then rename.
pub fn write_atomic(dir: &Path, dest: &Path, data: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(".tmp-{}", crate::digest::random_id(8)));
    fs::write(&tmp, data)?;
    if let Err(e) = fs::rename(&tmp, dest) {
        let _ = fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(())
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_versioned_layout_and_tag() {
        let dir = tempfile::tempdir().unwrap();
        let root = StateRoot::open(dir.path(), LockMode::Shared).unwrap();
        assert!(root.content_dir().join("blobs/sha256").is_dir());
        assert!(root.snapshots_dir().is_dir());
        // On ext4 (where the flag exists) snapshot dirs are spread across block groups.
        let fd = rustix::fs::open(
            root.snapshots_dir(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        if let Ok(flags) = rustix::fs::ioctl_getflags(&fd)
            && rustix::fs::statfs(root.snapshots_dir()).unwrap().f_type == 0xEF53
        {
            assert!(flags.contains(rustix::fs::IFlags::TOPDIR), "{flags:?}");
        }
        let tag = std::fs::read_to_string(dir.path().join("CACHEDIR.TAG")).unwrap();
        assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    }

    #[test]
    fn full_disk_prune_works_with_the_reserve() {
        let dir = tempfile::tempdir().unwrap();
        let root = StateRoot::open(dir.path(), LockMode::Shared).unwrap();
        let reserve = dir.path().join("reserve");
        assert_eq!(std::fs::metadata(&reserve).unwrap().len(), RESERVE_BYTES);
        root.release_reserve().unwrap();
        assert!(!reserve.exists());
        root.release_reserve().unwrap();
        root.ensure_reserve();
        assert!(reserve.exists());
    }

    #[test]
    fn shared_locks_coexist_and_exclusive_waits() {
        let dir = tempfile::tempdir().unwrap();
        let _a = StateRoot::open(dir.path(), LockMode::Shared).unwrap();
        let _b = StateRoot::open(dir.path(), LockMode::Shared).unwrap();
        // SAFETY of the test: set_var before spawning threads that read it.
        unsafe { std::env::set_var(ENV_LOCK_TIMEOUT, "0") };
        let err = StateRoot::open(dir.path(), LockMode::Exclusive).unwrap_err();
        assert!(matches!(err, CacheError::Locked { .. }));
    }
}
