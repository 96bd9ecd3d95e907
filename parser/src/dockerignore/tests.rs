//! Unit tests of [`Dockerignore`]: construction, matching, pruning.

use super::*;

fn ignore(patterns: &[&str]) -> Dockerignore {
    Dockerignore::from_patterns(patterns).unwrap()
}

#[test]
fn empty_excludes_nothing() {
    let empty = ignore(&[]);
    assert!(empty.is_empty());
    assert!(!empty.is_excluded("a"));
    assert!(!empty.must_descend("a"));
    assert!(Dockerignore::parse("").unwrap().is_empty());
    assert!(Dockerignore::parse("# only\n\n").unwrap().is_empty());
}

#[test]
fn construction_trims_cleans_and_counts() {
    assert_eq!(ignore(&["docs", "config", "", "   "]).len(), 2);
    let with_exception = ignore(&["docs", "  !docs/README.md  "]);
    assert!(with_exception.has_exceptions());
    assert_eq!(with_exception.patterns()[1].text(), "docs/README.md");
    assert!(!ignore(&["docs"]).has_exceptions());
    // Cleaning happens before the `!` is split off, as in patternmatcher.
    let eaten = ignore(&["!docs/../x"]);
    assert!(!eaten.has_exceptions());
    assert_eq!(eaten.patterns()[0].text(), "x");
}

#[test]
fn bare_exclamation_is_illegal() {
    for text in ["!", "!\n", "a\n! \n"] {
        let err = Dockerignore::parse(text).unwrap_err();
        assert!(
            matches!(err, DockerignoreError::IllegalExclusion { .. }),
            "{text:?}"
        );
    }
    let err = Dockerignore::from_patterns(&[" ! "]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Illegal exclusion pattern ` ! `: `!` must be followed by a pattern"
    );
}

#[test]
fn bad_pattern_names_the_pattern() {
    let err = Dockerignore::from_patterns(&["ok", "a[b"]).unwrap_err();
    assert!(matches!(&err, DockerignoreError::BadPattern { pattern, .. } if pattern == "a[b"));
    assert!(
        err.to_string()
            .starts_with("Syntax error in pattern `a[b`: ")
    );
}

#[test]
fn anchored_at_the_root() {
    let go = ignore(&["*.go"]);
    assert!(go.is_excluded("main.go"));
    assert!(!go.is_excluded("a/b.go"));
    assert!(ignore(&["**/*.go"]).is_excluded("a/b.go"));
}

#[test]
fn ancestors_exclude_descendants() {
    let docs = ignore(&["docs"]);
    assert!(docs.is_excluded("docs"));
    assert!(docs.is_excluded("docs/a/b"));
    assert!(!docs.is_excluded("docsx"));
    assert!(ignore(&["**/dir"]).is_excluded("dir/file"));
    assert!(ignore(&["a*"]).is_excluded("ab/c"));
}

#[test]
fn exceptions_apply_in_order() {
    let keep = ignore(&["docs", "!docs/README.md"]);
    assert!(keep.is_excluded("docs/other"));
    assert!(!keep.is_excluded("docs/README.md"));
    // An exception before the pattern it should undo does nothing.
    assert!(ignore(&["!a.go", "*.go"]).is_excluded("a.go"));
    let web = ignore(&["**", "!util/docker/web"]);
    assert!(!web.is_excluded("util/docker/web/foo"));
    assert!(web.is_excluded("util/docker/x"));
    let again = ignore(&["**", "!util/docker/web", "util/docker/web/foo"]);
    assert!(again.is_excluded("util/docker/web/foo"));
}

#[test]
fn root_is_never_excluded() {
    let all = ignore(&["**", "*", "."]);
    assert!(!all.is_excluded(""));
    assert!(!all.is_excluded("."));
    assert!(all.is_excluded("x"));
}

#[test]
fn gitignore_differences() {
    // Trailing slash is cleaned away: `foo/` also excludes a file `foo`.
    assert!(ignore(&["foo/"]).is_excluded("foo"));
    // `[!a]` is a class of `!` and `a`, not a negation.
    let bang = ignore(&["[!a]"]);
    assert!(bang.is_excluded("!"));
    assert!(bang.is_excluded("a"));
    assert!(!bang.is_excluded("b"));
    // `**` inside a segment.
    assert!(ignore(&["a**/*.txt"]).is_excluded("a/dir/file.txt"));
    // A leading `/` in the file is dropped.
    assert!(Dockerignore::parse("/foo").unwrap().is_excluded("foo"));
}

#[test]
fn must_descend_follows_fsutil() {
    let plain = ignore(&["foo", "!foo/bar/baz", "other"]);
    assert!(plain.must_descend("foo"));
    assert!(plain.must_descend("foo/bar"));
    assert!(plain.must_descend("foo/bar/baz"));
    assert!(!plain.must_descend("other"));
    assert!(!plain.must_descend("fo"));
    assert!(!plain.must_descend("foo/barx"));
    // A trailing `/**` or `/*` does not count as a wildcard.
    let trailing = ignore(&["foo", "!foo/keep/**"]);
    assert!(trailing.must_descend("foo"));
    assert!(!trailing.must_descend("bar"));
    // Any other wildcard in an exception forces a full walk.
    let wild = ignore(&["*", "!*/x"]);
    assert!(wild.must_descend("anything"));
    assert!(!ignore(&["foo"]).must_descend("foo"));
}

#[test]
fn hostile_input_does_not_panic() {
    let inputs = [
        "\u{0}",
        "[",
        "]",
        "\\",
        "**/**/**",
        "[[:",
        "[[:]",
        "[\u{10ffff}-\u{0}]",
        "*\u{feff}",
        "/../..",
        "!/",
        "!!",
        "a\\\u{e9}",
        "[^]",
        "[\\",
        "??*?**",
    ];
    for p in inputs {
        if let Ok(ig) = Dockerignore::from_patterns(&[p]) {
            for path in ["", ".", "/", "a", "a/b", "\u{0}", "//", "../x"] {
                let _ = ig.is_excluded(path);
                let _ = ig.must_descend(path);
            }
        }
    }
}

proptest::proptest! {
    #[test]
    fn never_panics(
        text in r"[!#/\\\[\]\-^*?:a-c. \n\u{e9}]{0,24}",
        path in r"[/\\\[\]*?.a-c\u{e9}]{0,12}",
    ) {
        if let Ok(ig) = Dockerignore::parse(&text) {
            let _ = ig.is_excluded(&path);
            let _ = ig.must_descend(&path);
        }
    }
}

#[test]
fn excluded_by_names_the_deciding_pattern() {
    let ig = ignore(&["*.log", "logs", "!logs/keep.log", "logs/keep.log/x"]);
    let by = |rel: &str| ig.excluded_by(rel).map(|p| p.text().to_owned());
    assert_eq!(by("a.log").as_deref(), Some("*.log"));
    assert_eq!(
        by("logs/a.txt").as_deref(),
        Some("logs"),
        "an ancestor's pattern"
    );
    assert_eq!(by("logs/keep.log"), None, "re-included by the exception");
    assert_eq!(by("app.txt"), None);
    assert_eq!(
        ignore(&["*.log", "!keep.log", "keep*"])
            .excluded_by("keep.log")
            .map(|p| p.text()),
        Some("keep*"),
        "the last pattern that decides"
    );
}
