//! The content store: an OCI image layout that `skopeo` and `umoci` read as it is.
//!
//! ```text
//! content-v1/
//! ├── oci-layout          {"imageLayoutVersion":"1.0.0"}
//! ├── index.json          one manifest descriptor per tag (ref.name annotation)
//! └── blobs/sha256/<hex>  configs, manifests, layers (read-only)
//! ```
//! A blob is written to a temp file, hashed while written, synced, verified, then
//! renamed in: the rename is the commit point, so a blob path never holds partial data.

use crate::digest::{HashingWriter, digest_hex, random_id};
use crate::error::{CacheError, Result};
use crate::oci::{Descriptor, ImageIndex, MEDIA_TYPE_INDEX};
use crate::root::write_atomic;
use fs_err as fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The content store of a state root.
#[derive(Debug, Clone)]
pub struct ContentStore {
    dir: PathBuf,
    tmp: PathBuf,
}

/// A blob being written; [`BlobWriter::commit`] makes it visible.
pub struct BlobWriter {
    store: ContentStore,
    tmp_path: PathBuf,
    /// `None` once committed.
    writer: Option<HashingWriter<BufWriter<fs::File>>>,
}

impl ContentStore {
    /// The content store in `dir`, using `tmp` (same filesystem) for partial blobs.
    pub fn open(dir: &Path, tmp: &Path) -> Result<Self> {
        let layout = dir.join("oci-layout");
        if !layout.exists() {
            write_atomic(dir, &layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let store = Self {
            dir: dir.to_path_buf(),
            tmp: tmp.to_path_buf(),
        };
        if !dir.join("index.json").exists() {
            store.write_index(&[])?;
        }
        Ok(store)
    }

    /// The layout's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob with `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        let hex = digest_hex(digest).ok_or_else(|| CacheError::MissingBlob {
            digest: digest.to_string(),
        })?;
        Ok(self.dir.join("blobs/sha256").join(hex))
    }

    /// Whether the blob is present.
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_ok_and(|p| p.exists())
    }

    /// Reads a whole blob, checking its digest.
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest)?;
        let data = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CacheError::MissingBlob {
                digest: digest.to_string(),
            },
            _ => e.into(),
        })?;
        let actual = crate::digest::sha256_digest(&data);
        if actual != digest {
            return Err(CacheError::DigestMismatch {
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(data)
    }

    /// Opens a blob for streaming.
    pub fn open_blob(&self, digest: &str) -> Result<fs::File> {
        let path = self.blob_path(digest)?;
        if !path.exists() {
            return Err(CacheError::MissingBlob {
                digest: digest.to_string(),
            });
        }
        Ok(fs::File::open(path)?)
    }

    /// Writes `data` as a blob and returns its digest.
    pub fn write_blob(&self, data: &[u8]) -> Result<String> {
        let digest = crate::digest::sha256_digest(data);
        if self.has_blob(&digest) {
            return Ok(digest);
        }
        let mut writer = self.writer()?;
        writer.write_all(data)?;
        let (digest, _) = writer.commit()?;
        Ok(digest)
    }

    /// Starts writing a blob of not yet known digest.
    pub fn writer(&self) -> Result<BlobWriter> {
        let tmp_path = self.tmp.join(format!("blob-{}", random_id(8)));
        let file = fs::File::create(&tmp_path)?;
        Ok(BlobWriter {
            store: self.clone(),
            tmp_path,
            writer: Some(HashingWriter::new(BufWriter::with_capacity(1 << 20, file))),
        })
    }

    /// Replaces `index.json` with these manifest descriptors.
    pub fn write_index(&self, manifests: &[Descriptor]) -> Result<()> {
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_INDEX.into()),
            manifests: manifests.to_vec(),
        };
        let json = serde_json::to_vec(&index).map_err(|e| CacheError::json("index.json", e))?;
        write_atomic(&self.dir, &self.dir.join("index.json"), &json)
    }

    /// The manifest descriptors listed in `index.json`.
    pub fn manifests(&self) -> Result<Vec<Descriptor>> {
        let path = self.dir.join("index.json");
        let index: ImageIndex = serde_json::from_slice(&fs::read(&path)?)
            .map_err(|e| CacheError::json(path.display().to_string(), e))?;
        Ok(index.manifests)
    }

    /// Deletes the blobs whose digests are not in `keep`; returns the bytes freed.
    pub fn remove_blobs_except(&self, keep: &std::collections::HashSet<String>) -> Result<u64> {
        let mut freed = 0;
        for entry in fs::read_dir(self.dir.join("blobs/sha256"))? {
            let entry = entry?;
            let digest = format!("sha256:{}", entry.file_name().to_string_lossy());
            if !keep.contains(&digest) {
                freed += entry.metadata()?.len();
                fs::remove_file(entry.path())?;
            }
        }
        Ok(freed)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(std::io::Error::other("blob already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl BlobWriter {
    /// Syncs, then renames the blob into place; returns its digest and size.
    pub fn commit(self) -> Result<(String, u64)> {
        self.finish(true)
    }

    /// Renames the blob into place without syncing it first: for a blob kiln can make
    /// again from a snapshot (a built layer's tar), which is then exactly as durable as
    /// the snapshot's own files. A killed process still never leaves a partial blob.
    pub fn commit_remakeable(self) -> Result<(String, u64)> {
        self.finish(false)
    }

    fn finish(mut self, sync: bool) -> Result<(String, u64)> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| std::io::Error::other("blob already committed"))?;
        let (digest, size, buffered) = writer.finish();
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        if sync {
            file.sync_data()?;
        }
        drop(file);
        let dest = self.store.blob_path(&digest)?;
        if !dest.exists() {
            fs::rename(&self.tmp_path, &dest)?;
        }
        // Drop removes the temp file if it is still there (the blob existed already).
        Ok((digest, size))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After commit the temp path is gone; otherwise this removes the partial blob.
        let _ = std::fs::remove_file(&self.tmp_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("c/blobs/sha256")).unwrap();
        std::fs::create_dir_all(dir.path().join("t")).unwrap();
        let store = ContentStore::open(&dir.path().join("c"), &dir.path().join("t")).unwrap();
        (dir, store)
    }

    #[test]
    fn blobs_round_trip_and_are_verified() {
        let (_dir, store) = store();
        let digest = store.write_blob(b"hello").unwrap();
        assert_eq!(store.read_blob(&digest).unwrap(), b"hello");
        std::fs::write(store.blob_path(&digest).unwrap(), b"tampered").unwrap();
        assert!(matches!(
            store.read_blob(&digest),
            Err(CacheError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn dropped_writer_leaves_nothing_behind() {
        let (dir, store) = store();
        let mut w = store.writer().unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path().join("t")).unwrap().count(), 0);
        assert_eq!(
            std::fs::read_dir(dir.path().join("c/blobs/sha256"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn layout_files_exist() {
        let (dir, _store) = store();
        let index = std::fs::read_to_string(dir.path().join("c/index.json")).unwrap();
        assert!(index.contains(r#""schemaVersion":2"#));
        assert!(dir.path().join("c/oci-layout").exists());
    }
}
