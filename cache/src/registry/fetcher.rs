//! Downloading one blob into the content store, verified while it streams: the size
//! the registry announces and the bytes it sends must match the descriptor, and the
//! digest is checked before the content store's writer renames the blob in. Anything
//! that fails leaves only a temp file, which the writer removes when dropped.

use super::error::{RegistryError, Result};
use super::{BlobProgress, PullProgress};
use crate::content::ContentStore;
use crate::oci::Descriptor;
use futures_util::StreamExt;
use oci_client::manifest::OciDescriptor;
use sha2::{Digest as _, Sha256};
use std::io::Write;

/// Fetches `blob` from `remote` on `host` unless the store has it already. With `tee`,
/// every chunk is also sent there as it arrives (to be unpacked while it streams; the
/// receiver must not trust the bytes before this returns `Ok`); a receiver that hangs
/// up stops the download.
pub async fn fetch_blob(
    client: &oci_client::Client,
    host: &str,
    remote: &oci_client::Reference,
    blob: &Descriptor,
    store: &ContentStore,
    progress: &dyn PullProgress,
    tee: Option<tokio::sync::mpsc::Sender<bytes::Bytes>>,
) -> Result<()> {
    if store.has_blob(&blob.digest) {
        progress.blob(&blob.digest, BlobProgress::Exists);
        return Ok(());
    }
    let free = free_space(store)?;
    if blob.size > free {
        return Err(RegistryError::TooLarge {
            host: host.into(),
            digest: blob.digest.clone(),
            size: blob.size,
            free,
        });
    }
    let size_mismatch = |actual, truncated| RegistryError::SizeMismatch {
        host: host.into(),
        digest: blob.digest.clone(),
        expected: blob.size,
        actual,
        truncated,
    };
    let descriptor = OciDescriptor {
        media_type: blob.media_type.clone(),
        digest: blob.digest.clone(),
        size: i64::try_from(blob.size).unwrap_or(i64::MAX),
        ..Default::default()
    };
    let mut stream = client
        .pull_blob_stream(remote, &descriptor)
        .await
        .map_err(|source| RegistryError::Remote {
            host: host.into(),
            what: format!("fetching blob {}", blob.digest),
            source,
        })?;
    if let Some(announced) = stream.content_length
        && announced != blob.size
    {
        return Err(size_mismatch(announced, announced < blob.size));
    }
    let mut writer = store.writer()?;
    let mut hasher = Sha256::new();
    let mut done: u64 = 0;
    // oci-client would check the digest at the stream's end; kiln stops at the size it
    // expects and checks it itself, so a registry sending more is caught too.
    while let Some(chunk) = stream.stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(source) => {
                return Err(RegistryError::Stream {
                    host: host.into(),
                    digest: blob.digest.clone(),
                    done,
                    expected: blob.size,
                    source,
                });
            }
        };
        done += chunk.len() as u64;
        if done > blob.size {
            return Err(size_mismatch(done, false));
        }
        hasher.update(&chunk);
        writer
            .write_all(&chunk)
            .map_err(crate::error::CacheError::from)?;
        if let Some(tee) = &tee
            && tee.send(chunk).await.is_err()
        {
            return Err(RegistryError::Abandoned {
                digest: blob.digest.clone(),
            });
        }
        progress.blob(
            &blob.digest,
            BlobProgress::Downloading {
                done,
                total: blob.size,
            },
        );
        if done == blob.size {
            break;
        }
    }
    if done < blob.size {
        return Err(size_mismatch(done, true));
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != blob.digest {
        return Err(RegistryError::DigestMismatch {
            host: host.into(),
            what: format!("blob {}", blob.digest),
            expected: blob.digest.clone(),
            actual,
        });
    }
    writer.commit()?;
    progress.blob(&blob.digest, BlobProgress::Downloaded);
    Ok(())
}

/// Bytes free on the filesystem holding the content store.
fn free_space(store: &ContentStore) -> Result<u64> {
    let stat = rustix::fs::statvfs(store.dir()).map_err(|e| {
        crate::error::CacheError::from(std::io::Error::new(
            std::io::Error::from(e).kind(),
            format!("statvfs `{}`: {e}", store.dir().display()),
        ))
    })?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}
