//! Instructions that carry a command: `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`.

use crate::ast::{CommandForm, InstructionKind, Run, Security};
use crate::node::Node;

use super::flags::{FlagKind, read_flags};
use super::mount::parse_mount;
use super::{Context, InstructionError};

/// The network modes `RUN --network` accepts.
const NETWORK_MODES: &[&str] = &["default", "none", "host"];

/// Types `RUN [--mount=…]… [--network=…] [--security=…] command`.
pub(super) fn run(node: &Node) -> Result<InstructionKind, InstructionError> {
    let flags = read_flags(
        node,
        &[
            ("mount", FlagKind::Repeated),
            ("network", FlagKind::Value),
            ("security", FlagKind::Value),
        ],
    )?;
    let flag_span = |name: &str| {
        node.flags
            .iter()
            .find(|f| f.name == name)
            .map_or(node.span, |f| f.span)
    };
    let network = flags.get("network");
    if let Some(mode) = &network
        && !NETWORK_MODES.contains(&mode.as_str())
    {
        return Err(InstructionError::new(
            flag_span("network"),
            format!("unsupported network mode: {mode:?}"),
        )
        .with_help("use `default`, `none` or `host`"));
    }
    let security = match flags.get("security").as_deref() {
        None => None,
        Some("sandbox") => Some(Security::Sandbox),
        Some("insecure") => Some(Security::Insecure),
        Some(other) => {
            return Err(InstructionError::new(
                flag_span("security"),
                format!("unsupported security mode: {other:?}"),
            )
            .with_help("use `sandbox` or `insecure`"));
        }
    };
    let mounts = flags
        .all("mount")
        .map(|(value, span)| {
            parse_mount(value, span).map_err(|e| InstructionError::new(span, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if node.args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            "RUN requires at least one argument",
        ));
    }
    let command = if node.json {
        CommandForm::Exec(node.args.clone())
    } else {
        CommandForm::Shell(node.rest.clone())
    };
    Ok(InstructionKind::Run(Run {
        command,
        network,
        mounts,
        security,
        heredocs: node.heredocs.clone(),
    }))
}

/// Types the command of `CMD` or `ENTRYPOINT` (no flags allowed). An empty
/// command is kept: `CMD []` clears the command.
pub(super) fn command_form(
    node: &Node,
    name: &str,
    ctx: &mut Context,
) -> Result<CommandForm, InstructionError> {
    read_flags(node, &[])?;
    Ok(form(node, ctx, name))
}

/// Types `SHELL ["exe", "arg", …]`.
pub(super) fn shell(node: &Node) -> Result<InstructionKind, InstructionError> {
    read_flags(node, &[])?;
    if node.args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            "SHELL requires at least one argument",
        ));
    }
    if !node.json {
        return Err(InstructionError::new(
            node.rest_span,
            "SHELL requires the arguments to be in JSON form",
        )
        .with_help("write it as a JSON array, e.g. `SHELL [\"/bin/bash\", \"-c\"]`"));
    }
    Ok(InstructionKind::Shell(node.args.clone()))
}

/// Exec form for a JSON array, else shell form (warning when the text looks
/// like a JSON array that is not valid JSON: `[` … `]` with quotes).
fn form(node: &Node, ctx: &mut Context, name: &str) -> CommandForm {
    if node.json {
        return CommandForm::Exec(node.args.clone());
    }
    if looks_like_json(&node.rest) {
        let mut warning = InstructionError::new(
            node.rest_span,
            format!("{name} looks like a JSON array but is not valid JSON, so it runs in a shell"),
        );
        warning.help = Some(if node.rest.contains('\'') {
            "JSON strings need double quotes: write [\"a\", \"b\"]".to_owned()
        } else {
            "check the brackets, quotes and commas of the JSON array".to_owned()
        });
        ctx.warnings.push(warning);
    }
    CommandForm::Shell(node.rest.clone())
}

/// `[ … ]` holding quotes (the caller knows it is not valid JSON).
fn looks_like_json(rest: &str) -> bool {
    rest.starts_with('[') && rest.ends_with(']') && rest.contains(['"', '\''])
}
