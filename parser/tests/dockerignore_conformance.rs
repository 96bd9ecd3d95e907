//! `.dockerignore` conformance with the moby/patternmatcher, fsutil and
//! BuildKit vectors in `$KILN_CONFORMANCE_DIR/dockerignore/cases.json`
//! (CI: `../shared/conformance`). Unset: the test prints a notice and
//! passes; set but missing: the test fails.
//!
//! One test runs every group `FORMAT.md` asks for (plus the informative
//! `compile_kind` and the `observed` facts), prints the counts and fails
//! listing every mismatch as `group[index]`. The `walk` group walks real
//! contexts, so it runs through the build's own context code instead:
//! `solver/tests/dockerignore_walk.rs`.

// Malformed vector data should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::fmt::Display;
use std::io::Write;
use std::path::PathBuf;

use kiln_parser::dockerignore::{
    Dockerignore, DockerignoreError, MatchKind, clean_path, read_patterns,
};
use serde_json::Value;

/// Cases where kiln deliberately differs, with kiln's behaviour checked
/// instead (see the module docs of `kiln_parser::dockerignore`).
const DELIBERATE: &[(&str, &str)] = &[(
    "matcher_construction[6]",
    "`[Local-Only]/` is rejected as bad-pattern when the matcher is built, \
     not at every match call",
)];

#[derive(Default)]
struct Tally {
    passed: usize,
    total: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, id: impl Display, ok: bool, detail: impl FnOnce() -> String) {
        self.total += 1;
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(format!("{id}: {}", detail()));
        }
    }
}

fn error_kind(err: &DockerignoreError) -> &'static str {
    match err {
        DockerignoreError::IllegalExclusion { .. } => "illegal-exclusion",
        DockerignoreError::BadPattern { .. } | DockerignoreError::Regex { .. } => "bad-pattern",
    }
}

fn strings(value: &Value) -> Vec<String> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn rows<'a>(cases: &'a Value, key: &str) -> &'a [Value] {
    cases[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Checks one matching row: `patterns` (or one `pattern`) against `path`,
/// expecting `match` or the error kind in `expect_error` (or `error`). With
/// `clean`, the path is cleaned first, as the one-call API does.
fn check_match(tally: &mut Tally, id: String, row: &Value, clean: bool) {
    let patterns = match row["pattern"].as_str() {
        Some(one) => vec![one.to_owned()],
        None => strings(&row["patterns"]),
    };
    let path = row["path"].as_str().unwrap();
    let want_error = row["expect_error"].as_str().or(row["error"].as_str());
    let want = row["match"].as_bool();
    let got = Dockerignore::from_patterns(&patterns).map(|ig| {
        let path = if clean { clean_path(path) } else { path.into() };
        ig.is_excluded(&path)
    });
    let ok = match (&got, want_error) {
        (Err(err), Some(kind)) => error_kind(err) == kind,
        (Ok(got), None) => Some(*got) == want,
        _ => false,
    };
    tally.check(id, ok, || {
        format!("{patterns:?} vs {path:?}: got {got:?}, want {want:?} / error {want_error:?}")
    });
}

fn ignorefile_read(cases: &Value, tally: &mut Tally) {
    let groups = [
        ("ignorefile_read", rows(cases, "ignorefile_read")),
        (
            "observed.ignorefile_read",
            rows(&cases["observed"], "ignorefile_read"),
        ),
    ];
    for (group, group_rows) in groups {
        for (i, row) in group_rows.iter().enumerate() {
            let got = read_patterns(row["input"].as_str().unwrap_or(""));
            let want = strings(&row["expect"]);
            tally.check(format!("{group}[{i}]"), got == want, || {
                format!("got {got:?}, want {want:?}")
            });
        }
    }
}

fn matcher_construction(cases: &Value, tally: &mut Tally, deliberate: &mut Vec<String>) {
    for (i, row) in rows(cases, "matcher_construction").iter().enumerate() {
        let id = format!("matcher_construction[{i}]");
        let patterns = strings(&row["patterns"]);
        let built = Dockerignore::from_patterns(&patterns);
        let ok = if DELIBERATE.iter().any(|(d, _)| *d == id) {
            deliberate.push(id.clone());
            matches!(&built, Err(e) if error_kind(e) == "bad-pattern")
        } else if let Some(kind) = row["expect_error"].as_str() {
            matches!(&built, Err(e) if error_kind(e) == kind)
        } else {
            built.as_ref().is_ok_and(|ig| {
                row["expect_pattern_count"]
                    .as_u64()
                    .is_none_or(|n| ig.len() as u64 == n)
                    && row["expect_has_exclusions"]
                        .as_bool()
                        .is_none_or(|b| ig.has_exceptions() == b)
            })
        };
        tally.check(id, ok, || format!("{patterns:?}: got {built:?}"));
    }
}

/// Runs the matching groups named in `groups` as `(key, clean the path)`;
/// a key `observed.x` is the list `x` inside `observed`.
fn matching(cases: &Value, tally: &mut Tally, groups: &[(&str, bool)]) {
    for &(key, clean) in groups {
        let group_rows = match key.strip_prefix("observed.") {
            Some(inner) => rows(&cases["observed"], inner),
            None => rows(cases, key),
        };
        for (i, row) in group_rows.iter().enumerate() {
            check_match(tally, format!("{key}[{i}]"), row, clean);
        }
    }
}

fn compile_kind(cases: &Value, tally: &mut Tally) {
    for (i, row) in rows(cases, "compile_kind").iter().enumerate() {
        let pattern = row["pattern"].as_str().unwrap();
        let built = Dockerignore::from_patterns(&[pattern]);
        let got = built
            .as_ref()
            .ok()
            .and_then(|ig| ig.patterns().first())
            .map(|p| {
                let kind = match p.kind() {
                    MatchKind::Exact => "exact",
                    MatchKind::Prefix => "prefix",
                    MatchKind::Suffix => "suffix",
                    MatchKind::Regex => "regexp",
                };
                (kind, p.regex().map(str::to_owned))
            });
        let want = (
            row["kind"].as_str().unwrap(),
            row["regexp_unix"].as_str().map(str::to_owned),
        );
        tally.check(
            format!("compile_kind[{i}]"),
            got.as_ref() == Some(&want),
            || format!("{pattern:?}: got {got:?}, want {want:?}"),
        );
    }
}

fn conformance_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("KILN_CONFORMANCE_DIR")?);
    assert!(
        dir.join("dockerignore").is_dir(),
        "KILN_CONFORMANCE_DIR is set to {}, which has no readable dockerignore/ folder",
        dir.display()
    );
    Some(dir)
}

