//! Instructions that carry a command: `RUN`, `CMD`, `ENTRYPOINT`.

use crate::ast::{CommandForm, InstructionKind, Run};
use crate::node::Node;
use crate::words::{JsonArgs, NOT_ALL_STRINGS, json_args};

use super::InstrError;
use super::flags::read_flags;

/// The network modes `RUN --network` accepts.
const NETWORK_MODES: &[&str] = &["default", "none", "host"];

/// Types `RUN [--network=…] command`.
pub(super) fn run(node: &Node) -> Result<InstructionKind, InstrError> {
    let flags = read_flags(node, &["network"], &["mount", "security", "device"])?;
    let network = flags.get("network");
    if let Some(mode) = &network
        && !NETWORK_MODES.contains(&mode.as_str())
    {
        let span = node
            .flags
            .iter()
            .find(|f| f.name == "network")
            .map_or(node.span, |f| f.span);
        let mut e = InstrError::new(span, format!("unsupported network mode: {mode:?}"));
        e.help = Some("use `default`, `none` or `host`".into());
        return Err(e);
    }
    if node.rest.is_empty() {
        return Err(InstrError::new(
            node.span,
            "RUN requires at least one argument",
        ));
    }
    let command = parse_form(node)?;
    Ok(InstructionKind::Run(Run { command, network }))
}

/// Types the command of `CMD` or `ENTRYPOINT` (no flags allowed). An empty
/// command is kept: `CMD []` clears the command.
pub(super) fn command_form(node: &Node) -> Result<CommandForm, InstrError> {
    read_flags(node, &[], &[])?;
    parse_form(node)
}

/// JSON (exec) form when the rest is a JSON array of strings, else shell form.
fn parse_form(node: &Node) -> Result<CommandForm, InstrError> {
    match json_args(&node.rest) {
        JsonArgs::Strings(args) => Ok(CommandForm::Exec(args)),
        JsonArgs::NotJson => Ok(CommandForm::Shell(node.rest.clone())),
        JsonArgs::NotAllStrings => Err(InstrError::new(node.rest_span, NOT_ALL_STRINGS)),
    }
}
