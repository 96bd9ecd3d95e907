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
        }
    }
}
