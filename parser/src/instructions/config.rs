//! Instructions that only change configuration: `ENV`, `LABEL`, `ARG`,
//! `EXPOSE`.

use crate::ast::{ArgDecl, InstructionKind, KeyValue};
use crate::node::Node;
use crate::words::{split_once_whitespace, split_whitespace, split_words};

use super::flags::read_flags;
use super::{Context, InstrError};

/// Types `ENV`/`LABEL` arguments: `k=v …`, or the legacy `k v` form (which
/// takes the whole rest as the value and adds a warning).
pub(super) fn key_values(
    node: &Node,
    name: &str,
    ctx: &mut Context,
) -> Result<Vec<KeyValue>, InstrError> {
    read_flags(node, &[], &[])?;
    let words = split_words(&node.rest, ctx.escape);
    let Some(first) = words.first() else {
        return Err(InstrError::new(
            node.span,
            format!("{name} requires at least one argument"),
        ));
    };
    if !first.contains('=') {
        let Some((key, value)) = split_once_whitespace(&node.rest) else {
            return Err(InstrError::new(
                node.span,
                format!("{name} must have two arguments"),
            ));
        };
        let mut warning = InstrError::new(
            node.span,
            format!(
                "\"{name} key=value\" should be used instead of legacy \"{name} key value\" format"
            ),
        );
        warning.help = Some(format!("write `{name} {key}={value}`"));
        ctx.warnings.push(warning);
        return Ok(vec![KeyValue {
            key: key.to_owned(),
            value: value.to_owned(),
        }]);
    }
    let mut pairs = Vec::with_capacity(words.len());
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(InstrError::new(
                node.rest_span,
                format!("Syntax error - can't find = in {word:?}. Must be of the form: name=value"),
            ));
        };
        if key.is_empty() {
            return Err(InstrError::new(
                node.rest_span,
                format!("{name} names can not be blank"),
            ));
        }
        pairs.push(KeyValue {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(pairs)
}

/// Types `ARG name[=default] …`.
pub(super) fn args(node: &Node, ctx: &mut Context) -> Result<Vec<ArgDecl>, InstrError> {
    read_flags(node, &[], &[])?;
    let words = split_words(&node.rest, ctx.escape);
    if words.is_empty() {
        return Err(InstrError::new(
            node.span,
            "ARG requires at least one argument",
        ));
    }
    let mut decls = Vec::with_capacity(words.len());
    for word in words {
        let (name, default) = match word.split_once('=') {
            Some((name, default)) => (name.to_owned(), Some(default.to_owned())),
            None => (word, None),
        };
        if name.is_empty() {
            return Err(InstrError::new(
                node.rest_span,
                "ARG names can not be blank",
            ));
        }
        decls.push(ArgDecl { name, default });
    }
    Ok(decls)
}

/// Types `EXPOSE port[/proto] …` (ports are checked by the solver after
/// expansion).
pub(super) fn expose(node: &Node) -> Result<InstructionKind, InstrError> {
    read_flags(node, &[], &[])?;
    let ports = split_whitespace(&node.rest);
    if ports.is_empty() {
        return Err(InstrError::new(
            node.span,
            "EXPOSE requires at least one argument",
        ));
    }
    Ok(InstructionKind::Expose(ports))
}
