//! `kiln load`: a docker-archive or an OCI archive (gzip'd as a whole or not, from a
//! file or stdin) becomes tagged images whose layers are already unpacked.
//!
//! 1. Spool: the archive is read once, each file hashed into `tmp-v1/load-*/`.
//! 2. Check: manifests, configs and layers against their descriptors (digest and
//!    size), names parsed, configs read, before anything is committed.
//! 3. Commit: verified blobs are renamed into the content store; each image's layers
//!    are unpacked into snapshots (their diff ids checked as they are applied; the
//!    layer applier refuses paths out of the root), and only then is it tagged.
//!
//! A failure leaves no tag, no snapshot and no temp file behind; blobs already
//! committed are verified content that the next `kiln cache prune` reclaims.

mod docker;
mod oci;
mod spool;

use crate::error::{CacheError, Result};
use crate::index::ImageRow;
use crate::oci::{ImageConfig, Manifest};
use crate::reference::{familiar, tag_reference};
use crate::store::Store;
use spool::{Spool, Spooled};
use std::io::{BufReader, Read};

/// Why an archive cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The archive stream is not a tar, or it ends early.
    #[error("cannot read the archive (truncated or not a tar)")]
    Read {
        #[source]
        source: std::io::Error,
    },
    /// A spooled file could not be read back.
    #[error("cannot read `{path}` of the archive")]
    ReadFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Neither `manifest.json` nor `index.json`.
    #[error("not a docker-archive (manifest.json) or an OCI archive (index.json)")]
    UnknownFormat,
    /// A file the archive's manifests name is not in it.
    #[error("the archive has no `{path}`")]
    Missing { path: String },
    /// A file does not match its descriptor.
    #[error("`{path}` does not match its descriptor: expected {expected}, got {actual}")]
    Mismatch {
        path: String,
        expected: String,
        actual: String,
    },
    /// A JSON document larger than kiln reads.
    #[error("`{path}` is too large for a JSON document ({size} bytes)")]
    TooLarge { path: String, size: u64 },
    /// A JSON document is malformed.
    #[error("malformed `{path}`")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// A layer's content does not have the diff id its config lists.
    #[error(
        "a layer of manifest {digest} unpacks to {actual}, not the config's diff id {expected}"
    )]
    DiffId {
        digest: String,
        expected: String,
        actual: String,
    },
    /// The image's config and manifest disagree on its layers.
    #[error("config `{path}` lists {diff_ids} layers but the manifest {layers}")]
    LayerCount {
        path: String,
        diff_ids: usize,
        layers: usize,
    },
    /// An image without a name: kiln keeps only tagged images.
    #[error("image {config} has no name in the archive (RepoTags or ref.name annotation)")]
    NoName { config: String },
    /// Something kiln does not load.
    #[error("{what} is not supported")]
    Unsupported { what: String },
}

impl LoadError {
    fn read(source: std::io::Error) -> Self {
        Self::Read { source }
    }

    fn read_file(path: &str, source: std::io::Error) -> Self {
        Self::ReadFile {
            path: path.into(),
            source,
        }
    }

    fn json(path: &str, source: serde_json::Error) -> Self {
        Self::Json {
            path: path.into(),
            source,
        }
    }
}

/// Where an image's manifest comes from.
enum ManifestSource<'s> {
    /// The archive's own (OCI): kept byte for byte.
    Archived(&'s Spooled),
    /// Written by kiln (docker-archive).
    Written(Manifest),
}

/// One checked image of the archive, ready to commit.
struct Candidate<'s> {
    /// Normalised names.
    names: Vec<String>,
    config: &'s Spooled,
    layers: Vec<&'s Spooled>,
    manifest: ManifestSource<'s>,
}

impl<'s> Candidate<'s> {
    fn new(
        names: Vec<String>,
        config: &'s Spooled,
        parsed: &ImageConfig,
        layers: Vec<&'s Spooled>,
        manifest: ManifestSource<'s>,
    ) -> Result<Self> {
        if parsed.rootfs.diff_ids.len() != layers.len() {
            return Err(LoadError::LayerCount {
                path: config.digest.clone(),
                diff_ids: parsed.rootfs.diff_ids.len(),
                layers: layers.len(),
            }
            .into());
        }
        if names.is_empty() {
            return Err(LoadError::NoName {
                config: config.digest.clone(),
            }
            .into());
        }
        let names = names
            .iter()
            .map(|n| tag_reference(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            names,
            config,
            layers,
            manifest,
        })
    }
}

/// Reads an image config from the archive (so a malformed one is refused up front).
fn parse_config(spool: &Spool, file: &Spooled, path: &str) -> Result<ImageConfig> {
    Ok(serde_json::from_slice(&spool.read_document(file, path)?)
        .map_err(|e| LoadError::json(path, e))?)
}

impl Store {
    /// Loads every image of the archive read from `input`; returns their names
    /// (familiar form) in the archive's order.
    pub fn load_archive(&self, input: impl Read) -> Result<Vec<String>> {
        let input =
            crate::layer::Compression::sniffed(BufReader::new(input)).map_err(LoadError::read)?;
        let spool = Spool::read(input, &self.root().tmp_dir())?;
        let candidates = if spool.has("manifest.json") {
            docker::images(&spool)?
        } else if spool.has("index.json") {
            oci::images(&spool)?
        } else {
            return Err(LoadError::UnknownFormat.into());
        };
        let mut loaded = Vec::new();
        for candidate in candidates {
            let row = self.commit_candidate(&spool, &candidate)?;
            for name in &candidate.names {
                self.tag_image(&ImageRow {
                    name: name.clone(),
                    ..row.clone()
                })?;
                loaded.push(familiar(name));
            }
        }
        Ok(loaded)
    }

    /// Moves a checked image's blobs into the store and unpacks its layers.
    fn commit_candidate(&self, spool: &Spool, candidate: &Candidate<'_>) -> Result<ImageRow> {
        for file in candidate.layers.iter().chain([&candidate.config]) {
            spool.commit(file, self.content())?;
        }
        let manifest_digest = match &candidate.manifest {
            ManifestSource::Archived(file) => {
                spool.commit(file, self.content())?;
                file.digest.clone()
            }
            ManifestSource::Written(manifest) => {
                let json = serde_json::to_vec(manifest)
                    .map_err(|e| CacheError::json("image manifest", e))?;
                self.content().write_blob(&json)?
            }
        };
        let image = self.image_by_manifest(&manifest_digest)?;
        self.image_snapshot(&image).map_err(|e| match e {
            CacheError::DigestMismatch { expected, actual } => LoadError::DiffId {
                digest: manifest_digest.clone(),
                expected,
                actual,
            }
            .into(),
            other => other,
        })?;
        Ok(image.row)
    }
}