#[test]
fn dockerignore_vectors() {
    let mut err = std::io::stderr();
    let Some(dir) = conformance_dir() else {
        let _ = writeln!(
            err,
            "KILN_CONFORMANCE_DIR is not set: skipping the .dockerignore vectors"
        );
        return;
    };
    let path = dir.join("dockerignore/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut deliberate = Vec::new();
    let mut groups: Vec<(&str, Tally)> = Vec::new();
    let mut run = |name, f: &mut dyn FnMut(&mut Tally)| {
        let mut tally = Tally::default();
        f(&mut tally);
        groups.push((name, tally));
    };
    run("ignorefile_read", &mut |t| ignorefile_read(&cases, t));
    run("matcher_construction", &mut |t| {
        matcher_construction(&cases, t, &mut deliberate)
    });
    let match_groups = [
        ("match_legacy", true),
        ("match_single", false),
        ("match_multi", false),
        ("observed.match", false),
    ];
    run("match", &mut |t| matching(&cases, t, &match_groups));
    run("glob_match", &mut |t| {
        matching(&cases, t, &[("glob_match", true)])
    });
    run("compile_kind", &mut |t| compile_kind(&cases, t));
    let (passed, total) = groups
        .iter()
        .fold((0, 0), |(p, t), (_, g)| (p + g.passed, t + g.total));
    let counts: Vec<String> = groups
        .iter()
        .map(|(n, g)| format!("{}/{} {n}", g.passed, g.total))
        .collect();
    let _ = writeln!(
        err,
        "dockerignore conformance: {passed}/{total} ({})",
        counts.join(", ")
    );
    for id in &deliberate {
        let reason = DELIBERATE
            .iter()
            .find(|(d, _)| d == id)
            .map_or("", |(_, r)| *r);
        let _ = writeln!(err, "  deliberate difference {id}: {reason}");
    }
    let failures: Vec<&String> = groups.iter().flat_map(|(_, g)| &g.failures).collect();
    for (name, tally) in &groups {
        assert!(tally.total > 0, "{name}: no cases found");
    }
    assert_eq!(
        deliberate.len(),
        DELIBERATE.len(),
        "a deliberate difference no longer has its case"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
