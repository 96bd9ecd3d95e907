//! One compiled pattern: how it is classified and what it matches.
//!
//! Like patternmatcher, a pattern without wildcards is compared as a plain
//! string; `dir/**` (only a trailing `**`) is a prefix test; a pattern that
//! starts with `**` and has no other wildcard is a suffix test; everything
//! else becomes an anchored regex. The classification is observable: the
//! suffix test makes `**file` match `xfile`.

use regex::Regex;

use super::DockerignoreError;
use super::glob::{self, reason};

/// How a [`Pattern`] is tested against a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The path equals the pattern.
    Exact,
    /// The path starts with the pattern minus its trailing `**`.
    Prefix,
    /// The path ends with the pattern minus its leading `**`, or, for
    /// `**/x`, the path is `x`.
    Suffix,
    /// The path matches the anchored regex of [`Pattern::regex`].
    Regex,
}

/// One line of a `.dockerignore`, cleaned and compiled.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    exception: bool,
    kind: MatchKind,
    regex: Option<Regex>,
}

impl Pattern {
    /// Compiles `text`, a cleaned pattern without its `!`. `original` is the
    /// pattern as given, for error messages.
    pub(crate) fn compile(
        text: &str,
        exception: bool,
        original: &str,
    ) -> Result<Pattern, DockerignoreError> {
        let bad = |reason: &'static str| DockerignoreError::BadPattern {
            pattern: original.to_owned(),
            reason,
        };
        glob::check_syntax(text).map_err(bad)?;
        let (kind, source) = translate(text).map_err(bad)?;
        let regex = match kind {
            MatchKind::Regex => {
                Some(
                    Regex::new(&source).map_err(|source| DockerignoreError::Regex {
                        pattern: original.to_owned(),
                        source,
                    })?,
                )
            }
            _ => None,
        };
        Ok(Pattern {
            text: text.to_owned(),
            exception,
            kind,
            regex,
        })
    }

    /// One path segment of a COPY source (`*.txt`, `file-[0-9]`): Go
    /// `filepath.Match` within a segment, as BuildKit resolves COPY wildcards, and
    /// the very matcher `.dockerignore` patterns use (classes negate with `^`, never
    /// `!`). Match it against single names.
    pub fn segment(segment: &str) -> Result<Pattern, DockerignoreError> {
        Self::compile(segment, false, segment)
    }

    /// The cleaned pattern, without the leading `!` of an exception.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is an exception (`!pattern`) that re-includes paths.
    pub fn is_exception(&self) -> bool {
        self.exception
    }

    /// How the pattern is tested (see [`MatchKind`]).
    pub fn kind(&self) -> MatchKind {
        self.kind
    }

    /// The anchored regex, for [`MatchKind::Regex`] patterns.
    pub fn regex(&self) -> Option<&str> {
        self.regex.as_ref().map(Regex::as_str)
    }

    /// Whether the pattern matches `path` itself (ancestors not considered).
    pub fn matches(&self, path: &str) -> bool {
        match self.kind {
            MatchKind::Exact => path == self.text,
            MatchKind::Prefix => {
                let prefix = self.text.strip_suffix("**").unwrap_or(&self.text);
                path.starts_with(prefix)
            }
            MatchKind::Suffix => {
                let suffix = self.text.strip_prefix("**").unwrap_or(&self.text);
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            MatchKind::Regex => self.regex.as_ref().is_some_and(|re| re.is_match(path)),
        }
    }
}

/// Classifies a syntax-checked pattern and builds its regex source, the way
/// patternmatcher's `compile` walks the pattern character by character.
fn translate(text: &str) -> Result<(MatchKind, String), &'static str> {
    let chars: Vec<char> = text.chars().collect();
    let mut kind = MatchKind::Exact;
    let mut re = String::from("^");
    let mut i = 0;
    let mut step = 0usize;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == MatchKind::Exact {
                        kind = MatchKind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = MatchKind::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    kind = MatchKind::Regex;
                }
                if step == 0 {
                    kind = MatchKind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = MatchKind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = MatchKind::Regex;
            }
            '\\' => {
                let escaped = chars.get(i).ok_or(reason::TRAILING_ESCAPE)?;
                i += 1;
                push_literal(&mut re, *escaped);
                kind = MatchKind::Regex;
            }
            '[' => {
                let (class, next) = glob::translate_class(&chars, i)?;
                re.push_str(&class);
                i = next;
                kind = MatchKind::Regex;
            }
            ']' => {
                push_literal(&mut re, c);
                kind = MatchKind::Regex;
            }
            _ => push_literal(&mut re, c),
        }
        step += 1;
    }
    re.push('$');
    Ok((kind, re))
}

/// Appends `c` to a regex so it stands for itself.
fn push_literal(re: &mut String, c: char) {
    let mut buf = [0u8; 4];
    re.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(p: &str) -> Pattern {
        Pattern::compile(p, false, p).unwrap()
    }

    #[test]
    fn classifies_like_patternmatcher() {
        let cases = [
            ("*", MatchKind::Regex, Some("^[^/]*$")),
            ("**", MatchKind::Suffix, None),
            ("**/**", MatchKind::Regex, Some("^(.*/)?.*$")),
            ("dir/**", MatchKind::Prefix, None),
            ("abc**", MatchKind::Prefix, None),
            ("**/dir", MatchKind::Suffix, None),
            ("**file", MatchKind::Suffix, None),
            ("**/dir2/*", MatchKind::Regex, Some("^(.*/)?dir2/[^/]*$")),
            ("abc.def", MatchKind::Exact, None),
            ("a(b)c/def", MatchKind::Exact, None),
            ("a\\*b", MatchKind::Regex, Some("^a\\*b$")),
            ("a]b", MatchKind::Regex, Some("^a\\]b$")),
        ];
        for (p, kind, re) in cases {
            let pat = compile(p);
            assert_eq!(pat.kind(), kind, "{p:?}");
            assert_eq!(pat.regex(), re, "{p:?}");
        }
    }

    #[test]
    fn matches_by_kind() {
        assert!(compile("abc.def").matches("abc.def"));
        assert!(!compile("abc.def").matches("abcZdef"));
        assert!(compile("dir/**").matches("dir/x/y"));
        assert!(!compile("dir/**").matches("dir"));
        assert!(compile("**file").matches("xfile"));
        assert!(compile("**/file").matches("file"));
        assert!(!compile("**/file").matches("xfile"));
        assert!(compile("**").matches(""));
        assert!(compile("a.|)$(}+{bc").matches("a.|)$(}+{bc"));
        assert!(compile("a\\^b*").matches("a^bc"));
    }

    #[test]
    fn deliberate_literals() {
        // `^`, `\d` and `*` inside a class are literal in kiln.
        assert!(compile("^a*").matches("^ab"));
        assert!(!compile("^a*").matches("ab"));
        assert!(compile("\\d").matches("d"));
        assert!(!compile("\\d").matches("1"));
        assert!(compile("a[*?]").matches("a*"));
        assert!(compile("a[*?]").matches("a?"));
        assert!(!compile("a[*?]").matches("ab"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for p in ["[", "a[b", "\\", "[Local-Only]", "[[:nope:]]", "[[:alpha:]"] {
            let err = Pattern::compile(p, false, p).unwrap_err();
            assert!(
                matches!(err, DockerignoreError::BadPattern { .. }),
                "{p:?}: {err:?}"
            );
        }
    }
}
