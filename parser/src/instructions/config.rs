//! Instructions that only change configuration: `ENV`, `LABEL`, `ARG`,
//! and the one-argument ones (`WORKDIR`, `USER`, `STOPSIGNAL`,
//! `MAINTAINER`).

use crate::ast::{ArgDecl, InstructionKind, KeyValue};
use crate::node::Node;

use super::flags::read_flags;
use super::{Context, InstructionError, doc_comment};

/// Types `ENV`/`LABEL` from their `key value =` triples; the legacy `k v`
/// form (an empty third node) adds a warning.
pub(super) fn key_values(
    node: &Node,
    name: &str,
    ctx: &mut Context,
) -> Result<Vec<KeyValue>, InstructionError> {
    read_flags(node, &[])?;
    if node.args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            format!("{name} requires at least one argument"),
        ));
    }
    if !node.args.len().is_multiple_of(3) {
        return Err(InstructionError::new(
            node.rest_span,
            format!("Bad input to {name}, too many arguments"),
        ));
    }
    let mut pairs = Vec::with_capacity(node.args.len() / 3);
    for triple in node.args.chunks_exact(3) {
        let [key, value, sep] = triple else { continue };
        if key.is_empty() {
            return Err(InstructionError::new(
                node.rest_span,
                format!("{name} names can not be blank"),
            ));
        }
        if sep.is_empty() {
            ctx.warnings.push(
                InstructionError::new(
                    node.span,
                    format!(
                        "\"{name} key=value\" should be used instead of legacy \"{name} key value\" format"
                    ),
                )
                .with_help(format!("write `{name} {key}={value}`")),
            );
        }
        pairs.push(KeyValue {
            key: key.clone(),
            value: value.clone(),
        });
    }
    Ok(pairs)
}

/// Types `ARG name[=default] …`, with doc comments.
pub(super) fn args(node: &Node) -> Result<Vec<ArgDecl>, InstructionError> {
    read_flags(node, &[])?;
    if node.args.is_empty() {
        return Err(InstructionError::new(
            node.span,
            "ARG requires at least one argument",
        ));
    }
    let mut decls = Vec::with_capacity(node.args.len());
    for word in &node.args {
        let (name, default) = match word.split_once('=') {
            Some((name, default)) => (name.to_owned(), Some(default.to_owned())),
            None => (word.clone(), None),
        };
        if name.is_empty() {
            return Err(InstructionError::new(
                node.rest_span,
                "ARG names can not be blank",
            ));
        }
        let doc = doc_comment(&node.comments, &name);
        decls.push(ArgDecl { name, default, doc });
    }
    Ok(decls)
}

/// The single verbatim argument of `WORKDIR`, `USER`, `STOPSIGNAL` or
/// `MAINTAINER`.
pub(super) fn exactly_one(node: &Node, name: &str) -> Result<String, InstructionError> {
    read_flags(node, &[])?;
    match node.args.as_slice() {
        [arg] => Ok(arg.clone()),
        _ => Err(InstructionError::new(
            node.span,
            format!("{name} requires exactly one argument"),
        )),
    }
}

/// Types the deprecated `MAINTAINER name` (with a warning).
pub(super) fn maintainer(
    node: &Node,
    ctx: &mut Context,
) -> Result<InstructionKind, InstructionError> {
    let name = exactly_one(node, "MAINTAINER")?;
    ctx.warnings.push(
        InstructionError::new(
            node.keyword_span,
            "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
        )
        .with_help(format!("write `LABEL org.opencontainers.image.authors=\"{name}\"`")),
    );
    Ok(InstructionKind::Maintainer(name))
}
