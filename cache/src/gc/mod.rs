//! Garbage collection: `kiln cache prune`.
//!
//! Prune holds the state root exclusively, so nothing it finds half-done can still be
//! in progress. In order:
//!
//! 0. Delete the state root's reserve file: on a completely full disk this is the
//!    room SQLite needs for the deletions below (it is put back at the end).
//! 1. Decide ([`plan`]): the cache records to remove (dangling ones by default, all
//!    with `--all`, only those last used before `--filter until=…`, least recently
//!    used first until `--keep-storage` is met), then every snapshot that no remaining
//!    record and no image in use (tagged, or used by a recorded container) reaches
//!    through parents, plus the leftovers of killed builds (active snapshots, rows
//!    whose dir is gone and everything above them).
//! 2. Delete what no row names: `tmp-v1/*`, stale key locks (`locks-v1/*`),
//!    interrupted atomic writes and other formats' folders (more room on a full disk).
//! 3. Delete the rows in one transaction: records, snapshots, layers, chain ids.
//! 4. Delete the dirs: those of the deleted rows, and every dir of `snapshots-v1/`
//!    with no row (`new-*`, or a row deleted by a prune that was killed at step 4).
//! 5. Delete the blobs no image in use reaches (manifest, config, layers).
//! 6. Truncate SQLite's write-ahead log, then put the reserve back if it fits.
//!
//! Rows go before dirs: a crash in between leaves dirs without rows, which the next
//! prune reclaims; a row never points at a missing dir.

mod filter;
mod plan;
mod sweep;

pub use filter::Until;
pub(crate) use plan::{Inventory, plan};

use crate::error::Result;
use crate::root::{LockMode, StateRoot};
use crate::store::Store;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What `kiln cache prune` removes besides leftovers (which it always removes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// Remove every cache record, not only dangling ones. Snapshots of tagged images
    /// stay (the images still run); only their records go.
    pub all: bool,
    /// Only remove records last used before this.
    pub until: Option<Until>,
    /// Remove records (least recently used first) only until the cache holds at most
    /// this many bytes.
    pub keep_storage: Option<u64>,
}

/// A cache record that prune removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedRecord {
    /// The cache key (`sha256:…`).
    pub key: String,
    /// The instruction, e.g. `RUN make`.
    pub description: String,
    /// Bytes of the record's snapshot.
    pub size: u64,
}

/// What prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Cache records removed by the options, least recently used first.
    pub records: Vec<RemovedRecord>,
    /// Snapshot dirs removed (including leftovers of killed builds).
    pub snapshots: usize,
    /// Leftovers removed: dirs of active or unrecorded snapshots, temp files and
    /// folders of other formats.
    pub leftovers: Vec<PathBuf>,
    /// Bytes freed on disk: snapshot dirs, temp files, folders and blobs.
    pub reclaimed: u64,
}

/// Prunes the state root at `root`, taking its lock exclusively for the duration (it
/// waits for other kiln processes, up to `KILN_LOCK_TIMEOUT`).
pub fn prune(root: &Path, options: &PruneOptions) -> Result<PruneReport> {
    // 0. Room to write, even on a full disk: the reserve goes before the index opens.
    let root = StateRoot::open(root, LockMode::Exclusive)?;
    root.release_reserve()?;
    let store = Store::from_root(root)?;
    let snapshots_dir = store.root().snapshots_dir();
    let dirs: HashSet<String> = sweep::entry_names(&snapshots_dir)?
        .into_iter()
        .filter(|name| name != sweep::EMPTY_LOWER)
        .collect();

    // 1. Decide.
    let inventory = Inventory::load(&store)?;
    let usable = inventory.usable(|id| snapshots_dir.join(id).join("fs").is_dir());
    let plan = plan(&inventory, &usable, options, crate::root::unix_now());
    let mut report = PruneReport::default();

    // 2. What no row names: temp files, stale key locks, other formats' folders.
    let (leftovers, bytes) = sweep::remove_leftovers(store.root())?;
    report.leftovers.extend(leftovers);
    report.reclaimed += bytes;

    // 3. Rows, in one transaction.
    let mut keys: Vec<String> = plan.records.iter().map(|r| r.key.clone()).collect();
    keys.extend(plan.stale_records.iter().cloned());
    store
        .index()
        .remove_records_and_snapshots(&keys, &plan.snapshots)?;

    // 4. Snapshot dirs without a row now.
    let deleted: HashSet<&str> = plan.snapshots.iter().map(String::as_str).collect();
    let mut dirs: Vec<&String> = dirs.iter().collect();
    dirs.sort();
    for name in dirs {
        let row = inventory.snapshots.get(name.as_str());
        if row.is_some() && !deleted.contains(name.as_str()) {
            continue;
        }
        let path = snapshots_dir.join(name);
        report.reclaimed += crate::tree::remove_tree(&path)?;
        report.snapshots += 1;
        if !row.is_some_and(|r| r.committed) {
            report.leftovers.push(path);
        }
    }

    // 5. Blobs no image reaches.
    report.reclaimed += store.content().remove_blobs_except(&inventory.blobs)?;

    // 6. Give the log's space back, then take the reserve again. Both are best effort:
    // the pruning is done, and without a reserve the next prune still deletes what no
    // row names before it writes.
    let _ = store.index().checkpoint();
    store.root().ensure_reserve();

    report.records = plan
        .records
        .into_iter()
        .map(|r| RemovedRecord {
            size: inventory.snapshots.get(&r.snapshot).map_or(0, |s| s.size),
            key: r.key,
            description: r.description,
        })
        .collect();
    Ok(report)
}

#[cfg(test)]
mod tests;
