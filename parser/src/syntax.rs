//! The line layer: pest grammar → [`SyntaxTree`] of untyped [`Node`]s.
//!
//! This layer knows the file's line structure (directives, comments,
//! continuations, the escape character) and splits each logical line into
//! keyword, flags and the rest. It does not know what any keyword means;
//! [`crate::instructions`] types the nodes.

use pest::Parser;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::diagnostic::{Diagnostic, LineIndex, Severity, Span};
use crate::node::{Node, SourceMap, parse_logical_line};

#[derive(Parser)]
#[grammar = "dockerfile.pest"]
pub(crate) struct DockerfileGrammar;

/// A parser directive from the top of the file, e.g. `# syntax=docker/dockerfile:1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive name, lowercased (`syntax`, `escape` or `check`).
    pub name: String,
    /// The value, without surrounding whitespace.
    pub value: String,
    /// The whole directive line.
    pub span: Span,
}

/// The untyped parse of a Dockerfile: directives and one node per instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxTree {
    /// The parser directives, in order.
    pub directives: Vec<Directive>,
    /// The escape character in force (`\` or `` ` ``).
    pub escape: char,
    /// One node per instruction, in source order.
    pub nodes: Vec<Node>,
    /// Errors and warnings of the line layer (bad directives, empty
    /// continuation lines).
    pub diagnostics: Vec<Diagnostic>,
}

/// Splits `source` into directives and instruction nodes.
///
/// Never fails: problems become entries of [`SyntaxTree::diagnostics`].
pub fn parse_nodes(source: &str, file: &str) -> SyntaxTree {
    let index = LineIndex::new(source);
    let mut tree = SyntaxTree {
        directives: Vec::new(),
        escape: '\\',
        nodes: Vec::new(),
        diagnostics: Vec::new(),
    };
    // First pass: the directives alone, to learn the escape character.
    if let Ok(mut pairs) = DockerfileGrammar::parse(Rule::directives_only, source)
        && let Some(prelude) = pairs.next().and_then(|p| p.into_inner().next())
    {
        read_directives(prelude, &index, file, &mut tree);
    }
    let rule = if tree.escape == '`' {
        Rule::file_backtick
    } else {
        Rule::file_backslash
    };
    let file_pair = match DockerfileGrammar::parse(rule, source) {
        Ok(mut pairs) => pairs.next(),
        Err(err) => {
            // The grammar accepts any text; this is a bug, reported not panicked.
            let offset = match err.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((s, _)) => s,
            };
            let span = index.span(offset, offset);
            let message = format!("internal parser error: {}", err.variant.message());
            tree.diagnostics
                .push(index.diagnostic(Severity::Error, file, span, message));
            None
        }
    };
    let Some(file_pair) = file_pair else {
        return tree;
    };
    for pair in file_pair.into_inner() {
        if pair.as_rule() == Rule::instruction {
            read_instruction(pair, &index, file, &mut tree);
        }
    }
    tree
}

fn read_directives(
    prelude: Pair<'_, Rule>,
    index: &LineIndex<'_>,
    file: &str,
    tree: &mut SyntaxTree,
) {
    for directive in prelude.into_inner() {
        let pair_span = directive.as_span();
        let text = directive.as_str().trim_end_matches(['\n', '\r']);
        let span = index.span(pair_span.start(), pair_span.start() + text.len());
        let mut name = String::new();
        let mut value = String::new();
        for part in directive.into_inner() {
            match part.as_rule() {
                Rule::directive_name => name = part.as_str().to_ascii_lowercase(),
                Rule::directive_value => value = part.as_str().to_owned(),
                _ => {}
            }
        }
        if tree.directives.iter().any(|d| d.name == name) {
            let message = format!("only one {name} parser directive can be used");
            tree.diagnostics
                .push(index.diagnostic(Severity::Error, file, span, message));
            continue;
        }
        if name == "escape" {
            match value.as_str() {
                "\\" => tree.escape = '\\',
                "`" => tree.escape = '`',
                other => {
                    let message = format!("invalid escape token '{other}' does not match ` or \\");
                    tree.diagnostics
                        .push(index.diagnostic(Severity::Error, file, span, message));
                }
            }
        }
        tree.directives.push(Directive { name, value, span });
    }
}

