//! Errors of lowering and solving.

use kiln_parser::Span;
use std::path::{Path, PathBuf};

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
    /// The filesystem of the state root is full.
    #[error("{step}: no space left on device in the state root `{}`", root.display())]
    NoSpace {
        step: String,
        root: PathBuf,
        span: Option<Span>,
        #[source]
        source: Box<SolveError>,
    },
    /// A base image (`FROM`, `COPY --from`) is not in the store; the build pulls it.
    #[error("image `{reference}` is not in the store")]
    ImageMissing { reference: String, span: Span },
    /// Pulling a base image failed.
    #[error("image `{reference}` is not in the store, and pulling it failed")]
    Pull {
        reference: String,
        span: Span,
        #[source]
        source: Box<kiln_cache::registry::RegistryError>,
    },
    /// The build context could not be read.
    #[error("build context `{path}`: {message}")]
    Context { path: String, message: String },
    /// The build context's ignore file is malformed.
    #[error("ignore file `{}`", path.display())]
    Ignore {
        path: PathBuf,
        #[source]
        source: kiln_parser::dockerignore::DockerignoreError,
    },
    /// A stage or image being read (by `COPY --from` or `kiln run`) cannot give what is
    /// asked of it.
    #[error("{what}: {message}")]
    Input {
        /// ``stage `build` `` or ``image `x:1` ``.
        what: String,
        message: String,
    },
    /// A step cannot do what its instruction asks (found when it runs).
    #[error("{0}")]
    Instruction(String),
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
            | Self::ImageMissing { span, .. }
            | Self::Pull { span, .. }
            | Self::RunFailed { span, .. }
            | Self::Step { span, .. } => Some(*span),
            Self::NoSpace { span, .. } => *span,
            _ => None,
        }
    }

    /// The error, or when a full state root caused it, [`SolveError::NoSpace`] naming
    /// `step` and `root`.
    pub(crate) fn on_full_disk(self, step: &str, span: Option<Span>, root: &Path) -> Self {
        let full = match &self {
            Self::Cache(e) => e.is_no_space(),
            Self::Io(e) => kiln_cache::is_no_space(e),
            _ => false,
        };
        if !full {
            return self;
        }
        Self::NoSpace {
            step: step.to_string(),
            root: root.to_path_buf(),
            span,
            source: Box::new(self),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = SolveError> = std::result::Result<T, E>;
