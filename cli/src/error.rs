//! The CLI's errors: how they are shown and which exit code they give
//! (0 success, 1 build or user error, 2 internal error).

use crate::escape::escape_controls;
use kiln_parser::{ParseErrors, Severity};
use kiln_solver::SolveError;
use std::fmt::Write as _;

/// An error that ends a kiln command.
#[derive(Debug)]
pub enum CliError {
    /// A user or build error, already rendered.
    User(String),
    /// Something went wrong inside kiln or the machine, already rendered.
    Internal(String),
    /// Stdout's reader went away (a closed pipe, as in `kiln images | head -1`): the
    /// command ends quietly, as a success.
    StdoutClosed,
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::StdoutClosed => 0,
            Self::User(_) => 1,
            Self::Internal(_) => 2,
        }
    }

    /// The text printed on stderr (none for a closed stdout).
    pub fn message(&self) -> &str {
        match self {
            Self::User(m) | Self::Internal(m) => m,
            Self::StdoutClosed => "",
        }
    }

    /// A failed write to stdout: a closed pipe ends quietly, anything else (a full
    /// disk) is the user's to fix.
    pub fn stdout(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Self::StdoutClosed
        } else {
            Self::user(format!("cannot write to stdout: {e}"))
        }
    }

    /// A user error with a plain message (one line; control characters are escaped,
    /// since it may echo input).
    pub fn user(message: impl Into<String>) -> Self {
        Self::User(format!("error: {}", escape_controls(&message.into())))
    }
}

/// An error and its sources on one line, joined by `: `, control characters escaped.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = escape_controls(&e.to_string()).into_owned();
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, ": {}", escape_controls(&s.to_string()));
        source = s.source();
    }
    text
}

/// `error: …` plus one `Caused by:` line per source, control characters escaped.
pub fn render_chain(e: &dyn std::error::Error) -> String {
    let mut text = format!("error: {}", escape_controls(&e.to_string()));
    let mut source = e.source();
    while let Some(s) = source {
        let _ = write!(text, "\n  Caused by: {}", escape_controls(&s.to_string()));
        source = s.source();
    }
    text
}

/// Whether a store error is the user's to fix (a name, a missing image, a lock, a
/// full disk, an archive that `kiln import` refuses).
fn is_user_cache_error(e: &kiln_cache::CacheError) -> bool {
    use kiln_cache::CacheError as E;
    e.is_no_space()
        || match e {
            E::ImageNotFound(_)
            | E::InvalidReference { .. }
            | E::Locked { .. }
            | E::ImageConflict { .. }
            | E::Load(_)
            | E::EmptyArchive { .. } => true,
            E::Layer(layer) => layer.is_bad_archive(),
            _ => false,
        }
}

impl From<kiln_cache::CacheError> for CliError {
    fn from(e: kiln_cache::CacheError) -> Self {
        if is_user_cache_error(&e) {
            Self::User(render_chain(&e))
        } else {
            Self::Internal(render_chain(&e))
        }
    }
}

impl From<kiln_cache::registry::RegistryError> for CliError {
    fn from(e: kiln_cache::registry::RegistryError) -> Self {
        use kiln_cache::registry::RegistryError as E;
        match e {
            E::Store(store) => store.into(),
            // Everything else is the registry's answer or the user's settings.
            other => Self::User(render_chain(&other)),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::Internal(render_chain(&e))
    }
}

/// Renders parse errors (every diagnostic, with its source lines).
pub fn parse_errors(e: &ParseErrors, source: &str) -> CliError {
    CliError::User(crate::diagnostics::render_all(&e.diagnostics, source))
}

/// Renders a build error, pointing into the Dockerfile where it has a location.
pub fn build_error(e: &SolveError, file: &str, source: &str) -> CliError {
    let mut text = match e {
        SolveError::RunFailed { step, .. } => escape_controls(&format!("{step}: {e}")).into_owned(),
        _ => error_chain(e),
    };
    if let Some(span) = e.span() {
        text = crate::diagnostics::render(
            file,
            source,
            span,
            Severity::Error,
            &text,
            "failed here",
            None,
        );
    } else {
        text = format!("error: {text}");
    }
    if let SolveError::RunFailed { output_tail, .. } = e
        && !output_tail.is_empty()
    {
        let _ = write!(text, "\noutput (last lines):");
        for line in output_tail.lines() {
            let _ = write!(text, "\n  {line}");
        }
    }
    let text = text.trim_end().to_string();
    match e {
        SolveError::Cache(inner) if !is_user_cache_error(inner) => CliError::Internal(text),
        SolveError::Io(_) => CliError::Internal(text),
        _ => CliError::User(text),
    }
}