fn read_instruction(
    pair: Pair<'_, Rule>,
    index: &LineIndex<'_>,
    file: &str,
    tree: &mut SyntaxTree,
) {
    let mut map = SourceMap::default();
    let mut logical = String::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::text | Rule::first_text => {
                map.push(logical.len(), part.as_span().start());
                logical.push_str(part.as_str());
            }
            Rule::empty_continuation_line => {
                let start = part.as_span().start();
                let len = part.as_str().trim_end_matches(['\n', '\r']).len();
                let span = index.span(start, start + len);
                tree.diagnostics.push(index.diagnostic(
                    Severity::Warning,
                    file,
                    span,
                    "Empty continuation line",
                ));
            }
            _ => {}
        }
    }
    match parse_logical_line(&logical, &map, tree.escape, index) {
        Ok(Some(node)) => tree.nodes.push(node),
        Ok(None) => {}
        Err((span, message)) => {
            tree.diagnostics
                .push(index.diagnostic(Severity::Error, file, span, message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords_and_originals(source: &str) -> Vec<(String, String)> {
        parse_nodes(source, "Dockerfile")
            .nodes
            .into_iter()
            .map(|n| (n.keyword, n.original))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn continuations_skip_comments_and_empty_lines() {
        let source =
            "FROM a\nRUN echo hello \\\n  # a comment\n\n  world \\\n# c\n  again\nRUN x\n";
        assert_eq!(
            keywords_and_originals(source),
            pairs(&[
                ("FROM", "FROM a"),
                ("RUN", "RUN echo hello   world   again"),
                ("RUN", "RUN x"),
            ])
        );
        let tree = parse_nodes(source, "Dockerfile");
        let warning = &tree.diagnostics[0];
        assert_eq!(
            (warning.severity, warning.span.line),
            (Severity::Warning, 4)
        );
        assert_eq!(tree.nodes[1].span.line, 2);
        assert_eq!(tree.nodes[2].span.line, 8);
    }

    #[test]
    fn double_escape_does_not_continue_and_eof_ends_a_continuation() {
        let source = "ENV C trailing\\\\\nRUN a \\";
        assert_eq!(
            keywords_and_originals(source),
            pairs(&[("ENV", "ENV C trailing\\\\"), ("RUN", "RUN a")])
        );
        assert_eq!(
            keywords_and_originals("\\\nFROM x"),
            pairs(&[("FROM", "FROM x")])
        );
    }

    #[test]
    fn backtick_escape_directive() {
        let source = "# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo ok\n";
        let tree = parse_nodes(source, "Dockerfile");
        assert_eq!(tree.escape, '`');
        assert_eq!(tree.directives[0].name, "escape");
        assert_eq!(tree.nodes[1].original, "RUN dir c:\\   && echo ok");
    }

    #[test]
    fn directives_only_at_the_top_and_case_insensitive() {
        let tree = parse_nodes("# SYNTAX = docker/dockerfile:1  \n#Escape=`\nFROM a\n", "D");
        let names: Vec<_> = tree
            .directives
            .iter()
            .map(|d| (&*d.name, &*d.value))
            .collect();
        assert_eq!(names, [("syntax", "docker/dockerfile:1"), ("escape", "`")]);
        assert_eq!(tree.directives[1].span.line, 2);
        // After a comment, `# escape=` is an ordinary comment.
        let tree = parse_nodes("# hello\n# escape=`\nFROM a\n", "D");
        assert!(tree.directives.is_empty());
        assert_eq!(tree.escape, '\\');
    }

    #[test]
    fn bad_and_repeated_directives_are_errors() {
        let tree = parse_nodes("# escape=x\n# escape=`\n# escape=\\\nFROM a\n", "D");
        let messages: Vec<_> = tree.diagnostics.iter().map(|d| &*d.message).collect();
        assert_eq!(
            messages,
            [
                "invalid escape token 'x' does not match ` or \\",
                "only one escape parser directive can be used",
                "only one escape parser directive can be used",
            ]
        );
    }

    #[test]
    fn flags_are_unquoted_and_double_dash_ends_them() {
        let tree = parse_nodes("COPY --from=\"a b\" --chown=me -- --x y\n", "D");
        let node = &tree.nodes[0];
        let flags: Vec<_> = node
            .flags
            .iter()
            .map(|f| (&*f.name, f.value.as_deref()))
            .collect();
        assert_eq!(flags, [("from", Some("a b")), ("chown", Some("me"))]);
        assert_eq!(node.rest, "--x y");
        assert_eq!(node.flags[1].span.column, 19);
        assert_eq!(node.flags[1].span.len, "--chown=me".len());
    }
}
