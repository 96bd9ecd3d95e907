//! `.dockerignore`: reading the file and matching context paths (the walk of
//! a context that applies it is the solver's, `kiln_solver::context`).
//!
//! The semantics are those of moby/patternmatcher (which BuildKit uses to
//! read the file and to match) and tonistiigi/fsutil (which walks the
//! context), not `.gitignore`'s:
//!
//! - Patterns are anchored at the context root: `*.go` does not match
//!   `a/b.go`; `**/*.go` does.
//! - A path is excluded when it or any ancestor directory matches, so
//!   `docs` excludes `docs/a/b`.
//! - Patterns apply in file order and the last one that hits wins; a `!`
//!   exception can re-include a path below an excluded directory.
//! - `*` and `?` never cross `/`; `**` does; `[…]` classes negate with `^`
//!   (so `[!a]` is the class of `!` and `a`); `\` escapes.
//! - Patterns are path-cleaned (`./a/../b/` is `b`).
//!
//! [`read_patterns`] reads the file, [`Dockerignore`] matches.
//!
//! # Deliberate differences from the reference
//!
//! Kiln follows every case of the conformance vectors except the first
//! item below. Each difference is a place where patternmatcher leaks Go
//! regexp syntax or fails late:
//!
//! 1. **Late pattern errors surface at construction.** A pattern that passes
//!    the `filepath.Match` syntax check but is not a valid regex, such as
//!    `[Local-Only]` (the range `l-O` is reversed), `[[:nope:]]` or
//!    `[[:alpha:]`, is a [`DockerignoreError::BadPattern`] when the matcher
//!    is built. patternmatcher builds the matcher and then fails every match
//!    call (vector `matcher_construction[6]`). A build fails either way;
//!    kiln says so before walking, and [`Dockerignore::is_excluded`] cannot
//!    fail.
//! 2. **`\c` is always the literal `c`**, as in `filepath.Match` (which
//!    Docker documents as the pattern syntax). patternmatcher copies `\c`
//!    into a Go regexp, where `\d`, `\w`, `\s`, `\b`, `\pL`, `\x41`, `\Q…`
//!    and the like take regexp meanings and other letters are errors. The
//!    same holds inside classes (`[\d]` is the class of `d`).
//! 3. **`*` and `?` inside `[…]` are literal.** patternmatcher rewrites them
//!    to `[^/]*` and `[^/]` inside the class too, which breaks the class
//!    (`[*]` matches neither `*` nor any one character).
//! 4. **`^` outside a class is literal.** patternmatcher leaves it
//!    unescaped, so in a wildcard pattern it anchors (`^a*` matches `ab`,
//!    `a^b*` matches nothing), while in a plain pattern it is literal.
//! 5. **No line-length limit** when reading the file. `ignorefile.ReadAll`
//!    fails on a line of 64 KiB or more (Go's `bufio.Scanner` token limit).
//! 6. **Unix rules only**: `/` is the only separator and `\` always escapes.

mod clean;
mod glob;
mod pattern;
mod read;

pub use clean::clean_path;
pub use pattern::{MatchKind, Pattern};
pub use read::read_patterns;

use clean::{ancestors, parent_dir};

/// A malformed `.dockerignore` pattern.
#[derive(Debug, thiserror::Error)]
pub enum DockerignoreError {
    /// A pattern that is only `!`: an exception needs something to
    /// re-include.
    #[error("Illegal exclusion pattern `{pattern}`: `!` must be followed by a pattern")]
    IllegalExclusion {
        /// The pattern as given.
        pattern: String,
    },
    /// A glob syntax error (the reference's `syntax error in pattern`).
    #[error("Syntax error in pattern `{pattern}`: {reason}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The pattern's regex could not be built (for example, it is too big).
    #[error("Pattern `{pattern}` cannot be compiled")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// The regex engine's error.
        #[source]
        source: regex::Error,
    },
}

/// A compiled `.dockerignore`: an ordered list of patterns.
#[derive(Debug, Clone, Default)]
pub struct Dockerignore {
    patterns: Vec<Pattern>,
    /// Some exception, minus a trailing `/**` or `/*`, still has a wildcard,
    /// so any excluded directory may hold a re-included path.
    wild_exceptions: bool,
}

