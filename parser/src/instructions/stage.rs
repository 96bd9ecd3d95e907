//! `FROM [--platform=…] image [AS name]`: the start of a build stage.

use crate::ast::Stage;
use crate::node::Node;

use super::flags::{FlagKind, read_flags};
use super::{InstructionError, doc_comment};

/// Types a `FROM` node into an empty [`Stage`].
pub(super) fn from(node: &Node) -> Result<Stage, InstructionError> {
    let flags = read_flags(node, &[("platform", FlagKind::Value)])?;
    let (base, name) = match node.args.as_slice() {
        [base] => (base.clone(), None),
        [base, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
            let name = name.to_ascii_lowercase();
            if !is_valid_stage_name(&name) {
                return Err(InstructionError::new(
                    node.rest_span,
                    format!(
                        "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                    ),
                ));
            }
            (base.clone(), Some(name))
        }
        _ => {
            return Err(InstructionError::new(
                node.span,
                "FROM requires either one or three arguments",
            ));
        }
    };
    let doc = name.as_deref().and_then(|n| doc_comment(&node.comments, n));
    Ok(Stage {
        doc,
        name,
        base,
        platform: flags.get("platform"),
        span: node.span,
        instructions: Vec::new(),
    })
}

/// BuildKit's rule for stage names: `[a-z][a-z0-9-_.]*` (after lowercasing).
fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names() {
        assert!(is_valid_stage_name("build-1.x_y"));
        assert!(!is_valid_stage_name("1build"));
        assert!(!is_valid_stage_name("a$b"));
        assert!(!is_valid_stage_name(""));
    }
}
