//! Text that echoes input (archive paths, Dockerfile text, image names, arguments) has
//! its control characters escaped before kiln prints it, so no input can send the
//! terminal escape sequences or forge lines of output. A tab stays a tab.

use std::borrow::Cow;

fn needs_escape(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// `text` with every control character (newlines included) written as `\u{…}`.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Source lines escaped as [`escape_controls`] does, but keeping their line breaks
/// (`\n`, `\r\n`); and, for each byte offset of `raw` (and its end), where it lands in
/// the result.
pub fn escape_source(raw: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(raw.len());
    let mut offsets = Vec::with_capacity(raw.len() + 1);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        offsets.extend(std::iter::repeat_n(out.len(), c.len_utf8()));
        let line_break = c == '\n' || (c == '\r' && chars.peek() == Some(&'\n'));
        if needs_escape(c) && !line_break {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    offsets.push(out.len());
    (out, offsets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_labels_escape_control_characters() {
        assert_eq!(escape_controls("plain\ttab"), "plain\ttab");
        assert_eq!(
            escape_controls("\u{1b}[31mred\u{7}\nfake\u{9b}"),
            "\\u{1b}[31mred\\u{7}\\u{a}fake\\u{9b}"
        );
    }

    #[test]
    fn error_labels_escape_source_lines_but_keep_line_breaks() {
        let raw = "a\u{1b}b\r\nc\rd\né\n";
        let (text, offsets) = escape_source(raw);
        assert_eq!(text, "a\\u{1b}b\r\nc\\u{d}d\né\n");
        assert_eq!(offsets.len(), raw.len() + 1);
        // `b` moves past the escape; `é` (two bytes) maps both bytes to its start.
        assert_eq!(&text[offsets[2]..=offsets[2]], "b");
        let e = raw.find('é').expect("é");
        assert_eq!(offsets[e], offsets[e + 1]);
        assert_eq!(offsets[raw.len()], text.len());
    }
}
