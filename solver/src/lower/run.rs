//! Lowering RUN: a process over the stage's filesystem.

use super::Lowering;
use super::history;
use super::instruction::{Lowered, StepInputs, invalid};
use super::state::StageState;
use crate::error::Result;
use crate::op::{ExecOp, Op};
use kiln_executor::NetworkMode;
use kiln_parser::Span;
use kiln_parser::ast::Run;

pub(super) fn lower(
    lowering: &mut Lowering<'_>,
    state: &StageState,
    run: &Run,
    span: Span,
) -> Result<Lowered> {
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
    let (args, pipes) = if run.heredocs.is_empty() {
        (state.argv(&run.command), Vec::new())
    } else {
        super::heredoc::run_argv(state, run, span)?
    };
    let created_by = history::run(&args, &state.build_arg_values());
    let op = Op::Exec(ExecOp {
        args,
        env: state.run_env(),
        proxy_env: lowering.proxy_env(state),
        cwd: state.workdir(),
        user: state.config.user.clone().unwrap_or_default(),
        network,
        hostname: lowering.sandbox_hostname(),
        pipes,
        host_config: lowering.opts.host_config.clone(),
    });
    Ok((Some((op, StepInputs::on(state))), created_by))
}