impl Dockerignore {
    /// Reads an ignore file's text (as moby `ignorefile.ReadAll`, see
    /// [`read_patterns`]) and compiles its patterns.
    pub fn parse(text: &str) -> Result<Dockerignore, DockerignoreError> {
        Dockerignore::from_patterns(&read_patterns(text))
    }

    /// Compiles patterns that were already read, as patternmatcher's `New`:
    /// each is trimmed (empty ones are dropped) and cleaned, then a leading
    /// `!` is split off. A bare `!` and a malformed glob are errors.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Dockerignore, DockerignoreError> {
        let mut compiled = Vec::with_capacity(patterns.len());
        for original in patterns {
            let original = original.as_ref();
            let trimmed = original.trim();
            if trimmed.is_empty() {
                continue;
            }
            let cleaned = clean_path(trimmed);
            let (exception, text) = match cleaned.strip_prefix('!') {
                Some("") => {
                    return Err(DockerignoreError::IllegalExclusion {
                        pattern: original.to_owned(),
                    });
                }
                Some(rest) => (true, rest),
                None => (false, &*cleaned),
            };
            compiled.push(Pattern::compile(text, exception, original)?);
        }
        let wild_exceptions = compiled
            .iter()
            .any(|p| p.is_exception() && without_trailing_glob(p.text()).contains(WILDCARDS));
        Ok(Dockerignore {
            patterns: compiled,
            wild_exceptions,
        })
    }

    /// Whether `rel` (context-relative, `/`-separated, no leading `/`) is
    /// excluded from the context: the last pattern that matches `rel` or one
    /// of its ancestor directories decides, an exception re-including.
    ///
    /// An ordinary pattern is only tried while the path is not excluded, an
    /// exception only while it is. The context root (`""` or `.`) is never
    /// excluded. `rel` is not cleaned; pass [`clean_path`]'s output when in
    /// doubt.
    pub fn is_excluded(&self, rel: &str) -> bool {
        self.excluded_by(rel).is_some()
    }

    /// The pattern that excludes `rel` (the last one to decide, as in
    /// [`Dockerignore::is_excluded`]), or `None` when `rel` is not excluded.
    pub fn excluded_by(&self, rel: &str) -> Option<&Pattern> {
        if rel.is_empty() || rel == "." {
            return None;
        }
        let parent = parent_dir(rel);
        let mut decided: Option<&Pattern> = None;
        for pattern in &self.patterns {
            let excluded = decided.is_some_and(|p| !p.is_exception());
            if pattern.is_exception() != excluded {
                continue;
            }
            let hit = pattern.matches(rel) || ancestors(&parent).any(|dir| pattern.matches(dir));
            if hit {
                decided = Some(pattern);
            }
        }
        decided.filter(|p| !p.is_exception())
    }

    /// Whether the excluded directory `rel_dir` must still be walked because
    /// an exception could re-include something below it. A walker may prune
    /// an excluded directory only when this is false (directories that are
    /// not excluded are always walked).
    ///
    /// As fsutil decides it: false when there is no exception; true when
    /// some exception, minus a trailing `/**` or `/*`, still has a wildcard
    /// (`*`, `?`, `[`, `]`, `^`, `\`); otherwise true when some exception,
    /// so trimmed, lies below `rel_dir` (or is `rel_dir` itself).
    pub fn must_descend(&self, rel_dir: &str) -> bool {
        if self.wild_exceptions {
            return true;
        }
        self.patterns.iter().filter(|p| p.is_exception()).any(|p| {
            let exception = without_trailing_glob(p.text());
            exception
                .strip_prefix(rel_dir)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// Whether there are no patterns (nothing is excluded).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether some pattern is an exception (`!pattern`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(Pattern::is_exception)
    }

    /// The compiled patterns, in file order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }
}

/// Characters that make an exception pattern more than a plain path, for
/// [`Dockerignore::must_descend`].
const WILDCARDS: &[char] = &['*', '[', ']', '?', '^', '\\'];

/// `pattern` without one trailing `/**`, then without one trailing `/*`.
fn without_trailing_glob(pattern: &str) -> &str {
    let pattern = pattern.strip_suffix("/**").unwrap_or(pattern);
    pattern.strip_suffix("/*").unwrap_or(pattern)
}

#[cfg(test)]
mod tests;
