//! The snapshot store: filesystem states as overlay upper dirs, containerd-style.
//!
//! ```text
//! snapshots-v1/
//! ├── .empty/          an always-empty lower dir, for snapshots with no parent
//! ├── new-<rand>/      being created; renamed to <id> before it is recorded
//! └── <id>/
//!     ├── fs/          the upper dir: this snapshot's diff against its parent
//!     ├── work/        overlay's work dir, only while active
//!     └── mnt/         where the root filesystem is mounted, only while active
//! ```
//! Lifecycle: [`Store::prepare`] gives an *active* snapshot on a parent;
//! [`Store::commit_step`] makes it *committed* and immutable (metadata only, in the
//! same transaction as the step's cache record; the first record of a key wins);
//! [`Store::abort`] removes it. Only committed snapshots are ever used as parents or cache hits, so a crash mid-step leaves only
//! garbage that prune reclaims, never a half-written snapshot that gets reused.

use crate::error::{CacheError, Result};
use crate::index::{CacheRecord, OnConflict, SnapshotRow};
use crate::store::Store;
use fs_err as fs;
use std::path::{Path, PathBuf};

/// A writable snapshot being filled by one step.
#[derive(Debug)]
pub struct ActiveSnapshot {
    id: String,
    dir: PathBuf,
    parent: Option<String>,
}

impl ActiveSnapshot {
    /// The snapshot id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The upper dir that receives the changes.
    pub fn fs_dir(&self) -> PathBuf {
        self.dir.join("fs")
    }

    /// An empty folder to mount the snapshot's root filesystem on while it is active.
    pub fn mount_dir(&self) -> PathBuf {
        self.dir.join("mnt")
    }

    /// An empty folder to mount another snapshot on, read-only, while this one is
    /// active (the source of `COPY --from`); created on first use.
    pub fn source_mount_dir(&self) -> Result<PathBuf> {
        let dir = self.dir.join("src");
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// The parent snapshot.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }
}

/// An overlay mount of a snapshot chain, with paths relative to `base_dir` so that
/// long chains fit in the kernel's one-page mount-data limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayMount {
    /// The folder the paths in `options` are relative to (the helper chdirs here).
    pub base_dir: PathBuf,
    /// `lowerdir=…`, `upperdir=…`, `workdir=…`.
    pub options: Vec<String>,
}

impl Store {
    /// Creates an active snapshot on top of the committed snapshot `parent`.
    pub fn prepare(&self, parent: Option<&str>) -> Result<ActiveSnapshot> {
        if let Some(p) = parent {
            self.committed_snapshot(p)?;
        }
        self.prepare_on(parent)
    }

    /// Creates an active snapshot on `parent`, which may still be active: only for
    /// unpacking an image's layers, which are committed in chain order (`unpack.rs`).
    pub(crate) fn prepare_on(&self, parent: Option<&str>) -> Result<ActiveSnapshot> {
        let snapshots = self.root().snapshots_dir();
        let id = crate::digest::random_id(8);
        let tmp = snapshots.join(format!("new-{id}"));
        fs::create_dir_all(tmp.join("fs"))?;
        fs::create_dir(tmp.join("work"))?;
        fs::create_dir(tmp.join("mnt"))?;
        let dir = snapshots.join(&id);
        fs::rename(&tmp, &dir)?;
        self.index()
            .insert_active_snapshot(&id, parent, crate::root::unix_now())?;
        Ok(ActiveSnapshot {
            id,
            dir,
            parent: parent.map(str::to_string),
        })
    }

    /// Commits an active snapshot that no cache record names (an image layer);
    /// returns its row.
    pub fn commit(&self, active: ActiveSnapshot) -> Result<SnapshotRow> {
        let (size, empty) = finish(&active)?;
        self.index().commit_snapshot(&active.id, size, empty)?;
        self.committed_snapshot(&active.id)
    }

    /// Commits an active snapshot together with the cache record of the step that
    /// produced it (`record.snapshot` is the active snapshot's id); returns the row of
    /// the snapshot the key's record names: this one, or, when another process
    /// committed the key first and `on_conflict` keeps it, the winner's (this one is
    /// then removed).
    pub fn commit_step(
        &self,
        active: ActiveSnapshot,
        record: &CacheRecord,
        on_conflict: OnConflict,
    ) -> Result<SnapshotRow> {
        let (size, empty) = finish(&active)?;
        let winner = self.index().commit_step(record, size, empty, on_conflict)?;
        if winner != active.id {
            // The row is gone already; a dir left behind has no row, so prune
            // reclaims it and nothing can ever use it.
            let _ = crate::tree::remove_tree(&active.dir);
        }
        self.committed_snapshot(&winner)
    }

