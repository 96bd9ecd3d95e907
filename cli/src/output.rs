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

/// Streams bytes to stdout through `write`; a reader that went away ends the command
/// quietly, as [`print`] does.
pub fn stream_stdout(
    write: impl FnOnce(&mut dyn Write) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut out = BrokenPipeWatch {
        inner: std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()),
        broken: false,
    };
    let result = write(&mut out).and_then(|()| out.flush().map_err(CliError::stdout));
    match result {
        Err(_) if out.broken => Err(CliError::StdoutClosed),
        other => other,
    }
}

/// A writer that remembers whether its reader went away.
struct BrokenPipeWatch<W> {
    inner: W,
    broken: bool,
}

impl<W: Write> Write for BrokenPipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.note(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| self.note(e))
    }
}

impl<W> BrokenPipeWatch<W> {
    fn note(&mut self, e: &std::io::Error) {
        self.broken |= e.kind() == std::io::ErrorKind::BrokenPipe;
    }
}
