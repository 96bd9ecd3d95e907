//! Dockerfile diagnostics rendered with miette: the message, the source line(s) with
//! the span marked, and help. Colour only on a terminal, never with `NO_COLOR`.

use crate::escape::{escape_controls, escape_source};
use kiln_parser::{Diagnostic, Severity, Span};
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use std::fmt;
use std::io::IsTerminal;

/// One diagnostic as miette wants it.
#[derive(Debug)]
struct Report {
    message: String,
    severity: Severity,
    help: Option<String>,
    label: String,
    span: SourceSpan,
    source: Excerpt,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            self.span,
        ))))
    }
}

/// Lines of context shown before and after a span.
const CONTEXT_LINES: usize = 1;

/// The lines around one span, standing in for the whole source. miette finds a span's
/// lines by scanning its source from the start, so handing it the whole file made
/// every diagnostic cost the file's size (a 1 MB file of errors took seconds).
/// Control characters in the lines are escaped, which moves the span: miette sees
/// offsets into the escaped text, shifted by `offset`.
#[derive(Debug)]
struct Excerpt {
    name: String,
    /// Whole lines, escaped: the span's, and [`CONTEXT_LINES`] either side.
    text: String,
    /// Byte offset of the lines in the source.
    offset: usize,
    /// 0-based line of `text`'s first line in the source.
    first_line: usize,
}

impl Excerpt {
    /// The excerpt of `source` around `offset..offset + len`, whose first line is the
    /// 1-based `line`, and the span to give miette.
    fn new(name: &str, source: &str, offset: usize, len: usize, line: usize) -> (Self, SourceSpan) {
        let bytes = source.as_bytes();
        let line_start = |pos: usize| {
            bytes[..pos]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        let line_end = |pos: usize| {
            bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| pos + i + 1)
        };
        let mut start = line_start(offset);
        let mut lines_before = 0;
        while lines_before < CONTEXT_LINES && start > 0 {
            start = line_start(start - 1);
            lines_before += 1;
        }
        let mut end = line_end((offset + len).saturating_sub(1).max(offset));
        for _ in 0..CONTEXT_LINES {
            end = line_end(end);
        }
        let (text, offsets) = escape_source(&source[start..end]);
        let (from, to) = (offsets[offset - start], offsets[offset + len - start]);
        let excerpt = Self {
            name: escape_controls(name).into_owned(),
            text,
            offset: start,
            first_line: line.saturating_sub(1 + lines_before),
        };
        (excerpt, (start + from, to - from).into())
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let local = span
            .offset()
            .checked_sub(self.offset)
            .ok_or(MietteError::OutOfBounds)?;
        let inner = self.text.read_span(
            &(local, span.len()).into(),
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            (inner.span().offset() + self.offset, inner.span().len()).into(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

fn handler() -> GraphicalReportHandler {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Messages hold commands and paths: never wrap them mid-word.
    GraphicalReportHandler::new_themed(theme)
        .with_context_lines(CONTEXT_LINES)
        .with_wrap_lines(false)
}

/// Renders one diagnostic located at `span` of `source` (the file named `file`).
pub fn render(
    file: &str,
    source: &str,
    span: Span,
    severity: Severity,
    message: &str,
    label: &str,
    help: Option<&str>,
) -> String {
    // A span may run past the end (an error at end of file): clamp it.
    let offset = span.offset.min(source.len());
    let len = span.len.min(source.len() - offset);
    let (excerpt, span_in_excerpt) = Excerpt::new(file, source, offset, len, span.line);
    let report = Report {
        message: escape_controls(message).into_owned(),
        severity,
        help: help.map(|h| escape_controls(h).into_owned()),
        label: escape_controls(label).into_owned(),
        span: span_in_excerpt,
        source: excerpt,
    };
    let mut out = String::new();
    if handler().render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail; keep the plain form just in case.
        out = escape_controls(&format!("{file}:{}:{}: {message}", span.line, span.column))
            .into_owned();
    }
    out.trim_end().to_string()
}

/// Renders a parser diagnostic.
pub fn render_diagnostic(diagnostic: &Diagnostic, source: &str) -> String {
    let label = match diagnostic.severity {
        Severity::Error => "error here",
        Severity::Warning => "warning here",
    };
    render(
        &diagnostic.file,
        source,
        diagnostic.span,
        diagnostic.severity,
        &diagnostic.message,
        label,
        diagnostic.help.as_deref(),
    )
}

/// Renders several diagnostics, separated by blank lines.
pub fn render_all<'a>(
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
    source: &str,
) -> String {
    diagnostics
        .into_iter()
        .map(|d| render_diagnostic(d, source))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbounded_input_excerpt_holds_only_the_lines_around_the_span() {
        let source = format!("{}COPPY x\nlast\n", "FROM a\n".repeat(100_000));
        let offset = source.find("COPPY").expect("COPPY");
        let (excerpt, span) = Excerpt::new("F", &source, offset, 5, 100_001);
        assert_eq!(span, (offset, 5).into());
        assert_eq!(excerpt.text, "FROM a\nCOPPY x\nlast\n");
        assert_eq!(excerpt.first_line, 99_999);
        let text = render(
            "F",
            &source,
            Span {
                offset,
                len: 5,
                line: 100_001,
                column: 1,
            },
            Severity::Error,
            "unknown instruction: COPPY",
            "error here",
            None,
        );
        assert!(text.contains("[F:100001:1]"), "{text}");
        assert!(text.contains("100000 │ FROM a"), "{text}");
        assert!(text.contains("100002 │ last"), "{text}");
    }
}
