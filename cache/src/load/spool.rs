//! The archive's files, spooled to a temp folder in `tmp-v1/` while hashed, since a
//! docker-archive may list its manifest after its layers. The folder goes when the
//! load ends (and `kiln cache prune` reclaims it after a crash); verified files are
//! renamed into the content store, never copied.

use super::LoadError;
use crate::content::ContentStore;
use crate::digest::{HashingWriter, random_id};
use crate::error::Result;
use crate::oci::Descriptor;
use fs_err as fs;
use std::collections::HashMap;
use std::io::{BufWriter, Read};
use std::path::{Component, Path, PathBuf};

/// JSON documents (manifests, configs, indexes) larger than this are refused.
const MAX_DOCUMENT: u64 = 8 << 20;

/// One spooled file: where it is and what it holds.
#[derive(Debug, Clone)]
pub(super) struct Spooled {
    path: PathBuf,
    pub digest: String,
    pub size: u64,
}

/// The regular files of an archive, by their (normalised) path in it.
pub(super) struct Spool {
    dir: PathBuf,
    files: HashMap<String, Spooled>,
}

impl Spool {
    /// Reads the tar stream `input` to its end, spooling every regular file.
    pub fn read(input: impl Read, tmp: &Path) -> Result<Self> {
        let dir = tmp.join(format!("load-{}", random_id(8)));
        fs::create_dir(&dir)?;
        let mut spool = Self {
            dir,
            files: HashMap::new(),
        };
        let mut archive = tar::Archive::new(input);
        let entries = archive.entries().map_err(LoadError::read)?;
        for entry in entries {
            let mut entry = entry.map_err(LoadError::read)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = normalise(&entry.path().map_err(LoadError::read)?);
            let path = spool.dir.join(spool.files.len().to_string());
            let mut out = HashingWriter::new(BufWriter::new(fs::File::create(&path)?));
            std::io::copy(&mut entry, &mut out).map_err(LoadError::read)?;
            let (digest, size, buffered) = out.finish();
            let file = buffered.into_inner().map_err(|e| e.into_error())?;
            file.sync_data()?;
            spool.files.insert(name, Spooled { path, digest, size });
        }
        Ok(spool)
    }

    /// Whether the archive holds `name`.
    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The file `name` of the archive.
    pub fn get(&self, name: &str) -> Result<&Spooled> {
        Ok(self
            .files
            .get(&normalise(Path::new(name)))
            .ok_or_else(|| LoadError::Missing { path: name.into() })?)
    }

    /// The file `name`, checked against `descriptor`'s digest and size.
    pub fn verified(&self, name: &str, descriptor: &Descriptor) -> Result<&Spooled> {
        let file = self.get(name)?;
        if file.digest != descriptor.digest || file.size != descriptor.size {
            return Err(LoadError::Mismatch {
                path: name.into(),
                expected: format!("{} ({} bytes)", descriptor.digest, descriptor.size),
                actual: format!("{} ({} bytes)", file.digest, file.size),
            }
            .into());
        }
        Ok(file)
    }

    /// Opens a spooled file for reading.
    pub fn open(&self, file: &Spooled) -> Result<fs::File> {
        Ok(fs::File::open(&file.path)?)
    }

    /// The bytes of a small file (a JSON document).
    pub fn read_document(&self, file: &Spooled, name: &str) -> Result<Vec<u8>> {
        if file.size > MAX_DOCUMENT {
            return Err(LoadError::TooLarge {
                path: name.into(),
                size: file.size,
            }
            .into());
        }
        Ok(fs::read(&file.path)?)
    }

    /// Moves a verified file into the content store (unless it holds it already).
    pub fn commit(&self, file: &Spooled, content: &ContentStore) -> Result<()> {
        let dest = content.blob_path(&file.digest)?;
        if !dest.exists() && file.path.exists() {
            fs::rename(&file.path, &dest)?;
        }
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = crate::tree::remove_tree(&self.dir);
    }
}

/// `./a//b` → `a/b`: the key archive paths are found by.
fn normalise(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::normalise;
    use std::path::Path;

    #[test]
    fn archive_paths_are_normalised() {
        assert_eq!(
            normalise(Path::new("./blobs//sha256/ab")),
            "blobs/sha256/ab"
        );
        assert_eq!(normalise(Path::new("manifest.json")), "manifest.json");
    }
}
