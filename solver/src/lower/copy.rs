//! Lowering COPY: sources from the build context, or from another stage or an image
//! (`--from`), which becomes a [`Role::Source`](crate::op::Role::Source) input; and
//! [`Transfer`], the part ADD shares.

use super::Lowering;
use super::instruction::{StepInputs, invalid};
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
) -> Result<(Op, StepInputs)> {
    if !copy.inline.is_empty() {
        return Err(invalid("COPY with a heredoc is not supported yet", span));
    }
    if copy.link || copy.parents || !copy.exclude.is_empty() {
        return Err(invalid(
            "COPY --link, --parents and --exclude are not supported yet",
            span,
        ));
    }
    let transfer = Transfer::expand(
        state,
        "COPY",
        (&copy.sources, &copy.dest),
        (copy.chown.as_ref(), copy.chmod.as_ref()),
        span,
    )?;
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
    let op = Op::File(FileOp::Copy(CopyOp {
        source,
        sources: transfer.sources,
        dest: transfer.dest,
        chown: transfer.chown,
        chmod: transfer.chmod,
        unpack: false,
        checksum: None,
    }));
    Ok((op, inputs))
}

/// What COPY and ADD share: sources and destination expanded (the destination made
/// absolute), `--chown` expanded, `--chmod` parsed.
pub(super) struct Transfer {
    pub sources: Vec<String>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<u32>,
}

impl Transfer {
    /// `instruction` (`COPY`, `ADD`) names it in messages.
    pub fn expand(
        state: &StageState,
        instruction: &str,
        (sources, dest): (&[String], &str),
        (chown, chmod): (Option<&String>, Option<&String>),
        span: Span,
    ) -> Result<Self> {
        let sources = sources
            .iter()
            .map(|s| state.expand(s, span))
            .collect::<Result<Vec<_>>>()?;
        let dest = state.absolute(&state.expand(dest, span)?);
        if sources.len() > 1 && !dest.ends_with('/') {
            return Err(invalid(
                format!(
                    "When using {instruction} with more than one source file, the destination must be a directory and end with a /"
                ),
                span,
            ));
        }
        let chmod = match chmod {
            Some(raw) => {
                let text = state.expand(raw, span)?;
                Some(
                    u32::from_str_radix(&text, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| invalid(format!("invalid chmod parameter: {text}"), span))?,
                )
            }
            None => None,
        };
        let chown = chown.map(|c| state.expand(c, span)).transpose()?;
        Ok(Self {
            sources,
            dest,
            chown,
            chmod,
        })
    }
}
