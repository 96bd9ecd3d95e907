//! The shell-word lexer used to expand instruction arguments: quote removal,
//! escapes and `$VAR` / `${VAR…}` substitution, like BuildKit's
//! `frontend/dockerfile/shell`.
//!
//! The parser never calls this: it keeps arguments raw. The solver expands
//! them with the ARG/ENV values in scope.
//!
//! Supported: `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`,
//! `${v:?msg}`, `${v?msg}`, `\` escapes, `'…'` (literal) and `"…"` (with
//! expansion). Positional and special parameters (`$1`, `$@`, `$#`…) expand
//! to nothing. The `#`, `%` and `/` modifiers return
//! [`ExpandError::UnsupportedModifier`] for now.

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
    /// `${}`, `${:…}` or `${{…`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// A `${v<modifier>…}` this lexer does not know (or not yet).
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(char),
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

/// How deep `${a:-${b:-…}}` may nest before [`ExpandError::TooDeep`].
const MAX_DEPTH: usize = 100;

/// Expands `word` into one string (single-word mode): quotes removed, escapes
/// processed, variables substituted, whitespace kept.
pub fn expand_word(
    word: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    Lexer::new(word, lookup).process(None).map(|(s, _)| s)
}

/// Expands `word` and splits the result into words at unquoted whitespace,
/// including whitespace that comes from an unquoted variable. Empty words are
/// dropped.
pub fn expand_words(
    word: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ExpandError> {
    Lexer::new(word, lookup)
        .process(None)
        .map(|(_, w)| w.finish())
}

/// Word collection for words mode.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    word: String,
    in_word: bool,
}

impl Words {
    /// A character that splits when it is whitespace.
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    depth: usize,
}

impl<'a> Lexer<'a> {
    fn new(word: &str, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            chars: word.chars().collect(),
            pos: 0,
            escape: '\\',
            lookup,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes up to `stop` (consumed) or the end; `stop` must be found if
    /// given.
    fn process(&mut self, stop: Option<char>) -> Result<(String, Words), ExpandError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((result, words));
            }
            match c {
                '$' => {
                    let value = self.dollar()?;
                    words.add_string(&value);
                    result.push_str(&value);
                }
                '\'' | '"' => {
                    let value = if c == '\'' {
                        self.single_quote()?
                    } else {
                        self.double_quote()?
                    };
                    words.add_raw_string(&value);
                    result.push_str(&value);
                }
                _ => {
                    self.pos += 1;
                    if c == self.escape {
                        // The escape character makes the next one literal; at
                        // the end it vanishes.
                        let Some(next) = self.next() else { break };
                        words.add_raw_char(next);
                        result.push(next);
                    } else {
                        words.add_char(c);
                        result.push(c);
                    }
                }
            }
        }
        match stop {
            Some('}') => Err(ExpandError::MissingBrace),
            Some(_) | None => Ok((result, words)),
        }
    }

    fn single_quote(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => return Err(ExpandError::UnterminatedSingleQuote),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(ExpandError::UnterminatedDoubleQuote),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        match self.peek() {
                            // Only `"`, `$` and the escape character can be
                            // escaped here; other escapes stay as written.
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
                            None => {}
                            Some(_) => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.pos += 1;
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && "@*#?-$!0".contains(c) {
                self.pos += 1;
                return c.to_string();
            }
            if !(c.is_alphanumeric() || c == '_') {
                break;
            }
            self.pos += 1;
            name.push(c);
        }
        name
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// `$…` at the current position.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(self.get(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExpandError::TooDeep);
        }
        let result = self.braced();
        self.depth -= 1;
        result
    }

    /// The part of `${…}` after `${`.
    fn braced(&mut self) -> Result<String, ExpandError> {
        let name = self.name();
        let value = self.get(&name);
        match self.next() {
            None => Err(ExpandError::MissingBrace),
            Some('}') => Ok(value.unwrap_or_default()),
            Some('?') => {
                let (word, _) = self.process(Some('}'))?;
                match value {
                    Some(v) => Ok(v),
                    None => Err(required(name, word, "is not allowed to be unset")),
                }
            }
            Some(':') => {
                let Some(modifier) = self.next() else {
                    return Err(ExpandError::MissingBrace);
                };
                if !matches!(modifier, '-' | '+' | '?') {
                    return Err(ExpandError::UnsupportedModifier(modifier));
                }
                let (word, _) = self.process(Some('}'))?;
                let value = value.unwrap_or_default();
                match modifier {
                    '+' if value.is_empty() => Ok(String::new()),
                    '+' => Ok(word),
                    '-' if value.is_empty() => Ok(word),
                    '?' if value.is_empty() => {
                        Err(required(name, word, "is not allowed to be empty"))
                    }
                    _ => Ok(value),
                }
            }
            Some(modifier @ ('-' | '+')) => {
                let (word, _) = self.process(Some('}'))?;
                Ok(match (modifier, value) {
                    ('+', Some(_)) | ('-', None) => word,
                    ('+', None) => String::new(),
                    (_, v) => v.unwrap_or_default(),
                })
            }
            Some(other) => Err(ExpandError::UnsupportedModifier(other)),
        }
    }
}

fn required(name: String, word: String, default: &str) -> ExpandError {
    let message = if word.is_empty() {
        default.to_owned()
    } else {
        word
    };
    ExpandError::Required { name, message }
}
