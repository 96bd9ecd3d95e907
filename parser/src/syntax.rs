//! The line layer: pest grammar → [`SyntaxTree`] of untyped [`Node`]s.
//!
//! This layer knows the file's line structure (directives, comments,
//! continuations, the escape character) and splits each logical line into
//! keyword, flags and the rest. It does not know what any keyword means;
//! [`crate::instructions`] types the nodes.

use pest::Parser;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::diagnostic::{
    Diagnostic, LineIndex, MAX_ERRORS, Severity, Span, count_errors, limit_errors,
};
pub use crate::directives::Directive;
use crate::directives::read_directives;
use crate::heredoc::heredocs_from_line;
use crate::node::{LineContext, Node, SourceMap, parse_logical_line};

/// The longest physical line BuildKit reads, in bytes without its LF.
pub const MAX_LINE_LEN: usize = 65_535;

#[derive(Parser)]
#[grammar = "dockerfile.pest"]
pub(crate) struct DockerfileGrammar;

/// The untyped parse of a Dockerfile: directives and one node per instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxTree {
    /// The parser directives, in order.
    pub directives: Vec<Directive>,
    /// The escape character in force (`\` or `` ` ``).
    pub escape: char,
    /// One node per instruction, in source order.
    pub nodes: Vec<Node>,
    /// Errors and warnings of the line layer (bad directives, over-long
    /// lines, malformed arguments, heredocs, empty continuation lines).
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
    let mut long_lines = Vec::new();
    check_line_lengths(source, &index, file, &mut long_lines);
    // First the directives alone, to learn the escape character.
    let mut pos = 0;
    if let Ok(mut pairs) = DockerfileGrammar::parse(Rule::directives_only, source)
        && let Some(prelude) = pairs.next().and_then(|p| p.into_inner().next())
    {
        pos = prelude.as_span().end();
        read_directives(prelude, &index, file, &mut tree);
    }
    let rule = if tree.escape == '`' {
        Rule::item_backtick
    } else {
        Rule::item_backslash
    };
    let reader = Reader {
        source,
        index: &index,
        file,
    };
    let mut comments = Vec::new();
    let mut errors = count_errors(&tree.diagnostics);
    while let Some(rest) = source.get(pos..).filter(|r| !r.is_empty()) {
        // Past MAX_ERRORS errors before `pos`, nothing after it would be reported.
        if errors + long_lines.partition_point(|d| d.span.offset < pos) > MAX_ERRORS {
            break;
        }
        let reported = tree.diagnostics.len();
        let item = match DockerfileGrammar::parse(rule, rest) {
            Ok(mut pairs) => pairs.next(),
            Err(err) => {
                // The grammar accepts any text; this is a bug, reported not panicked.
                let span = index.span(pos, pos);
                let message = format!("internal parser error: {}", err.variant.message());
                tree.diagnostics
                    .push(index.diagnostic(Severity::Error, file, span, message));
                None
            }
        };
        let Some(item) = item.filter(|i| i.as_span().end() > 0) else {
            break;
        };
        let end = pos + item.as_span().end();
        let before = tree.nodes.len();
        for pair in item.into_inner() {
            match pair.as_rule() {
                Rule::instruction => reader.instruction(pair, pos, &mut tree),
                Rule::comment_line => {
                    let text = pair.as_str().trim();
                    comments.push(text.strip_prefix('#').unwrap_or(text).trim().to_owned());
                }
                _ => comments.clear(),
            }
        }
        pos = end;
        if tree.nodes.len() > before
            && let Some(node) = tree.nodes.last_mut()
        {
            node.comments = std::mem::take(&mut comments);
            pos = reader.heredocs(node, pos, &mut tree.diagnostics);
        }
        errors += count_errors(&tree.diagnostics[reported..]);
    }
    tree.diagnostics.append(&mut long_lines);
    limit_errors(&mut tree.diagnostics);
    tree
}

/// Reports every physical line longer than [`MAX_LINE_LEN`].
fn check_line_lengths(source: &str, index: &LineIndex<'_>, file: &str, out: &mut Vec<Diagnostic>) {
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        let len = line.strip_suffix('\n').unwrap_or(line).len();
        if len > MAX_LINE_LEN {
            let span = index.span(start, start + len);
            out.push(index.diagnostic(
                Severity::Error,
                file,
                span,
                format!("dockerfile line greater than max allowed size of {MAX_LINE_LEN}"),
            ));
        }
        start += line.len();
    }
}

