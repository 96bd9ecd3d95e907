//! The sources a step reads besides its input vertices, one kind per arm: each kind
//! produces the content digest its step's cache key hashes. A stage's or an image's
//! files need none (the input's key identifies them); context files and heredocs'
//! inline files are hashed here, and ADD's remote URLs downloaded here and keyed on
//! their content.

use crate::backend::Cache;
use crate::context::{BuildContext, Selection};
use crate::error::{Result, SolveError};
use crate::op::{CopyOp, CopySource, FileOp, InlineFile, Op};
use crate::selection::Excludes;
use kiln_cache::download::{Downloaded, url_file_name};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What resolving a step's sources found, handed on to the file operation.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// The context files a COPY reads.
    pub context: Option<Selection>,
    /// ADD's downloaded files.
    pub downloads: Option<Downloads>,
}

/// Files ADD downloaded, in a temporary directory removed when this is dropped.
#[derive(Debug)]
pub(super) struct Downloads {
    _dir: tempfile::TempDir,
    pub files: Vec<PathBuf>,
}

/// Whether the op's key needs a content digest, which takes work (so the scheduler
/// does not look the key up inline).
pub(super) fn needs_digest(op: &Op) -> bool {
    reads_context(op) || reads_urls(op) || !inline_files(op).is_empty()
}

/// The content digest the op's key hashes (`None`: its inputs' keys identify all it
/// reads), and what was resolved on the way.
pub(super) fn digest(
    op: &Op,
    context: &BuildContext,
    cache: &dyn Cache,
    tmp: &Path,
) -> Result<(Option<String>, Resolved)> {
    let mut parts = Vec::new();
    let mut resolved = Resolved::default();
    if let Op::File(FileOp::Copy(copy)) = op {
        if reads_context(op) {
            let sources = if copy.parents {
                context.resolve_parents(&copy.sources)?
            } else {
                context.resolve(&copy.sources)?
            };
            let excludes = Excludes::new(&copy.exclude)?;
            let (digest, selection) = context.digest(sources, &excludes, cache.stat_cache())?;
            parts.push(digest);
            resolved.context = Some(selection);
        }
        if reads_urls(op) {
            let (digest, downloads) = download(copy, tmp)?;
            parts.push(format!("urls:{digest}"));
            resolved.downloads = Some(downloads);
        }
    }
    let inline = inline_files(op);
    if !inline.is_empty() {
        parts.push(format!("inline:{}", inline_digest(inline)));
    }
    Ok(((!parts.is_empty()).then(|| parts.join(" ")), resolved))
}

/// Whether the op copies files from the build context.
fn reads_context(op: &Op) -> bool {
    matches!(op, Op::File(FileOp::Copy(copy))
        if copy.source == CopySource::Context && !copy.sources.is_empty())
}

/// Whether the op downloads ADD's URLs.
fn reads_urls(op: &Op) -> bool {
    matches!(op, Op::File(FileOp::Copy(copy)) if copy.source == CopySource::Urls)
}

/// The files the op is given inline by heredocs.
fn inline_files(op: &Op) -> &[InlineFile] {
    match op {
        Op::File(FileOp::Copy(copy)) => &copy.inline,
        Op::Exec(exec) => &exec.pipes,
        Op::Source { .. } | Op::Merge { .. } | Op::File(FileOp::Mkdir { .. }) => &[],
    }
}

/// sha256 over each file's name and content, lengths first so no two lists collide.
fn inline_digest(files: &[InlineFile]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        for part in [&file.name, &file.content] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Downloads ADD's URLs (each in a directory of its own, under the name BuildKit gives
/// it), checks `--checksum`; the digest over each file's name, content digest and mtime.
fn download(copy: &CopyOp, tmp: &Path) -> Result<(String, Downloads)> {
    #[derive(Serialize)]
    struct Keyed<'a> {
        name: &'a str,
        digest: &'a str,
        modified: Option<i64>,
    }
    fs_err::create_dir_all(tmp)?;
    let dir = tempfile::Builder::new().prefix("add-").tempdir_in(tmp)?;
    let runtime = tokio::runtime::Handle::current();
    let mut files = Vec::new();
    let mut keyed = Vec::new();
    for (i, url) in copy.sources.iter().enumerate() {
        let name = url_file_name(url);
        let into = dir.path().join(i.to_string());
        fs_err::create_dir(&into)?;
        let Downloaded {
            path,
            digest,
            modified,
        } = runtime
            .block_on(kiln_cache::download::download(url, &into, &name))
            .map_err(|e| SolveError::Instruction(crate::backend::error_chain(&e)))?;
        if let Some(expected) = &copy.checksum
            && *expected != digest
        {
            return Err(SolveError::Instruction(format!(
                "{url}: checksum mismatch: expected {expected}, downloaded {digest}"
            )));
        }
        keyed.push((name, digest, modified));
        files.push(path);
    }
    let keyed: Vec<Keyed<'_>> = keyed
        .iter()
        .map(|(name, digest, modified)| Keyed {
            name,
            digest,
            modified: *modified,
        })
        .collect();
    let json = serde_json::to_vec(&keyed).map_err(std::io::Error::other)?;
    let downloads = Downloads { _dir: dir, files };
    Ok((kiln_cache::sha256_digest(&json), downloads))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, content: &str) -> InlineFile {
        InlineFile {
            name: name.into(),
            content: content.into(),
        }
    }

    #[test]
    fn inline_digest_covers_names_and_contents() {
        let one = inline_digest(&[file("EOF", "a\n")]);
        assert_eq!(one, inline_digest(&[file("EOF", "a\n")]));
        assert_ne!(one, inline_digest(&[file("EOF", "b\n")]));
        assert_ne!(one, inline_digest(&[file("EOT", "a\n")]));
        assert_ne!(
            inline_digest(&[file("a", "bc")]),
            inline_digest(&[file("ab", "c")])
        );
    }
}
