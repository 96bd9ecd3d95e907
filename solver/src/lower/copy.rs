//! Lowering COPY: sources from the build context, or from another stage or an image
//! (`--from`), which becomes a [`Role::Source`](crate::op::Role::Source) input, and
//! files given by heredocs (`super::heredoc`); and [`Transfer`], the part ADD shares.

use super::Lowering;
use super::history;
use super::instruction::{Lowered, Step, StepInputs, invalid};
use super::state::StageState;
use crate::error::Result;
use crate::op::{CopyOp, CopySource, FileOp, Op};
use crate::selection::Excludes;
use kiln_cache::rootfs::Chmod;
use kiln_parser::Span;
use kiln_parser::ast::Copy;

pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &StageState,
    copy: &Copy,
    step: &Step<'_>,
) -> Result<Lowered> {
    let span = step.span;
    let inline = super::heredoc::copy_files(state, &copy.inline, span)?;
    let mut transfer = Transfer::expand(
        state,
        "COPY",
        (&copy.sources, &copy.dest),
        (copy.chown.as_ref(), copy.chmod.as_ref(), &copy.exclude),
        inline.len(),
        span,
    )?;
    transfer.parents = copy.parents;
    let link = transfer.links(copy.link, state);
    let mut inputs = if link {
        StepInputs::empty()
    } else {
        StepInputs::on(state)
    };
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
    let heredocs: Vec<String> = inline.iter().map(|f| format!("<<{}", f.name)).collect();
    let created_by = transfer.history("COPY", &heredocs);
    let op = Op::File(FileOp::Copy(CopyOp {
        source,
        sources: transfer.sources,
        inline,
        dest: transfer.dest,
        chown: transfer.chown,
        chmod: transfer.chmod,
        exclude: transfer.exclude,
        parents: transfer.parents,
        unpack: false,
        checksum: None,
    }));
    let step_op = match link {
        true => super::instruction::link(lowering, state, (op, inputs), step),
        false => (op, inputs),
    };
    Ok((Some(step_op), created_by))
}

/// What COPY and ADD share: sources and destination expanded (the destination made
/// absolute), `--chown` and `--exclude` expanded, `--chmod` parsed; and their history
/// text.
pub(super) struct Transfer {
    pub sources: Vec<String>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<Chmod>,
    pub exclude: Vec<String>,
    /// `COPY --parents` (ADD has no such flag).
    pub parents: bool,
    /// The destination as written (expanded), for the history.
    written_dest: String,
    /// `--chmod` as written (expanded), for the history.
    chmod_text: Option<String>,
}

impl Transfer {
    /// `instruction` (`COPY`, `ADD`) names it in messages; `heredocs` files come from
    /// the instruction besides its sources.
    pub fn expand(
        state: &StageState,
        instruction: &str,
        (sources, dest): (&[String], &str),
        (chown, chmod, exclude): (Option<&String>, Option<&String>, &[String]),
        heredocs: usize,
        span: Span,
    ) -> Result<Self> {
        let sources = sources
            .iter()
            .map(|s| state.expand(s, span))
            .collect::<Result<Vec<_>>>()?;
        let written_dest = state.expand(dest, span)?;
        let dest = state.absolute(&written_dest);
        if sources.len() + heredocs > 1 && !dest.ends_with('/') {
            return Err(invalid(
                format!(
                    "When using {instruction} with more than one source file, the destination must be a directory and end with a /"
                ),
                span,
            ));
        }
        let chmod_text = chmod.map(|raw| state.expand(raw, span)).transpose()?;
        let chmod = chmod_text
            .as_deref()
            .map(Chmod::parse)
            .transpose()
            .map_err(|e| invalid(e.to_string(), span))?;
        let chown = chown.map(|c| state.expand(c, span)).transpose()?;
        let exclude = exclude
            .iter()
            .map(|e| state.expand(e, span))
            .collect::<Result<Vec<_>>>()?;
        Excludes::new(&exclude).map_err(|e| invalid(e.to_string(), span))?;
        Ok(Self {
            sources,
            dest,
            chown,
            chmod,
            exclude,
            parents: false,
            written_dest,
            chmod_text,
        })
    }

    /// Whether `--link` (`link`) makes the step a link layer merged onto the stage, as
    /// BuildKit's `dispatchCopy` decides: not with `--chmod` (BuildKit copies in place
    /// then), and not onto an empty stage, where a plain copy is the same thing.
    pub fn links(&self, link: bool, state: &StageState) -> bool {
        link && self.chmod.is_none() && state.node.is_some()
    }

    /// The history text of `instruction` with these sources, then `extra` words.
    pub fn history(&self, instruction: &str, extra: &[String]) -> String {
        let mut shown = self.sources.clone();
        shown.extend_from_slice(extra);
        // BuildKit writes `--parents` first among the flags it shows (not `--exclude`).
        let instruction = match self.parents {
            true => format!("{instruction} --parents"),
            false => instruction.to_string(),
        };
        history::transfer(
            &instruction,
            self.chown.as_deref(),
            self.chmod_text.as_deref(),
            &shown,
            &self.written_dest,
        )
    }
}