/// What reading instructions needs.
struct Reader<'a> {
    source: &'a str,
    index: &'a LineIndex<'a>,
    file: &'a str,
}

impl Reader<'_> {
    /// Joins the lines of an instruction pair (at offset `base`) and splits
    /// the logical line into a node.
    fn instruction(&self, pair: Pair<'_, Rule>, base: usize, tree: &mut SyntaxTree) {
        let end = base + pair.as_span().end();
        let mut map = SourceMap::default();
        let mut logical = String::new();
        let mut first_empty: Option<Span> = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::text | Rule::first_text => {
                    map.push(logical.len(), base + part.as_span().start());
                    logical.push_str(part.as_str());
                }
                Rule::empty_continuation_line if first_empty.is_none() => {
                    let start = base + part.as_span().start();
                    let len = part.as_str().trim_end_matches(['\n', '\r']).len();
                    first_empty = Some(self.index.span(start, start + len));
                }
                _ => {}
            }
        }
        let ctx = LineContext {
            map: &map,
            escape: tree.escape,
            index: self.index,
        };
        match parse_logical_line(&logical, &ctx) {
            Ok(Some(mut node)) => {
                node.end_line = self.index.line_of(end.saturating_sub(1));
                if let Some(span) = first_empty {
                    let mut warning = self.index.diagnostic(
                        Severity::Warning,
                        self.file,
                        span,
                        format!("Empty continuation line found in: {}", node.original),
                    );
                    warning.help = Some(
                        "Empty continuation lines will become errors in a future release".into(),
                    );
                    tree.diagnostics.push(warning);
                }
                tree.nodes.push(node);
            }
            Ok(None) => {}
            Err((span, message)) => tree.diagnostics.push(self.index.diagnostic(
                Severity::Error,
                self.file,
                span,
                message,
            )),
        }
    }

    /// Finds the heredocs `node` starts and reads their bodies from `pos` on.
    /// Returns the offset after the last body.
    fn heredocs(&self, node: &mut Node, mut pos: usize, out: &mut Vec<Diagnostic>) -> usize {
        let line = node.original.clone();
        let target = match node.next.as_deref_mut() {
            Some(nested) if node.keyword.eq_ignore_ascii_case("onbuild") => nested,
            _ => &mut *node,
        };
        let kind = target.keyword.to_ascii_lowercase();
        if !matches!(kind.as_str(), "run" | "copy" | "add") || target.json || !line.contains("<<") {
            return pos;
        }
        let mut docs = match heredocs_from_line(&line) {
            Ok(docs) if docs.is_empty() => return pos,
            Ok(docs) => docs,
            Err(e) => {
                out.push(self.index.diagnostic(
                    Severity::Error,
                    self.file,
                    target.span,
                    e.to_string(),
                ));
                return pos;
            }
        };
        let mut last_line_end = pos;
        for doc in &mut docs {
            let mut terminated = false;
            while let Some(rest) = self.source.get(pos..).filter(|r| !r.is_empty()) {
                let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
                let raw = &rest[..len];
                pos += len;
                last_line_end = pos - usize::from(raw.ends_with('\n'));
                let mut candidate = raw.trim_end_matches(['\r', '\n']);
                if doc.chomp {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == doc.name {
                    terminated = true;
                    break;
                }
                doc.content.push_str(raw);
            }
            if !terminated {
                let mut error = self.index.diagnostic(
                    Severity::Error,
                    self.file,
                    target.span,
                    "unterminated heredoc",
                );
                error.help = Some(format!("end the heredoc with a line `{}`", doc.name));
                out.push(error);
                break;
            }
        }
        let end_line = self.index.line_of(last_line_end.saturating_sub(1));
        target.heredocs = docs;
        target.end_line = end_line;
        target.span.len = last_line_end.saturating_sub(target.span.offset);
        node.end_line = end_line;
        node.span.len = last_line_end.saturating_sub(node.span.offset);
        pos
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
