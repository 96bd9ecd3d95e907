//! Errors of the state root.

use std::path::PathBuf;

/// An error from the state root, the content store, the snapshot store or the index.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A filesystem operation failed; `fs-err` puts the path in the message.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The cache index (SQLite) failed.
    #[error("cache index `{path}`")]
    Index {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// Another kiln process holds the state root exclusively for longer than we wait.
    #[error("state root `{path}` is locked by another kiln process")]
    Locked { path: PathBuf },
    /// A blob's content did not match its digest.
    #[error("blob {expected} has digest {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// A layer whose media type names no compression kiln reads.
    #[error("layer {digest} has media type `{media_type}`, which kiln cannot read")]
    UnsupportedLayer { digest: String, media_type: String },
    /// A blob the store should hold is missing.
    #[error("blob {digest} is missing from the content store")]
    MissingBlob { digest: String },
    /// JSON in the store (config, manifest, index) is malformed.
    #[error("malformed {what}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// An image name that cannot be parsed.
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference { reference: String, reason: String },
    /// `kiln rmi` refused: the image is still needed (another tag, a container).
    #[error("conflict: unable to remove `{reference}` (must force) - {reason}")]
    ImageConflict { reference: String, reason: String },
    /// No image with that name in the image store.
    #[error("image `{0}` not found")]
    ImageNotFound(String),
    /// `kiln import` of an archive without a single entry.
    #[error("`{}` holds no files: refusing to import an empty image", path.display())]
    EmptyArchive { path: PathBuf },
    /// A snapshot referenced by the index is missing or in the wrong state.
    #[error("snapshot {id}: {reason}")]
    Snapshot { id: String, reason: String },
    /// Walking, measuring or removing a directory tree failed.
    #[error(transparent)]
    Walk(#[from] crate::tree::WalkError),
    /// `kiln load` refused an archive.
    #[error(transparent)]
    Load(#[from] crate::load::LoadError),
    /// Writing or applying a layer failed.
    #[error(transparent)]
    Layer(#[from] crate::layer::LayerError),
}

impl CacheError {
    /// Whether the error comes from a full filesystem (ENOSPC, or SQLite's "database
    /// or disk is full").
    pub fn is_no_space(&self) -> bool {
        is_no_space(self)
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json {
            what: what.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;

/// Whether `e` or one of its sources is a full filesystem: an I/O error of kind
/// `StorageFull` (ENOSPC) or SQLite's `SQLITE_FULL`.
pub fn is_no_space(e: &(dyn std::error::Error + 'static)) -> bool {
    let full = |io: &std::io::Error| io.kind() == std::io::ErrorKind::StorageFull;
    let mut next = Some(e);
    while let Some(e) = next {
        let found = e.downcast_ref::<std::io::Error>().is_some_and(full)
            || e.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
            })
            // `Io` is transparent: its source is the io::Error's source, not the error.
            || matches!(e.downcast_ref::<CacheError>(), Some(CacheError::Io(io)) if full(io));
        if found {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_build_errors_are_recognised_through_every_wrapper() {
        let enospc = || std::io::Error::from_raw_os_error(28);
        // fs-err keeps the kind; `CacheError::Io` is transparent.
        let io = fs_err::write("/proc/kiln-no-such-dir/f", b"").unwrap_err();
        assert!(!CacheError::from(io).is_no_space());
        assert!(CacheError::from(enospc()).is_no_space());
        let layer = crate::layer::LayerError::WriteStream {
            path: "big".into(),
            source: enospc(),
        };
        assert!(CacheError::from(layer).is_no_space());
        let sqlite = CacheError::Index {
            path: "index-v1.db".into(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            ),
        };
        assert!(sqlite.is_no_space());
        assert!(!CacheError::ImageNotFound("x".into()).is_no_space());
    }
}
