//! Unpacking an image's layers into snapshots, several at once.
//!
//! Each layer is unpacked into a snapshot dir of its own (an overlay upper dir needs
//! nothing of its parent to be written), so the layers of one image unpack in
//! parallel: [`Store::prepare_layers`] makes every active snapshot up front, each on
//! the one before (active parents are allowed only here), the layers are applied, each
//! verified against its diff id as it streams, and [`Store::commit_layers`] then
//! commits them in chain order, so only committed snapshots are ever parents of
//! anything used. A failure keeps the verified layers below the failed one (so the
//! next try resumes above them) and removes the rest.
//!
//! Where the bytes come from is the caller's: the content store here
//! ([`Store::image_snapshot`], for `kiln load` and images whose snapshots were pruned),
//! a registry stream for pulls (`registry::unpack`).

use crate::digest::HashingReader;
use crate::error::{CacheError, Result};
use crate::images::Image;
use crate::index::LayerRow;
use crate::layer::Compression;
use crate::oci::{Descriptor, ImageConfig, Manifest, chain_ids};
use crate::snapshot::ActiveSnapshot;
use crate::store::Store;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Layers unpacked at once from the content store (decompression is one core each).
const PARALLEL_UNPACKS: usize = 4;

/// One layer of an image that has no snapshot yet.
#[derive(Debug, Clone)]
pub struct LayerPlan {
    /// Its descriptor in the manifest.
    pub descriptor: Descriptor,
    /// The diff id the config lists for it.
    pub diff_id: String,
    /// The chain id of the image's filesystem up to and including it.
    pub chain: String,
}

/// What unpacking an image needs.
#[derive(Debug, Clone)]
pub struct UnpackPlan {
    /// The committed snapshot of the longest unpacked prefix of the image's layers.
    pub base: Option<String>,
    /// The layers above it, bottom first.
    pub missing: Vec<LayerPlan>,
}

impl Store {
    /// Which layers of the image (`manifest` with `config`, named `name` in errors)
    /// have no snapshot yet.
    pub fn unpack_plan(
        &self,
        name: &str,
        manifest: &Manifest,
        config: &ImageConfig,
    ) -> Result<UnpackPlan> {
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers.len() {
            return Err(CacheError::Snapshot {
                id: name.to_string(),
                reason: format!(
                    "config has {} diff ids but the manifest {} layers",
                    diff_ids.len(),
                    manifest.layers.len()
                ),
            });
        }
        let chains = chain_ids(diff_ids);
        let mut base = None;
        let mut unpacked = 0;
        for (depth, chain) in chains.iter().enumerate().rev() {
            if let Some(snapshot) = self.index().chain_snapshot(chain)? {
                base = Some(snapshot);
                unpacked = depth + 1;
                break;
            }
        }
        let missing = manifest
            .layers
            .iter()
            .zip(diff_ids)
            .zip(chains)
            .skip(unpacked)
            .map(|((descriptor, diff_id), chain)| LayerPlan {
                descriptor: descriptor.clone(),
                diff_id: diff_id.clone(),
                chain,
            })
            .collect();
        Ok(UnpackPlan { base, missing })
    }

    /// One active snapshot for each missing layer of `plan`, each on the one before
    /// (the first on `plan.base`). On an error, those already made are removed.
    pub fn prepare_layers(&self, plan: &UnpackPlan) -> Result<Vec<ActiveSnapshot>> {
        let mut actives: Vec<ActiveSnapshot> = Vec::with_capacity(plan.missing.len());
        for _ in &plan.missing {
            let parent = match actives.last() {
                Some(active) => Some(active.id().to_string()),
                None => plan.base.clone(),
            };
            match self.prepare_on(parent.as_deref()) {
                Ok(active) => actives.push(active),
                Err(e) => {
                    self.abort_all(actives);
                    return Err(e);
                }
            }
        }
        Ok(actives)
    }

