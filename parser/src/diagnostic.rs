//! Source positions and the diagnostics (errors and warnings) the parser
//! reports, with a plain-text rendering that shows the failing line.

use std::fmt;

/// A range of the Dockerfile source.
///
/// `offset` and `len` are in bytes; `line` and `column` are 1-based, and
/// `column` counts characters (not bytes) from the start of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes (may run over several lines).
    pub len: usize,
    /// 1-based line of the first byte.
    pub line: usize,
    /// 1-based column of the first byte, in characters.
    pub column: usize,
}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The Dockerfile cannot be built.
    Error,
    /// The Dockerfile builds, but something looks wrong or outdated.
    Warning,
}

/// One error or warning, tied to a place in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file name given to [`crate::parse`], used in the rendering.
    pub file: String,
    /// Where the problem is.
    pub span: Span,
    /// What is wrong, e.g. `unknown instruction: COPPY`.
    pub message: String,
    /// How to fix it, e.g. `did you mean COPY?`.
    pub help: Option<String>,
    /// The full source line `span.line` (without its terminator).
    pub source_line: String,
}

impl fmt::Display for Diagnostic {
    /// Renders `file:line:col: message`, the source line, a caret marker under
    /// the span and, if any, a `help:` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        writeln!(
            f,
            "{}:{}:{}: {prefix}{}",
            self.file, self.span.line, self.span.column, self.message
        )?;
        let number = self.span.line.to_string();
        let gutter = " ".repeat(number.len());
        writeln!(f, " {number} | {}", self.source_line)?;
        // The marker covers the span's part of this line, at least one caret.
        let start = self.span.column.saturating_sub(1);
        let mut covered = 0;
        let mut width = 0;
        for c in self.source_line.chars().skip(start) {
            if covered >= self.span.len {
                break;
            }
            covered += c.len_utf8();
            width += 1;
        }
        let width = width.max(1);
        write!(f, " {gutter} | {}{}", " ".repeat(start), "^".repeat(width))?;
        if let Some(help) = &self.help {
            write!(f, "\n {gutter} = help: {help}")?;
        }
        Ok(())
    }
}

/// One or more diagnostics that stop the parse; at least one is an error.
///
/// `Display` renders every diagnostic (see [`Diagnostic`]'s `Display`),
/// separated by blank lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_all(.diagnostics))]
pub struct ParseErrors {
    /// Every error found, plus the warnings found on the way, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ParseErrors {
    /// Only the diagnostics with [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

/// At most this many errors are reported for one file; the rest are counted out.
pub const MAX_ERRORS: usize = 100;

/// How many of `diagnostics` are errors.
pub(crate) fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

/// Sorts `diagnostics` by position and keeps the first [`MAX_ERRORS`] errors (with the
/// warnings before the cut); where the next error was, one more says the rest were
/// left out. A file of garbage gives a readable report, not one error per line.
pub(crate) fn limit_errors(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by_key(|d| (d.span.line, d.span.column));
    let Some((cut, _)) = diagnostics
        .iter()
        .enumerate()
        .filter(|(_, d)| d.severity == Severity::Error)
        .nth(MAX_ERRORS)
    else {
        return;
    };
    diagnostics.truncate(cut + 1);
    if let Some(last) = diagnostics.last_mut() {
        last.message = format!("too many errors, stopping after the first {MAX_ERRORS}");
        last.help = None;
    }
}

fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Finds lines and columns for byte offsets of one source text.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex<'a> {
    source: &'a str,
    /// Byte offset where each line starts (line 1 at index 0).
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { source, starts }
    }

    /// The span of bytes `start..end` (clamped to the source, snapped to
    /// character boundaries).
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        let start = self.floor_char(start.min(self.source.len()));
        let end = self.floor_char(end.clamp(start, self.source.len()));
        let line_idx = self.starts.partition_point(|&s| s <= start).max(1) - 1;
        let line_start = self.starts.get(line_idx).copied().unwrap_or(0);
        let column = self
            .source
            .get(line_start..start)
            .map_or(0, |s| s.chars().count())
            + 1;
        Span {
            offset: start,
            len: end - start,
            line: line_idx + 1,
            column,
        }
    }

    /// The 1-based line of byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The text of 1-based `line`, without its terminator (LF and CRs).
    pub(crate) fn line_text(&self, line: usize) -> &'a str {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self.starts.get(line).copied().unwrap_or(self.source.len());
        self.source
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// A diagnostic at `span`, with the source line filled in.
    pub(crate) fn diagnostic(
        &self,
        severity: Severity,
        file: &str,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            file: file.to_owned(),
            span,
            message: message.into(),
            help: None,
            source_line: self.line_text(span.line).to_owned(),
        }
    }

    fn floor_char(&self, mut i: usize) -> usize {
        while i > 0 && !self.source.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_count_lines_and_characters() {
        let index = LineIndex::new("ab\nçé x\r\nlast");
        assert_eq!(
            index.span(8, 9),
            Span {
                offset: 8,
                len: 1,
                line: 2,
                column: 4
            }
        );
        assert_eq!(index.span(11, 15).line, 3);
        assert_eq!(index.line_text(2), "çé x");
        assert_eq!(index.line_text(9), "");
        // Out of range and mid-character offsets are clamped, never a panic.
        assert_eq!(index.span(99, 200).offset, 15);
        assert_eq!(index.span(4, 4).offset, 3);
    }

    #[test]
    fn unbounded_input_errors_are_cut_after_the_limit() {
        let source = "x\n".repeat(3 * MAX_ERRORS);
        let index = LineIndex::new(&source);
        let mut diagnostics: Vec<_> = (0..3 * MAX_ERRORS)
            .rev()
            .map(|line| {
                let severity = if line % 2 == 0 {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                index.diagnostic(severity, "F", index.span(line * 2, line * 2 + 1), "bad")
            })
            .collect();
        limit_errors(&mut diagnostics);
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        assert_eq!(errors, MAX_ERRORS + 1);
        let last = diagnostics.last().expect("diagnostics");
        assert_eq!(
            last.message,
            "too many errors, stopping after the first 100"
        );
        // In source order, the marker where the 101st error was.
        assert_eq!(last.span.line, 2 * MAX_ERRORS + 1);
        assert!(diagnostics.is_sorted_by_key(|d| d.span.line));
    }

    #[test]
    fn renders_location_line_marker_and_help() {
        let source = "FROM a\nCOPPY . .\n";
        let index = LineIndex::new(source);
        let mut d = index.diagnostic(
            Severity::Error,
            "Dockerfile",
            index.span(7, 12),
            "unknown instruction: COPPY",
        );
        d.help = Some("did you mean COPY?".into());
        assert_eq!(
            d.to_string(),
            "Dockerfile:2:1: unknown instruction: COPPY\n \
             2 | COPPY . .\n   \
             | ^^^^^\n   \
             = help: did you mean COPY?"
        );
        let errors = ParseErrors {
            diagnostics: vec![d.clone(), d],
        };
        assert_eq!(errors.to_string().matches("COPPY . .").count(), 2);
    }
}
