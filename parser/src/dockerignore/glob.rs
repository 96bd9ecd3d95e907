//! Glob syntax: the up-front check and the translation of `[…]` classes.
//!
//! The matcher first checks each pattern with the rules of Go's
//! `filepath.Match` (as patternmatcher does by matching the pattern against
//! `.` and keeping only the error), then compiles it to a regex. In the
//! regex, a class follows Go's regexp class syntax, which is what decides
//! the reference's matches: `[[:alpha:]]` is a POSIX class and a reversed
//! range like `[l-O]` is an error, although both pass the first check.

/// Why a pattern is malformed. The texts are the `reason` of
/// [`super::DockerignoreError::BadPattern`].
pub(crate) mod reason {
    pub(crate) const TRAILING_ESCAPE: &str = "a trailing `\\` escapes nothing";
    pub(crate) const UNCLOSED_CLASS: &str = "a `[` class is not closed with `]`";
    pub(crate) const BAD_CLASS_ITEM: &str =
        "a class item starts with `-` or `]` (escape it as `\\-` or `\\]`)";
    pub(crate) const REVERSED_RANGE: &str = "a class range ends before it starts";
    pub(crate) const UNKNOWN_CLASS_NAME: &str = "unknown `[:name:]` character class";
}

/// Checks `pattern` with Go `filepath.Match`'s syntax rules (Unix flavour).
///
/// `\` escapes the next character and must not end the pattern. A class
/// `[…]` may start with `^`, needs at least one item, and each item is a
/// character or a range `lo-hi`, where an unescaped `-` or `]` cannot start
/// an item. `*`, `?` and all other characters are always valid.
pub(crate) fn check_syntax(pattern: &str) -> Result<(), &'static str> {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return Err(reason::TRAILING_ESCAPE),
            '[' => {
                chars.next_if_eq(&'^');
                let mut items = 0usize;
                loop {
                    if items > 0 && chars.next_if_eq(&']').is_some() {
                        break;
                    }
                    glob_class_char(&mut chars)?;
                    if chars.next_if_eq(&'-').is_some() {
                        glob_class_char(&mut chars)?;
                    }
                    items += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One class character for [`check_syntax`] (Go's `getEsc`): it must exist,
/// must not be an unescaped `-` or `]`, and must be followed by something.
fn glob_class_char(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<char, &'static str> {
    let c = match chars.next() {
        None => return Err(reason::UNCLOSED_CLASS),
        Some('-' | ']') => return Err(reason::BAD_CLASS_ITEM),
        Some('\\') => chars.next().ok_or(reason::UNCLOSED_CLASS)?,
        Some(c) => c,
    };
    if chars.peek().is_none() {
        return Err(reason::UNCLOSED_CLASS);
    }
    Ok(c)
}

/// The POSIX class names Go's regexp accepts in `[[:name:]]`; Rust's regex
/// accepts the same names with the same (ASCII) meaning.
const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Translates the class whose `[` is at `chars[start - 1]` into a Rust regex
/// class, following Go's regexp class syntax. Returns the regex text and the
/// index just past the closing `]`.
///
/// Items are `[:name:]` (or `[:^name:]`), a character, or a range `lo-hi`;
/// `\c` is the literal `c` (see the module docs of `dockerignore` for why
/// `\d` is not a digit class here); a `]` right after `[` or `[^` is
/// literal, and so is a `-` that cannot start a range.
pub(crate) fn translate_class(
    chars: &[char],
    start: usize,
) -> Result<(String, usize), &'static str> {
    let mut i = start;
    let mut out = String::from("[");
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        match chars.get(i) {
            None => return Err(reason::UNCLOSED_CLASS),
            Some(']') if !first => return Ok((out + "]", i + 1)),
            _ => {}
        }
        first = false;
        let named = chars.get(i) == Some(&'[') && chars.get(i + 1) == Some(&':');
        if let Some(end) = find_colon_bracket(chars, i + 2).filter(|_| named) {
            let name: String = chars[i + 2..end].iter().collect();
            let bare = name.strip_prefix('^').unwrap_or(&name);
            if !POSIX_CLASSES.contains(&bare) {
                return Err(reason::UNKNOWN_CLASS_NAME);
            }
            out.push_str(&format!("[:{name}:]"));
            i = end + 2;
            continue;
        }
        let (lo, next) = regex_class_char(chars, i)?;
        i = next;
        push_class_literal(&mut out, lo);
        let is_range = chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']');
        if is_range {
            let (hi, next) = regex_class_char(chars, i + 1)?;
            if hi < lo {
                return Err(reason::REVERSED_RANGE);
            }
            i = next;
            out.push('-');
            push_class_literal(&mut out, hi);
        }
    }
}