    /// Commits the unpacked layers in chain order and returns the top snapshot.
    /// `results[i]` is layer i's outcome (`None`: skipped after another failed). When
    /// a layer failed, the verified layers below it are committed all the same (the
    /// next unpack of this or another image starts above them), every other snapshot
    /// is removed, and the error of the lowest failed layer is returned.
    pub fn commit_layers<E: From<CacheError>>(
        &self,
        plan: &UnpackPlan,
        actives: Vec<ActiveSnapshot>,
        results: Vec<Option<std::result::Result<(), E>>>,
    ) -> std::result::Result<Option<String>, E> {
        let mut top = plan.base.clone();
        let mut actives = actives.into_iter();
        let mut results = results.into_iter();
        for layer in &plan.missing {
            let Some(active) = actives.next() else { break };
            let failure = match results.next() {
                Some(Some(Ok(()))) => None,
                Some(Some(Err(e))) => Some(e),
                Some(None) | None => Some(E::from(CacheError::Snapshot {
                    id: layer.chain.clone(),
                    reason: "the layer was not unpacked".into(),
                })),
            };
            if let Some(e) = failure {
                self.abort_all(std::iter::once(active).chain(actives).collect());
                return Err(e);
            }
            let id = active.id().to_string();
            if let Err(e) = self.commit(active) {
                self.abort_all(actives.collect());
                return Err(e.into());
            }
            self.index().insert_layer(
                &id,
                &LayerRow {
                    diff_id: layer.diff_id.clone(),
                    digest: layer.descriptor.digest.clone(),
                    size: layer.descriptor.size,
                    media_type: layer.descriptor.media_type.clone(),
                },
            )?;
            self.index().insert_chain(&layer.chain, &id)?;
            top = Some(id);
        }
        Ok(top)
    }

    /// Removes active snapshots, top first (a leftover stays active: never used, and
    /// prune reclaims it).
    fn abort_all(&self, actives: Vec<ActiveSnapshot>) {
        for active in actives.into_iter().rev() {
            let _ = self.abort(active);
        }
    }

    /// The committed snapshot holding the image's filesystem (`None` for an image with
    /// no layers), unpacking from the content store the layers that have no snapshot
    /// yet, several at once.
    pub fn image_snapshot(&self, image: &Image) -> Result<Option<String>> {
        let plan = self.unpack_plan(&image.row.name, &image.manifest, &image.config)?;
        if plan.missing.is_empty() {
            return Ok(plan.base);
        }
        let actives = self.prepare_layers(&plan)?;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<()>>>> =
            Mutex::new((0..actives.len()).map(|_| None).collect());
        let workers = PARALLEL_UNPACKS
            .min(std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(actives.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let (Some(layer), Some(active)) = (plan.missing.get(i), actives.get(i))
                        else {
                            break;
                        };
                        let result = self.unpack_stored(active, layer);
                        let failed = result.is_err();
                        if let Ok(mut slots) = results.lock() {
                            slots[i] = Some(result);
                        }
                        if failed {
                            // Later layers are skipped: the image cannot be committed.
                            next.fetch_add(actives.len(), Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        self.commit_layers(&plan, actives, results)
    }

    /// Unpacks one layer from its blob in the content store.
    fn unpack_stored(&self, active: &ActiveSnapshot, layer: &LayerPlan) -> Result<()> {
        let blob = self.content().open_blob(&layer.descriptor.digest)?;
        unpack_blob(blob, layer, &active.fs_dir())
    }
}

/// Unpacks `layer` from its (compressed) blob into the empty snapshot dir `dest`,
/// checking its diff id.
pub(crate) fn unpack_blob(blob: impl Read, layer: &LayerPlan, dest: &Path) -> Result<()> {
    let mut tar = layer_reader(&layer.descriptor, BufReader::new(blob))?;
    apply_verified(dest, &mut tar, &layer.diff_id)
}

/// Unpacks the uncompressed layer stream `tar` into the empty snapshot dir `dest` and
/// checks that it has `diff_id`.
pub fn apply_verified(dest: &Path, tar: &mut dyn Read, diff_id: &str) -> Result<()> {
    let mut hashing = HashingReader::new(tar);
    // apply_layer reads the stream to its end, so the digest covers all of it.
    crate::layer::apply_layer(&mut hashing, dest)?;
    let (actual, _, _) = hashing.finish();
    if actual != diff_id {
        return Err(CacheError::DigestMismatch {
            expected: diff_id.to_string(),
            actual,
        });
    }
    Ok(())
}

/// The tar stream of `layer`, decompressing `blob` as its media type says.
pub(crate) fn layer_reader<'a>(
    layer: &Descriptor,
    blob: impl Read + 'a,
) -> Result<Box<dyn Read + 'a>> {
    let compression = Compression::of_media_type(&layer.media_type).ok_or_else(|| {
        CacheError::UnsupportedLayer {
            digest: layer.digest.clone(),
            media_type: layer.media_type.clone(),
        }
    })?;
    Ok(compression.reader(blob)?)
}
