//! Conformance with BuildKit's vectors, read at test time from
//! `$KILN_CONFORMANCE_DIR` (CI: `../shared/conformance`). Unset: the test
//! prints a notice and passes; set but missing: the test fails.
//!
//! One test prints every count, e.g. `parser conformance: 33/33 positive, …`,
//! and fails listing every mismatch (by case folder or JSON key and index).

use std::io::Write;
mod instructions;
mod parser;
mod shell;

use std::fmt::Display;
use std::path::{Path, PathBuf};

/// Counts and failures of one group of cases.
#[derive(Default)]
pub struct Tally {
    passed: usize,
    total: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Records one case.
    pub fn check(&mut self, id: impl Display, ok: bool, detail: impl FnOnce() -> String) {
        self.total += 1;
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(format!("{id}: {}", detail()));
        }
    }

    fn summary(&self, name: &str) -> String {
        format!("{}/{} {name}", self.passed, self.total)
    }
}

/// Reads a file of the vectors as text (they are all UTF-8).
pub fn read(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads a JSON file of the vectors.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KILN_CONFORMANCE_DIR")?;
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "KILN_CONFORMANCE_DIR is set to {}, which is not a readable folder",
        dir.display()
    );
    Some(dir)
}

#[test]
fn buildkit_vectors() {
    let Some(dir) = conformance_dir() else {
        eprintln!("KILN_CONFORMANCE_DIR is not set: skipping the BuildKit conformance vectors");
        return;
    };
    let groups: Vec<(&str, Vec<(&str, Tally)>)> = vec![
        ("parser", parser::run(&dir.join("parser"))),
        ("shell", shell::run(&dir.join("shell"))),
        ("instructions", instructions::run(&dir.join("instructions"))),
    ];
    let mut failures = Vec::new();
    for (group, tallies) in &groups {
        let counts: Vec<String> = tallies.iter().map(|(n, t)| t.summary(n)).collect();
        // Straight to stderr, past the test harness's capture: the counts show in CI.
        let _ = writeln!(
            std::io::stderr(),
            "{group} conformance: {}",
            counts.join(", ")
        );
        for (name, tally) in tallies {
            assert!(tally.total > 0, "{group} {name}: no cases found");
            failures.extend(tally.failures.iter().map(|f| format!("{group} {name} {f}")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
