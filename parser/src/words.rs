//! How instruction arguments are split, as BuildKit's line parser does it:
//! whitespace splitting and quote-aware word splitting (JSON form is in
//! [`crate::json`]).

/// BuildKit's separator set for plain splitting: space, TAB, VT, FF, CR.
pub fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{0B}' | '\u{0C}' | '\r')
}

/// Splits on runs of separators (no quote handling), dropping empty pieces.
pub fn split_whitespace(rest: &str) -> Vec<String> {
    rest.split(is_separator)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits `rest` at the first run of separators into two parts.
pub fn split_once_whitespace(rest: &str) -> Option<(&str, &str)> {
    let at = rest.find(is_separator)?;
    let (head, tail) = rest.split_at(at);
    Some((head, tail.trim_start_matches(is_separator)))
}

/// Splits ARG/ENV/LABEL arguments into words at unquoted Unicode whitespace.
/// Quotes and escape characters stay in the words (`a="x y"` is one word);
/// an escape character at the very end is dropped.
pub fn split_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A quoted empty string ("") still makes a word.
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == escape {
                    if let Some(next) = chars.next() {
                        word.push(c);
                        word.push(next);
                    }
                    continue;
                }
                word.push(c);
            }
            Some(q) => {
                if c == escape && q != '\'' {
                    match chars.next() {
                        Some(next) => {
                            word.push(c);
                            word.push(next);
                        }
                        None => quote = None,
                    }
                    continue;
                }
                if c == q {
                    quote = None;
                }
                word.push(c);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes_and_escapes() {
        let cases: &[(&str, &[&str])] = &[
            ("foo", &["foo"]),
            ("foo bar", &["foo", "bar"]),
            ("foo\\ bar", &["foo\\ bar"]),
            ("foo bar 'abc xyz'", &["foo", "bar", "'abc xyz'"]),
            ("a=\"x \\\" y\" b=''", &["a=\"x \\\" y\"", "b=''"]),
            ("föo bàr \"âbc xÿz\"", &["föo", "bàr", "\"âbc xÿz\""]),
            ("a\\", &["a"]),
            ("  ", &[]),
        ];
        for (input, expect) in cases {
            assert_eq!(split_words(input, '\\'), *expect, "input {input:?}");
        }
        assert_eq!(split_words("a` b", '`'), ["a` b"]);
    }

    #[test]
    fn plain_splitting() {
        assert_eq!(split_whitespace(" a\t b  c "), ["a", "b", "c"]);
        assert_eq!(split_once_whitespace("k  v w"), Some(("k", "v w")));
        assert_eq!(split_once_whitespace("k"), None);
    }
}
