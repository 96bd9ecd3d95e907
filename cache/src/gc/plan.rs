//! What prune removes, decided in memory from the index's rows before anything is
//! deleted, so the same rules serve `kiln cache prune` and `kiln cache du`.
//!
//! ```text
//!  image app:1 ── chain ids ──▶ s1 ◀── s2 ◀── s3        in use by images: s1 s2 s3
//!                                 ▲                    (chains, their ancestors and
//!  record "RUN make" ──────────▶ s4 ◀── s5 (empty)      the empty steps on top)
//!  record "RUN test" ───────────────────▲
//! ```
//! A record is *dangling* when its snapshot is not in use by an image (s4, s5 above);
//! images in use are the tagged ones and those recorded containers use.
//! After records are removed, every snapshot that no remaining record and no image
//! reaches (through parents) is deleted.

use super::PruneOptions;
use crate::error::{CacheError, Result};
use crate::index::{CacheRecord, SnapshotRow};
use crate::oci::chain_ids;
use crate::store::Store;
use std::collections::{HashMap, HashSet};

/// The index's rows that reachability needs, read once.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub snapshots: HashMap<String, SnapshotRow>,
    pub records: Vec<CacheRecord>,
    /// Chain id → the snapshot holding that filesystem.
    pub chains: HashMap<String, String>,
    /// The chain ids of each tagged image and each image a recorded container uses,
    /// bottom layer first.
    pub images: Vec<Vec<String>>,
    /// Blobs reachable from those images: manifests, configs, layers (and their
    /// compressed exports).
    pub blobs: HashSet<String>,
}

impl Inventory {
    /// Reads the rows, and the manifests and configs of every image tagged in the
    /// index or listed in `index.json`, or used by a recorded container (tagged or not:
    /// `kiln rmi -f` leaves it dangling for its containers, as docker does).
    pub fn load(store: &Store) -> Result<Self> {
        let index = store.index();
        let mut manifests: Vec<String> = index
            .images()?
            .into_iter()
            .map(|image| image.manifest_digest)
            .collect();
        manifests.extend(store.content().manifests()?.into_iter().map(|d| d.digest));
        manifests.extend(store.container_manifests()?);
        manifests.sort();
        manifests.dedup();
        let mut inventory = Self {
            snapshots: index
                .snapshots()?
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
            records: index.all_records()?,
            chains: index.chains()?.into_iter().collect(),
            ..Self::default()
        };
        for digest in manifests {
            inventory.blobs.insert(digest.clone());
            let image = match store.image_by_manifest(&digest) {
                Ok(image) => image,
                // A tag whose manifest or config is gone protects nothing more.
                Err(CacheError::MissingBlob { .. }) => continue,
                Err(e) => return Err(e),
            };
            inventory.blobs.insert(image.manifest.config.digest.clone());
            inventory
                .blobs
                .extend(image.manifest.layers.iter().map(|l| l.digest.clone()));
            // Blobs made when its layers left the machine, so the next export reuses them.
            for diff_id in &image.config.rootfs.diff_ids {
                inventory.blobs.extend(index.layer_blob_digests(diff_id)?);
            }
            inventory
                .images
                .push(chain_ids(&image.config.rootfs.diff_ids));
        }
        Ok(inventory)
    }

    /// Snapshots that can stay: committed, with their dir present (`has_dir`), and a
    /// usable parent. Active snapshots (a build was killed) and everything above a
    /// missing dir are not usable.
    pub fn usable(&self, has_dir: impl Fn(&str) -> bool) -> HashSet<String> {
        let mut state: HashMap<&str, bool> = HashMap::new();
        for id in self.snapshots.keys() {
            // Walk down while each snapshot is fine on its own; the verdict (did the
            // walk reach the bottom, or a known-usable snapshot?) holds for the path.
            let mut path: Vec<&str> = Vec::new();
            let mut next = Some(id.as_str());
            let verdict = loop {
                let Some(current) = next else { break true };
                if let Some(&known) = state.get(current) {
                    break known;
                }
                let Some(row) = self.snapshots.get(current) else {
                    break false;
                };
                if !row.committed || !has_dir(current) || path.contains(&current) {
                    break false;
                }
                path.push(current);
                next = row.parent.as_deref();
            };
            for current in path {
                state.insert(current, verdict);
            }
        }
        state
            .into_iter()
            .filter(|(_, ok)| *ok)
            .map(|(id, _)| id.to_string())
            .collect()
    }

