//! Layers leaving the machine (`kiln save`, `kiln build -o type=oci|docker`, push): the
//! compressed blob of a layer is made the first time it leaves in a given compression and
//! level, on every core, and remembered in the index per (diff id, compression, level) —
//! a diff id stands for one (snapshot, epoch) — so the next export compresses nothing.

use crate::digest::HashingWriter;
use crate::error::{CacheError, Result};
use crate::layer::{Compression, ParallelCompressor};
use crate::oci::Descriptor;
use crate::store::Store;
use crate::unpack::layer_reader;
use std::collections::BTreeMap;
use std::io::BufReader;

/// How layers are compressed when they leave the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportCompression {
    pub compression: Compression,
    /// The level (see [`Compression::levels`]).
    pub level: i32,
    /// Recompress layers whose stored blob is compressed another way
    /// (`--force-compression`); without it such blobs leave as they are, as in BuildKit.
    pub force: bool,
}

impl Default for ExportCompression {
    fn default() -> Self {
        Self {
            compression: Compression::Gzip,
            level: Compression::Gzip.default_level(),
            force: false,
        }
    }
}

impl ExportCompression {
    /// The level blobs are made at (0 when uncompressed).
    pub fn effective_level(&self) -> i32 {
        match self.compression {
            Compression::Uncompressed => 0,
            _ => self.level,
        }
    }
}

/// A layer's blob ready to leave, and whether it was compressed by this call.
#[derive(Debug, Clone)]
pub struct OutboundLayer {
    pub descriptor: Descriptor,
    pub compressed_now: bool,
}

impl Store {
    /// The blob in which the layer `local` (as the local manifest names it, with diff id
    /// `diff_id`) leaves the machine, making it if needed.
    pub fn outbound_layer(
        &self,
        local: &Descriptor,
        diff_id: &str,
        how: &ExportCompression,
    ) -> Result<OutboundLayer> {
        let stored = Compression::of_media_type(&local.media_type);
        let has_local_blob = self.content().has_blob(&local.digest);
        let keep_stored = stored == Some(how.compression)
            || (!how.force && stored.is_some_and(|c| c != Compression::Uncompressed));
        if has_local_blob && keep_stored {
            return Ok(OutboundLayer {
                descriptor: local.clone(),
                compressed_now: false,
            });
        }
        let (name, level) = (how.compression.name(), how.effective_level());
        if let Some((digest, size)) = self.index().layer_blob(diff_id, name, level)?
            && self.content().has_blob(&digest)
        {
            return Ok(OutboundLayer {
                descriptor: descriptor(how.compression, digest, size),
                compressed_now: false,
            });
        }
        let blob = self.content().writer()?;
        let mut tar = HashingWriter::new(ParallelCompressor::on_every_core(
            blob,
            how.compression,
            level,
        ));
        if has_local_blob {
            let file = BufReader::new(self.content().open_blob(&local.digest)?);
            std::io::copy(&mut layer_reader(local, file)?, &mut tar)?;
        } else {
            let (snapshot, epoch) = self.index().layer_diff_source(diff_id)?.ok_or_else(|| {
                CacheError::MissingBlob {
                    digest: local.digest.clone(),
                }
            })?;
            self.write_snapshot_tar(&snapshot, epoch, &mut tar)?;
        }
        let (actual, _, compressor) = tar.finish();
        if actual != diff_id {
            return Err(CacheError::DigestMismatch {
                expected: diff_id.to_string(),
                actual,
            });
        }
        let (digest, size) = compressor.finish()?.commit()?;
        self.index()
            .insert_layer_blob(diff_id, name, level, &digest, size)?;
        Ok(OutboundLayer {
            descriptor: descriptor(how.compression, digest, size),
            compressed_now: how.compression != Compression::Uncompressed,
        })
    }
}

fn descriptor(compression: Compression, digest: String, size: u64) -> Descriptor {
    Descriptor {
        media_type: compression.media_type().into(),
        digest,
        size,
        annotations: BTreeMap::new(),
        extra: BTreeMap::new(),
    }
}
