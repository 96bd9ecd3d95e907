//! The sources a step reads besides its input vertices, one kind per arm: each kind
//! produces the content digest its step's cache key hashes. A stage's or an image's
//! files need none (the input's key identifies them); context files are hashed here.
//! ADD's remote URLs are downloaded here, and keyed on their content; heredocs' inline
//! files add their kind (and their digest) to [`CopySource`] and to [`digest`].

use crate::backend::Cache;
use crate::context::{BuildContext, Source};
use crate::error::{Result, SolveError};
use crate::op::{CopyOp, CopySource, FileOp, Op};
use kiln_cache::download::{Downloaded, url_file_name};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What resolving a step's sources found, handed on to the file operation.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// The context files a COPY reads.
    pub context: Option<Vec<Source>>,
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
    match op {
        Op::File(FileOp::Copy(copy)) => match copy.source {
            CopySource::Context | CopySource::Urls => true,
            CopySource::Input(_) => false,
        },
        Op::Source { .. } | Op::Exec(_) | Op::File(FileOp::Mkdir { .. }) => false,
    }
}

/// The content digest the op's key hashes (`None`: its inputs' keys identify all it
/// reads), and what was resolved on the way; downloads go below `tmp`. Blocking (on a
/// thread of the tokio runtime's blocking pool).
pub(super) fn digest(
    op: &Op,
    context: &BuildContext,
    cache: &dyn Cache,
    tmp: &Path,
) -> Result<(Option<String>, Resolved)> {
    let Op::File(FileOp::Copy(copy)) = op else {
        return Ok((None, Resolved::default()));
    };
    match copy.source {
        CopySource::Context => {
            let sources = context.resolve(&copy.sources)?;
            let digest = context.digest(&sources, cache.stat_cache())?;
            let resolved = Resolved {
                context: Some(sources),
                downloads: None,
            };
            Ok((Some(digest), resolved))
        }
        CopySource::Urls => {
            let (digest, downloads) = download(copy, tmp)?;
            let resolved = Resolved {
                context: None,
                downloads: Some(downloads),
            };
            Ok((Some(digest), resolved))
        }
        // Another stage's or an image's files: the input's key covers them.
        CopySource::Input(_) => Ok((None, Resolved::default())),
    }
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
