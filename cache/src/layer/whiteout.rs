//! The whiteout vocabularies of overlayfs and of OCI layers.

use rustix::fs::FileType;

use crate::tree::Stat;

/// Prefix of an OCI whiteout entry: `.wh.<name>` deletes `<name>` of the lower layers.
pub(crate) const WH_PREFIX: &[u8] = b".wh.";
/// Prefix of OCI whiteout *meta* entries (`.wh..wh..opq`, AUFS's `.wh..wh.plnk`, …).
pub(crate) const WH_META_PREFIX: &[u8] = b".wh..wh.";
/// Name of the OCI opaque marker: the directory holding it hides everything below it in lower layers.
pub(crate) const WH_OPAQUE: &[u8] = b".wh..wh..opq";

/// Overlay xattr marking an opaque directory (value `y`).
pub(crate) const OVL_OPAQUE: &[u8] = b"trusted.overlay.opaque";
/// Namespace of overlayfs's private xattrs; never copied into or out of a layer.
pub(crate) const OVL_PREFIX: &[u8] = b"trusted.overlay.";
/// Overlay features whose upper dirs are not plain diffs (a renamed directory or a
/// metadata-only copy-up refer to lower layers). Snapshots must be mounted without them.
pub(crate) const OVL_UNSUPPORTED: [&[u8]; 2] =
    [b"trusted.overlay.redirect", b"trusted.overlay.metacopy"];

/// Whether an upper-dir entry is an overlay whiteout: a character device 0:0.
pub(crate) fn is_overlay_whiteout(stat: &Stat) -> bool {
    stat.file_type() == FileType::CharacterDevice && stat.rdev == 0
}

/// What a final path component of a layer entry means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryName<'a> {
    /// An ordinary name.
    Plain,
    /// `.wh..wh..opq`: the parent directory is opaque.
    Opaque,
    /// `.wh.<name>`: `<name>` is deleted.
    Whiteout(&'a [u8]),
    /// Any other `.wh..wh.*` meta entry (AUFS bookkeeping): ignored.
    Meta,
}

/// Classifies the final component of a layer entry.
pub(crate) fn classify(name: &[u8]) -> EntryName<'_> {
    if name == WH_OPAQUE {
        EntryName::Opaque
    } else if name.starts_with(WH_META_PREFIX) {
        EntryName::Meta
    } else if let Some(rest) = name.strip_prefix(WH_PREFIX) {
        EntryName::Whiteout(rest)
    } else {
        EntryName::Plain
    }
}
