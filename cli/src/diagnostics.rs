//! Dockerfile diagnostics rendered with miette: the message, the source line(s) with
//! the span marked, and help. Colour only on a terminal, never with `NO_COLOR`.

use kiln_parser::{Diagnostic, Severity, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
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
    source: NamedSource<String>,
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

fn handler() -> GraphicalReportHandler {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Messages hold commands and paths: never wrap them mid-word.
    GraphicalReportHandler::new_themed(theme)
        .with_context_lines(1)
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
    let report = Report {
        message: message.to_string(),
        severity,
        help: help.map(str::to_string),
        label: label.to_string(),
        span: (offset, len).into(),
        source: NamedSource::new(file, source.to_string()),
    };
    let mut out = String::new();
    if handler().render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail; keep the plain form just in case.
        out = format!("{file}:{}:{}: {message}", span.line, span.column);
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
