//! Pulling an image: resolve its manifest (mirrors first), fetch the config, then
//! download the layers that have no snapshot yet and unpack them as they stream
//! (several at once; `unpack.rs`), commit their snapshots once every blob and diff id
//! is verified, and only then store the manifest as received and tag it. A pull that
//! stops half way leaves only whole, verified blobs behind; the next one unpacks those
//! from the store and downloads the rest.

use super::error::{RegistryError, Result};
use super::fetcher::fetch_blob;
use super::resolver::{Resolved, resolve};
use super::unpack::{self, Origin};
use super::{NoProgress, PullProgress, Registries};
use crate::index::ImageRow;
use crate::oci::{Descriptor, ImageConfig, Manifest};
use crate::reference::Reference;
use crate::store::Store;
use futures_util::{StreamExt, TryStreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Layers fetched at once.
const PARALLEL_LAYERS: usize = 3;

/// Layer media types kiln unpacks: OCI's and docker's, plain, gzip or zstd.
const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
];

/// An image now in the store.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// Its row, named by the reference's canonical form.
    pub row: ImageRow,
    /// The host it came from (a mirror or the registry).
    pub host: String,
    /// Whether the tag moved (false: the store had this manifest under this name).
    pub updated: bool,
}

impl Registries {
    /// Finds the image manifest `reference` names: on each mirror in order, then on
    /// the registry, whose error is the one reported when all fail.
    async fn resolve(&self, reference: &Reference) -> Result<(Resolved, Arc<oci_client::Client>)> {
        for mirror in &self.config.host(&reference.registry).mirrors {
            let client = self.client(mirror).await?;
            if let Ok(found) = resolve(&client, mirror, reference, &self.platform).await {
                return Ok((found, client));
            }
        }
        let client = self.client(&reference.registry).await?;
        let found = resolve(&client, &reference.registry, reference, &self.platform).await?;
        Ok((found, client))
    }

    /// Pulls `reference` into `store`, reporting blob progress.
    pub async fn pull(
        &self,
        store: &Store,
        reference: &Reference,
        progress: &dyn PullProgress,
    ) -> Result<Pulled> {
        let (resolved, client) = self.resolve(reference).await?;
        let host = resolved.host.as_str();
        let what = format!("manifest of {}", reference.familiar());
        let manifest: Manifest =
            serde_json::from_slice(&resolved.bytes).map_err(|e| RegistryError::BadDocument {
                host: host.into(),
                what: what.clone(),
                reason: e.to_string(),
            })?;
        if let Some(layer) = manifest
            .layers
            .iter()
            .find(|l| !LAYER_TYPES.contains(&l.media_type.as_str()))
        {
            return Err(RegistryError::BadDocument {
                host: host.into(),
                what,
                reason: format!("layer media type `{}` is not supported", layer.media_type),
            });
        }
        let content = store.content();
        fetch_blob(
            &client,
            host,
            &resolved.remote,
            &manifest.config,
            content,
            &NoProgress,
            None,
        )
        .await?;
        let config: ImageConfig =
            serde_json::from_slice(&content.read_blob(&manifest.config.digest)?).map_err(|e| {
                RegistryError::BadDocument {
                    host: host.into(),
                    what: format!("config of {}", reference.familiar()),
                    reason: e.to_string(),
                }
            })?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(RegistryError::BadDocument {
                host: host.into(),
                what,
                reason: format!(
                    "{} layers but the config lists {} diff ids",
                    manifest.layers.len(),
                    config.rootfs.diff_ids.len()
                ),
            });
        }
        let origin = Origin {
            client: &client,
            host,
            remote: &resolved.remote,
            content,
            progress,
        };
        let plan = store.unpack_plan(&reference.canonical(), &manifest, &config)?;
        // Layers unpacked already whose blob the store lacks (pruned, or built here):
        // fetched for pushes to use, not unpacked again.
        let unpacked = &manifest.layers[..manifest.layers.len() - plan.missing.len()];
        let mut blobs_only: Vec<&Descriptor> = unpacked
            .iter()
            .filter(|l| !plan.missing.iter().any(|m| m.descriptor.digest == l.digest))
            .collect();
        blobs_only.sort_by(|a, b| a.digest.cmp(&b.digest));
        blobs_only.dedup_by(|a, b| a.digest == b.digest);
        futures_util::stream::iter(blobs_only)
            .map(|layer| {
                fetch_blob(
                    &client,
                    host,
                    &resolved.remote,
                    layer,
                    content,
                    progress,
                    None,
                )
            })
            .buffer_unordered(PARALLEL_LAYERS)
            .try_collect::<Vec<()>>()
            .await?;
        // Every layer unpacks into a snapshot of its own, several at once; they are
        // committed in order once all are verified. After a failure, layers not yet
        // started are skipped.
        let actives = store.prepare_layers(&plan)?;
        let failed = AtomicBool::new(false);
        let sources = unpack::sources(&plan.missing, content);
        let results = futures_util::stream::iter(plan.missing.iter().zip(sources).zip(&actives))
            .map(|((layer, source), active)| {
                let (origin, failed) = (&origin, &failed);
                async move {
                    if failed.load(Ordering::Relaxed) {
                        return None;
                    }
                    let result = origin.unpack(layer, source, active.fs_dir()).await;
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    Some(result)
                }
            })
            .buffered(PARALLEL_LAYERS)
            .collect::<Vec<_>>()
            .await;
        store.commit_layers(&plan, actives, results)?;
        // Where the blobs came from, for cross-repository mounts when pushing.
        let repository = resolved.remote.repository();
        for blob in manifest.layers.iter().chain([&manifest.config]) {
            store
                .index()
                .insert_blob_source(&blob.digest, host, repository)?;
        }
        // The bytes as received: their digest is the one resolved.
        content.write_blob(&resolved.bytes)?;
        let row = crate::images::image_row(
            &reference.canonical(),
            &resolved.digest,
            resolved.bytes.len(),
            &manifest,
            &config,
        );
        let updated = store.index().image(&row.name)?.as_ref() != Some(&row);
        store.tag_image(&row)?;
        Ok(Pulled {
            row,
            host: resolved.host,
            updated,
        })
    }
}
