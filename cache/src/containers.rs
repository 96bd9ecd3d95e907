//! Which image each `kiln run` container was made from, so `kiln rmi` can refuse to
//! delete an image a container still uses and `kiln cache prune` keeps what it needs
//! while the container is recorded (its folder exists: while it runs, and for good
//! without `--rm`).
//!
//! ```text
//! containers-v1/<id>/
//! ├── image      the image id (its config digest)
//! └── manifest   the image's manifest digest, a root for prune even once untagged
//! ```
//!
//! Both are written atomically when the container is made, before it runs.

use crate::error::Result;
use crate::index::ImageRow;
use crate::root::write_atomic;
use crate::store::Store;
use fs_err as fs;

/// The file in a container's folder naming its image.
const IMAGE_FILE: &str = "image";
/// The file in a container's folder naming its image's manifest.
const MANIFEST_FILE: &str = "manifest";

impl Store {
    /// Records that container `id` (whose folder exists) runs the image `image`.
    pub fn record_container_image(&self, id: &str, image: &ImageRow) -> Result<()> {
        let dir = self.root().containers_dir().join(id);
        write_atomic(
            &dir,
            &dir.join(MANIFEST_FILE),
            image.manifest_digest.as_bytes(),
        )?;
        write_atomic(&dir, &dir.join(IMAGE_FILE), image.config_digest.as_bytes())
    }

    /// The containers made from the image `image_id`, by id.
    pub fn containers_using(&self, image_id: &str) -> Result<Vec<String>> {
        let mut found: Vec<String> = self
            .container_records(IMAGE_FILE)?
            .into_iter()
            .filter(|(_, id)| id == image_id)
            .map(|(container, _)| container)
            .collect();
        found.sort();
        Ok(found)
    }

    /// The manifest digests of the images recorded containers use.
    pub(crate) fn container_manifests(&self) -> Result<Vec<String>> {
        let records = self.container_records(MANIFEST_FILE)?;
        Ok(records.into_iter().map(|(_, digest)| digest).collect())
    }

    /// Each container's id and the content of its `file`, for containers that have one.
    fn container_records(&self, file: &str) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        let dir = self.root().containers_dir();
        if !dir.is_dir() {
            return Ok(found);
        }
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            match fs::read_to_string(entry.path().join(file)) {
                Ok(value) => {
                    found.push((entry.file_name().to_string_lossy().into_owned(), value));
                }
                // Containers made before images were recorded, or being made.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(found)
    }
}
