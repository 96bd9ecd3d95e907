//! Image archives that leave the machine (`kiln save`, `kiln build -o type=oci|docker`):
//! an OCI image layout in a tar, and for the Docker format the same plus Docker's
//! `manifest.json`, as `docker save` writes since Docker 25. Layers are compressed as
//! asked ([`Store::outbound_layer`]).
//!
//! The archive is deterministic: entries in a fixed order (layout files, then blobs
//! sorted by digest), mode 0644/0755, owner 0:0 with empty names, and one mtime for all.

use crate::error::{CacheError, Result};
use crate::images::Image;
use crate::layer::header::{EntryHeader, write_header, write_padding, write_trailer};
use crate::oci::{ANNOTATION_REF_NAME, Descriptor, ImageIndex, MEDIA_TYPE_INDEX, Manifest};
use crate::outbound::ExportCompression;
use crate::store::Store;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};

/// Annotation with an image's full name, as containerd and BuildKit write it.
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

/// The kind of image archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An OCI image layout (`oci-archive:`).
    Oci,
    /// Docker's `docker save` format (`docker-archive:`).
    Docker,
}

/// One image to put in an archive, and the names it goes by there.
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    pub image: Image,
    pub names: Vec<String>,
}

/// What an archive holds and what writing it cost.
#[derive(Debug, Clone, Default)]
pub struct ArchiveReport {
    /// The digest of each image's manifest as written in the archive.
    pub manifests: Vec<String>,
    /// Layers compressed for this archive.
    pub compressed: usize,
    /// Layers whose blob was already there.
    pub reused: usize,
}

/// Where a blob's bytes come from.
enum Blob {
    Bytes(Vec<u8>),
    Stored,
}

impl Store {
    /// Writes `images` as an archive of `format` to `out`, every entry dated `mtime`.
    pub fn write_archive(
        &self,
        images: &[ArchiveImage],
        format: ArchiveFormat,
        how: &ExportCompression,
        mtime: i64,
        out: &mut dyn Write,
    ) -> Result<ArchiveReport> {
        let mut report = ArchiveReport::default();
        let mut blobs: BTreeMap<String, Blob> = BTreeMap::new();
        let mut index = Vec::new();
        let mut docker = Vec::new();
        for ArchiveImage { image, names } in images {
            let diff_ids = &image.config.rootfs.diff_ids;
            let mut layers = Vec::with_capacity(diff_ids.len());
            for (local, diff_id) in image.manifest.layers.iter().zip(diff_ids) {
                let layer = self.outbound_layer(local, diff_id, how)?;
                if layer.compressed_now {
                    report.compressed += 1;
                } else {
                    report.reused += 1;
                }
                blobs.insert(layer.descriptor.digest.clone(), Blob::Stored);
                layers.push(layer.descriptor);
            }
            blobs.insert(image.manifest.config.digest.clone(), Blob::Stored);
            let manifest = Manifest {
                layers,
                ..image.manifest.clone()
            };
            let json =
                serde_json::to_vec(&manifest).map_err(|e| CacheError::json("image manifest", e))?;
            let digest = crate::digest::sha256_digest(&json);
            let descriptor = |annotations| Descriptor {
                media_type: crate::oci::MEDIA_TYPE_MANIFEST.into(),
                digest: digest.clone(),
                size: json.len() as u64,
                annotations,
                extra: BTreeMap::new(),
            };
            if names.is_empty() {
                index.push(descriptor(BTreeMap::new()));
            }
            for name in names {
                // As BuildKit writes them: the tag alone, and the full name.
                let tag = name.rsplit_once(':').map_or(name.as_str(), |(_, tag)| tag);
                index.push(descriptor(BTreeMap::from([
                    (ANNOTATION_IMAGE_NAME.into(), name.clone()),
                    (ANNOTATION_REF_NAME.into(), tag.to_string()),
                ])));
            }
            docker.push(serde_json::json!({
                "Config": blob_path(&manifest.config.digest),
                "RepoTags": names.iter().map(|n| crate::reference::familiar(n)).collect::<Vec<_>>(),
                "Layers": manifest.layers.iter().map(|l| blob_path(&l.digest)).collect::<Vec<_>>(),
            }));
            report.manifests.push(digest.clone());
            blobs.insert(digest, Blob::Bytes(json));
        }
        let index = ImageIndex {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_INDEX.into()),
            manifests: index,
        };
        let index = serde_json::to_vec(&index).map_err(|e| CacheError::json("index.json", e))?;
        let mut tar = TarWriter { out, mtime };
        tar.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        tar.file("index.json", &index)?;
        if format == ArchiveFormat::Docker {
            let manifest =
                serde_json::to_vec(&docker).map_err(|e| CacheError::json("manifest.json", e))?;
            tar.file("manifest.json", &manifest)?;
        }
        tar.dir("blobs/")?;
        tar.dir("blobs/sha256/")?;
        for (digest, blob) in &blobs {
            match blob {
                Blob::Bytes(bytes) => tar.file(&blob_path(digest), bytes)?,
                Blob::Stored => {
                    let file = self.content().open_blob(digest)?;
                    let size = file.metadata()?.len();
                    tar.entry(&blob_path(digest), size, file)?;
                }
            }
        }
        tar.finish()?;
        Ok(report)
    }
}

/// The path of a blob inside an archive.
fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// A deterministic tar stream, with the headers of layer tars.
struct TarWriter<'a> {
    out: &'a mut dyn Write,
    mtime: i64,
}

impl TarWriter<'_> {
    fn header(&mut self, path: &str, kind: tar::EntryType, size: u64) -> io::Result<()> {
        let header = EntryHeader {
            path: path.as_bytes(),
            kind,
            mode: if kind.is_dir() { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime: self.mtime,
            size,
            link: None,
            device: None,
            xattrs: &[],
        };
        write_header(self.out, &header).map(drop)
    }

    fn dir(&mut self, path: &str) -> io::Result<()> {
        self.header(path, tar::EntryType::Directory, 0)
    }

    fn file(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.entry(path, data.len() as u64, data)
    }

    /// A regular file of `size` bytes read from `data`.
    fn entry(&mut self, path: &str, size: u64, data: impl Read) -> io::Result<()> {
        self.header(path, tar::EntryType::Regular, size)?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{path}` shrank while being archived"),
            ));
        }
        write_padding(self.out, size).map(drop)
    }

    fn finish(&mut self) -> io::Result<()> {
        write_trailer(self.out)?;
        self.out.flush()
    }
}
