//! The lexer itself: one pass over a word, in single-word and words mode at
//! once, with BuildKit's options for raw quotes, raw escapes and unset
//! variables.

use std::collections::BTreeSet;

use super::pattern::{Glob, replace, trim_prefix, trim_suffix};
use super::{ExpandError, Expansion};

/// How deep `${a:-${b:-…}}` may nest before [`ExpandError::TooDeep`].
const MAX_DEPTH: usize = 100;

/// A configured lexer. [`ShellLex::new`] gives the ordinary one; the flags
/// select BuildKit's raw modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShellLex {
    /// The escape character (`\` or `` ` ``).
    pub escape: char,
    /// Keep quote characters in the output (they still group words).
    pub raw_quotes: bool,
    /// Keep escape characters in the output (they still escape).
    pub raw_escapes: bool,
    /// Leave references to unset variables as written (`$X`, `${X:-a}`).
    pub skip_unset: bool,
    /// Treat `'` and `"` as ordinary characters (heredoc bodies).
    pub skip_quotes: bool,
    /// Keep whitespace after `<<` in the same word (heredoc detection).
    pub heredoc_words: bool,
}

impl ShellLex {
    /// The ordinary lexer with `escape` as escape character.
    pub fn new(escape: char) -> Self {
        Self {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
            skip_quotes: false,
            heredoc_words: false,
        }
    }

