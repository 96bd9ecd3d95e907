//! Whole-parser tests: AST of real Dockerfiles, errors, expansion, fuzzing.

mod errors;
mod expansion;
mod full_syntax;
mod instructions;
mod robustness;

use crate::{Dockerfile, Span, parse};

/// Parses `source`, panicking with the rendered errors if it fails.
fn ok(source: &str) -> Dockerfile {
    match parse(source, "Dockerfile") {
        Ok(d) => d,
        Err(e) => panic!("unexpected parse failure:\n{e}"),
    }
}

/// `(line, column, message)` of every diagnostic of a failing parse.
fn errors(source: &str) -> Vec<(usize, usize, String)> {
    match parse(source, "Dockerfile") {
        Ok(d) => panic!("expected errors, got {d:#?}"),
        Err(e) => e
            .diagnostics
            .iter()
            .map(|d| (d.span.line, d.span.column, d.message.clone()))
            .collect(),
    }
}

/// A shorthand span.
fn span(offset: usize, len: usize, line: usize, column: usize) -> Span {
    Span {
        offset,
        len,
        line,
        column,
    }
}
