//! The sources a step reads besides its input vertices, one kind per arm: each kind
//! produces the content digest its step's cache key hashes. A stage's or an image's
//! files need none (the input's key identifies them); context files and heredocs'
//! inline files are hashed here. ADD's remote URLs add their kind (and their digest)
//! to [`CopySource`] and to [`digest`].

use crate::backend::Cache;
use crate::context::{BuildContext, Source};
use crate::error::Result;
use crate::op::{CopySource, FileOp, InlineFile, Op};
use sha2::{Digest, Sha256};

/// What resolving a step's sources found, handed on to the file operation.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// The context files a COPY reads.
    pub context: Option<Vec<Source>>,
}

/// Whether the op's key needs a content digest, which takes work (so the scheduler
/// does not look the key up inline).
pub(super) fn needs_digest(op: &Op) -> bool {
    reads_context(op) || !inline_files(op).is_empty()
}

/// The content digest the op's key hashes (`None`: its inputs' keys identify all it
/// reads), and what was resolved on the way. Blocking.
pub(super) fn digest(
    op: &Op,
    context: &BuildContext,
    cache: &dyn Cache,
) -> Result<(Option<String>, Resolved)> {
    let mut parts = Vec::new();
    let mut resolved = Resolved::default();
    if let Op::File(FileOp::Copy(copy)) = op
        && reads_context(op)
    {
        let sources = context.resolve(&copy.sources)?;
        parts.push(context.digest(&sources, cache.stat_cache())?);
        resolved.context = Some(sources);
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

/// The files the op is given inline by heredocs.
fn inline_files(op: &Op) -> &[InlineFile] {
    match op {
        Op::File(FileOp::Copy(copy)) => &copy.inline,
        Op::Exec(exec) => &exec.pipes,
        Op::Source { .. } | Op::File(FileOp::Mkdir { .. }) => &[],
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
