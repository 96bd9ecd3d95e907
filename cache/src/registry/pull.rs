//! Pulling an image: resolve its manifest (mirrors first), fetch the config and the
//! layers the store lacks (several at once, each verified before it is committed), then
//! store the manifest as received, unpack the layers and tag it. A pull that stops half
//! way leaves only whole blobs behind; the next one finds them and fetches the rest.

use super::error::{RegistryError, Result};
use super::fetcher::fetch_blob;
use super::resolver::{Resolved, resolve};
use super::{PullProgress, Registries};
use crate::images::Image;
use crate::index::ImageRow;
use crate::oci::{ImageConfig, Manifest};
use crate::reference::Reference;
use crate::store::Store;
use futures_util::{StreamExt, TryStreamExt};
use std::sync::Arc;

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

    /// Pulls `reference` into `store`, reporting blob progress, and unpacks its layers
    /// into snapshots before tagging it. Runs on a multi-thread tokio runtime only (the
    /// unpacking blocks its worker through `block_in_place`).
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
            progress,
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
        let mut layers = manifest.layers.clone();
        layers.sort_by(|a, b| a.digest.cmp(&b.digest));
        layers.dedup_by(|a, b| a.digest == b.digest);
        futures_util::stream::iter(&layers)
            .map(|layer| fetch_blob(&client, host, &resolved.remote, layer, content, progress))
            .buffer_unordered(PARALLEL_LAYERS)
            .try_collect::<Vec<()>>()
            .await?;
        // Where the blobs came from, for cross-repository mounts when pushing.
        let repository = resolved.remote.repository();
        for blob in layers.iter().chain([&manifest.config]) {
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
        let image = Image {
            row: row.clone(),
            manifest,
            config,
        };
        // Unpacked before it is tagged, as `kiln load` does: an image with a layer kiln
        // refuses (one that would write outside its root) never gets a name.
        tokio::task::block_in_place(|| store.image_snapshot(&image))?;
        let updated = store.index().image(&row.name)?.as_ref() != Some(&row);
        store.tag_image(&row)?;
        Ok(Pulled {
            row,
            host: resolved.host,
            updated,
        })
    }
}