    /// Puts the diff of the committed snapshot `from` (its own upper dir, not its
    /// parents') into the active snapshot's upper dir, files hard-linked: the active
    /// snapshot then adds to its parent what `from` added to its own, and its layer is
    /// byte for byte `from`'s (`COPY --link` rebased onto a new parent, as BuildKit's
    /// MergeOp). Committed snapshots are never written, so sharing inodes is safe.
    pub fn copy_diff(&self, active: &ActiveSnapshot, from: &str) -> Result<()> {
        let row = self.committed_snapshot(from)?;
        if row.empty {
            return Ok(());
        }
        let fs = self.root().snapshots_dir().join(from).join("fs");
        Ok(crate::tree::link_tree(&fs, &active.fs_dir())?)
    }

    /// Removes an active snapshot whose step failed.
    pub fn abort(&self, active: ActiveSnapshot) -> Result<()> {
        crate::tree::remove_tree(&active.dir)?;
        self.index().delete_snapshot(&active.id)
    }

    /// Removes an active snapshot whose step failed with `error`, and gives `error`
    /// back: failing to remove the snapshot must not hide why the step failed (a
    /// leftover stays active, so it is never reused, and prune reclaims it).
    pub fn abort_after<E>(&self, active: ActiveSnapshot, error: E) -> E {
        let _ = self.abort(active);
        error
    }

    /// The row of a committed snapshot, or an error naming it.
    pub fn committed_snapshot(&self, id: &str) -> Result<SnapshotRow> {
        match self.index().snapshot(id)? {
            Some(row) if row.committed => Ok(row),
            Some(_) => Err(CacheError::Snapshot {
                id: id.into(),
                reason: "not committed".into(),
            }),
            None => Err(CacheError::Snapshot {
                id: id.into(),
                reason: "unknown".into(),
            }),
        }
    }

    /// The chain from `id` down to its root, `id` first.
    pub fn snapshot_chain(&self, id: &str) -> Result<Vec<SnapshotRow>> {
        let mut chain = Vec::new();
        let mut next = Some(id.to_string());
        while let Some(id) = next {
            let row = self.committed_snapshot(&id)?;
            next = row.parent.clone();
            chain.push(row);
        }
        Ok(chain)
    }

    /// The overlay mount for a writable upper dir `upper` (with its work dir) over the
    /// committed snapshot `parent`.
    pub fn overlay_mount(
        &self,
        parent: Option<&str>,
        upper: &Path,
        work: &Path,
    ) -> Result<OverlayMount> {
        let base_dir = self.root().snapshots_dir();
        let mut lowers = self.lower_dirs(parent)?;
        if lowers.is_empty() {
            fs::create_dir_all(base_dir.join(".empty"))?;
            lowers.push(".empty".into());
        }
        Ok(OverlayMount {
            options: vec![
                // Upper dirs must be self-contained diffs: no redirects, no metacopy.
                "index=off".into(),
                "redirect_dir=off".into(),
                "metacopy=off".into(),
                format!("lowerdir={}", lowers.join(":")),
                format!("upperdir={}", upper.display()),
                format!("workdir={}", work.display()),
            ],
            base_dir,
        })
    }

