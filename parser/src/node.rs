//! One logical line as an untyped [`Node`]: keyword, builder flags and the
//! rest of the text, each with its span in the original source.

use pest::Parser;

use crate::diagnostic::{LineIndex, Span};
use crate::syntax::{DockerfileGrammar, Rule};

/// One instruction as written: keyword, builder flags and arguments text.
///
/// This is BuildKit's `parser.Node` layer. Heredocs will be added here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (`FROM`, `from`, `Copy`…).
    pub keyword: String,
    /// Where the keyword is.
    pub keyword_span: Span,
    /// The builder flags (`--name[=value]`) after the keyword, in order.
    pub flags: Vec<Flag>,
    /// The text after the keyword and flags, without surrounding whitespace.
    pub rest: String,
    /// Where `rest` is (it may run over several lines).
    pub rest_span: Span,
    /// The logical line: continuation lines joined, comments inside removed,
    /// trimmed, e.g. `RUN make && make install`.
    pub original: String,
    /// From the keyword to the last character of the instruction.
    pub span: Span,
}

/// A builder flag such as `--from=build` or `--link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The name without the leading `--` (`from`).
    pub name: String,
    /// The text after the first `=`, quotes and escapes removed; `None` when
    /// the flag has no `=`.
    pub value: Option<String>,
    /// Where the flag is, `--` included.
    pub span: Span,
}

impl Flag {
    /// The flag as BuildKit prints it: `--name` or `--name=value`.
    pub fn text(&self) -> String {
        match &self.value {
            Some(v) => format!("--{}={v}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

/// Maps byte offsets of a logical line back to the source it was joined from.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceMap {
    /// `(logical offset, source offset)` where each joined piece starts.
    pieces: Vec<(usize, usize)>,
}

impl SourceMap {
    pub(crate) fn push(&mut self, logical: usize, source: usize) {
        self.pieces.push((logical, source));
    }

    /// The source offset of logical offset `at` (a start position).
    fn start(&self, at: usize) -> usize {
        let i = self.pieces.partition_point(|&(l, _)| l <= at);
        self.pieces
            .get(i.wrapping_sub(1))
            .map_or(0, |&(l, s)| s + (at - l))
    }

    /// The source offset of logical offset `at` used as an exclusive end:
    /// at a piece boundary this is the end of the earlier piece.
    fn end(&self, at: usize) -> usize {
        let i = self.pieces.partition_point(|&(l, _)| l < at);
        self.pieces
            .get(i.wrapping_sub(1))
            .map_or(0, |&(l, s)| s + (at - l))
    }

    fn span(&self, index: &LineIndex<'_>, start: usize, end: usize) -> Span {
        let source_start = self.start(start);
        index.span(source_start, self.end(end).max(source_start))
    }
}

/// Splits a joined logical line into a [`Node`]; `Ok(None)` for an empty
/// line. The error is the place and message of a malformed line.
pub(crate) fn parse_logical_line(
    logical: &str,
    map: &SourceMap,
    escape: char,
    index: &LineIndex<'_>,
) -> Result<Option<Node>, (Span, String)> {
    let trimmed = logical.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let lead = logical.len() - logical.trim_start().len();
    let span_of = |start: usize, end: usize| map.span(index, lead + start, lead + end);
    let rule = if escape == '`' {
        Rule::logical_backtick
    } else {
        Rule::logical_backslash
    };
    let whole = span_of(0, trimmed.len());
    let pairs = DockerfileGrammar::parse(rule, trimmed).map_err(|e| {
        (
            whole,
            format!("internal parser error: {}", e.variant.message()),
        )
    })?;
    let mut node = Node {
        keyword: String::new(),
        keyword_span: whole,
        flags: Vec::new(),
        rest: String::new(),
        rest_span: span_of(trimmed.len(), trimmed.len()),
        original: trimmed.to_owned(),
        span: whole,
    };
    for pair in pairs.flatten() {
        let (start, end) = (pair.as_span().start(), pair.as_span().end());
        match pair.as_rule() {
            Rule::keyword => {
                node.keyword = pair.as_str().to_owned();
                node.keyword_span = span_of(start, end);
            }
            Rule::flag => {
                let text = unquote_flag(pair.as_str(), escape);
                let body = text.strip_prefix("--").unwrap_or(&text);
                let (name, value) = match body.split_once('=') {
                    Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                    None => (body.to_owned(), None),
                };
                node.flags.push(Flag {
                    name,
                    value,
                    span: span_of(start, end),
                });
            }
            Rule::rest => {
                node.rest = pair.as_str().to_owned();
                node.rest_span = span_of(start, end);
            }
            _ => {}
        }
    }
    Ok(Some(node))
}

/// Removes quotes and escape characters from a flag word, as BuildKit does:
/// the escape character makes the next character literal (inside quotes too)
/// and a trailing escape character is dropped.
fn unquote_flag(word: &str, escape: char) -> String {
    let mut out = String::with_capacity(word.len());
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            if let Some(next) = chars.next() {
                out.push(next);
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_flags_like_buildkit() {
        assert_eq!(unquote_flag("--a=\"x y\"", '\\'), "--a=x y");
        assert_eq!(unquote_flag("--a='it\\'s'", '\\'), "--a=it's");
        assert_eq!(unquote_flag("--a=b\\", '\\'), "--a=b");
        assert_eq!(unquote_flag("--a=b`c", '`'), "--a=bc");
    }

    #[test]
    fn source_map_handles_piece_boundaries() {
        let mut map = SourceMap::default();
        map.push(0, 10);
        map.push(5, 30);
        assert_eq!(map.start(5), 30);
        assert_eq!(map.end(5), 15);
        assert_eq!(map.start(7), 32);
        assert_eq!(SourceMap::default().start(3), 0);
    }
}
