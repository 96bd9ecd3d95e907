//! The argument nodes of one instruction, split the way BuildKit's line
//! parser splits them for its keyword (see `FORMAT.md` §3 of the
//! conformance vectors): JSON or verbatim for commands, whitespace words for
//! paths, quote-aware words for ARG/ENV/LABEL, `key value =` triples for
//! ENV/LABEL.

use crate::json::{JsonArgs, NOT_ALL_STRINGS, json_args};
use crate::words::{is_separator, split_once_whitespace, split_whitespace, split_words};

/// The argument nodes of one instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Arguments {
    pub(crate) nodes: Vec<String>,
    /// The nodes are the elements of a JSON array.
    pub(crate) json: bool,
}

impl Arguments {
    fn plain(nodes: Vec<String>) -> Self {
        Self { nodes, json: false }
    }
}

/// Splits `rest` (trimmed, after flags) for `keyword`. `ONBUILD` is handled
/// by the caller (its argument is a nested instruction).
pub(crate) fn arguments(keyword: &str, rest: &str, escape: char) -> Result<Arguments, String> {
    match keyword.to_ascii_lowercase().as_str() {
        "run" | "cmd" | "entrypoint" | "shell" => maybe_json(rest),
        "add" | "copy" | "volume" => maybe_json_list(rest),
        "from" | "expose" => Ok(Arguments::plain(split_whitespace(rest))),
        "maintainer" | "user" | "workdir" | "stopsignal" => Ok(verbatim(rest)),
        "arg" => Ok(Arguments::plain(split_words(rest, escape))),
        "env" => key_values(rest, "ENV", escape),
        "label" => key_values(rest, "LABEL", escape),
        "healthcheck" => healthcheck(rest),
        // Unknown keywords get one empty node; the typed layer rejects them.
        _ => Ok(Arguments::plain(vec![String::new()])),
    }
}

/// One node with all of `rest`, none if it is empty.
fn verbatim(rest: &str) -> Arguments {
    let nodes = if rest.is_empty() {
        Vec::new()
    } else {
        vec![rest.to_owned()]
    };
    Arguments::plain(nodes)
}

/// JSON elements, or `rest` verbatim.
fn maybe_json(rest: &str) -> Result<Arguments, String> {
    let rest = rest.trim();
    match json_args(rest) {
        JsonArgs::Strings(nodes) => Ok(Arguments { nodes, json: true }),
        JsonArgs::NotAllStrings => Err(NOT_ALL_STRINGS.to_owned()),
        JsonArgs::NotJson => Ok(verbatim(rest)),
    }
}

/// JSON elements, or `rest` split at whitespace.
fn maybe_json_list(rest: &str) -> Result<Arguments, String> {
    match json_args(rest) {
        JsonArgs::Strings(nodes) => Ok(Arguments { nodes, json: true }),
        JsonArgs::NotAllStrings => Err(NOT_ALL_STRINGS.to_owned()),
        JsonArgs::NotJson => Ok(Arguments::plain(split_whitespace(rest))),
    }
}

/// `HEALTHCHECK`: the first word as written (`CMD`, `NONE`…), then the rest
/// like `CMD`.
fn healthcheck(rest: &str) -> Result<Arguments, String> {
    if rest.is_empty() {
        return Ok(Arguments::default());
    }
    let (first, command) = match rest.find(is_separator) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let mut args = maybe_json(command)?;
    args.nodes.insert(0, first.to_owned());
    Ok(args)
}

/// `ENV`/`LABEL`: `key value ""` for the legacy form, `key value "="` for
/// each `key=value` word.
fn key_values(rest: &str, name: &str, escape: char) -> Result<Arguments, String> {
    let words = split_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Arguments::default());
    };
    if !first.contains('=') {
        let Some((key, value)) = split_once_whitespace(rest) else {
            return Err(format!("{name} must have two arguments"));
        };
        return Ok(Arguments::plain(vec![
            key.to_owned(),
            value.to_owned(),
            String::new(),
        ]));
    }
    let mut nodes = Vec::with_capacity(words.len() * 3);
    for word in &words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
            ));
        };
        nodes.extend([key.to_owned(), value.to_owned(), "=".to_owned()]);
    }
    Ok(Arguments::plain(nodes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(keyword: &str, rest: &str) -> Vec<String> {
        arguments(keyword, rest, '\\').unwrap().nodes
    }

    #[test]
    fn per_keyword_splitting() {
        assert_eq!(nodes("CMD", "[\"a\", \"b\"]"), ["a", "b"]);
        assert_eq!(nodes("run", "echo  a"), ["echo  a"]);
        assert_eq!(nodes("COPY", "a  \"b c\""), ["a", "\"b", "c\""]);
        assert_eq!(nodes("USER", ""), Vec::<String>::new());
        assert_eq!(nodes("ARG", "a=\"1 2\" b"), ["a=\"1 2\"", "b"]);
        assert_eq!(nodes("ENV", "k v w"), ["k", "v w", ""]);
        assert_eq!(
            nodes("LABEL", "a=1 b=\"x y\""),
            ["a", "1", "=", "b", "\"x y\"", "="]
        );
        assert_eq!(nodes("HEALTHCHECK", "CMD   a b"), ["CMD", "a b"]);
        assert_eq!(nodes("HEALTHCHECK", "CMD [\"x\"]"), ["CMD", "x"]);
        assert_eq!(nodes("HEALTHCHECK", "NONE"), ["NONE"]);
        assert_eq!(nodes("FOO", "bar"), [""]);
    }

    #[test]
    fn line_level_errors() {
        assert_eq!(
            arguments("ENV", "PATH", '\\'),
            Err("ENV must have two arguments".to_owned())
        );
        assert!(arguments("ENV", "a=1 b", '\\').is_err());
        assert_eq!(
            arguments("CMD", "[\"a\", 1]", '\\'),
            Err(NOT_ALL_STRINGS.to_owned())
        );
    }
}
