//! Pulled layers unpacked while they download: each chunk goes to the content store's
//! writer (size and digest checked as [`fetch_blob`] does) and, through a bounded
//! channel, to a blocking thread that decompresses it, hashes the tar for the diff id
//! and applies it to the layer's snapshot, so a layer is on disk as files when its
//! last byte arrives. The snapshot is committed only when the blob and the diff id are
//! both verified (`Store::commit_layers`), so a bad blob never leaves a usable
//! snapshot, only an active one that is removed at once.

use super::error::{RegistryError, Result};
use super::fetcher::fetch_blob;
use super::{BlobProgress, PullProgress};
use crate::content::ContentStore;
use crate::error::CacheError;
use crate::unpack::{LayerPlan, apply_verified, layer_reader, unpack_blob};
use bytes::{Buf, Bytes};
use std::collections::HashMap;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};

/// Chunks in flight between a download and its unpacking thread.
const CHANNEL_CHUNKS: usize = 32;

/// Where a missing layer's bytes come from.
pub(super) enum LayerSource {
    /// Downloaded by this layer, which then tells later layers with the same blob
    /// whether it is stored (`Some(true)`) or failed (`Some(false)`).
    Download(watch::Sender<Option<bool>>),
    /// The blob an earlier layer of the image downloads.
    After(watch::Receiver<Option<bool>>),
    /// Already in the content store.
    Stored,
}

/// The source of each layer of `missing`, in order: each blob the store lacks is
/// downloaded once, by its first layer.
pub(super) fn sources(missing: &[LayerPlan], content: &ContentStore) -> Vec<LayerSource> {
    let mut downloading: HashMap<&str, watch::Receiver<Option<bool>>> = HashMap::new();
    missing
        .iter()
        .map(|layer| {
            let digest = layer.descriptor.digest.as_str();
            if let Some(done) = downloading.get(digest) {
                LayerSource::After(done.clone())
            } else if content.has_blob(digest) {
                LayerSource::Stored
            } else {
                let (tx, rx) = watch::channel(None);
                downloading.insert(digest, rx);
                LayerSource::Download(tx)
            }
        })
        .collect()
}

/// The registry a pull reads from, and where it reports.
pub(super) struct Origin<'a> {
    pub client: &'a oci_client::Client,
    pub host: &'a str,
    pub remote: &'a oci_client::Reference,
    pub content: &'a ContentStore,
    pub progress: &'a dyn PullProgress,
}

impl Origin<'_> {
    /// Unpacks `layer` into the empty snapshot dir `dest`, from where `source` says.
    pub(super) async fn unpack(
        &self,
        layer: &LayerPlan,
        source: LayerSource,
        dest: PathBuf,
    ) -> Result<()> {
        let digest = &layer.descriptor.digest;
        match source {
            LayerSource::Stored => self.unpack_stored(layer, dest).await?,
            LayerSource::After(mut done) => {
                let stored = done
                    .wait_for(Option::is_some)
                    .await
                    .is_ok_and(|v| *v == Some(true));
                if !stored {
                    return Err(RegistryError::Abandoned {
                        digest: digest.clone(),
                    });
                }
                self.unpack_stored(layer, dest).await?;
            }
            LayerSource::Download(done) => {
                let fetched = self.unpack_streaming(layer, dest).await;
                let _ = done.send(Some(fetched.is_ok()));
                fetched?;
            }
        }
        self.progress.blob(digest, BlobProgress::Unpacked);
        Ok(())
    }

    /// Unpacks a layer whose blob is in the content store.
    async fn unpack_stored(&self, layer: &LayerPlan, dest: PathBuf) -> Result<()> {
        let path = self.content.blob_path(&layer.descriptor.digest)?;
        let layer = layer.clone();
        blocking(move || unpack_blob(fs_err::File::open(&path)?, &layer, &dest)).await
    }

    /// Downloads a layer's blob into the content store and unpacks it as it streams.
    async fn unpack_streaming(&self, layer: &LayerPlan, dest: PathBuf) -> Result<()> {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let plan = layer.clone();
        let applied = blocking(move || {
            let mut chunks = ChannelReader::new(rx);
            {
                let mut tar = layer_reader(&plan.descriptor, BufReader::new(&mut chunks))?;
                apply_verified(&dest, &mut tar, &plan.diff_id)?;
            }
            // What the decompressor left unread, so that the download runs to its end.
            io::copy(&mut chunks, &mut io::sink())?;
            Ok(())
        });
        let fetched = fetch_blob(
            self.client,
            self.host,
            self.remote,
            &layer.descriptor,
            self.content,
            self.progress,
            Some(tx),
        )
        .await;
        let applied = applied.await;
        match fetched {
            // The unpacking thread hung up: its error says why.
            Err(RegistryError::Abandoned { .. }) => applied.and(fetched),
            // A download error explains an unpacking one (a truncated tar, say).
            Err(e) => Err(e),
            Ok(()) => applied,
        }
    }
}

/// Starts `work` on tokio's blocking threads at once (not when first polled: a
/// download feeding it must not wait for a consumer that has not started).
fn blocking(
    work: impl FnOnce() -> crate::error::Result<()> + Send + 'static,
) -> impl std::future::Future<Output = Result<()>> {
    let handle = tokio::task::spawn_blocking(work);
    async move {
        match handle.await {
            Ok(result) => Ok(result?),
            Err(e) => {
                Err(CacheError::from(io::Error::other(format!("unpacking thread: {e}"))).into())
            }
        }
    }
}

/// The chunks of a download, read on a blocking thread.
struct ChannelReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    fn new(chunks: mpsc::Receiver<Bytes>) -> Self {
        Self {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_reader_reads_chunks_in_order_then_ends() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Bytes::from_static(b"hello ")).unwrap();
        tx.try_send(Bytes::new()).unwrap();
        tx.try_send(Bytes::from_static(b"world")).unwrap();
        drop(tx);
        let mut out = String::new();
        ChannelReader::new(rx).read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
    }
}
