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
    /// No image with that name in the image store.
    #[error("image `{0}` not found")]
    ImageNotFound(String),
    /// A snapshot referenced by the index is missing or in the wrong state.
    #[error("snapshot {id}: {reason}")]
    Snapshot { id: String, reason: String },
    /// Walking, measuring or removing a directory tree failed.
    #[error(transparent)]
    Walk(#[from] crate::tree::WalkError),
    /// Writing or applying a layer failed.
    #[error(transparent)]
    Layer(#[from] crate::layer::LayerError),
}

impl CacheError {
    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json {
            what: what.into(),
            source,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;