    /// Undoes a copy-up of the directory `dir` (relative, e.g. `etc`) in an active
    /// snapshot when nothing below it changed: the sandbox creates mount points such as
    /// `/etc/hosts` when an image lacks them and removes them afterwards, which leaves a
    /// copied-up `/etc` whose only difference is its mtime. Kept if it is not empty, is
    /// opaque, or differs from the lower directory in type, mode or owner.
    pub fn discard_copy_up(&self, active: &ActiveSnapshot, dir: &str) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let upper = active.fs_dir().join(dir);
        let Ok(meta) = upper.symlink_metadata() else {
            return Ok(());
        };
        if !meta.is_dir() || fs::read_dir(&upper)?.next().is_some() || is_opaque(&upper) {
            return Ok(());
        }
        let Some(parent) = active.parent() else {
            return Ok(());
        };
        let lower = self
            .snapshot_chain(parent)?
            .into_iter()
            .map(|s| self.root().snapshots_dir().join(&s.id).join("fs").join(dir))
            .find_map(|p| p.symlink_metadata().ok());
        if let Some(lower) = lower
            && lower.is_dir()
            && (lower.mode(), lower.uid(), lower.gid()) == (meta.mode(), meta.uid(), meta.gid())
        {
            fs::remove_dir(&upper)?;
        }
        Ok(())
    }

    /// A read-only overlay mount of the committed snapshot `top` (`None`: empty).
    pub fn readonly_mount(&self, top: Option<&str>) -> Result<OverlayMount> {
        let mut lowers = self.lower_dirs(top)?;
        // Without an upper dir overlay wants two lower dirs: the empty one is always there.
        let base_dir = self.root().snapshots_dir();
        fs::create_dir_all(base_dir.join(".empty"))?;
        lowers.push(".empty".into());
        Ok(OverlayMount {
            options: vec![
                "index=off".into(),
                "redirect_dir=off".into(),
                "metacopy=off".into(),
                format!("lowerdir={}", lowers.join(":")),
            ],
            base_dir,
        })
    }

    /// The upper dirs (relative to the snapshot folder) of the non-empty snapshots in
    /// the chain of `top`, topmost first: an overlay's `lowerdir` list.
    fn lower_dirs(&self, top: Option<&str>) -> Result<Vec<String>> {
        let Some(top) = top else {
            return Ok(Vec::new());
        };
        Ok(self
            .snapshot_chain(top)?
            .into_iter()
            .filter(|s| !s.empty)
            .map(|s| format!("{}/fs", s.id))
            .collect())
    }

    /// The overlay mount of an active snapshot over its parent chain.
    pub fn active_mount(&self, active: &ActiveSnapshot) -> Result<OverlayMount> {
        self.overlay_mount(
            active.parent(),
            Path::new(&format!("{}/fs", active.id)),
            Path::new(&format!("{}/work", active.id)),
        )
    }
}

/// Removes an active snapshot's scratch folders; returns the bytes of its upper dir
/// and whether the upper dir is empty.
fn finish(active: &ActiveSnapshot) -> Result<(u64, bool)> {
    for scratch in [
        active.dir.join("work"),
        active.mount_dir(),
        active.dir.join("src"),
    ] {
        crate::tree::remove_tree(&scratch)?;
    }
    let (size, entries) = crate::tree::tree_size(&active.fs_dir())?;
    Ok((size, entries == 0))
}

/// Whether overlayfs marked the directory opaque (it hides everything below in lowers).
pub(crate) fn is_opaque(dir: &Path) -> bool {
    let mut value = [0u8; 1];
    rustix::fs::lgetxattr(dir, "trusted.overlay.opaque", &mut value)
        .is_ok_and(|n| n == 1 && value[0] == b'y')
}

#[cfg(test)]
mod tests {
    use crate::index::{CacheRecord, OnConflict};
    use crate::root::LockMode;
    use crate::store::Store;

