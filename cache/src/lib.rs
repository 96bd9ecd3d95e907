//! kiln's state root: the content store (an OCI image layout), the snapshot store
//! (overlay upper dirs), the cache index (SQLite), the image store (tags) and layer
//! diff/apply.
//!
//! ```text
//! $KILN_ROOT/
//! ├── CACHEDIR.TAG
//! ├── lock             shared by every kiln process, exclusive for prune
//! ├── reserve          space prune frees first, so it works on a full disk
//! ├── index-v1.db      cache index (SQLite, WAL)
//! ├── content-v1/      OCI image layout: oci-layout, index.json, blobs/sha256/<hex>
//! ├── snapshots-v1/    <id>/fs (overlay upper dir), <id>/work; new-* are being created
//! ├── containers-v1/   writable layers of `kiln run` containers
//! ├── tmp-v1/          temp files, renamed into place when complete
//! └── locks-v1/        one lock file per cache key being built
//! ```

mod archive;
mod containers;
mod content;
mod digest;
pub mod download;
mod error;
mod export;
pub mod gc;
mod images;
mod import;
pub mod index;
mod keylock;
pub mod layer;
mod load;
mod lookup;
pub mod oci;
mod outbound;
mod reference;
pub mod registry;
mod remove;
pub mod root;
pub mod rootfs;
mod snapshot;
mod store;
pub mod tree;
mod unpack;
mod usage;

pub use archive::{ArchiveFormat, ArchiveImage, ArchiveReport};
pub use content::{BlobWriter, ContentStore};
pub use digest::{HashingReader, HashingWriter, digest_hex, random_id, sha256_digest};
pub use error::{CacheError, Result, is_no_space};
pub use images::Image;
pub use keylock::KeyLock;
pub use load::LoadError;
pub use lookup::short_id;
pub use outbound::{ExportCompression, OutboundLayer};
pub use reference::{Reference, familiar, normalize_reference, tag_reference};
pub use remove::Removal;
pub use root::{LockMode, StateRoot, default_root};
pub use snapshot::{ActiveSnapshot, OverlayMount};
pub use store::Store;
pub use usage::{DiskUsage, RecordUsage};
