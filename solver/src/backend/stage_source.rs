//! `COPY --from` sources: entries inside another stage's root filesystem, found with
//! the same wildcards as context sources, every directory opened in-root (symlinks
//! resolve as if that root were `/`), and held open so the host path handed to the
//! copy stays inside the root.

use crate::context::{expand_wildcards, has_wildcard};
use crate::error::{Result, SolveError};
use crate::lower::clean_absolute;
use crate::selection::{Kept, matches, split_pivot};
use kiln_cache::rootfs::RootDir;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// One source entry, reached through an open directory of the source root.
pub(super) struct StageEntry {
    dir: OwnedFd,
    /// The entry's name in `dir` (symlinks followed); empty for the root itself.
    name: Vec<u8>,
    /// Its name in a destination folder: the matched entry's own name.
    pub dest_name: Vec<u8>,
    /// `COPY --parents`: the entry is a pivot folder, and only these paths below it are
    /// copied.
    pub kept: Option<Kept>,
}

impl StageEntry {
    /// A host path to the entry that resolves through the held directory fd.
    pub fn host_path(&self) -> PathBuf {
        let dir = PathBuf::from(format!("/proc/self/fd/{}", self.dir.as_raw_fd()));
        match self.name.is_empty() {
            true => dir,
            false => dir.join(std::ffi::OsStr::from_bytes(&self.name)),
        }
    }
}

fn not_found(from: &str, pattern: &str) -> SolveError {
    SolveError::Input {
        what: from.to_string(),
        message: format!("\"{pattern}\": not found"),
    }
}

/// The entries `patterns` (absolute paths in the source root, Go wildcards per
/// segment) name, in order, every symlink on the way followed inside the root, as
/// BuildKit follows a copy source; `from` names the root in messages. A wildcard
/// matching nothing is skipped unless nothing at all matched, as for context sources.
pub(super) fn resolve(root: &RootDir, patterns: &[String], from: &str) -> Result<Vec<StageEntry>> {
    let mut out = Vec::new();
    let mut unmatched = None;
    for pattern in patterns {
        let rel = clean_absolute(pattern).trim_start_matches('/').to_string();
        let before = out.len();
        for matched in expand_wildcards(root.as_fd(), &rel)? {
            let found = match kiln_inroot::locate(root.as_fd(), matched.as_bytes(), None) {
                Ok(found) if found.exists => found,
                Ok(_) | Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => continue,
                Err(e) => {
                    return Err(SolveError::Input {
                        what: from.to_string(),
                        message: format!("\"{matched}\": {e}"),
                    });
                }
            };
            let dest_name = matched.rsplit('/').next().unwrap_or_default();
            out.push(StageEntry {
                dir: found.dir,
                name: found.name,
                dest_name: dest_name.as_bytes().to_vec(),
                kept: None,
            });
        }
        if out.len() == before {
            if !rel.split('/').any(has_wildcard) {
                return Err(not_found(from, pattern));
            }
            unmatched.get_or_insert(pattern);
        }
    }
    match (out.is_empty(), unmatched) {
        (true, Some(pattern)) => Err(not_found(from, pattern)),
        _ => Ok(out),
    }
}

/// `COPY --from --parents` sources: each pivot folder (the part of the pattern before
/// its first `/./`, else the root; symlinks followed in the root, as [`resolve`] does)
/// with what the rest matches below it, as
/// [`crate::context::BuildContext::resolve_parents`] finds them in the context.
pub(super) fn resolve_parents(
    root: &RootDir,
    patterns: &[String],
    from: &str,
) -> Result<Vec<StageEntry>> {
    let mut out = Vec::new();
    let mut unmatched = None;
    for pattern in patterns {
        let (pivot, below) = split_pivot(pattern);
        for mut entry in resolve(root, &[format!("/{pivot}")], from)? {
            let kept = Kept::new(matches(&entry.host_path(), below)?);
            if kept.is_empty() {
                if !below.split('/').any(has_wildcard) {
                    return Err(not_found(from, pattern));
                }
                unmatched.get_or_insert(pattern);
                continue;
            }
            entry.kept = Some(kept);
            out.push(entry);
        }
    }
    match (out.is_empty(), unmatched) {
        (true, Some(pattern)) => Err(not_found(from, pattern)),
        _ => Ok(out),
    }
}
