//! Uploading one blob: nothing when the registry has it (HEAD first), a
//! cross-repository mount when another repository of the same registry is known to
//! have it, else an upload streamed from the content store, in chunks or, when the
//! registry does not follow the spec for chunked uploads or refuses them (405, 501),
//! in one request.

use super::error::{RegistryError, Result};
use crate::content::ContentStore;
use crate::oci::Descriptor;
use oci_client::errors::OciDistributionError;
use tokio::io::AsyncReadExt;

/// Bytes read from the store per piece of the upload stream (oci-client's chunk size).
const READ_SIZE: u64 = 4 << 20;

/// What uploading a blob took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    /// The repository had it already.
    Exists,
    /// Mounted from this repository of the same registry.
    Mounted { from: String },
    /// Uploaded.
    Pushed,
}

/// Where blobs go: a repository on a host, with a client for checks and mounts, one
/// that uploads in chunks and one that uploads whole blobs.
pub struct Destination<'a> {
    pub host: &'a str,
    pub remote: &'a oci_client::Reference,
    pub requests: &'a oci_client::Client,
    pub chunked: &'a oci_client::Client,
    pub monolithic: &'a oci_client::Client,
}

impl Destination<'_> {
    fn remote_error(&self, what: String) -> impl FnOnce(OciDistributionError) -> RegistryError {
        let host = self.host.to_string();
        move |source| RegistryError::Remote { host, what, source }
    }

    /// Uploads `blob` from `store` unless the repository has it; `sources` are the
    /// repositories of this registry known to hold it.
    pub async fn push_blob(
        &self,
        blob: &Descriptor,
        sources: &[String],
        store: &ContentStore,
    ) -> Result<Uploaded> {
        let digest = blob.digest.as_str();
        if self
            .requests
            .blob_exists(self.remote, digest)
            .await
            .map_err(self.remote_error(format!("checking blob {digest}")))?
        {
            return Ok(Uploaded::Exists);
        }
        for from in sources
            .iter()
            .filter(|s| s.as_str() != self.remote.repository())
        {
            let source = oci_client::Reference::with_tag(
                self.host.to_string(),
                from.clone(),
                "latest".into(),
            );
            // A registry that cannot mount starts a plain upload instead (202), which
            // oci-client reports as an error: try the next source, then upload.
            if self
                .requests
                .mount_blob(self.remote, &source, digest)
                .await
                .is_ok()
            {
                return Ok(Uploaded::Mounted { from: from.clone() });
            }
        }
        let what = || format!("uploading blob {digest}");
        let chunked = self
            .chunked
            .push_blob_stream(self.remote, blob_stream(store, digest)?, digest, None)
            .await;
        match chunked {
            Ok(_) => {}
            Err(e) if refuses_chunks(&e) => {
                self.monolithic
                    .push_blob_stream(
                        self.remote,
                        blob_stream(store, digest)?,
                        digest,
                        Some(blob.size),
                    )
                    .await
                    .map_err(self.remote_error(what()))?;
            }
            Err(source) => return Err(self.remote_error(what())(source)),
        }
        Ok(Uploaded::Pushed)
    }
}

/// Whether a chunked upload failed because the registry does not do them: it answered
/// a step with a success other than the spec's (oci-client's spec violation), or
/// refused the method (405 Method Not Allowed, 501 Not Implemented).
fn refuses_chunks(error: &OciDistributionError) -> bool {
    matches!(
        error,
        OciDistributionError::SpecViolationError(_)
            | OciDistributionError::ServerError {
                code: 405 | 501,
                ..
            }
    )
}

/// The stored blob `digest` as a stream of pieces of [`READ_SIZE`] bytes.
fn blob_stream(
    store: &ContentStore,
    digest: &str,
) -> Result<
    impl futures_util::Stream<Item = Result<bytes::Bytes, OciDistributionError>> + Send + 'static,
> {
    let file = tokio::fs::File::from_std(store.open_blob(digest)?.into_file());
    Ok(futures_util::stream::try_unfold(file, |mut file| async {
        let mut piece = Vec::new();
        (&mut file).take(READ_SIZE).read_to_end(&mut piece).await?;
        Ok((!piece.is_empty()).then(|| (bytes::Bytes::from(piece), file)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    #[test]
    fn blob_stream_yields_the_whole_blob_in_full_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let (content, tmp) = (dir.path().join("content"), dir.path().join("tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(content.join("blobs/sha256")).unwrap();
        let store = ContentStore::open(&content, &tmp).unwrap();
        let data: Vec<u8> = (0..READ_SIZE + 10).map(|i| (i % 251) as u8).collect();
        let digest = store.write_blob(&data).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let pieces: Vec<bytes::Bytes> = runtime
            .block_on(blob_stream(&store, &digest).unwrap().try_collect())
            .unwrap();
        let sizes: Vec<usize> = pieces.iter().map(bytes::Bytes::len).collect();
        assert_eq!(sizes, [READ_SIZE as usize, 10]);
        assert_eq!(pieces.concat(), data);
    }
}
