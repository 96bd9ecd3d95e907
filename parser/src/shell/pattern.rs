//! The shell patterns of `${v#p}`, `${v%p}` and `${v/p/r}`: `*` matches any
//! string, `?` any one character, `\*` `\?` `\\` the character itself, and
//! `\}` / `\/` the `}` or `/` that would otherwise end the pattern. Bracket
//! expressions are not supported (BuildKit has none either).

use super::ExpandError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*`
    Star,
    /// `?`
    Any,
    /// A literal character.
    Char(char),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles `pattern` (escape characters still in it).
    pub(super) fn parse(pattern: &str) -> Result<Self, ExpandError> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' => Token::Star,
                '?' => Token::Any,
                '\\' if matches!(chars.peek(), Some('}' | '/')) => continue,
                '\\' => match chars.next() {
                    Some(e @ ('*' | '?' | '\\')) => Token::Char(e),
                    other => {
                        return Err(ExpandError::InvalidPattern {
                            pattern: pattern.to_owned(),
                            escaped: other.map(String::from).unwrap_or_default(),
                        });
                    }
                },
                c => Token::Char(c),
            });
        }
        Ok(Self { tokens })
    }

    /// For each end `e` in `start..=text.len()`, whether the pattern matches
    /// `text[start..e]` exactly (index `e - start`). A simulation of the
    /// pattern's automaton: O(text × pattern), no backtracking.
    fn match_ends(&self, text: &[char], start: usize) -> Vec<bool> {
        let m = self.tokens.len();
        let mut states = vec![false; m + 1];
        states[0] = true;
        self.close(&mut states);
        let text = text.get(start..).unwrap_or_default();
        let mut ends = vec![false; text.len() + 1];
        for (i, &c) in text.iter().enumerate() {
            ends[i] = states[m];
            let mut next = vec![false; m + 1];
            for (k, token) in self.tokens.iter().enumerate() {
                if !states[k] {
                    continue;
                }
                match *token {
                    Token::Star => next[k] = true,
                    Token::Any => next[k + 1] = true,
                    Token::Char(t) if t == c => next[k + 1] = true,
                    Token::Char(_) => {}
                }
            }
            self.close(&mut next);
            states = next;
            if !states.iter().any(|&s| s) {
                return ends;
            }
        }
        ends[text.len()] = states[m];
        ends
    }

    /// A `*` may match nothing: states before a `*` reach the state after it.
    fn close(&self, states: &mut [bool]) {
        for (k, token) in self.tokens.iter().enumerate() {
            if states[k] && *token == Token::Star {
                states[k + 1] = true;
            }
        }
    }

    /// The pattern reversed, for suffix matching.
    fn reversed(&self) -> Self {
        Self {
            tokens: self.tokens.iter().rev().copied().collect(),
        }
    }
}

/// `${v#p}` (shortest) / `${v##p}` (longest): removes a matching prefix.
pub(super) fn trim_prefix(glob: &Glob, value: &str, greedy: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let ends = glob.match_ends(&chars, 0);
    let cut = if greedy {
        ends.iter().rposition(|&m| m)
    } else {
        ends.iter().position(|&m| m)
    };
    match cut {
        Some(cut) => chars.get(cut..).unwrap_or_default().iter().collect(),
        None => value.to_owned(),
    }
}

/// `${v%p}` (shortest) / `${v%%p}` (longest): removes a matching suffix.
pub(super) fn trim_suffix(glob: &Glob, value: &str, greedy: bool) -> String {
    let reversed: String = value.chars().rev().collect();
    trim_prefix(&glob.reversed(), &reversed, greedy)
        .chars()
        .rev()
        .collect()
}

/// `${v/p/r}` (first match) / `${v//p/r}` (every match): the leftmost match,
/// as long as possible, is replaced; like Go's `ReplaceAllString`, an empty
/// match right after a match is skipped and the search always advances.
pub(super) fn replace(glob: &Glob, value: &str, replacement: &str, all: bool) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    let mut replaced_once = false;
    while (all || !replaced_once) && search <= chars.len() {
        let Some((start, end)) = (search..=chars.len()).find_map(|s| {
            let ends = glob.match_ends(&chars, s);
            ends.iter().rposition(|&m| m).map(|e| (s, s + e))
        }) else {
            break;
        };
        out.extend(chars.get(last_end..start).unwrap_or_default());
        if end > last_end || start == 0 {
            out.push_str(replacement);
            replaced_once = true;
        }
        last_end = end;
        search = if end > search { end } else { search + 1 };
    }
    out.extend(chars.get(last_end..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::parse(p).unwrap()
    }

    #[test]
    fn prefix_and_suffix_removal() {
        assert_eq!(trim_prefix(&glob("*x"), "axbx", false), "bx");
        assert_eq!(trim_prefix(&glob("*x"), "axbx", true), "");
        assert_eq!(trim_suffix(&glob("x*"), "axbx", false), "axb");
        assert_eq!(trim_suffix(&glob("x*"), "axbx", true), "a");
        assert_eq!(trim_prefix(&glob("?\\?"), "???y", false), "?y");
        assert_eq!(trim_prefix(&glob("z"), "abc", false), "abc");
    }

    #[test]
    fn substitution() {
        assert_eq!(replace(&glob("/tmp"), "/tmp/tmp/a", "", false), "/tmp/a");
        assert_eq!(replace(&glob("/tmp"), "/tmp/tmp/a", "", true), "/a");
        assert_eq!(replace(&glob(""), "ab", "-", false), "-ab");
        assert_eq!(replace(&glob(""), "ab", "-", true), "-a-b-");
        assert_eq!(replace(&glob("\\/"), "/a/", "\\/", true), "\\/a\\/");
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert!(Glob::parse("a\\b").is_err());
        assert!(Glob::parse("a\\").is_err());
    }
}
