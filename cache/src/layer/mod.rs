//! Layers as OCI tar streams: the diff held in an overlay upper directory, written as a layer
//! ([`write_layer`]), and a layer unpacked into an empty snapshot directory that will be used as
//! an overlay lower layer ([`apply_layer`]); and a local archive `ADD` extracts into a
//! directory ([`LocalArchive`]), with the same safe writes but no whiteouts.
//!
//! The two whiteout vocabularies this module translates between:
//!
//! ```text
//! overlay upper dir (on disk)                    OCI layer (tar)
//! a          char device 0:0          <->        .wh.a            empty regular file
//! d/         trusted.overlay.opaque=y <->        d/ + d/.wh..wh..opq
//! ```
//!
//! **Architecture Invariant:** streams only. Neither side compresses or hashes (the caller wraps
//! the reader or writer in gzip/zstd and a digest), and no file content is ever held whole in
//! memory.
//!
//! **Architecture Invariant:** [`apply_layer`] refuses every entry that would write outside
//! `dest` or through a symlink (absolute paths, `..`, symlinks on the way, hard links to
//! outside), and still writes only fd-relative, never following a symlink, in case one slips by.

mod apply;
mod compress;
mod extract;
pub(crate) mod header;
mod parents;
mod whiteout;
mod write;

#[cfg(test)]
mod tests;

use std::io;
use std::path::PathBuf;

use crate::rootfs::RootfsError;

pub use apply::apply_layer;
pub use compress::{Compression, ParallelCompressor};
pub use extract::LocalArchive;
pub use write::write_layer;

/// Options of [`write_layer`] that change the bytes of the layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerOptions {
    /// Clamp every mtime to this many seconds since the epoch (`SOURCE_DATE_EPOCH`), for
    /// reproducible layers.
    pub source_date_epoch: Option<i64>,
}

/// What a layer write or apply processed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerStats {
    /// Tar entries (whiteouts and opaque markers included; PAX headers not).
    pub entries: u64,
    /// Size of the uncompressed tar stream.
    pub bytes: u64,
}

impl LayerError {
    /// Whether the archive is at fault (malformed, unsafe or inconsistent) rather than
    /// kiln or the machine (a full disk).
    pub fn is_bad_archive(&self) -> bool {
        match self {
            Self::UnsafePath { .. }
            | Self::BadParent { .. }
            | Self::Unsupported { .. }
            | Self::HardLink { .. } => true,
            Self::ReadStream { source } | Self::Apply { source, .. } => !matches!(
                source.kind(),
                io::ErrorKind::StorageFull
                    | io::ErrorKind::QuotaExceeded
                    | io::ErrorKind::OutOfMemory
                    | io::ErrorKind::ReadOnlyFilesystem
            ),
            Self::Walk { .. } | Self::WriteStream { .. } | Self::Rootfs(_) => false,
        }
    }
}

/// Errors of layer writing and applying.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Reading the snapshot directory being diffed failed.
    #[error("Failed to {op} `{}`", path.display())]
    Walk {
        /// What was being done.
        op: &'static str,
        /// The host path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing the tar stream failed.
    #[error("Failed to write the layer tar stream at entry `{path}`")]
    WriteStream {
        /// The entry being written.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading the tar stream failed or it is malformed.
    #[error("Failed to read the layer tar stream")]
    ReadStream {
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Applying one entry failed.
    #[error("Failed to {op} `{path}` while applying a layer")]
    Apply {
        /// What was being done.
        op: &'static str,
        /// The entry path as written in the archive.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An entry path or hard-link target is unsafe or invalid (absolute, `..` components,
    /// whiteouts in the middle of a path, …). Layers holding such entries are refused, not rewritten.
    #[error("Refusing layer entry `{path}`: {reason}")]
    UnsafePath {
        /// The entry path (or link target) as written in the archive.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An entry below a symlink or a non-directory. A layer made from a filesystem diff never
    /// has one, and writing through a symlink could leave the root, so none is followed.
    #[error("Refusing layer entry `{path}`: its parent `{parent}` is {}", if *symlink { "a symlink (layers never write through symlinks)" } else { "not a directory" })]
    BadParent {
        /// The entry path as written in the archive.
        path: String,
        /// The part of it that is not a directory.
        parent: String,
        /// Whether that part is a symlink (else another kind of file).
        symlink: bool,
    },
    /// A hard link whose target is outside the archive root: absolute, through `..` or a
    /// symlink, or not found inside it (targets are only ever looked up inside, so a link to
    /// a host file is "not found").
    #[error("Refusing hard link `{path}`: its target `{target}` {reason}")]
    HardLink {
        /// The link's path as written in the archive.
        path: String,
        /// Its target as written in the archive.
        target: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The snapshot or archive uses something a layer cannot carry.
    #[error("Unsupported layer content at `{path}`: {reason}")]
    Unsupported {
        /// The path concerned.
        path: String,
        /// What is unsupported.
        reason: String,
    },
    /// Opening the destination root failed.
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
}

impl From<crate::tree::WalkError> for LayerError {
    fn from(e: crate::tree::WalkError) -> Self {
        LayerError::Walk {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

pub(crate) fn lossy(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}
