//! kiln's Dockerfile parser.
//!
//! Two layers, like BuildKit's `parser/` → `instructions/`:
//!
//! 1. [`syntax`]: a pest grammar (`dockerfile.pest`) for the line structure:
//!    parser directives, comments, continuations, the escape character,
//!    builder flags, heredocs. It yields untyped [`node::Node`]s with spans
//!    and BuildKit's argument nodes ([`dump`] prints them).
//! 2. [`instructions`]: types each node (FROM, RUN, COPY…) and groups them
//!    into [`Stage`]s of a [`Dockerfile`].
//!
//! [`shell`] expands variables in words; the parser itself never expands.
//!
//! **Architecture Invariant:** the parser never executes, expands or reads
//! anything beyond the text it is given, and never panics on any input.

mod arguments;
pub mod ast;
pub mod diagnostic;
pub mod directives;
pub mod dump;
pub mod heredoc;
pub mod instructions;
pub mod json;
pub mod node;
pub mod shell;
pub mod syntax;
pub mod words;

#[cfg(test)]
mod tests;

pub use ast::{
    Add, ArgDecl, CheckDirective, CommandForm, Copy, Directive, Dockerfile, HealthConfig,
    Healthcheck, InlineFile, Instruction, InstructionKind, KeyValue, Mount, MountKind, Run,
    Security, Sharing, Stage,
};
pub use diagnostic::{Diagnostic, MAX_ERRORS, ParseErrors, Severity, Span};
pub use heredoc::Heredoc;
pub use instructions::{PortSpec, parse_go_duration, parse_port_spec};
pub use shell::{ExpandError, expand_word, expand_words};

/// The largest Dockerfile kiln reads, in bytes: 16 MiB, the message size limit of
/// BuildKit's and Docker's gRPC servers, through which BuildKit's frontend receives the
/// Dockerfile.
pub const MAX_DOCKERFILE_SIZE: u64 = 16 << 20;

/// Parses a Dockerfile. `file` names it in diagnostics (e.g. `Dockerfile`).
///
/// Returns every error found (and the warnings so far) when any instruction
/// is broken; on success, warnings are in [`Dockerfile::warnings`].
pub fn parse(source: &str, file: &str) -> Result<Dockerfile, ParseErrors> {
    let index = diagnostic::LineIndex::new(source);
    let tree = syntax::parse_nodes(source, file);
    instructions::build(tree, &index, file)
}

/// Parses one ONBUILD trigger as an image config stores it (`RUN make`), as BuildKit does
/// when a child build runs it: exactly one instruction, never `FROM`, `ONBUILD` or
/// `MAINTAINER`. Spans are within `trigger`.
pub fn parse_trigger(trigger: &str) -> Result<Instruction, ParseErrors> {
    const FILE: &str = "ONBUILD trigger";
    let index = diagnostic::LineIndex::new(trigger);
    let tree = syntax::parse_nodes(trigger, FILE);
    instructions::trigger(tree, &index, FILE)
}
pub mod dockerignore;
