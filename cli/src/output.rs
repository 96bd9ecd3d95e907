//! Everything kiln prints goes through here. On stdout (results), a reader that went
//! away ends the command quietly with exit 0, as `rg … | head` does; any other write
//! error (a full disk) is an error. On stderr (progress, warnings, errors), write
//! errors are ignored: a closed stderr must never abort a build half-way.

use crate::error::CliError;
use std::fmt::Display;
use std::io::Write;

/// Writes `text` to stdout.
pub fn print(text: impl Display) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(CliError::stdout)
}

/// Writes `text` and a newline to stdout.
pub fn println(text: impl Display) -> Result<(), CliError> {
    print(format_args!("{text}\n"))
}

/// Writes `text` and a newline to stderr, ignoring write errors.
pub fn eprintln(text: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}").and_then(|()| err.flush());
}
