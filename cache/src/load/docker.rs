//! docker-archive (`docker save`, `skopeo copy … docker-archive:`): `manifest.json`
//! lists each image's config file, layer tars and tags. kiln writes an OCI manifest
//! for each; the config keeps its bytes, so the image id is the same.

use super::spool::Spool;
use super::{Candidate, LoadError, ManifestSource, parse_config};
use crate::error::Result;
use crate::oci::{
    Descriptor, Extra, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR,
    MEDIA_TYPE_MANIFEST, Manifest,
};
use serde::Deserialize;
use std::io::Read;

/// One entry of `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// The images a docker-archive holds, every file checked.
pub(super) fn images(spool: &Spool) -> Result<Vec<Candidate<'_>>> {
    let file = spool.get("manifest.json")?;
    let entries: Vec<Entry> = serde_json::from_slice(&spool.read_document(file, "manifest.json")?)
        .map_err(|e| LoadError::json("manifest.json", e))?;
    entries
        .into_iter()
        .map(|entry| {
            let config = spool.get(&entry.config)?;
            // Docker names the config by its digest: check it where it does.
            let stem = entry.config.rsplit('/').next().unwrap_or_default();
            let stem = stem.strip_suffix(".json").unwrap_or(stem);
            if stem.len() == 64 && format!("sha256:{stem}") != config.digest {
                return Err(LoadError::Mismatch {
                    path: entry.config.clone(),
                    expected: format!("sha256:{stem}"),
                    actual: config.digest.clone(),
                }
                .into());
            }
            let parsed = parse_config(spool, config, &entry.config)?;
            let mut layers = Vec::new();
            for name in &entry.layers {
                let layer = spool.get(name)?;
                let descriptor = Descriptor {
                    media_type: layer_media_type(spool, layer, name)?.into(),
                    digest: layer.digest.clone(),
                    size: layer.size,
                    ..Default::default()
                };
                layers.push((descriptor, layer));
            }
            let manifest = Manifest {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_MANIFEST.into()),
                config: Descriptor {
                    media_type: MEDIA_TYPE_CONFIG.into(),
                    digest: config.digest.clone(),
                    size: config.size,
                    ..Default::default()
                },
                layers: layers.iter().map(|(d, _)| d.clone()).collect(),
                extra: Extra::new(),
            };
            Candidate::new(
                entry.repo_tags.unwrap_or_default(),
                config,
                &parsed,
                layers.into_iter().map(|(_, l)| l).collect(),
                ManifestSource::Written(manifest),
            )
        })
        .collect()
}

/// A docker-archive's layers are plain tars, or gzip'd ones in newer archives.
fn layer_media_type(
    spool: &Spool,
    layer: &super::spool::Spooled,
    name: &str,
) -> Result<&'static str> {
    let mut magic = [0u8; 2];
    let n = spool
        .open(layer)?
        .read(&mut magic)
        .map_err(|e| LoadError::read_file(name, e))?;
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        MEDIA_TYPE_LAYER_GZIP
    } else {
        MEDIA_TYPE_LAYER_TAR
    })
}