    /// Processes `word`, looking variables up with `lookup`.
    pub fn process(
        &self,
        word: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Expansion, ExpandError> {
        let mut lexer = Lexer {
            opts: *self,
            chars: word.chars().collect(),
            pos: 0,
            lookup,
            depth: 0,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        };
        let (result, words) = lexer
            .process(None, self.raw_escapes)
            .map_err(|e| e.unwrap_or(ExpandError::MissingBrace))?;
        Ok(Expansion {
            result,
            words: words.finish(),
            matched: lexer.matched,
            unmatched: lexer.unmatched,
        })
    }
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
        if !c.is_whitespace() {
            self.add_raw_char(c);
        } else if self.in_word && !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
            self.in_word = false;
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
    opts: ShellLex,
    chars: Vec<char>,
    pos: usize,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    depth: usize,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

impl Lexer<'_> {
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

    /// Processes up to `stop` (consumed) or the end. When `stop` is given and
    /// never found, the error is the caller's to word.
    fn process(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Words), Option<ExpandError>> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((result, words));
            }
            match c {
                '$' => {
                    let value = self.dollar().map_err(Some)?;
                    words.add_string(&value);
                    result.push_str(&value);
                }
                '\'' | '"' if !self.opts.skip_quotes => {
                    let value = if c == '\'' {
                        self.single_quote()
                    } else {
                        self.double_quote(raw_escapes)
                    }
                    .map_err(Some)?;
                    words.add_raw_string(&value);
                    result.push_str(&value);
                }
                '<' if self.opts.heredoc_words => {
                    let value = self.possible_heredoc();
                    words.add_raw_string(&value);
                    result.push_str(&value);
                }
                _ => {
                    self.pos += 1;
                    if c == self.opts.escape {
                        if raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
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
            Some(_) => Err(None),
            None => Ok((result, words)),
        }
    }

    /// `<` or `<<` plus the whitespace after it, kept in one word.
    fn possible_heredoc(&mut self) -> String {
        self.pos += 1;
        if self.peek() != Some('<') {
            return "<".to_owned();
        }
        self.pos += 1;
        let mut out = "<<".to_owned();
        while let Some(c) = self
            .peek()
            .filter(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
        {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn single_quote(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        if self.opts.raw_quotes {
            out.push('\'');
        }
        loop {
            match self.next() {
                None => return Err(ExpandError::UnterminatedSingleQuote),
                Some('\'') => {
                    if self.opts.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self, raw_escapes: bool) -> Result<String, ExpandError> {
        self.pos += 1;
        let mut out = String::new();
        if self.opts.raw_quotes {
            out.push('"');
        }
        loop {
            match self.peek() {
                None => return Err(ExpandError::UnterminatedDoubleQuote),
                Some('"') => {
                    self.pos += 1;
                    if self.opts.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    if c == self.opts.escape {
                        if raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            None => continue,
                            // Only `"`, `$` and the escape character can be
                            // escaped here; other escapes stay as written.
                            Some(n) if n == '"' || n == '$' || n == self.opts.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
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
            if name.is_empty() && c.is_numeric() {
                while let Some(d) = self.peek().filter(|d| d.is_numeric()) {
                    self.pos += 1;
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && "@*#?-$!0".contains(c) {
                self.pos += 1;
                return c.to_string();
            }
            if !(c.is_alphabetic() || c.is_numeric() || c == '_') {
                break;
            }
            self.pos += 1;
            name.push(c);
        }
        name
    }

    fn get(&mut self, name: &str) -> Option<String> {
        let value = (self.lookup)(name);
        let set = if value.is_some() {
            &mut self.matched
        } else {
            &mut self.unmatched
        };
        set.insert(name.to_owned());
        value
    }

    /// `$…` at the current position.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.get(&name) {
                Some(value) => value,
                None if self.opts.skip_unset => format!("${name}"),
                None => String::new(),
            });
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

    /// Processes the word of a modifier up to `stop`.
    fn modifier_word(&mut self, stop: char, raw_escapes: bool) -> Result<String, ExpandError> {
        match self.process(Some(stop), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(Some(e)) => Err(e),
            Err(None) if stop == '/' => Err(ExpandError::MissingSlash),
            Err(None) => Err(ExpandError::MissingBrace),
        }
    }

    /// The part of `${…}` after `${`.
    fn braced(&mut self) -> Result<String, ExpandError> {
        let name = self.name();
        let Some(mut modifier) = self.next() else {
            return Err(ExpandError::MissingBrace);
        };
        let mut written = modifier.to_string();
        let null_is_unset = modifier == ':';
        if null_is_unset {
            let Some(next) = self.next() else {
                return Err(ExpandError::MissingBrace);
            };
            written.push(next);
            if !matches!(next, '-' | '+' | '?') {
                return Err(ExpandError::UnsupportedModifier(written));
            }
            modifier = next;
        }
        match modifier {
            '}' => Ok(match self.get(&name) {
                Some(value) => value,
                None if self.opts.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            '-' | '+' | '?' => {
                let word = self.modifier_word('}', false)?;
                let Some(value) = self.get(&name) else {
                    if self.opts.skip_unset {
                        return Ok(format!("${{{name}{written}{word}}}"));
                    }
                    return match modifier {
                        '-' => Ok(word),
                        '?' => Err(required(name, word, "is not allowed to be unset")),
                        _ => Ok(String::new()),
                    };
                };
                let empty = null_is_unset && value.is_empty();
                match modifier {
                    '-' if empty => Ok(word),
                    '+' if empty => Ok(String::new()),
                    '+' => Ok(word),
                    '?' if empty => Err(required(name, word, "is not allowed to be empty")),
                    _ => Ok(value),
                }
            }
            '#' | '%' => {
                let word = self.modifier_word('}', true)?;
                let value = self.get(&name);
                if value.is_none() && self.opts.skip_unset {
                    return Ok(format!("${{{name}{written}{word}}}"));
                }
                // `##` / `%%` remove the longest match, `#` / `%` the shortest.
                let (greedy, pattern) = match word.strip_prefix(modifier) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let glob = Glob::parse(pattern)?;
                let value = value.unwrap_or_default();
                Ok(if modifier == '#' {
                    trim_prefix(&glob, &value, greedy)
                } else {
                    trim_suffix(&glob, &value, greedy)
                })
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern = self.modifier_word('/', true)?;
                let replacement = self.modifier_word('}', true)?;
                let value = self.get(&name);
                if value.is_none() && self.opts.skip_unset {
                    return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                }
                let value = value.unwrap_or_default();
                let glob = Glob::parse(&pattern)?;
                Ok(replace(&glob, &value, &replacement, all))
            }
            _ => Err(ExpandError::UnsupportedModifier(written)),
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
