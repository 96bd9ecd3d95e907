//! `COPY --from` sources: entries inside another stage's root filesystem, found with
//! the same wildcards as context sources, every directory opened in-root (symlinks
//! resolve as if that root were `/`), and held open so the host path handed to the
//! copy stays inside the root.

use crate::context::{has_wildcard, join_rel, segment_glob};
use crate::error::{Result, SolveError};
use crate::lower::clean_absolute;
use crate::selection::{Kept, matches, split_pivot};
use kiln_cache::rootfs::RootDir;
use kiln_parser::dockerignore::Pattern;
use rustix::fs::AtFlags;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// One source entry, reached through an open directory of the source root.
pub(super) struct StageEntry {
    dir: OwnedFd,
    /// The entry's name in `dir`; `None` for the root itself.
    name: Option<String>,
    /// `COPY --parents`: the entry is a pivot folder, and only these paths below it are
    /// copied.
    pub kept: Option<Kept>,
}

impl StageEntry {
    /// A host path to the entry that resolves through the held directory fd.
    pub fn host_path(&self) -> PathBuf {
        let dir = format!("/proc/self/fd/{}", self.dir.as_raw_fd());
        match &self.name {
            Some(name) => PathBuf::from(dir).join(name),
            None => PathBuf::from(dir),
        }
    }
}

fn not_found(from: &str, pattern: &str) -> SolveError {
    SolveError::Input {
        what: from.to_string(),
        message: format!("\"{pattern}\": not found"),
    }
}

fn in_root(e: impl std::error::Error) -> SolveError {
    SolveError::Io(std::io::Error::other(super::error_chain(&e)))
}

/// The entries `patterns` (absolute paths in the source root, Go wildcards per
/// segment) name, in order; `from` names the root in messages. A wildcard matching
/// nothing is skipped unless nothing at all matched, as for context sources.
pub(super) fn resolve(root: &RootDir, patterns: &[String], from: &str) -> Result<Vec<StageEntry>> {
    let mut out = Vec::new();
    let mut unmatched = None;
    for pattern in patterns {
        let rel = clean_absolute(pattern).trim_start_matches('/').to_string();
        if rel.is_empty() {
            out.push(StageEntry {
                dir: root.open_dir("").map_err(in_root)?,
                name: None,
                kept: None,
            });
            continue;
        }
        let mut matches = vec![String::new()];
        for segment in rel.split('/') {
            let glob = segment_glob(segment)?;
            let mut next = Vec::new();
            for prefix in &matches {
                if let Some(glob) = &glob {
                    let Ok(dir) = root.open_dir(prefix) else {
                        continue;
                    };
                    let mut names = list(dir, glob)?;
                    names.sort();
                    next.extend(names.iter().map(|n| join_rel(prefix, n)));
                } else {
                    next.push(join_rel(prefix, segment));
                }
            }
            matches = next;
        }
        let before = out.len();
        for m in matches {
            let (parent, name) = m.rsplit_once('/').unwrap_or(("", m.as_str()));
            let Ok(dir) = root.open_dir(parent) else {
                continue;
            };
            if rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                out.push(StageEntry {
                    dir,
                    name: Some(name.to_string()),
                    kept: None,
                });
            }
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
/// its first `/./`, else the root) with what the rest matches below it, as
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

/// The names in `dir` that match `glob`.
fn list(dir: OwnedFd, glob: &Pattern) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = rustix::fs::Dir::read_from(&dir).map_err(|e| SolveError::Io(e.into()))?;
    for entry in entries {
        let entry = entry.map_err(|e| SolveError::Io(e.into()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." && glob.matches(&name) {
            names.push(name);
        }
    }
    Ok(names)
}
