//! The sources a step reads besides its input vertices, one kind per arm: each kind
//! produces the content digest its step's cache key hashes. A stage's or an image's
//! files need none (the input's key identifies them); context files are hashed here.
//! ADD's remote URLs and heredocs' inline files add their kinds (and their digests)
//! to [`CopySource`] and to [`digest`].

use crate::backend::Cache;
use crate::context::{BuildContext, Source};
use crate::error::Result;
use crate::op::{CopySource, FileOp, Op};

/// What resolving a step's sources found, handed on to the file operation.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// The context files a COPY reads.
    pub context: Option<Vec<Source>>,
}

/// Whether the op's key needs a content digest, which takes work (so the scheduler
/// does not look the key up inline).
pub(super) fn needs_digest(op: &Op) -> bool {
    match op {
        Op::File(FileOp::Copy(copy)) => match copy.source {
            CopySource::Context => true,
            CopySource::Input(_) => false,
        },
        Op::Source { .. } | Op::Exec(_) | Op::File(FileOp::Mkdir { .. }) => false,
    }
}

/// The content digest the op's key hashes (`None`: its inputs' keys identify all it
/// reads), and what was resolved on the way. Blocking.
pub(super) fn digest(
    op: &Op,
    context: &BuildContext,
    cache: &dyn Cache,
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
            };
            Ok((Some(digest), resolved))
        }
        // Another stage's or an image's files: the input's key covers them.
        CopySource::Input(_) => Ok((None, Resolved::default())),
    }
}
