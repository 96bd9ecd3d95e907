//! OCI archives (`skopeo copy … oci-archive:`, an image layout in a tar): `index.json`
//! names manifests (or nested indexes, of which the host's platform is picked); every
//! manifest, config and layer is checked against its descriptor, and kept as it is.

use super::spool::Spool;
use super::{Candidate, LoadError, ManifestSource, parse_config};
use crate::error::Result;
use crate::oci::{ANNOTATION_REF_NAME, Descriptor, ImageIndex, Manifest, host_architecture};

/// containerd's annotation for an image's full name.
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

/// The images an OCI archive holds, every blob checked.
pub(super) fn images(spool: &Spool) -> Result<Vec<Candidate<'_>>> {
    let index = read_index(spool, "index.json", spool.get("index.json")?)?;
    index
        .manifests
        .iter()
        .map(|descriptor| {
            let names: Vec<String> = descriptor
                .annotations
                .get(ANNOTATION_IMAGE_NAME)
                .or_else(|| descriptor.annotations.get(ANNOTATION_REF_NAME))
                .cloned()
                .into_iter()
                .collect();
            let descriptor = platform_manifest(spool, descriptor)?;
            let path = blob_path(&descriptor.digest);
            let file = spool.verified(&path, &descriptor)?;
            let manifest: Manifest = serde_json::from_slice(&spool.read_document(file, &path)?)
                .map_err(|e| LoadError::json(&path, e))?;
            let config_path = blob_path(&manifest.config.digest);
            let config = spool.verified(&config_path, &manifest.config)?;
            let parsed = parse_config(spool, config, &config_path)?;
            let layers = manifest
                .layers
                .iter()
                .map(|layer| spool.verified(&blob_path(&layer.digest), layer))
                .collect::<Result<Vec<_>>>()?;
            Candidate::new(
                names,
                config,
                &parsed,
                layers,
                ManifestSource::Archived(file),
            )
        })
        .collect()
}

/// The manifest `descriptor` names: itself, or, for a nested index, the entry for
/// this machine's platform (or its only entry).
fn platform_manifest(spool: &Spool, descriptor: &Descriptor) -> Result<Descriptor> {
    if !descriptor.media_type.contains("index") && !descriptor.media_type.contains("list") {
        return Ok(descriptor.clone());
    }
    let path = blob_path(&descriptor.digest);
    let nested = read_index(spool, &path, spool.verified(&path, descriptor)?)?;
    let host = |d: &&Descriptor| {
        let platform = d.extra.get("platform");
        platform.and_then(|p| p.get("os")).and_then(|v| v.as_str()) == Some("linux")
            && platform
                .and_then(|p| p.get("architecture"))
                .and_then(|v| v.as_str())
                == Some(host_architecture())
    };
    let found = match nested.manifests.as_slice() {
        [only] => Some(only),
        all => all.iter().find(host),
    };
    found.cloned().ok_or_else(|| {
        LoadError::Unsupported {
            what: format!(
                "index {} has no manifest for linux/{}",
                descriptor.digest,
                host_architecture()
            ),
        }
        .into()
    })
}

fn read_index(spool: &Spool, path: &str, file: &super::spool::Spooled) -> Result<ImageIndex> {
    Ok(serde_json::from_slice(&spool.read_document(file, path)?)
        .map_err(|e| LoadError::json(path, e))?)
}

/// Where an image layout keeps the blob `digest`.
fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}
