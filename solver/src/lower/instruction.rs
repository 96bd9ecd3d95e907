//! Lowering of the instructions that add vertices (RUN, COPY, WORKDIR); the rest
//! go to [`super::config`].

use super::Lowering;
use super::history;
use super::state::{HistoryStep, StageState, clean_absolute};
use crate::error::{Result, SolveError};
use crate::op::{CopyOp, CopySource, ExecOp, FileOp, Input, Node, Op};
use kiln_executor::NetworkMode;
use kiln_parser::{Instruction, InstructionKind, Span};

/// Whether the instruction adds a vertex (and so a progress line).
pub(super) fn makes_vertex(kind: &InstructionKind) -> bool {
    matches!(
        kind,
        InstructionKind::Run(_) | InstructionKind::Copy(_) | InstructionKind::Workdir(_)
    )
}

fn invalid(message: impl Into<String>, span: Span) -> SolveError {
    SolveError::Dockerfile {
        message: message.into(),
        span,
    }
}

pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &mut StageState,
    instr: &Instruction,
    name: String,
) -> Result<()> {
    let span = instr.span;
    let vertex = |lowering: &mut Lowering<'_>,
                  state: &mut StageState,
                  op: Op,
                  from: Option<Node>,
                  created_by: String| {
        let mut inputs: Vec<(Node, Input)> =
            state.node.map(|n| (n, Input::Parent)).into_iter().collect();
        inputs.extend(from.map(|n| (n, Input::From)));
        let node = lowering.add(op, inputs, name.clone(), instr.original.clone(), span);
        state.node = Some(node);
        state.steps.push(HistoryStep {
            created_by,
            node: Some(node),
        });
    };
    let config_step = |state: &mut StageState, created_by: String| {
        state.steps.push(HistoryStep {
            created_by,
            node: None,
        });
    };
    match &instr.kind {
        InstructionKind::Run(run) => {
            if !run.heredocs.is_empty() {
                return Err(invalid("RUN with a heredoc is not supported yet", span));
            }
            if !run.mounts.is_empty() {
                return Err(invalid("RUN --mount is not supported yet", span));
            }
            if run.security.is_some() {
                return Err(invalid("RUN --security is not supported yet", span));
            }
            let network = match run.network.as_deref() {
                None | Some("default") => lowering.opts.network,
                Some("none") => NetworkMode::None,
                Some("host") if lowering.opts.allow_network_host => NetworkMode::Host,
                Some("host") => {
                    return Err(invalid(
                        "`RUN --network=host` needs the `network.host` entitlement: \
                         pass `--allow network.host` to `kiln build` to grant it",
                        span,
                    ));
                }
                Some(other) => {
                    return Err(invalid(
                        format!("unsupported network mode \"{other}\""),
                        span,
                    ));
                }
            };
            let args = state.argv(&run.command);
            let created_by = history::run(&args, &state.build_arg_values());
            let op = Op::Exec(ExecOp {
                args,
                env: state.run_env(),
                cwd: state.workdir(),
                user: state.config.user.clone().unwrap_or_default(),
                network,
                hostname: lowering.sandbox_hostname(),
            });
            vertex(lowering, state, op, None, created_by);
        }
        InstructionKind::Copy(copy) => {
            if !copy.inline.is_empty() {
                return Err(invalid("COPY with a heredoc is not supported yet", span));
            }
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
            let written_dest = state.expand(&copy.dest, span)?;
            let dest = state.absolute(&written_dest);
            if sources.len() > 1 && !dest.ends_with('/') {
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
            let (source, from, label) = match &copy.from {
                None => (CopySource::Context, None, None),
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
                    (CopySource::From, Some(node), Some(label))
                }
            };
            let created_by = history::copy(
                chown.as_deref(),
                chmod_text.as_deref(),
                &sources,
                &written_dest,
            );
            let op = Op::File(FileOp::Copy(CopyOp {
                source,
                sources,
                dest,
                chown,
                chmod,
            }));
            vertex(lowering, state, op, from, created_by);
            if let Some(node) = state.node {
                lowering.graph[node].from = label;
            }
        }
        InstructionKind::Workdir(raw) => {
            // As BuildKit: the config keeps an absolute path as written (`/usr/src/`),
            // a relative one is joined to the previous and cleaned.
            let requested = state.expand(raw, span)?;
            let written = if requested.starts_with('/') {
                requested
            } else {
                clean_absolute(&format!("{}/{requested}", state.workdir()))
            };
            let path = clean_absolute(&written);
            let created_by = format!("WORKDIR {written}");
            state.config.working_dir = Some(written);
            if path == "/" {
                // As BuildKit: `/` always exists, so no step and no layer.
                config_step(state, created_by);
                return Ok(());
            }
            let owner = state.config.user.clone().filter(|u| !u.is_empty());
            vertex(
                lowering,
                state,
                Op::File(FileOp::Mkdir { path, owner }),
                None,
                created_by,
            );
        }
        InstructionKind::Add(_) => return Err(invalid("ADD is not supported yet", span)),
        kind => {
            let created_by = super::config::apply(lowering, state, kind, span)?;
            config_step(state, created_by);
        }
    }
    Ok(())
}
