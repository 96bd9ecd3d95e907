//! `kiln import`: a rootfs tarball (plain or gzip) becomes a one-layer image.

use crate::digest::{HashingReader, HashingWriter};
use crate::error::{CacheError, Result};
use crate::index::{ImageRow, LayerRow};
use crate::layer::{Compression, ParallelCompressor};
use crate::oci::{History, ImageConfig, MEDIA_TYPE_LAYER_GZIP, host_architecture, rfc3339};
use crate::store::Store;
use fs_err as fs;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// Copies everything read through it into a writer.
struct TeeReader<R, W> {
    inner: R,
    copy: W,
}

impl<R: Read, W: Write> Read for TeeReader<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

impl Store {
    /// Imports the rootfs tarball at `path` as a one-layer image tagged `name`, created
    /// at `created` (Unix seconds; `None`: now).
    pub fn import_rootfs(&self, path: &Path, name: &str, created: Option<i64>) -> Result<ImageRow> {
        let name = crate::reference::tag_reference(name)?;
        let plain = crate::layer::Compression::sniffed(BufReader::new(fs::File::open(path)?))?;
        let blob = self.content().writer()?;
        let gz = HashingWriter::new(ParallelCompressor::on_every_core(
            blob,
            Compression::Gzip,
            Compression::Gzip.default_level(),
        ));
        let mut tar = HashingReader::new(TeeReader {
            inner: plain,
            copy: gz,
        });
        let active = self.prepare(None)?;
        // apply_layer reads the stream to its end, so the digest and the copy cover all of it.
        match crate::layer::apply_layer(&mut tar, &active.fs_dir()) {
            Err(e) => return Err(self.abort_after(active, e.into())),
            Ok(stats) if stats.entries == 0 => {
                let empty = CacheError::EmptyArchive {
                    path: path.to_path_buf(),
                };
                return Err(self.abort_after(active, empty));
            }
            Ok(_) => {}
        }
        let (diff_id, _, tee) = tar.finish();
        let (_, _, gz) = tee.copy.finish();
        let (digest, size) = gz.finish()?.commit()?;
        let snapshot = active.id().to_string();
        self.commit(active)?;
        self.index().insert_layer(
            &snapshot,
            &LayerRow {
                diff_id: diff_id.clone(),
                digest,
                size,
                media_type: MEDIA_TYPE_LAYER_GZIP.into(),
            },
        )?;
        let now = created.unwrap_or_else(crate::root::unix_now);
        let config = ImageConfig {
            created: Some(rfc3339(now)),
            architecture: host_architecture().into(),
            os: "linux".into(),
            history: vec![History {
                created: Some(rfc3339(now)),
                created_by: Some(format!("kiln import {}", path.display())),
                comment: Some("Imported from a rootfs tarball".into()),
                empty_layer: false,
            }],
            ..Default::default()
        };
        self.write_image(config, Some(&snapshot), &[name], now, None)
    }
}
