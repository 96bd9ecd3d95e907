//! [`StoreBackend`]: the traits of [`super`] on a `kiln_cache::Store`.

use super::{Active, Cache, Committed, FileBackend, FileSources, KeyGuard, Snapshotter};
use crate::error::{Result, SolveError};
use crate::op::FileOp;
use kiln_cache::index::{CacheRecord, Index, OnConflict};
use kiln_cache::oci::chain_ids;
use kiln_cache::{ActiveSnapshot, OverlayMount, Store};
use std::sync::Arc;

/// Snapshots, cache records, base images and file operations in a store.
pub struct StoreBackend {
    store: Arc<Store>,
}

impl StoreBackend {
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}

/// The store's active snapshot inside an [`Active`].
pub(super) fn store_active(active: &Active) -> Result<&ActiveSnapshot> {
    active.handle().ok_or_else(not_ours)
}

fn not_ours() -> SolveError {
    SolveError::Io(std::io::Error::other(
        "active snapshot from another snapshotter",
    ))
}

impl Snapshotter for StoreBackend {
    fn prepare(&self, parent: Option<&str>) -> Result<Active> {
        let active = self.store.prepare(parent)?;
        match self.store.active_mount(&active) {
            Ok(root) => Ok(Active::new(
                active.id().to_string(),
                root,
                active.mount_dir(),
                active,
            )),
            Err(e) => Err(self.store.abort_after(active, e.into())),
        }
    }

    fn view(&self, snapshot: Option<&str>) -> Result<OverlayMount> {
        Ok(self.store.readonly_mount(snapshot)?)
    }

    fn commit(
        &self,
        active: Active,
        record: &CacheRecord,
        on_conflict: OnConflict,
    ) -> Result<Committed> {
        let active: ActiveSnapshot = active.into_handle().ok_or_else(not_ours)?;
        let row = self.store.commit_step(active, record, on_conflict)?;
        Ok(Committed {
            snapshot: Some(row.id),
            created: row.created,
            empty: row.empty,
        })
    }

    fn copy_diff(&self, active: &Active, from: &str) -> Result<()> {
        Ok(self.store.copy_diff(store_active(active)?, from)?)
    }

    fn remove(&self, active: Active) -> Result<()> {
        let active: ActiveSnapshot = active.into_handle().ok_or_else(not_ours)?;
        Ok(self.store.abort(active)?)
    }

    fn discard_copy_up(&self, active: &Active, dir: &str) -> Result<()> {
        Ok(self.store.discard_copy_up(store_active(active)?, dir)?)
    }
}

impl Cache for StoreBackend {
    fn lookup(&self, key: &str) -> Result<Option<Committed>> {
        Ok(self
            .store
            .index()
            .lookup_record(key)?
            .map(|(record, empty)| Committed {
                snapshot: Some(record.snapshot),
                created: record.created,
                empty,
            }))
    }

    fn try_lock(&self, key: &str) -> Result<Option<KeyGuard>> {
        Ok(self
            .store
            .try_lock_key(key)?
            .map(|lock| Box::new(lock) as KeyGuard))
    }

    fn touch(&self, keys: &[String]) -> Result<()> {
        Ok(self
            .store
            .index()
            .touch_records(keys, kiln_cache::root::unix_now())?)
    }

    fn image(&self, manifest: &str) -> Result<Option<Committed>> {
        let image = self.store.image_by_manifest(manifest)?;
        let snapshot = match chain_ids(&image.config.rootfs.diff_ids).pop() {
            Some(chain) => match self.store.index().chain_snapshot(&chain)? {
                Some(id) => Some(id),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(Committed {
            snapshot,
            created: image.row.created,
            empty: false,
        }))
    }

    fn unpack_image(&self, manifest: &str) -> Result<Committed> {
        let image = self.store.image_by_manifest(manifest)?;
        Ok(Committed {
            snapshot: self.store.image_snapshot(&image)?,
            created: image.row.created,
            empty: false,
        })
    }

    fn stat_cache(&self) -> Option<&Index> {
        Some(self.store.index())
    }
}

impl FileBackend for StoreBackend {
    fn apply(&self, active: &Active, op: &FileOp, sources: FileSources<'_>) -> Result<()> {
        super::file::apply(&self.store, active, op, &sources)
    }
}
