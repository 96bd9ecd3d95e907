//! Writing images: layers from committed snapshots (each stored once as an uncompressed
//! tar blob named by its diff id; nothing is compressed), the config and the manifest
//! into the content store, then the tags.

use crate::error::{CacheError, Result};
use crate::index::{ImageRow, LayerRow, SnapshotRow};
use crate::layer::{LayerOptions, write_layer};
use crate::oci::{
    Descriptor, ImageConfig, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_MANIFEST,
    Manifest, chain_ids,
};
use crate::store::Store;
use std::io::Write;

impl Store {
    /// The layer of a committed snapshot as the local manifest names it, computing it
    /// on first use.
    ///
    /// A built snapshot's layer stays uncompressed: its tar is written once into the
    /// content store while it is hashed, and the local manifest names it by its diff id
    /// with the media type of a plain tar (ARCHITECTURE.md, "Layers at home"), so the
    /// content store is a complete OCI layout. With
    /// `source_date_epoch`, built layers are written with every mtime clamped to it
    /// (reproducible layers), remembered per epoch; layers that came from an image keep
    /// their original blob.
    pub fn snapshot_layer(
        &self,
        snapshot: &SnapshotRow,
        source_date_epoch: Option<i64>,
    ) -> Result<LayerRow> {
        let built = self.index().is_built_snapshot(&snapshot.id)?;
        let epoch = source_date_epoch.filter(|_| built);
        if epoch.is_none()
            && let Some(layer) = self.index().layer(&snapshot.id)?
            && self.content().has_blob(&layer.digest)
        {
            return Ok(layer);
        }
        let known = self.index().layer_diff(&snapshot.id, epoch)?;
        let (diff_id, size) = match known {
            Some((diff_id, size)) if self.content().has_blob(&diff_id) => (diff_id, size),
            _ => {
                let mut blob = self.content().writer()?;
                self.write_snapshot_tar(&snapshot.id, epoch, &mut blob)?;
                let (diff_id, size) = blob.commit_remakeable()?;
                if known.is_none() {
                    self.index()
                        .insert_layer_diff(&snapshot.id, epoch, &diff_id, size)?;
                }
                (diff_id, size)
            }
        };
        Ok(LayerRow {
            digest: diff_id.clone(),
            diff_id,
            size,
            media_type: MEDIA_TYPE_LAYER_TAR.into(),
        })
    }

    /// Writes the layer tar of the committed snapshot `id` to `out`, with mtimes clamped
    /// to `epoch`.
    pub(crate) fn write_snapshot_tar(
        &self,
        id: &str,
        epoch: Option<i64>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let upper = self.root().snapshots_dir().join(id).join("fs");
        let options = LayerOptions {
            source_date_epoch: epoch,
        };
        write_layer(&upper, out, &options)?;
        Ok(())
    }

    /// Writes an image whose filesystem is the snapshot chain ending at `top` and whose
    /// config is `config` (its rootfs is filled in here), and tags it with `names`.
    /// `source_date_epoch` makes built layers reproducible (see [`Store::snapshot_layer`]).
    pub fn write_image(
        &self,
        mut config: ImageConfig,
        top: Option<&str>,
        names: &[String],
        created: i64,
        source_date_epoch: Option<i64>,
    ) -> Result<ImageRow> {
        let mut chain = match top {
            Some(id) => self.snapshot_chain(id)?,
            None => Vec::new(),
        };
        chain.reverse();
        // Every step has a layer, as in BuildKit: a step that changed nothing has the
        // empty tar's (so the diff ids match the history's non-empty entries).
        let snapshots = chain;
        let layers = snapshots
            .iter()
            .map(|s| self.snapshot_layer(s, source_date_epoch))
            .collect::<Result<Vec<_>>>()?;
        config.rootfs.diff_ids = layers.iter().map(|l| l.diff_id.clone()).collect();
        for (chain_id, snapshot) in chain_ids(&config.rootfs.diff_ids).iter().zip(&snapshots) {
            if self.index().chain_snapshot(chain_id)?.as_deref() != Some(snapshot.id.as_str()) {
                self.index().insert_chain(chain_id, &snapshot.id)?;
            }
        }
        let config_json =
            serde_json::to_vec(&config).map_err(|e| CacheError::json("image config", e))?;
        let config_digest = self.content().write_blob(&config_json)?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.into()),
            config: Descriptor {
                media_type: MEDIA_TYPE_CONFIG.into(),
                digest: config_digest.clone(),
                size: config_json.len() as u64,
                ..Default::default()
            },
            layers: layers
                .iter()
                .map(|l| Descriptor {
                    media_type: l.media_type.clone(),
                    digest: l.digest.clone(),
                    size: l.size,
                    ..Default::default()
                })
                .collect(),
            extra: Default::default(),
        };
        let manifest_json =
            serde_json::to_vec(&manifest).map_err(|e| CacheError::json("image manifest", e))?;
        let manifest_digest = self.content().write_blob(&manifest_json)?;
        let mut row = ImageRow {
            name: String::new(),
            manifest_digest,
            manifest_size: manifest_json.len() as u64,
            config_digest,
            size: layers.iter().map(|l| l.size).sum(),
            created,
        };
        for name in names {
            row.name = crate::reference::tag_reference(name)?;
            self.tag_image(&row)?;
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use crate::root::LockMode;
    use crate::store::Store;

    /// The diff id of an empty tar (1,024 zero bytes), which BuildKit gives a step that
    /// changed nothing.
    const EMPTY_LAYER: &str =
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

    #[test]
    fn a_step_that_changed_nothing_has_the_empty_layer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), LockMode::Shared).unwrap();
        let a = store.prepare(None).unwrap();
        std::fs::write(a.fs_dir().join("f"), b"x").unwrap();
        let a_id = a.id().to_string();
        store.commit(a).unwrap();
        let b = store.prepare(Some(&a_id)).unwrap();
        let b_id = b.id().to_string();
        assert!(store.commit(b).unwrap().empty);
        let row = store
            .write_image(Default::default(), Some(&b_id), &["x:1".into()], 0, None)
            .unwrap();
        let image = store.image("x:1").unwrap();
        assert_eq!(image.row.config_digest, row.config_digest);
        let diff_ids = &image.config.rootfs.diff_ids;
        assert_eq!(diff_ids.len(), 2);
        assert_ne!(diff_ids[0], EMPTY_LAYER);
        assert_eq!(diff_ids[1], EMPTY_LAYER);
        assert_eq!(image.manifest.layers.len(), 2);
    }
}