    #[test]
    fn prepare_commit_chain_and_mount_options() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), LockMode::Shared).unwrap();
        let a = store.prepare(None).unwrap();
        std::fs::write(a.fs_dir().join("f"), b"x").unwrap();
        let a_id = a.id().to_string();
        let row = store.commit(a).unwrap();
        assert!(row.committed && !row.empty && row.size == 1);

        let b = store.prepare(Some(&a_id)).unwrap();
        let b_id = b.id().to_string();
        store.commit(b).unwrap();
        let c = store.prepare(Some(&b_id)).unwrap();
        let mount = store.active_mount(&c).unwrap();
        // The empty snapshot b adds no lower dir.
        assert_eq!(mount.options[3], format!("lowerdir={a_id}/fs"));
        assert_eq!(mount.options[4], format!("upperdir={}/fs", c.id()));
        assert_eq!(store.snapshot_chain(&b_id).unwrap().len(), 2);
    }

    /// A diff copied onto another parent: same entries, metadata and xattrs, files
    /// shared, so the layer tar is the same bytes.
    #[test]
    fn copy_diff_rebases_a_snapshot_without_copying_data() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), LockMode::Shared).unwrap();
        let layer = store.prepare(None).unwrap();
        let fs = layer.fs_dir();
        std::fs::create_dir_all(fs.join("usr/bin")).unwrap();
        std::fs::write(fs.join("usr/bin/tool"), b"tool").unwrap();
        std::os::unix::fs::symlink("tool", fs.join("usr/bin/alias")).unwrap();
        std::fs::set_permissions(fs.join("usr"), std::fs::Permissions::from_mode(0o750)).unwrap();
        rustix::fs::chown(fs.join("usr"), Some(rustix::fs::Uid::from_raw(7)), None).unwrap();
        let layer_id = layer.id().to_string();
        store.commit(layer).unwrap();
        let base = store.prepare(None).unwrap();
        std::fs::write(base.fs_dir().join("base"), b"b").unwrap();
        let base_id = base.id().to_string();
        store.commit(base).unwrap();

        let merged = store.prepare(Some(&base_id)).unwrap();
        store.copy_diff(&merged, &layer_id).unwrap();
        let to = merged.fs_dir();
        let (a, b) = (
            std::fs::metadata(fs_of(&store, &layer_id).join("usr")).unwrap(),
            std::fs::metadata(to.join("usr")).unwrap(),
        );
        assert_eq!(
            (b.mode(), b.uid(), b.mtime()),
            (a.mode(), a.uid(), a.mtime())
        );
        let tool = std::fs::metadata(to.join("usr/bin/tool")).unwrap();
        assert_eq!(tool.nlink(), 2, "hard-linked, not copied");
        assert_eq!(
            std::fs::read_link(to.join("usr/bin/alias"))
                .unwrap()
                .to_str(),
            Some("tool")
        );
        assert!(
            !to.join("base").exists(),
            "only the diff, not the parent's files"
        );
        let layer = |path: &std::path::Path| {
            let mut out = Vec::new();
            crate::layer::write_layer(path, &mut out, &Default::default()).unwrap();
            out
        };
        assert_eq!(layer(&to), layer(&fs_of(&store, &layer_id)));
    }

    fn fs_of(store: &Store, id: &str) -> std::path::PathBuf {
        store.root().snapshots_dir().join(id).join("fs")
    }

    #[test]
    fn aborted_and_active_snapshots_cannot_be_parents() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), LockMode::Shared).unwrap();
        let a = store.prepare(None).unwrap();
        let id = a.id().to_string();
        assert!(store.prepare(Some(&id)).is_err());
        store.abort(a).unwrap();
        assert!(store.prepare(Some(&id)).is_err());
        assert!(!store.root().snapshots_dir().join(&id).exists());
    }

    /// Two processes built the same step at once: the second commit adopts the first
    /// record's snapshot and its own is gone, row and dir.
    #[test]
    fn concurrent_builds_first_record_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), LockMode::Shared).unwrap();
        let commit = |on_conflict| {
            let active = store.prepare(None).unwrap();
            std::fs::write(active.fs_dir().join("f"), active.id()).unwrap();
            let record = CacheRecord {
                key: "sha256:k".into(),
                snapshot: active.id().to_string(),
                description: "RUN make".into(),
                created: 1,
                last_used: 1,
            };
            let id = active.id().to_string();
            (id, store.commit_step(active, &record, on_conflict).unwrap())
        };
        let (first, first_row) = commit(OnConflict::KeepFirst);
        assert_eq!(first_row.id, first);
        let (second, second_row) = commit(OnConflict::KeepFirst);
        assert_eq!(
            second_row, first_row,
            "the loser adopts the winner's snapshot"
        );
        assert_eq!(store.index().snapshot(&second).unwrap(), None);
        assert!(!store.root().snapshots_dir().join(&second).exists());
        let (record, _) = store.index().lookup_record("sha256:k").unwrap().unwrap();
        assert_eq!(record.snapshot, first);

        // `--no-cache` ran the step on purpose: its record replaces the first.
        let (third, third_row) = commit(OnConflict::Replace);
        assert_eq!(third_row.id, third);
        let (record, _) = store.index().lookup_record("sha256:k").unwrap().unwrap();
        assert_eq!(record.snapshot, third);
        assert!(
            store.committed_snapshot(&first).is_ok(),
            "images may use it"
        );
    }

    #[test]
    fn deep_tree_snapshot_abort_does_not_overflow() -> Result<(), Box<dyn std::error::Error>> {
        use crate::tree::testing::{DEEP, make_chain, on_small_stack};
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let gone = on_small_stack(move || {
            let store = Store::open(&root, LockMode::Shared)?;
            let active = store.prepare(None)?;
            make_chain(&active.fs_dir(), DEEP, b"")?;
            let gone = store.root().snapshots_dir().join(active.id());
            store.abort(active)?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(gone)
        })
        .map_err(|e| e.to_string())?;
        assert!(!gone.exists());
        Ok(())
    }
}
