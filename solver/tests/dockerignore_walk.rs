//! The `walk` vectors of `$KILN_CONFORMANCE_DIR/dockerignore/cases.json` (fsutil's
//! filtered walk and BuildKit's end-to-end `.dockerignore` tests), run through the
//! build's own context code: [`BuildContext::new`] finds and reads the ignore file as a
//! build does, [`BuildContext::resolve`] resolves COPY sources, and
//! [`BuildContext::listing`] is the walk the COPY's cache key hashes and its copy
//! takes. Unset: the test prints a notice and passes; set but missing: it fails.

// Malformed vector data should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use kiln_parser::dockerignore::DockerignoreError;
use kiln_solver::selection::Excludes;
use kiln_solver::{BuildContext, SolveError};
use serde_json::{Value, json};

fn strings(value: &Value) -> Vec<String> {
    let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Builds a row's tree under `root`; ignore files get their text.
fn make_tree(root: &Path, row: &Value) {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).unwrap();
    for entry in row["tree"].as_array().unwrap() {
        let (path, kind) = (entry[0].as_str().unwrap(), entry[1].as_str().unwrap());
        let full = root.join(path);
        if kind == "dir" {
            std::fs::create_dir_all(&full).unwrap();
            continue;
        }
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        let text = match (path, row["dockerignore"].as_str()) {
            (".dockerignore", Some(text)) => text,
            _ => row["ignore_files"][path].as_str().unwrap_or(path),
        };
        std::fs::write(&full, text).unwrap();
    }
}

/// The context a row's build sees: its own `.dockerignore`, or, for a row that gives
/// bare `excludes`, an ignore file beside a Dockerfile outside the context (so the
/// file itself is not part of the walk, as in fsutil's tests).
fn context(root: &Path, outside: &Path, row: &Value) -> Result<BuildContext, SolveError> {
    if row["dockerignore"].is_string() || !row["excludes"].is_array() {
        return BuildContext::new(root, Some(&root.join("Dockerfile")));
    }
    std::fs::create_dir_all(outside).unwrap();
    let mut text = strings(&row["excludes"]).join("\n");
    text.push('\n');
    std::fs::write(outside.join("Dockerfile.dockerignore"), text).unwrap();
    BuildContext::new(root, Some(&outside.join("Dockerfile")))
}

/// What a `COPY . …` of the context sends, as `[kind, path]` pairs.
fn walked(ctx: &BuildContext) -> Result<Vec<Value>, String> {
    let sources = ctx.resolve(&[".".into()]).map_err(|e| e.to_string())?;
    let sent = ctx
        .listing(&sources, &Excludes::default())
        .map_err(|e| e.to_string())?;
    let kind = |dir: bool| if dir { "dir" } else { "file" };
    Ok(sent
        .into_iter()
        .map(|s| json!([kind(s.is_dir), s.path]))
        .collect())
}

/// Checks one build's expectations (`expect_walk`, `expect_open`, `expect_present`,
/// `expect_absent`) against the context `ctx`.
fn check(ctx: &BuildContext, expect: &Value) -> Result<(), String> {
    let got = walked(ctx)?;
    if let Some(want) = expect["expect_walk"].as_array().filter(|w| **w != got) {
        return Err(format!("walk gave {got:?}, want {want:?}"));
    }
    for (path, readable) in expect["expect_open"].as_object().into_iter().flatten() {
        if ctx.resolve(std::slice::from_ref(path)).is_ok() != readable.as_bool().unwrap() {
            return Err(format!("open {path:?}: want readable {readable}"));
        }
    }
    let has = |p: &String| got.iter().any(|g| g[1] == **p);
    if let Some(p) = strings(&expect["expect_present"]).iter().find(|p| !has(p)) {
        return Err(format!("{p:?} missing from {got:?}"));
    }
    if let Some(p) = strings(&expect["expect_absent"]).iter().find(|p| has(p)) {
        return Err(format!("{p:?} should be absent from {got:?}"));
    }
    Ok(())
}

/// Checks one walk row; returns what went wrong.
fn walk_row(base: &Path, row: &Value) -> Result<(), String> {
    let root = base.join("context");
    make_tree(&root, row);
    let built = context(&root, &base.join("outside"), row);
    if let Some(kind) = row["expect_error"].as_str() {
        return match &built {
            Err(SolveError::Ignore {
                source: DockerignoreError::IllegalExclusion { .. },
                ..
            }) if kind == "illegal-exclusion" => Ok(()),
            Err(SolveError::Ignore {
                source: DockerignoreError::BadPattern { .. } | DockerignoreError::Regex { .. },
                ..
            }) if kind == "bad-pattern" => Ok(()),
            other => Err(format!("got {other:?}, want error {kind}")),
        };
    }
    check(&built.map_err(|e| e.to_string())?, row)?;
    for build in row["builds"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let dockerfile = root.join(build["dockerfile"].as_str().unwrap());
        let ctx = BuildContext::new(&root, Some(&dockerfile)).map_err(|e| e.to_string())?;
        check(&ctx, build)?;
    }
    Ok(())
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
fn dockerignore_walk_vectors_through_the_build_context() {
    let mut err = std::io::stderr();
    let Some(dir) = conformance_dir() else {
        let _ = writeln!(
            err,
            "KILN_CONFORMANCE_DIR is not set: skipping the .dockerignore walk vectors"
        );
        return;
    };
    let path = dir.join("dockerignore/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = cases["walk"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert!(!rows.is_empty(), "walk: no cases found");
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dockerignore-walk");
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let row_dir = base.join(i.to_string());
        if let Err(why) = walk_row(&row_dir, row) {
            failures.push(format!("walk[{i}]: {why}"));
        }
        let _ = std::fs::remove_dir_all(&row_dir);
    }
    let _ = writeln!(
        err,
        "dockerignore walk conformance: {}/{} through the build context",
        rows.len() - failures.len(),
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
