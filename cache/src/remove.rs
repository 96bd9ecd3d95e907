//! `kiln rmi`: untagging and deleting images by docker's rules.
//!
//! - A name whose image has other tags only loses that tag (`Untagged`).
//! - The last tag of an image untags and deletes it (`Deleted`): its manifest and
//!   config blobs go now; layers and snapshots that nothing else needs go at the next
//!   `kiln cache prune` (it reaches only what tagged images and records need).
//! - An image id (prefix) names every tag of the image: with several, `-f` is needed.
//! - The last tag of an image a recorded container was made from is refused without
//!   `-f`; with it, the tags go but the image stays, dangling (as docker keeps it):
//!   prune keeps an image a recorded container uses, whether tagged or not.

use crate::error::{CacheError, Result};
use crate::index::ImageRow;
use crate::lookup::{rows_by_id, short_id};
use crate::reference::familiar;
use crate::store::Store;

/// One step of a removal, as docker prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// A tag was removed (familiar name: `alpine:latest`).
    Untagged(String),
    /// The image was deleted (its id, `sha256:…`).
    Deleted(String),
}

impl Store {
    /// Removes `reference` (a name or an image id prefix) as `docker rmi [-f]` does.
    pub fn remove_image(&self, reference: &str, force: bool) -> Result<Vec<Removal>> {
        let all = self.index().images()?;
        let (tags, by_id) = match self.tag_row(reference)? {
            Some(row) => (vec![row], false),
            None => (rows_by_id(&all, reference)?, true),
        };
        let image_id = tags[0].config_digest.clone();
        let same_image = all.iter().filter(|r| r.config_digest == image_id).count();
        if by_id && tags.len() > 1 && !force {
            return Err(CacheError::ImageConflict {
                reference: reference.into(),
                reason: "image is referenced in multiple repositories".into(),
            });
        }
        let mut out = Vec::new();
        let mut deletes = tags.len() == same_image;
        if deletes && let Some(container) = self.containers_using(&image_id)?.first() {
            if !force {
                return Err(CacheError::ImageConflict {
                    reference: reference.into(),
                    reason: format!(
                        "container {container} is using its referenced image {}",
                        short_id(&image_id)
                    ),
                });
            }
            deletes = false;
        }
        for row in &tags {
            self.untag_image(&row.name)?;
            out.push(Removal::Untagged(familiar(&row.name)));
        }
        if deletes {
            self.delete_image_blobs(&tags)?;
            out.push(Removal::Deleted(image_id));
        }
        Ok(out)
    }

    /// Deletes the manifest and config blobs of untagged rows that no tag still uses.
    fn delete_image_blobs(&self, removed: &[ImageRow]) -> Result<()> {
        let remaining = self.index().images()?;
        for row in removed {
            for digest in [&row.manifest_digest, &row.config_digest] {
                let used = remaining
                    .iter()
                    .any(|r| r.manifest_digest == *digest || r.config_digest == *digest);
                if !used {
                    match fs_err::remove_file(self.content().blob_path(digest)?) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(e.into());
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}
