//! One logical line as an untyped [`Node`]: keyword, builder flags and the
//! rest of the text, each with its span in the original source.

use pest::Parser;

use crate::arguments::arguments;
use crate::diagnostic::{LineIndex, Span};
use crate::heredoc::Heredoc;
use crate::syntax::{DockerfileGrammar, Rule};

/// How deep `ONBUILD ONBUILD …` is split before it is an error.
const MAX_NESTING: usize = 8;

/// One instruction as written: keyword, builder flags, argument nodes and
/// heredocs, with spans.
///
/// This is BuildKit's `parser.Node` layer: [`Node::args`] are exactly the
/// nodes BuildKit's parser builds (see [`crate::dump`]).
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
    /// The argument nodes, split as the keyword requires (JSON elements,
    /// whitespace-separated words, ENV/LABEL `key`, `value`, `=` triples…).
    /// Empty for `ONBUILD`, whose argument is [`Node::next`].
    pub args: Vec<String>,
    /// Whether `args` come from a JSON (exec form) array.
    pub json: bool,
    /// `ONBUILD`'s nested instruction.
    pub next: Option<Box<Node>>,
    /// The heredocs of a `RUN`, `COPY` or `ADD` (on the nested node for
    /// `ONBUILD RUN <<EOF`), with their bodies.
    pub heredocs: Vec<Heredoc>,
    /// The comment lines directly above the instruction, `#` and surrounding
    /// whitespace removed (doc comments of `ARG` and `FROM`).
    pub comments: Vec<String>,
    /// The logical line: continuation lines joined, comments inside removed,
    /// trimmed, e.g. `RUN make && make install`. Heredoc bodies are not in it.
    pub original: String,
    /// From the keyword to the end of the instruction, heredoc bodies
    /// included; `span.line` is the first line.
    pub span: Span,
    /// The last physical line of the instruction (continuation lines, skipped
    /// blank and comment lines and heredoc bodies included).
    pub end_line: usize,
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

/// What splitting one logical line needs.
pub(crate) struct LineContext<'a> {
    pub(crate) map: &'a SourceMap,
    pub(crate) escape: char,
    pub(crate) index: &'a LineIndex<'a>,
}

/// Splits a joined logical line into a [`Node`]; `Ok(None)` for an empty
/// line. The error is the place and message of a malformed line.
pub(crate) fn parse_logical_line(
    logical: &str,
    ctx: &LineContext<'_>,
) -> Result<Option<Node>, (Span, String)> {
    let trimmed = logical.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let lead = logical.len() - logical.trim_start().len();
    split(trimmed, lead, ctx, 0).map(Some)
}

/// Splits `text` (non-empty, trimmed), which starts at offset `base` of the
/// logical line.
fn split(
    text: &str,
    base: usize,
    ctx: &LineContext<'_>,
    depth: usize,
) -> Result<Node, (Span, String)> {
    let span_of = |start: usize, end: usize| ctx.map.span(ctx.index, base + start, base + end);
    let whole = span_of(0, text.len());
    let rule = if ctx.escape == '`' {
        Rule::logical_backtick
    } else {
        Rule::logical_backslash
    };
    let pairs = DockerfileGrammar::parse(rule, text).map_err(|e| {
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
        rest_span: span_of(text.len(), text.len()),
        args: Vec::new(),
        json: false,
        next: None,
        heredocs: Vec::new(),
        comments: Vec::new(),
        original: text.to_owned(),
        span: whole,
        end_line: whole.line,
    };
    let mut rest_start = text.len();
    for pair in pairs.flatten() {
        let (start, end) = (pair.as_span().start(), pair.as_span().end());
        match pair.as_rule() {
            Rule::keyword => {
                node.keyword = pair.as_str().to_owned();
                node.keyword_span = span_of(start, end);
            }
            Rule::flag => {
                let text = unquote_flag(pair.as_str(), ctx.escape);
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
                rest_start = start;
            }
            _ => {}
        }
    }
    if node.keyword.eq_ignore_ascii_case("onbuild") && !node.rest.is_empty() {
        if depth >= MAX_NESTING {
            return Err((node.rest_span, "ONBUILD is nested too deeply".to_owned()));
        }
        let nested = split(&node.rest, base + rest_start, ctx, depth + 1)?;
        node.next = Some(Box::new(nested));
        return Ok(node);
    }
    let args = arguments(&node.keyword, &node.rest, ctx.escape).map_err(|message| {
        // A missing value is the whole instruction's problem; the other
        // errors are in the arguments.
        let span = if message.ends_with("must have two arguments") {
            node.span
        } else {
            node.rest_span
        };
        (span, message)
    })?;
    node.args = args.nodes;
    node.json = args.json;
    Ok(node)
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