    /// `roots` and all their ancestors (only usable snapshots).
    pub fn closure<'a>(
        &'a self,
        usable: &HashSet<String>,
        roots: impl IntoIterator<Item = &'a str>,
    ) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        for root in roots {
            let mut next = Some(root);
            while let Some(id) = next {
                let Some((key, row)) = self.snapshots.get_key_value(id) else {
                    break;
                };
                if !usable.contains(id) || !seen.insert(key.as_str()) {
                    break;
                }
                next = row.parent.as_deref();
            }
        }
        seen
    }

    /// Snapshots in use by images ([`Inventory::images`]): the snapshots of their chain ids with all
    /// ancestors, plus empty snapshots right on top of an image's top snapshot (a
    /// trailing step that changed nothing adds no chain id, yet it is the image's).
    pub fn in_use(&self, usable: &HashSet<String>) -> HashSet<&str> {
        let mut roots = Vec::new();
        let mut tops = HashSet::new();
        let mut layerless_image = false;
        for chain in &self.images {
            let snapshots: Vec<&str> = chain
                .iter()
                .filter_map(|c| self.chains.get(c))
                .map(String::as_str)
                .filter(|s| usable.contains(*s))
                .collect();
            roots.extend(&snapshots);
            match chain.last() {
                None => layerless_image = true,
                Some(top) => tops.extend(self.chains.get(top).map(String::as_str)),
            }
        }
        let mut in_use = self.closure(usable, roots);
        for (id, row) in &self.snapshots {
            if !row.empty || !usable.contains(id) {
                continue;
            }
            let mut below = row.parent.as_deref();
            let mut hops = 0;
            while let Some(p) = below.and_then(|p| self.snapshots.get(p))
                && p.empty
                && hops < self.snapshots.len()
            {
                below = p.parent.as_deref();
                hops += 1;
            }
            if below.map_or(layerless_image, |b| tops.contains(b)) {
                in_use.extend(self.closure(usable, [id.as_str()]));
            }
        }
        in_use
    }

    /// Bytes of the distinct snapshots in `ids`.
    pub fn size_of<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> u64 {
        ids.into_iter()
            .filter_map(|id| self.snapshots.get(id))
            .map(|row| row.size)
            .sum()
    }

    /// Bytes the cache holds: the snapshots of `records` with their ancestors.
    pub fn cache_size<'a>(
        &'a self,
        usable: &HashSet<String>,
        records: impl IntoIterator<Item = &'a CacheRecord>,
    ) -> u64 {
        let closure = self.closure(usable, records.into_iter().map(|r| r.snapshot.as_str()));
        self.size_of(closure)
    }
}

/// The rows prune deletes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Records removed by the options, least recently used first.
    pub records: Vec<CacheRecord>,
    /// Records whose snapshot is gone or unusable.
    pub stale_records: Vec<String>,
    /// Snapshots that nothing keeps any more, and unusable ones.
    pub snapshots: Vec<String>,
}

/// Decides what to remove at time `now`.
pub(crate) fn plan(
    inventory: &Inventory,
    usable: &HashSet<String>,
    options: &PruneOptions,
    now: i64,
) -> Plan {
    let in_use = inventory.in_use(usable);
    let cutoff = options.until.map(|u| u.cutoff(now));
    let (mut valid, stale): (Vec<&CacheRecord>, Vec<&CacheRecord>) = inventory
        .records
        .iter()
        .partition(|r| usable.contains(&r.snapshot));
    valid.sort_by(|a, b| (a.last_used, a.created, &a.key).cmp(&(b.last_used, b.created, &b.key)));
    let removable = |r: &CacheRecord| {
        (options.all || !in_use.contains(r.snapshot.as_str()))
            && cutoff.is_none_or(|c| r.last_used < c)
    };
    let mut removed: HashSet<&str> = HashSet::new();
    match options.keep_storage {
        None => removed.extend(
            valid
                .iter()
                .filter(|r| removable(r))
                .map(|r| r.key.as_str()),
        ),
        Some(limit) => {
            for record in valid.iter().filter(|r| removable(r)) {
                let kept = valid
                    .iter()
                    .copied()
                    .filter(|r| !removed.contains(r.key.as_str()));
                if inventory.cache_size(usable, kept) <= limit {
                    break;
                }
                removed.insert(&record.key);
            }
        }
    }
    let kept_records = valid.iter().filter(|r| !removed.contains(r.key.as_str()));
    let keep = inventory.closure(usable, kept_records.map(|r| r.snapshot.as_str()));
    let mut snapshots: Vec<String> = inventory
        .snapshots
        .keys()
        .filter(|id| !keep.contains(id.as_str()) && !in_use.contains(id.as_str()))
        .cloned()
        .collect();
    snapshots.sort();
    Plan {
        records: valid
            .into_iter()
            .filter(|r| removed.contains(r.key.as_str()))
            .cloned()
            .collect(),
        stale_records: stale.into_iter().map(|r| r.key.clone()).collect(),
        snapshots,
    }
}
