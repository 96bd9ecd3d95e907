//! Config-only instructions: they change the stage's image config (and, through
//! ENV, USER and SHELL, later RUN steps), never the filesystem.

use super::Lowering;
use super::history;
use super::state::StageState;
use crate::error::{Result, SolveError};
use kiln_cache::oci::{Empty, HealthConfig};
use kiln_parser::{Healthcheck, InstructionKind, Span};
use std::collections::BTreeSet;

fn invalid(message: impl Into<String>, span: Span) -> SolveError {
    SolveError::Dockerfile {
        message: message.into(),
        span,
    }
}

/// Applies a config-only instruction. Returns its history text (BuildKit's).
pub(super) fn apply(
    lowering: &mut Lowering<'_>,
    state: &mut StageState,
    kind: &InstructionKind,
    span: Span,
) -> Result<String> {
    let text = match kind {
        InstructionKind::Env(pairs) => {
            // Every value of one ENV line sees the environment from before the line.
            let values = pairs
                .iter()
                .map(|kv| Ok((kv.key.clone(), state.expand(&kv.value, span)?)))
                .collect::<Result<Vec<_>>>()?;
            let mut text = String::from("ENV");
            for (k, v) in values {
                text.push_str(&format!(" {k}={v}"));
                state.set_env(&k, &v);
            }
            text
        }
        InstructionKind::Arg(decls) => {
            let mut written = Vec::new();
            for decl in decls {
                let default = match &decl.default {
                    Some(raw) => Some(state.expand(raw, span)?),
                    None => None,
                };
                // As dockerd 20.10's BuildKit: the text shows the declaration, not the
                // value a `--build-arg` gives.
                written.push(match &default {
                    Some(d) => format!("{}={d}", decl.name),
                    None => decl.name.clone(),
                });
                let value = match lowering.opts.build_args.get(&decl.name) {
                    Some(v) => Some(v.clone()),
                    None => default.or_else(|| lowering.meta_args.get(&decl.name).cloned()),
                };
                lowering.used_args.insert(decl.name.clone());
                state.build_args.push(decl.name.clone());
                if let Some(v) = value {
                    state.args.insert(decl.name.clone(), v);
                }
            }
            format!("ARG {}", written.join(" "))
        }
        InstructionKind::Cmd(form) => {
            let argv = state.argv(form);
            state.cmd_set = true;
            let text = format!("CMD {}", history::go_quoted_list(&argv));
            state.config.cmd = Some(argv);
            mark_args_escaped(state);
            text
        }
        InstructionKind::Entrypoint(form) => {
            let argv = state.argv(form);
            let text = format!("ENTRYPOINT {}", history::go_quoted_list(&argv));
            state.config.entrypoint = Some(argv);
            mark_args_escaped(state);
            // Like Docker: an ENTRYPOINT resets a CMD inherited from the base image.
            if !state.cmd_set {
                state.config.cmd = None;
            }
            text
        }
        InstructionKind::User(raw) => {
            let user = state.expand(raw, span)?;
            let text = format!("USER {user}");
            state.config.user = Some(user);
            text
        }
        InstructionKind::Label(pairs) => {
            let mut text = String::from("LABEL");
            for kv in pairs {
                let key = state.expand(&kv.key, span)?;
                let value = state.expand(&kv.value, span)?;
                text.push_str(&format!(" {key}={value}"));
                state.config.labels.insert(key, value);
            }
            text
        }
        InstructionKind::Expose(words) => {
            // A variable may hold several ports (`ARG PORTS="80 443/udp"`).
            let mut ports = BTreeSet::new();
            for raw in words {
                for word in state.expand_words(raw, span)? {
                    let port = kiln_parser::parse_port_spec(&word).map_err(|e| invalid(e, span))?;
                    ports.extend((port.start..=port.end).map(|p| format!("{p}/{}", port.proto)));
                }
            }
            for port in &ports {
                state.config.exposed_ports.insert(port.clone(), Empty {});
            }
            history::expose(&ports)
        }
        InstructionKind::Volume(paths) => {
            let mut written = Vec::new();
            for raw in paths {
                let path = state.expand(raw, span)?;
                if path.is_empty() {
                    return Err(invalid("VOLUME specified can not be an empty string", span));
                }
                written.push(path.clone());
                state.config.volumes.insert(path, Empty {});
            }
            format!("VOLUME {}", history::go_list(&written))
        }
        InstructionKind::Stopsignal(raw) => {
            let signal = state.expand(raw, span)?;
            let text = format!("STOPSIGNAL {signal}");
            state.config.stop_signal = Some(signal);
            text
        }
        InstructionKind::Maintainer(name) => {
            state.author = Some(name.clone());
            format!("MAINTAINER {name}")
        }
        InstructionKind::Shell(shell) => {
            state.config.shell = Some(shell.clone());
            format!("SHELL {}", history::go_list(shell))
        }
        InstructionKind::Healthcheck(check) => {
            let config = match check {
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
            };
            let text = history::healthcheck(&config);
            state.config.healthcheck = Some(config);
            text
        }
        InstructionKind::Onbuild(_)
        | InstructionKind::Run(_)
        | InstructionKind::Copy(_)
        | InstructionKind::Add(_)
        | InstructionKind::Workdir(_) => {
            unreachable!("ONBUILD and filesystem instructions are lowered in instruction.rs")
        }
    };
    Ok(text)
}

/// Docker's `ArgsEscaped`, which BuildKit sets whenever a Dockerfile sets CMD or
/// ENTRYPOINT, in either form (a Docker image-spec field the OCI spec deprecates;
/// kept in the config's unmodelled fields).
fn mark_args_escaped(state: &mut StageState) {
    state
        .config
        .extra
        .insert("ArgsEscaped".into(), serde_json::Value::Bool(true));
}
