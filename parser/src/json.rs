//! JSON (exec) form: reading an argument text as a JSON array of strings,
//! decoding strings like Go's `encoding/json` (lone surrogates become
//! U+FFFD), as BuildKit does.

/// The result of reading an argument text as a JSON array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonArgs {
    /// Not a JSON array: use the text in shell form.
    NotJson,
    /// A JSON array of strings.
    Strings(Vec<String>),
    /// A JSON array with a non-string element: an error, no shell fallback.
    NotAllStrings,
}

/// The message for [`JsonArgs::NotAllStrings`].
pub const NOT_ALL_STRINGS: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// Reads `rest` as a JSON array if it is one (it must start with `[` and be
/// entirely valid JSON; anything else is shell form).
pub fn json_args(rest: &str) -> JsonArgs {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return JsonArgs::NotJson;
    }
    if let Some(strings) = StringArray::new(rest).read() {
        return JsonArgs::Strings(strings);
    }
    // Not an array of strings: a valid array of anything is an error, the
    // rest is shell form. (serde_json limits nesting to 128 levels; deeper
    // arrays count as shell form.)
    match serde_json::from_str::<serde_json::Value>(rest) {
        Ok(serde_json::Value::Array(_)) => JsonArgs::NotAllStrings,
        _ => JsonArgs::NotJson,
    }
}

/// A reader for exactly `[ "…", … ]` plus surrounding whitespace.
struct StringArray<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> StringArray<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn read(mut self) -> Option<Vec<String>> {
        let mut items = Vec::new();
        if !self.eat(b'[') {
            return None;
        }
        if !self.eat(b']') {
            loop {
                self.skip_ws();
                items.push(self.string()?);
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        self.skip_ws();
        (self.pos == self.bytes.len()).then_some(items)
    }

    fn string(&mut self) -> Option<String> {
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(start..self.pos)?);
            match self.bytes.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                _ => return None,
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Option<()> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate: only a following `\uDC00`–`\uDFFF`
                    // completes it; otherwise it is U+FFFD on its own.
                    let save = self.pos;
                    if self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u") {
                        self.pos += 2;
                        if let Some(low) = self.hex4().filter(|l| (0xDC00..0xE000).contains(l)) {
                            let code = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            return Some(());
                        }
                    }
                    self.pos = save;
                    '\u{FFFD}'
                } else {
                    char::from_u32(first).unwrap_or('\u{FFFD}')
                }
            }
            _ => return None,
        };
        out.push(c);
        Some(())
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let value = u32::from_str_radix(digits, 16).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> JsonArgs {
        JsonArgs::Strings(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn json_form_and_fallbacks() {
        assert_eq!(
            json_args(r#"["/app/greet.sh", "a\"b"]"#),
            strings(&["/app/greet.sh", "a\"b"])
        );
        assert_eq!(json_args(" [ ] "), strings(&[]));
        // Broken JSON is shell form, never an error.
        assert_eq!(json_args("[\"a\", 'b']"), JsonArgs::NotJson);
        assert_eq!(json_args("[\"a\""), JsonArgs::NotJson);
        assert_eq!(json_args("[\"a\",]"), JsonArgs::NotJson);
        assert_eq!(json_args("[\"a\"] trailing"), JsonArgs::NotJson);
        assert_eq!(json_args("[\"a\tb\"]"), JsonArgs::NotJson);
        assert_eq!(json_args("[\"\\x\"]"), JsonArgs::NotJson);
        assert_eq!(json_args("echo [a]"), JsonArgs::NotJson);
        assert_eq!(json_args("[\"a\", [\"b\"]]"), JsonArgs::NotAllStrings);
        assert_eq!(json_args("[1]"), JsonArgs::NotAllStrings);
    }

    #[test]
    fn decodes_like_go() {
        assert_eq!(
            json_args(r#"["\" \\ \/ \b \f \n \r \t \u0000 \u00e9 \ud83d\ude00"]"#),
            strings(&["\" \\ / \u{8} \u{c} \n \r \t \0 é 😀"])
        );
        // Lone surrogates become U+FFFD, as in Go.
        assert_eq!(
            json_args(r#"["\ud800x", "\udc00", "\ud800\u0041"]"#),
            strings(&["\u{FFFD}x", "\u{FFFD}", "\u{FFFD}A"])
        );
        assert_eq!(json_args(r#"["\u12"]"#), JsonArgs::NotJson);
        assert_eq!(json_args(r#"["\u+123"]"#), JsonArgs::NotJson);
    }
}
