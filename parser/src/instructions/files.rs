//! Instructions about files and paths: `COPY`, `WORKDIR`, and `USER` (which
//! shares the one-verbatim-argument rule).

use crate::ast::{Copy, InstructionKind};
use crate::node::Node;
use crate::words::{JsonArgs, NOT_ALL_STRINGS, json_args, split_whitespace};

use super::InstrError;
use super::flags::read_flags;

/// Types `COPY [--from=…] [--chown=…] [--chmod=…] src… dest` (or JSON form).
pub(super) fn copy(node: &Node) -> Result<InstructionKind, InstrError> {
    let flags = read_flags(
        node,
        &["from", "chown", "chmod"],
        &["link", "parents", "exclude"],
    )?;
    let mut args = match json_args(&node.rest) {
        JsonArgs::Strings(args) => args,
        JsonArgs::NotJson => split_whitespace(&node.rest),
        JsonArgs::NotAllStrings => return Err(InstrError::new(node.rest_span, NOT_ALL_STRINGS)),
    };
    let dest = match args.pop() {
        Some(dest) if !args.is_empty() => dest,
        _ => {
            return Err(InstrError::new(
                node.span,
                "COPY requires at least two arguments, but only one was provided. \
                 Destination could not be determined",
            ));
        }
    };
    Ok(InstructionKind::Copy(Copy {
        sources: args,
        dest,
        from: flags.get("from"),
        chown: flags.get("chown"),
        chmod: flags.get("chmod"),
    }))
}

/// The single verbatim argument of `WORKDIR` or `USER`.
pub(super) fn exactly_one(node: &Node, name: &str) -> Result<String, InstrError> {
    read_flags(node, &[], &[])?;
    if node.rest.is_empty() {
        return Err(InstrError::new(
            node.span,
            format!("{name} requires exactly one argument"),
        ));
    }
    Ok(node.rest.clone())
}
