//! Errors of lowering and solving.

use kiln_parser::Span;

/// An error while lowering a Dockerfile or running its build graph.
#[derive(Debug, thiserror::Error)]
pub enum SolveError {
    /// The Dockerfile is valid syntax but cannot be built as written.
    #[error("{message}")]
    Dockerfile { message: String, span: Span },
    /// A RUN step exited non-zero.
    #[error("process \"{command}\" did not complete successfully: exit code: {code}")]
    RunFailed {
        step: String,
        command: String,
        code: i32,
        /// The last lines of the step's output.
        output_tail: String,
        span: Span,
    },
    /// A step failed for another reason (sandbox, file copy, store).
    #[error("{step}: {message}")]
    Step {
        step: String,
        message: String,
        span: Span,
    },
    /// The build context could not be read.
    #[error("build context `{path}`: {message}")]
    Context { path: String, message: String },
    /// The store failed.
    #[error(transparent)]
    Cache(#[from] kiln_cache::CacheError),
    /// An I/O error outside any step.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Walking a tree (a COPY source) failed.
    #[error(transparent)]
    Walk(#[from] kiln_cache::tree::WalkError),
}

impl SolveError {
    /// The Dockerfile location the error belongs to, if any.
    pub fn span(&self) -> Option<Span> {
        match self {
            Self::Dockerfile { span, .. }
            | Self::RunFailed { span, .. }
            | Self::Step { span, .. } => Some(*span),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = SolveError> = std::result::Result<T, E>;
