//! `kiln check` (and `kiln build --check`): parse and lint without building;
//! `kiln debug parse`: the parse tree dump.

use crate::diagnostics::render_all;
use crate::error::{CliError, parse_errors};
use crate::output::{eprintln, print};
use kiln_parser::MAX_ERRORS;
use std::path::Path;

/// Parses `file`, prints its diagnostics and a summary; exit 1 on errors.
pub fn run(file: &Path) -> Result<u8, CliError> {
    let source = super::read_dockerfile(file)?;
    let display = super::dockerfile_display(file);
    match kiln_parser::parse(&source, &display) {
        Ok(dockerfile) => {
            let count = dockerfile.warnings.len();
            if count > 0 {
                eprintln(format_args!(
                    "{}\n",
                    render_all(&dockerfile.warnings, &source)
                ));
            }
            eprintln(summary(0, count));
            Ok(0)
        }
        Err(e) => {
            let errors = e.errors().count();
            let warnings = e.diagnostics.len() - errors;
            let CliError::User(text) = parse_errors(&e, &source) else {
                unreachable!("parse errors are user errors")
            };
            Err(CliError::User(format!(
                "{text}\n\n{}",
                summary(errors, warnings)
            )))
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(errors: usize, warnings: usize) -> String {
    match (errors, warnings) {
        (0, 0) => "Check complete, no problems found".into(),
        (0, w) => format!("Check complete, {} found", plural(w, "warning")),
        // The last "error" says the parser stopped counting.
        (e, w) if e > MAX_ERRORS => format!(
            "Check failed: more than {MAX_ERRORS} errors and {} found",
            plural(w, "warning")
        ),
        (e, w) => format!(
            "Check failed: {} and {} found",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

/// Prints the parse tree of `file` in BuildKit's dump format (a debugging aid).
pub fn dump(file: &Path) -> Result<u8, CliError> {
    let source = super::read_dockerfile(file)?;
    let tree = kiln_parser::syntax::parse_nodes(&source, &file.display().to_string());
    print(kiln_parser::dump::dump(&tree))?;
    if !tree.diagnostics.is_empty() {
        eprintln(render_all(&tree.diagnostics, &source));
    }
    Ok(0)
}