/// Index of the `:` of the first `:]` at or after `from`.
fn find_colon_bracket(chars: &[char], from: usize) -> Option<usize> {
    (from..chars.len().saturating_sub(1)).find(|&j| chars[j] == ':' && chars[j + 1] == ']')
}

/// One character inside a regex class: `\c` is `c`.
fn regex_class_char(chars: &[char], i: usize) -> Result<(char, usize), &'static str> {
    match chars.get(i) {
        None => Err(reason::UNCLOSED_CLASS),
        Some('\\') => match chars.get(i + 1) {
            None => Err(reason::UNCLOSED_CLASS),
            Some(&c) => Ok((c, i + 2)),
        },
        Some(&c) => Ok((c, i + 1)),
    }
}

/// Appends `c` to a Rust regex class so it stands for itself. Besides the
/// usual metacharacters this escapes `[`, `&`, `-` and `~`, which start
/// nested classes or set operations in Rust's class syntax.
fn push_class_literal(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_matches_go_filepath_match() {
        let ok = [
            "abc",
            "*",
            "a*/b",
            "ab[c]",
            "ab[^b-d]",
            "a\\*b",
            "[\\]a]",
            "[\\-]",
            "[x\\-]",
            "[\\-x]",
            "[Local-Only]",
            "[[:alpha:]]",
            "a]",
            "[!a]",
            "[*]",
            "a\\\\",
        ];
        for p in ok {
            assert_eq!(check_syntax(p), Ok(()), "{p:?}");
        }
        let bad = [
            "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "[a", "[a\\",
        ];
        for p in bad {
            assert!(check_syntax(p).is_err(), "{p:?} should be rejected");
        }
    }

    fn class(p: &str) -> Result<String, &'static str> {
        let chars: Vec<char> = p.chars().collect();
        translate_class(&chars, 1).map(|(re, end)| {
            assert_eq!(end, chars.len(), "{p:?} not fully consumed");
            re
        })
    }

    #[test]
    fn translates_classes() {
        assert_eq!(class("[b-d]").unwrap(), "[b-d]");
        assert_eq!(class("[^b-d]").unwrap(), "[^b-d]");
        assert_eq!(class("[\\]a]").unwrap(), "[\\]a]");
        assert_eq!(class("[x\\-]").unwrap(), "[x\\-]");
        assert_eq!(class("[[:alpha:]]").unwrap(), "[[:alpha:]]");
        assert_eq!(class("[[:^digit:]x]").unwrap(), "[[:^digit:]x]");
        assert_eq!(class("[&&~~[]").unwrap(), "[\\&\\&\\~\\~\\[]");
        assert_eq!(class("[a-]").unwrap(), "[a\\-]");
    }

    #[test]
    fn rejects_what_go_regexp_rejects() {
        assert_eq!(class("[Local-Only]"), Err(reason::REVERSED_RANGE));
        assert_eq!(class("[[:nope:]]"), Err(reason::UNKNOWN_CLASS_NAME));
        assert_eq!(class("[[:alpha:]"), Err(reason::UNCLOSED_CLASS));
        assert_eq!(class("[a\\"), Err(reason::UNCLOSED_CLASS));
    }

    #[test]
    fn translated_classes_compile() {
        for p in ["[&&~~[]", "[\\]a]", "[[:alpha:]_-]", "[a-\u{3b6}]", "[!a]"] {
            let re = class(p).unwrap();
            assert!(regex::Regex::new(&re).is_ok(), "{p:?} -> {re:?}");
        }
    }
}
