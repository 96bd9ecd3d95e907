//! Finding images as docker does: by name (`alpine`, `alpine:3`, `alpine@sha256:…`),
//! else by image id (the config digest) or a unique prefix of it.

use crate::error::{CacheError, Result};
use crate::images::Image;
use crate::index::ImageRow;
use crate::reference::Reference;
use crate::store::Store;

impl Store {
    /// The image `reference` names: a tag, else an image id (prefix).
    pub fn find_image(&self, reference: &str) -> Result<Image> {
        if let Some(row) = self.tag_row(reference)? {
            return self.image(&row.name);
        }
        let rows = rows_by_id(&self.index().images()?, reference)?;
        let mut image = self.image_by_manifest(&rows[0].manifest_digest)?;
        image.row = rows[0].clone();
        Ok(image)
    }

    /// Every tag of the image `image_id`.
    pub fn image_tags(&self, image_id: &str) -> Result<Vec<ImageRow>> {
        Ok(self
            .index()
            .images()?
            .into_iter()
            .filter(|r| r.config_digest == image_id)
            .collect())
    }

    /// The tag row `reference` names, if it is a name that is tagged.
    pub(crate) fn tag_row(&self, reference: &str) -> Result<Option<ImageRow>> {
        if Reference::parse(reference).is_err() {
            return Ok(None);
        }
        match self.image(reference) {
            Ok(image) => Ok(Some(image.row)),
            Err(CacheError::ImageNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The tags of the one image whose id starts with `prefix` (`sha256:` optional).
pub(crate) fn rows_by_id(all: &[ImageRow], prefix: &str) -> Result<Vec<ImageRow>> {
    let hex = prefix.strip_prefix("sha256:").unwrap_or(prefix);
    let not_found = || CacheError::ImageNotFound(prefix.into());
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let matching: Vec<&ImageRow> = all
        .iter()
        .filter(|r| {
            r.config_digest
                .trim_start_matches("sha256:")
                .starts_with(hex)
        })
        .collect();
    let Some(first) = matching.first() else {
        return Err(not_found());
    };
    if matching
        .iter()
        .any(|r| r.config_digest != first.config_digest)
    {
        return Err(CacheError::ImageConflict {
            reference: prefix.into(),
            reason: "the id prefix names more than one image".into(),
        });
    }
    Ok(matching.into_iter().cloned().collect())
}

/// The 12-digit short form of an image id.
pub fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, config: &str) -> ImageRow {
        ImageRow {
            name: name.into(),
            manifest_digest: format!("sha256:m{config}"),
            manifest_size: 1,
            config_digest: format!("sha256:{config}"),
            size: 0,
            created: 0,
        }
    }

    #[test]
    fn id_prefixes_name_every_tag_of_one_image() {
        let all = [row("a:1", "abc1"), row("b:1", "abc1"), row("c:1", "abd2")];
        assert_eq!(rows_by_id(&all, "abc").unwrap().len(), 2);
        assert_eq!(rows_by_id(&all, "sha256:abd").unwrap().len(), 1);
        assert!(matches!(
            rows_by_id(&all, "ab"),
            Err(CacheError::ImageConflict { .. })
        ));
        assert!(matches!(
            rows_by_id(&all, "ffff"),
            Err(CacheError::ImageNotFound(_))
        ));
        assert!(matches!(
            rows_by_id(&all, "zz"),
            Err(CacheError::ImageNotFound(_))
        ));
    }
}
