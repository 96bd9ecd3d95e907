//! Plain progress: BuildKit-style lines on stderr, one per event.

use crate::escape::escape_controls;
use crate::output::eprintln;
use kiln_solver::progress::{Event, Reporter};
use std::collections::HashMap;
use std::sync::Mutex;

/// Prints events as `#N …` lines; log output line by line with its vertex number.
/// Step names and messages echo the Dockerfile: their control characters are escaped.
/// Log lines are the step's own output, printed as it wrote them (as `docker build`).
#[derive(Debug, Default)]
pub struct PlainReporter {
    /// Partial last lines of each vertex's output.
    partial: Mutex<HashMap<usize, Vec<u8>>>,
}

impl PlainReporter {
    fn print(&self, text: &str) {
        eprintln(text);
    }

    fn flush_partial(&self, vertex: usize, partial: &mut HashMap<usize, Vec<u8>>) {
        if let Some(rest) = partial.remove(&vertex).filter(|r| !r.is_empty()) {
            self.print(&format!(
                "#{} {}",
                vertex + 1,
                String::from_utf8_lossy(&rest)
            ));
        }
    }
}

impl Reporter for PlainReporter {
    fn event(&self, event: Event) {
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Started { vertex, name } => {
                self.print(&format!("#{} {}", vertex + 1, escape_controls(&name)))
            }
            Event::Cached { vertex, name } => self.print(&format!(
                "#{} {}\n#{} CACHED",
                vertex + 1,
                escape_controls(&name),
                vertex + 1
            )),
            Event::Completed { vertex, duration } => {
                self.flush_partial(vertex, &mut partial);
                self.print(&format!(
                    "#{} DONE {:.1}s",
                    vertex + 1,
                    duration.as_secs_f64()
                ));
            }
            Event::Failed {
                vertex,
                duration,
                message,
            } => {
                self.flush_partial(vertex, &mut partial);
                self.print(&format!(
                    "#{} ERROR {:.1}s: {}",
                    vertex + 1,
                    duration.as_secs_f64(),
                    escape_controls(&message)
                ));
            }
            Event::Log { vertex, data, .. } => {
                let buf = partial.entry(vertex).or_default();
                buf.extend_from_slice(&data);
                while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    let text = String::from_utf8_lossy(&line[..line.len() - 1]);
                    self.print(&format!("#{} {}", vertex + 1, text.trim_end_matches('\r')));
                }
            }
            Event::PullStarted { reference } => self.print(&format!(
                "#0 [internal] pull {}",
                escape_controls(&reference)
            )),
            Event::PullBytes {
                digest,
                done,
                total,
                ..
            } => {
                let state = if done == total { " done" } else { "" };
                self.print(&format!(
                    "#0 {} {} / {}{state}",
                    short_digest(&digest),
                    human_bytes(done),
                    human_bytes(total)
                ));
            }
            Event::PullUnpacked { digest, .. } => {
                self.print(&format!("#0 extracting {} done", short_digest(&digest)))
            }
            Event::PullDone { duration, .. } => {
                self.print(&format!("#0 DONE {:.1}s", duration.as_secs_f64()))
            }
        }
    }
}

/// `sha256:` and the first 12 hex digits, as BuildKit shows layers.
fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", hex.get(..12).unwrap_or(hex))
}

/// A byte count in decimal units with two decimals, as BuildKit's plain progress.
fn human_bytes(bytes: u64) -> String {
    match crate::commands::decimal_units(bytes) {
        (_, "B") => format!("{bytes}B"),
        (value, unit) => format!("{value:.2}{unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_like_buildkit() {
        assert_eq!(human_bytes(999), "999B");
        assert_eq!(human_bytes(3_400_000), "3.40MB");
        assert_eq!(human_bytes(1_500), "1.50kB");
        assert_eq!(human_bytes(2_000_000_000), "2.00GB");
    }
}
