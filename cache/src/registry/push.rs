//! Pushing an image: its layers leave compressed (`outbound.rs`), the manifest is
//! rewritten to name those blobs in OCI or Docker media types, then the blobs the
//! registry lacks go up (`pusher.rs`), the layers and the config several at once, and
//! the manifest last, as the exact bytes whose digest is reported.

use super::error::{RegistryError, Result};
use super::hosts::Role;
use super::pusher::Destination;
use super::resolver::DOCKER_MANIFEST;
use super::{PushProgress, Registries};
use crate::images::Image;
use crate::layer::Compression;
use crate::oci::{self, Descriptor, Manifest};
use crate::outbound::ExportCompression;
use crate::reference::Reference;
use crate::store::Store;
use futures_util::{StreamExt, TryStreamExt};

/// Blobs uploaded at once, as many as a pull fetches.
const PARALLEL_UPLOADS: usize = 3;
/// Docker's media type of an image config.
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// The media types a pushed manifest uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaTypes {
    Oci,
    Docker,
}

/// An image ready to push: its outbound manifest and the blobs it names.
#[derive(Debug, Clone)]
pub struct Upload {
    config_digest: String,
    manifest: Manifest,
    /// The manifest as sent; its digest is the pushed image's.
    bytes: Vec<u8>,
    media_type: &'static str,
    /// Layers compressed to make this upload.
    pub compressed: usize,
}

/// A pushed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub digest: String,
    pub size: u64,
}

impl Upload {
    /// Makes the outbound blobs of `image` (compressing what was never compressed this
    /// way) and its manifest in `media_types` (`None`: the ones the image has; zstd
    /// layers always take OCI's, which alone has a type for them, as in BuildKit).
    pub fn prepare(
        store: &Store,
        image: &Image,
        how: &ExportCompression,
        media_types: Option<MediaTypes>,
    ) -> Result<Self> {
        let mut compressed = 0;
        let mut layers = Vec::with_capacity(image.manifest.layers.len());
        for (local, diff_id) in image
            .manifest
            .layers
            .iter()
            .zip(&image.config.rootfs.diff_ids)
        {
            let layer = store.outbound_layer(local, diff_id, how)?;
            compressed += usize::from(layer.compressed_now);
            layers.push(layer.descriptor);
        }
        let zstd = layers
            .iter()
            .any(|l| Compression::of_media_type(&l.media_type) == Some(Compression::Zstd));
        let types = match media_types {
            _ if zstd => MediaTypes::Oci,
            Some(types) => types,
            None if image.manifest.media_type.as_deref() == Some(DOCKER_MANIFEST) => {
                MediaTypes::Docker
            }
            None => MediaTypes::Oci,
        };
        for layer in &mut layers {
            if let Some(compression) = Compression::of_media_type(&layer.media_type) {
                layer.media_type = layer_media_type(types, compression).into();
            }
        }
        let (media_type, config_type) = match types {
            MediaTypes::Oci => (oci::MEDIA_TYPE_MANIFEST, oci::MEDIA_TYPE_CONFIG),
            MediaTypes::Docker => (DOCKER_MANIFEST, DOCKER_CONFIG),
        };
        let manifest = Manifest {
            media_type: Some(media_type.into()),
            config: Descriptor {
                media_type: config_type.into(),
                ..image.manifest.config.clone()
            },
            layers,
            ..image.manifest.clone()
        };
        // An image that leaves unchanged (a pulled one) keeps its bytes and digest.
        let bytes = if manifest == image.manifest {
            store.content().read_blob(&image.row.manifest_digest)?
        } else {
            serde_json::to_vec(&manifest)
                .map_err(|e| crate::error::CacheError::json("image manifest", e))?
        };
        Ok(Self {
            config_digest: image.manifest.config.digest.clone(),
            manifest,
            bytes,
            media_type,
            compressed,
        })
    }

    /// The digest of the manifest as sent.
    pub fn digest(&self) -> String {
        crate::digest::sha256_digest(&self.bytes)
    }
}

/// The media type of a layer compressed with `compression` in `types`.
fn layer_media_type(types: MediaTypes, compression: Compression) -> &'static str {
    match (types, compression) {
        (MediaTypes::Docker, Compression::Uncompressed) => oci::MEDIA_TYPE_DOCKER_LAYER_TAR,
        (MediaTypes::Docker, Compression::Gzip) => oci::MEDIA_TYPE_DOCKER_LAYER_GZIP,
        (_, compression) => compression.media_type(),
    }
}

impl Registries {
    /// Pushes `upload` as `target` (a tag), reporting each layer, and records where its
    /// blobs now are (for later mounts) and the digest it was pushed as.
    pub async fn push(
        &self,
        store: &Store,
        upload: &Upload,
        target: &Reference,
        progress: &dyn PushProgress,
    ) -> Result<Pushed> {
        let host = target.registry.as_str();
        let remote = oci_client::Reference::with_tag(
            host.to_string(),
            target.repository.clone(),
            target.tag.clone().unwrap_or_else(|| "latest".into()),
        );
        let (requests, chunked, monolithic) = (
            self.client(host).await?,
            self.client_for(host, Role::ChunkedUpload).await?,
            self.client_for(host, Role::WholeUpload).await?,
        );
        let destination = Destination {
            host,
            remote: &remote,
            requests: &requests,
            chunked: &chunked,
            monolithic: &monolithic,
        };
        let index = store.index();
        let mut seen = std::collections::BTreeSet::new();
        let layers = upload
            .manifest
            .layers
            .iter()
            .filter(|layer| seen.insert(layer.digest.as_str()));
        // The config goes up with the layers; only layers are reported, as docker does.
        let config = &upload.manifest.config;
        let blobs = layers.map(|layer| (layer, true)).chain([(config, false)]);
        let destination = &destination;
        futures_util::stream::iter(blobs)
            .map(|(blob, is_layer)| async move {
                let sources = index.blob_sources(&blob.digest, host)?;
                let done = destination
                    .push_blob(blob, &sources, store.content())
                    .await?;
                index.insert_blob_source(&blob.digest, host, &target.repository)?;
                if is_layer {
                    progress.layer(&blob.digest, &done);
                }
                Ok::<_, RegistryError>(())
            })
            .buffer_unordered(PARALLEL_UPLOADS)
            .try_collect::<Vec<()>>()
            .await?;
        let content_type = http::HeaderValue::from_static(upload.media_type);
        requests
            .push_manifest_raw(&remote, upload.bytes.clone(), content_type)
            .await
            .map_err(|source| RegistryError::Remote {
                host: host.into(),
                what: format!("pushing the manifest of {}", target.familiar()),
                source,
            })?;
        let digest = upload.digest();
        index.insert_pushed(&target.name(), &upload.config_digest, &digest)?;
        Ok(Pushed {
            digest,
            size: upload.bytes.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_types_exist_for_plain_and_gzip_layers_only() {
        use Compression::*;
        for (types, compression, expected) in [
            (MediaTypes::Docker, Gzip, oci::MEDIA_TYPE_DOCKER_LAYER_GZIP),
            (
                MediaTypes::Docker,
                Uncompressed,
                oci::MEDIA_TYPE_DOCKER_LAYER_TAR,
            ),
            (MediaTypes::Oci, Gzip, oci::MEDIA_TYPE_LAYER_GZIP),
            (MediaTypes::Oci, Zstd, oci::MEDIA_TYPE_LAYER_ZSTD),
        ] {
            assert_eq!(layer_media_type(types, compression), expected);
        }
    }
}
