//! Config-only instructions: they change the stage's image config (and, through
//! ENV, USER and SHELL, later RUN steps), never the filesystem.

use super::Lowering;
use super::state::StageState;
use crate::error::{Result, SolveError};
use kiln_cache::oci::{Empty, HealthConfig};
use kiln_parser::{Healthcheck, InstructionKind, Span};

fn invalid(message: impl Into<String>, span: Span) -> SolveError {
    SolveError::Dockerfile {
        message: message.into(),
        span,
    }
}

/// Applies a config-only instruction. Returns whether it is a history step (ARG is not).
pub(super) fn apply(
    lowering: &mut Lowering<'_>,
    state: &mut StageState,
    kind: &InstructionKind,
    span: Span,
) -> Result<bool> {
    match kind {
        InstructionKind::Env(pairs) => {
            // Every value of one ENV line sees the environment from before the line.
            let values = pairs
                .iter()
                .map(|kv| Ok((kv.key.clone(), state.expand(&kv.value, span)?)))
                .collect::<Result<Vec<_>>>()?;
            for (k, v) in values {
                state.set_env(&k, &v);
            }
        }
        InstructionKind::Arg(decls) => {
            for decl in decls {
                let value = match lowering.opts.build_args.get(&decl.name) {
                    Some(v) => Some(v.clone()),
                    None => match &decl.default {
                        Some(raw) => Some(state.expand(raw, span)?),
                        None => lowering.meta_args.get(&decl.name).cloned(),
                    },
                };
                lowering.used_args.insert(decl.name.clone());
                if let Some(v) = value {
                    state.args.insert(decl.name.clone(), v);
                }
            }
            return Ok(false);
        }
        InstructionKind::Cmd(form) => {
            state.config.cmd = Some(state.argv(form));
            state.cmd_set = true;
        }
        InstructionKind::Entrypoint(form) => {
            state.config.entrypoint = Some(state.argv(form));
            // Like Docker: an ENTRYPOINT resets a CMD inherited from the base image.
            if !state.cmd_set {
                state.config.cmd = None;
            }
        }
        InstructionKind::User(raw) => state.config.user = Some(state.expand(raw, span)?),
        InstructionKind::Label(pairs) => {
            for kv in pairs {
                let key = state.expand(&kv.key, span)?;
                let value = state.expand(&kv.value, span)?;
                state.config.labels.insert(key, value);
            }
        }
        InstructionKind::Expose(words) => {
            // A variable may hold several ports (`ARG PORTS="80 443/udp"`).
            for raw in words {
                for word in state.expand_words(raw, span)? {
                    let port = kiln_parser::parse_port_spec(&word).map_err(|e| invalid(e, span))?;
                    for p in port.start..=port.end {
                        state
                            .config
                            .exposed_ports
                            .insert(format!("{p}/{}", port.proto), Empty {});
                    }
                }
            }
        }
        InstructionKind::Volume(paths) => {
            for raw in paths {
                let path = state.expand(raw, span)?;
                if path.is_empty() {
                    return Err(invalid("VOLUME specified can not be an empty string", span));
                }
                state.config.volumes.insert(path, Empty {});
            }
        }
        InstructionKind::Stopsignal(raw) => {
            state.config.stop_signal = Some(state.expand(raw, span)?);
        }
        InstructionKind::Maintainer(name) => state.author = Some(name.clone()),
        InstructionKind::Shell(shell) => state.config.shell = Some(shell.clone()),
        InstructionKind::Healthcheck(check) => {
            state.config.healthcheck = Some(match check {
                Healthcheck::None => HealthConfig {
                    test: vec!["NONE".into()],
                    ..Default::default()
                },
                Healthcheck::Check(c) => {
                    let nanos = |d: Option<std::time::Duration>| {
                        d.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                    };
                    HealthConfig {
                        test: c.test.clone(),
                        interval: nanos(c.interval),
                        timeout: nanos(c.timeout),
                        start_period: nanos(c.start_period),
                        start_interval: nanos(c.start_interval),
                        retries: c.retries,
                    }
                }
            });
        }
        InstructionKind::Onbuild(_) => {
            // Recording triggers without running them when the image is used as a base
            // would silently drop them: refuse until both halves exist.
            return Err(invalid("ONBUILD is not supported yet", span));
        }
        InstructionKind::Run(_)
        | InstructionKind::Copy(_)
        | InstructionKind::Add(_)
        | InstructionKind::Workdir(_) => {
            unreachable!("filesystem instructions are lowered in instruction.rs")
        }
    }
    Ok(true)
}
