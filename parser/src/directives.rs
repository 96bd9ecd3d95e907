//! Parser directives (`# syntax=`, `# escape=`, `# check=`): reading the ones
//! the grammar found at the top of a file, the `check` value, and BuildKit's
//! syntax detection (which also knows `//` directives and JSON files).

use pest::iterators::Pair;

use crate::diagnostic::{LineIndex, Severity, Span};
use crate::syntax::{Rule, SyntaxTree};

/// A parser directive from the top of the file, e.g. `# syntax=docker/dockerfile:1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive name, lowercased (`syntax`, `escape` or `check`).
    pub name: String,
    /// The value, without surrounding whitespace.
    pub value: String,
    /// The whole directive line.
    pub span: Span,
}

/// The value of a `# check=` directive: `skip=rule,…|all;error=true`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckDirective {
    /// The lint rules to skip (`all` skips every rule).
    pub skip: Vec<String>,
    /// Whether lint warnings fail the build.
    pub error: bool,
    /// Experimental rules to enable.
    pub experimental: Vec<String>,
}

/// Reads a `# check=` value. Keys are case-insensitive; `;` separates them.
pub fn parse_check(value: &str) -> Result<CheckDirective, String> {
    let mut check = CheckDirective::default();
    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, val)) = part.split_once('=') else {
            return Err(format!(
                "invalid check directive {part:?}: expected key=value"
            ));
        };
        let list = || -> Vec<String> {
            val.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "skip" => check.skip = list(),
            "experimental" => check.experimental = list(),
            "error" => {
                check.error = match val.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(format!(
                            "invalid check directive: error must be true or false, not {other:?}"
                        ));
                    }
                };
            }
            other => {
                return Err(format!(
                    "invalid check directive: unknown key {other:?} (use skip, error or experimental)"
                ));
            }
        }
    }
    Ok(check)
}

/// Reads the directives the grammar matched into `tree` (escape character,
/// duplicates, bad values).
pub(crate) fn read_directives(
    prelude: Pair<'_, Rule>,
    index: &LineIndex<'_>,
    file: &str,
    tree: &mut SyntaxTree,
) {
    for directive in prelude.into_inner() {
        let pair_span = directive.as_span();
        let text = directive.as_str().trim_end_matches(['\n', '\r']);
        let span = index.span(pair_span.start(), pair_span.start() + text.len());
        let mut name = String::new();
        let mut value = String::new();
        for part in directive.into_inner() {
            match part.as_rule() {
                Rule::directive_name => name = part.as_str().to_ascii_lowercase(),
                Rule::directive_value => value = part.as_str().to_owned(),
                _ => {}
            }
        }
        let mut error = |message: String| {
            tree.diagnostics
                .push(index.diagnostic(Severity::Error, file, span, message));
        };
        if tree.directives.iter().any(|d| d.name == name) {
            error(format!("only one {name} parser directive can be used"));
            continue;
        }
        match name.as_str() {
            "escape" => match value.as_str() {
                "\\" => tree.escape = '\\',
                "`" => tree.escape = '`',
                other => error(format!(
                    "invalid escape token '{other}' does not match ` or \\"
                )),
            },
            "check" => {
                if let Err(message) = parse_check(&value) {
                    error(message);
                }
            }
            _ => {}
        }
        tree.directives.push(Directive { name, value, span });
    }
}

/// A directive found by [`detect_syntax`] or [`find_directive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedDirective {
    /// The value up to its first space (the frontend image for `syntax`).
    pub reference: String,
    /// The whole value.
    pub cmdline: String,
    /// The 1-based line it is on (0 for a JSON file).
    pub line: usize,
}

/// The `syntax` directive as BuildKit's frontend selection finds it: a `#`
/// directive at the top (after an optional `#!` line), else a `//` one, else
/// a `"syntax"` string key of a file that is one JSON object.
pub fn detect_syntax(source: &str) -> Option<DetectedDirective> {
    let source = source.strip_prefix('\u{FEFF}').unwrap_or(source);
    if let Some(found) = scan(source, "syntax", "#").or_else(|| scan(source, "syntax", "//")) {
        return Some(found);
    }
    let value: serde_json::Value = serde_json::from_str(source).ok()?;
    let syntax = value.get("syntax")?.as_str()?;
    Some(detected(syntax, 0))
}

/// The `#` directive `key` at the top of `source` (after an optional `#!`
/// line), as BuildKit's `ParseDirective` finds it.
pub fn find_directive(source: &str, key: &str) -> Option<DetectedDirective> {
    scan(source.strip_prefix('\u{FEFF}').unwrap_or(source), key, "#")
}

fn detected(value: &str, line: usize) -> DetectedDirective {
    DetectedDirective {
        reference: value.split(' ').next().unwrap_or_default().to_owned(),
        cmdline: value.to_owned(),
        line,
    }
}

/// Scans the directive block (lines `<prefix> name = value`) for `key`.
fn scan(source: &str, key: &str, prefix: &str) -> Option<DetectedDirective> {
    for (i, line) in source.lines().enumerate() {
        if i == 0 && line.starts_with("#!") {
            continue;
        }
        let (name, value) = directive_line(line, prefix)?;
        if name.eq_ignore_ascii_case(key) {
            return Some(detected(value, i + 1));
        }
    }
    None
}

/// Splits `<prefix> name = value` (name: a letter then letters or digits).
fn directive_line<'a>(line: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let body = line.trim().strip_prefix(prefix)?;
    let (name, value) = body.split_once('=')?;
    let name = name.trim_matches([' ', '\t']);
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric());
    let value = value.trim_matches([' ', '\t']);
    (valid && !value.is_empty()).then_some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(
            parse_check("skip=JSONArgsRecommended, StageNameCasing;error=true"),
            Ok(CheckDirective {
                skip: vec!["JSONArgsRecommended".into(), "StageNameCasing".into()],
                error: true,
                experimental: vec![],
            })
        );
        assert!(parse_check("skip").is_err());
        assert!(parse_check("error=maybe").is_err());
        assert!(parse_check("color=red").is_err());
    }

    #[test]
    fn syntax_detection() {
        let found = detect_syntax("#!/bin/sh\n# syntax = a/b:1 // x\n").unwrap();
        assert_eq!(
            (&*found.reference, &*found.cmdline, found.line),
            ("a/b:1", "a/b:1 // x", 2)
        );
        assert_eq!(detect_syntax("//syntax=foo\n").unwrap().reference, "foo");
        assert_eq!(detect_syntax("{\"syntax\": \"j\"}").unwrap().reference, "j");
        assert_eq!(detect_syntax("FROM a\n# syntax=x\n"), None);
        assert_eq!(find_directive("//check=skip=all", "check"), None);
    }
}
