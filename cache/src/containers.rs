//! Which image each `kiln run` container was made from, so `kiln rmi` can refuse to
//! delete an image a container still uses: `containers-v1/<id>/image` holds the
//! image id (its config digest), written atomically when the container is made.

use crate::error::Result;
use crate::root::write_atomic;
use crate::store::Store;
use fs_err as fs;

/// The file in a container's folder naming its image.
const IMAGE_FILE: &str = "image";

impl Store {
    /// Records that container `id` (whose folder exists) runs the image `image_id`.
    pub fn record_container_image(&self, id: &str, image_id: &str) -> Result<()> {
        let dir = self.root().containers_dir().join(id);
        write_atomic(&dir, &dir.join(IMAGE_FILE), image_id.as_bytes())
    }

    /// The containers made from the image `image_id`, by id.
    pub fn containers_using(&self, image_id: &str) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let dir = self.root().containers_dir();
        if !dir.is_dir() {
            return Ok(found);
        }
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            match fs::read_to_string(entry.path().join(IMAGE_FILE)) {
                Ok(id) if id == image_id => {
                    found.push(entry.file_name().to_string_lossy().into_owned());
                }
                Ok(_) => {}
                // Containers made before images were recorded, or being made.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        found.sort();
        Ok(found)
    }
}
