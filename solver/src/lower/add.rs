//! Lowering ADD, as BuildKit's `dispatchCopy` with `isAddCommand`: local sources are
//! copied as COPY copies them, except that a tar archive (told by content when the step
//! runs) is extracted into the destination; `http(s)://` sources are downloaded when the
//! step runs ([`CopySource::Urls`]), keyed on their content and never extracted.

use super::Lowering;
use super::copy::Transfer;
use super::instruction::{Lowered, Step, StepInputs, invalid};
use super::state::StageState;
use crate::error::Result;
use crate::op::{CopyOp, CopySource, FileOp, Op};
use kiln_parser::ast::Add;

pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &StageState,
    add: &Add,
    step: &Step<'_>,
) -> Result<Lowered> {
    let span = step.span;
    if !add.inline.is_empty() {
        return Err(invalid("ADD with a heredoc is not supported yet", span));
    }
    if add.unpack.is_some() {
        return Err(invalid("ADD --unpack is not supported yet", span));
    }
    let transfer = Transfer::expand(
        state,
        "ADD",
        (&add.sources, &add.dest),
        (add.chown.as_ref(), add.chmod.as_ref(), &add.exclude),
        0,
        span,
    )?;
    if add.keep_git_dir.is_some() || transfer.sources.iter().any(|s| is_git(s)) {
        return Err(invalid(
            "ADD from a git repository is not supported yet",
            span,
        ));
    }
    let urls = transfer.sources.iter().filter(|s| is_url(s)).count();
    let source = match urls {
        0 => CopySource::Context,
        n if n == transfer.sources.len() => CopySource::Urls,
        _ => {
            return Err(invalid(
                "ADD of remote URLs and local files together is not supported yet",
                span,
            ));
        }
    };
    let checksum = match &add.checksum {
        Some(raw) => {
            if source != CopySource::Urls {
                return Err(invalid(
                    "checksum can't be specified for non-HTTP(S) sources",
                    span,
                ));
            }
            let text = state.expand(raw, span)?;
            if kiln_cache::digest_hex(&text).is_none() {
                return Err(invalid(
                    format!(
                        "invalid checksum digest format: {text} (expected sha256:<64 hex digits>)"
                    ),
                    span,
                ));
            }
            Some(text)
        }
        None => None,
    };
    let created_by = transfer.history("ADD", &[]);
    let link = transfer.links(add.link, state);
    let op = Op::File(FileOp::Copy(CopyOp {
        source,
        sources: transfer.sources,
        inline: Vec::new(),
        dest: transfer.dest,
        chown: transfer.chown,
        chmod: transfer.chmod,
        exclude: transfer.exclude,
        parents: false,
        unpack: source == CopySource::Context,
        checksum,
    }));
    let step_op = match link {
        true => super::instruction::link(lowering, state, (op, StepInputs::empty()), step),
        false => (op, StepInputs::on(state)),
    };
    Ok((Some(step_op), created_by))
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// A git repository reference, as BuildKit's `gitutil` tells them: `git@…`, `git://…`,
/// `ssh://…`, or an HTTP(S) URL whose path ends with `.git`.
fn is_git(source: &str) -> bool {
    let before_fragment = source.split('#').next().unwrap_or_default();
    source.starts_with("git@")
        || source.starts_with("git://")
        || source.starts_with("ssh://")
        || (is_url(source) && before_fragment.trim_end_matches('/').ends_with(".git"))
}
