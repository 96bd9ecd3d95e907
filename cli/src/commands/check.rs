//! `kiln check` (and `kiln build --check`): parse and lint without building;
//! `kiln debug parse`: the parse tree dump.

use crate::diagnostics::render_all;
use crate::error::{CliError, build_error, parse_errors};
use crate::output::{eprintln, print};
use kiln_cache::root::StateRoot;
use kiln_cache::{LockMode, Store};
use kiln_parser::MAX_ERRORS;
use kiln_solver::BuildOptions;
use std::path::Path;

/// Parses `file` and lowers it as `kiln build` would with `options` (base images from
/// the state root at `root` if there is one, never pulled: a missing one is no error),
/// prints its diagnostics and a summary; exit 1 on errors.
pub fn run(root: &Path, file: &Path, options: &BuildOptions) -> Result<u8, CliError> {
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
            let store = match StateRoot::exists(root) {
                true => Some(Store::open(root, LockMode::Shared)?),
                false => None,
            };
            if let Err(e) = kiln_solver::check(&dockerfile, store.as_ref(), options) {
                return Err(match build_error(&e, &display, &source) {
                    CliError::User(text) => {
                        CliError::User(format!("{text}\n\n{}", summary(1, count)))
                    }
                    internal => internal,
                });
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
