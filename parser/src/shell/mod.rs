//! The shell-word lexer used to expand instruction arguments: quote removal,
//! escapes and `$VAR` / `${VAR…}` substitution, like BuildKit's
//! `frontend/dockerfile/shell`.
//!
//! The parser never expands arguments: it keeps them raw, and the solver
//! expands them with the ARG/ENV values in scope. The parser uses the lexer's
//! raw modes only to find heredoc words.
//!
//! Supported: `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`,
//! `${v:?msg}`, `${v?msg}`, `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`,
//! `${v/p/r}`, `${v//p/r}` (patterns with `*`, `?` and escapes), `'…'`
//! (literal), `"…"` (with expansion) and the escape character (`\` or
//! `` ` ``). Positional and special parameters (`$1`, `$@`, `$#`…) expand to
//! nothing.

mod lexer;
mod pattern;

use std::collections::BTreeSet;

pub use lexer::ShellLex;

/// Why a word could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `'` without its closing `'`.
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    /// A `"` without its closing `"`.
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    /// `${` without its closing `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${v/pattern` without the `/` that ends the pattern.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${}`, `${:…}` or `${{…`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// A `${v<modifier>…}` the lexer does not know (`=`, `:=`, `:#`…).
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// A `#`, `%` or `/` pattern with an escape other than `\*`, `\?`, `\\`.
    #[error("invalid pattern ({pattern}) in substitution: invalid escape '\\{escaped}'")]
    InvalidPattern {
        /// The pattern as written.
        pattern: String,
        /// The escaped character (empty at the end of the pattern).
        escaped: String,
    },
    /// `${v?msg}` / `${v:?msg}` on an unset (or empty) variable.
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The message given after `?`, or the default one.
        message: String,
    },
    /// `${` nested deeper than the lexer allows.
    #[error("variable substitution nested too deeply")]
    TooDeep,
}

/// The result of processing one word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word as one string (single-word mode).
    pub result: String,
    /// The word split at unquoted whitespace (words mode).
    pub words: Vec<String>,
    /// Variables looked up and found.
    pub matched: BTreeSet<String>,
    /// Variables looked up and not set.
    pub unmatched: BTreeSet<String>,
}

/// Expands `word` into one string (single-word mode): quotes removed, escapes
/// processed (`escape` is the Dockerfile's escape character, `\` or `` ` ``),
/// variables substituted, whitespace kept.
pub fn expand_word(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    ShellLex::new(escape)
        .process(word, lookup)
        .map(|e| e.result)
}

/// Expands `word` and splits the result into words at unquoted whitespace,
/// including whitespace that comes from an unquoted variable. Empty words are
/// dropped.
pub fn expand_words(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ExpandError> {
    ShellLex::new(escape).process(word, lookup).map(|e| e.words)
}
