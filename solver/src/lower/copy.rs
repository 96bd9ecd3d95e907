//! Lowering COPY: sources from the build context, or from another stage or an image
//! (`--from`), which becomes a [`Role::Source`](crate::op::Role::Source) input, and
//! files given by heredocs (`super::heredoc`).

use super::Lowering;
use super::history;
use super::instruction::{Lowered, StepInputs, invalid};
use super::state::StageState;
use crate::error::Result;
use crate::op::{CopyOp, CopySource, FileOp, Op};
use kiln_parser::Span;
use kiln_parser::ast::Copy;

pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &StageState,
    copy: &Copy,
    span: Span,
) -> Result<Lowered> {
    if copy.link || copy.parents || !copy.exclude.is_empty() {
        return Err(invalid(
            "COPY --link, --parents and --exclude are not supported yet",
            span,
        ));
    }
    let sources = copy
        .sources
        .iter()
        .map(|s| state.expand(s, span))
        .collect::<Result<Vec<_>>>()?;
    let inline = super::heredoc::copy_files(state, &copy.inline, span)?;
    let written_dest = state.expand(&copy.dest, span)?;
    let dest = state.absolute(&written_dest);
    if sources.len() + inline.len() > 1 && !dest.ends_with('/') {
        return Err(invalid(
            "When using COPY with more than one source file, the destination must be a directory and end with a /",
            span,
        ));
    }
    let chmod_text = copy
        .chmod
        .as_ref()
        .map(|raw| state.expand(raw, span))
        .transpose()?;
    let chmod = match &chmod_text {
        Some(text) => Some(
            u32::from_str_radix(text, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| invalid(format!("invalid chmod parameter: {text}"), span))?,
        ),
        None => None,
    };
    let chown = copy
        .chown
        .as_ref()
        .map(|c| state.expand(c, span))
        .transpose()?;
    let mut inputs = StepInputs::on(state);
    let source = match &copy.from {
        None => CopySource::Context,
        Some(raw) => {
            let from = state.expand(raw, span)?;
            let (node, label) = lowering.copy_from(&from, span)?;
            let node = match node {
                Some(node) => node,
                // An empty stage: every source will be "not found".
                None => lowering.add(
                    Op::Source {
                        manifest_digest: None,
                    },
                    Vec::new(),
                    "[from] scratch".into(),
                    "FROM scratch".into(),
                    span,
                ),
            };
            CopySource::Input(inputs.source(node, label))
        }
    };
    // As BuildKit: the paths, then `<<NAME` for each heredoc.
    let mut shown = sources.clone();
    shown.extend(inline.iter().map(|f| format!("<<{}", f.name)));
    let created_by = history::copy(
        chown.as_deref(),
        chmod_text.as_deref(),
        &shown,
        &written_dest,
    );
    let op = Op::File(FileOp::Copy(CopyOp {
        source,
        sources,
        inline,
        dest,
        chown,
        chmod,
    }));
    Ok((Some((op, inputs)), created_by))
}
