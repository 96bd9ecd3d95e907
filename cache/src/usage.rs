//! `kiln cache du`: how much the build cache holds, and what prune would free.
//!
//! Sizes come from the snapshots table (the bytes of each snapshot's upper dir). A
//! record's size is its own snapshot's; the totals count each snapshot once, with the
//! ancestors the records keep alive:
//!
//! ```text
//!  Shared       snapshots of the cache that images in use (tagged, or run by a
//!               recorded container) use too
//!  Private      snapshots only the cache keeps
//!  Reclaimable  what `kiln cache prune` (no flags) would delete
//!  Total        Shared + Private
//! ```

use crate::error::Result;
use crate::gc::{Inventory, PruneOptions, plan};
use crate::store::Store;
use std::cmp::Reverse;

/// One cache record in `kiln cache du`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordUsage {
    /// The cache key (`sha256:…`).
    pub key: String,
    /// The instruction, e.g. `RUN make`.
    pub description: String,
    /// Bytes of the record's snapshot.
    pub size: u64,
    /// Last used (Unix seconds).
    pub last_used: i64,
    /// Whether no image in use needs the snapshot, so a plain prune removes it.
    pub reclaimable: bool,
}

/// The build cache's disk usage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Records, reclaimable ones first, then by size (largest first).
    pub records: Vec<RecordUsage>,
    /// Bytes of cache snapshots also used by images in use.
    pub shared: u64,
    /// Bytes of snapshots only the cache keeps.
    pub private: u64,
    /// Bytes a prune without flags would delete.
    pub reclaimable: u64,
    /// `shared + private`.
    pub total: u64,
}

impl Store {
    /// The build cache's disk usage. Read-only: a shared lock is enough, and snapshots
    /// of builds still running are simply not counted.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let inventory = Inventory::load(self)?;
        let usable = inventory.usable(|_| true);
        let in_use = inventory.in_use(&usable);
        let mut records: Vec<RecordUsage> = inventory
            .records
            .iter()
            .filter(|r| usable.contains(&r.snapshot))
            .map(|r| RecordUsage {
                key: r.key.clone(),
                description: r.description.clone(),
                size: inventory.snapshots.get(&r.snapshot).map_or(0, |s| s.size),
                last_used: r.last_used,
                reclaimable: !in_use.contains(r.snapshot.as_str()),
            })
            .collect();
        records.sort_by_key(|r| {
            (
                !r.reclaimable,
                Reverse(r.size),
                Reverse(r.last_used),
                r.key.clone(),
            )
        });
        let cache = inventory.closure(
            &usable,
            inventory.records.iter().map(|r| r.snapshot.as_str()),
        );
        let shared = inventory.size_of(cache.iter().copied().filter(|id| in_use.contains(id)));
        let private = inventory.size_of(cache.iter().copied().filter(|id| !in_use.contains(id)));
        let plan = plan(
            &inventory,
            &usable,
            &PruneOptions::default(),
            crate::root::unix_now(),
        );
        let reclaimable = inventory.size_of(
            plan.snapshots
                .iter()
                .map(String::as_str)
                .filter(|id| usable.contains(*id)),
        );
        Ok(DiskUsage {
            records,
            shared,
            private,
            reclaimable,
            total: shared + private,
        })
    }
}
