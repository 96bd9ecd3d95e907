//! The image store: tags in the index, manifests and configs in the content store,
//! and each tag mirrored into the layout's `index.json` (ref.name annotation, in
//! docker's familiar form: `app:1`, not `docker.io/library/app:1`) so
//! `skopeo inspect oci:<content dir>:app:1` finds it under the name a user typed.

use crate::error::{CacheError, Result};
use crate::index::ImageRow;
use crate::oci::{
    ANNOTATION_REF_NAME, Descriptor, History, ImageConfig, MEDIA_TYPE_MANIFEST, Manifest,
};
use crate::store::Store;
use std::collections::BTreeMap;

/// An image read from the store.
#[derive(Debug, Clone)]
pub struct Image {
    pub row: ImageRow,
    pub manifest: Manifest,
    pub config: ImageConfig,
}

impl Image {
    /// The config's history, newest first, each entry with the layer it added (`None`
    /// for an empty layer). Layers without a history entry get an empty one.
    pub fn history(&self) -> Vec<(History, Option<&Descriptor>)> {
        let mut layers = self.manifest.layers.iter();
        let mut rows: Vec<(History, Option<&Descriptor>)> = self
            .config
            .history
            .iter()
            .map(|h| {
                let layer = if h.empty_layer { None } else { layers.next() };
                (h.clone(), layer)
            })
            .collect();
        rows.extend(layers.map(|l| (History::default(), Some(l))));
        rows.reverse();
        rows
    }
}

impl Store {
    /// Points the tag `name` (normalised) at a manifest and republishes index.json.
    pub fn tag_image(&self, row: &ImageRow) -> Result<()> {
        if self.index().image(&row.name)?.as_ref() == Some(row) {
            return Ok(());
        }
        self.index().set_image(row, |all| self.publish_tags(all))
    }

    /// Tags the image `source` (a name or an image id) as `target` too.
    pub fn add_tag(&self, source: &str, target: &str) -> Result<ImageRow> {
        let mut row = self.find_image(source)?.row;
        row.name = crate::reference::tag_reference(target)?;
        self.tag_image(&row)?;
        Ok(row)
    }

    /// Removes the tag `name` (normalised) and republishes index.json.
    pub fn untag_image(&self, name: &str) -> Result<()> {
        self.index()
            .remove_image(name, |all| self.publish_tags(all))
    }

    /// Writes index.json: one manifest descriptor per tag.
    fn publish_tags(&self, all: &[ImageRow]) -> Result<()> {
        let manifests: Vec<Descriptor> = all
            .iter()
            .map(|image| Descriptor {
                media_type: MEDIA_TYPE_MANIFEST.into(),
                digest: image.manifest_digest.clone(),
                size: image.manifest_size,
                annotations: BTreeMap::from([(
                    ANNOTATION_REF_NAME.into(),
                    crate::reference::familiar(&image.name),
                )]),
                extra: BTreeMap::new(),
            })
            .collect();
        self.content().write_index(&manifests)
    }

    /// Reads the image tagged `reference` with its manifest and config.
    pub fn image(&self, reference: &str) -> Result<Image> {
        let parsed = crate::reference::Reference::parse(reference)?;
        let name = parsed.canonical();
        let found = match &parsed.digest {
            // A pinned reference names a manifest (or the index a pull resolved): any
            // tag of the repository that has it.
            Some(digest) => self.index().images()?.into_iter().find(|row| {
                (row.manifest_digest == *digest || row.name == name)
                    && crate::reference::Reference::parse(&row.name)
                        .is_ok_and(|r| r.name() == parsed.name())
            }),
            None => self.index().image(&name)?,
        };
        let row = found.ok_or_else(|| CacheError::ImageNotFound(parsed.familiar()))?;
        let manifest: Manifest =
            serde_json::from_slice(&self.content().read_blob(&row.manifest_digest)?)
                .map_err(|e| CacheError::json(format!("manifest of `{name}`"), e))?;
        let config: ImageConfig =
            serde_json::from_slice(&self.content().read_blob(&manifest.config.digest)?)
                .map_err(|e| CacheError::json(format!("config of `{name}`"), e))?;
        Ok(Image {
            row,
            manifest,
            config,
        })
    }

    /// Reads the image whose manifest has `digest` (named by its digest).
    pub fn image_by_manifest(&self, digest: &str) -> Result<Image> {
        let manifest_bytes = self.content().read_blob(digest)?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| CacheError::json(format!("manifest {digest}"), e))?;
        let config: ImageConfig =
            serde_json::from_slice(&self.content().read_blob(&manifest.config.digest)?)
                .map_err(|e| CacheError::json(format!("config {}", manifest.config.digest), e))?;
        let row = image_row(digest, digest, manifest_bytes.len(), &manifest, &config);
        Ok(Image {
            row,
            manifest,
            config,
        })
    }
}

/// The row of an image named `name` whose manifest (of `manifest_size` bytes) has
/// `digest`.
pub(crate) fn image_row(
    name: &str,
    digest: &str,
    manifest_size: usize,
    manifest: &Manifest,
    config: &ImageConfig,
) -> ImageRow {
    ImageRow {
        name: name.to_string(),
        manifest_digest: digest.to_string(),
        manifest_size: manifest_size as u64,
        config_digest: manifest.config.digest.clone(),
        size: manifest.layers.iter().map(|l| l.size).sum(),
        created: config
            .created
            .as_deref()
            .and_then(crate::oci::parse_rfc3339)
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_pairs_entries_with_layers_newest_first() {
        let layer = |d: &str| Descriptor {
            digest: d.into(),
            ..Default::default()
        };
        let entry = |by: &str, empty_layer| History {
            created_by: Some(by.into()),
            empty_layer,
            ..Default::default()
        };
        let image = Image {
            row: ImageRow {
                name: "a".into(),
                manifest_digest: String::new(),
                manifest_size: 0,
                config_digest: String::new(),
                size: 0,
                created: 0,
            },
            manifest: Manifest {
                schema_version: 2,
                media_type: None,
                config: Descriptor::default(),
                layers: vec![layer("l1"), layer("l2")],
                extra: BTreeMap::new(),
            },
            config: ImageConfig {
                history: vec![entry("base", false), entry("ENV", true)],
                ..Default::default()
            },
        };
        let rows: Vec<(Option<String>, Option<&str>)> = image
            .history()
            .into_iter()
            .map(|(h, l)| (h.created_by, l.map(|l| l.digest.as_str())))
            .collect();
        assert_eq!(
            rows,
            [
                (None, Some("l2")),
                (Some("ENV".into()), None),
                (Some("base".into()), Some("l1")),
            ]
        );
    }
}
