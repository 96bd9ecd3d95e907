//! kiln solver: lowers the Dockerfile AST to a build graph of [`op::Op`]s with cache
//! keys, and runs it: every vertex whose input is ready runs at once, cache hits are
//! reused, misses run in the sandbox or as file operations and are committed.
//!
//! **Architecture Invariant:** the solver never draws a terminal; it reports through
//! [`progress::Reporter`].

pub mod backend;
pub mod build;
pub mod container;
pub mod context;
pub mod error;
pub mod filesystem;
pub mod key;
pub mod lower;
pub mod op;
pub mod progress;
mod pull_progress;
pub mod run;
pub mod selection;

pub use build::{BuildOutcome, BuildRequest, build};
pub use container::{RunOptions, run_container};
pub use context::BuildContext;
pub use error::{Result, SolveError};
pub use filesystem::{write_filesystem_dir, write_filesystem_tar};
pub use lower::{BuildOptions, BuildPlan, check, lower};
pub use run::{Solver, VertexResult};
