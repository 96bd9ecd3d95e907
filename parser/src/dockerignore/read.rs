//! Reading a `.dockerignore` file into its pattern list, as moby's
//! `ignorefile.ReadAll` does.

use super::clean::clean_path;

/// The UTF-8 byte order mark, removed from the start of the first line.
const BOM: char = '\u{feff}';

/// Splits an ignore file's text into patterns, one per meaningful line.
///
/// - A UTF-8 BOM at the start of the first line is removed.
/// - A line whose first character is `#` is a comment; an indented `#` is
///   part of a pattern (`  # x` gives `# x`).
/// - Lines are trimmed (Unicode whitespace, so a CRLF line ending goes too)
///   and empty ones skipped.
/// - A leading `!` marks an exception; whitespace after it is trimmed.
/// - The rest is cleaned ([`clean_path`]) and one leading `/` is removed,
///   except from a lone `/`. The `!` is then put back, so a line that is
///   only `!` yields the pattern `!`, which the matcher rejects.
///
/// ```
/// use kiln_parser::dockerignore::read_patterns;
/// let text = "# build output\n/target/\n! /target/keep\n";
/// assert_eq!(read_patterns(text), ["target", "!target/keep"]);
/// ```
pub fn read_patterns(text: &str) -> Vec<String> {
    let mut patterns = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = if index == 0 {
            line.strip_prefix(BOM).unwrap_or(line)
        } else {
            line
        };
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (exception, rest) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let mut pattern = String::with_capacity(line.len());
        if exception {
            pattern.push('!');
        }
        if !rest.is_empty() {
            let cleaned = clean_path(rest);
            let relative = match cleaned.strip_prefix('/') {
                Some(stripped) if !stripped.is_empty() => stripped,
                _ => &cleaned,
            };
            pattern.push_str(relative);
        }
        patterns.push(pattern);
    }
    patterns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_ignorefile_read_all() {
        let text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n\
                    ! /inverted/abs/path\n!\n! ";
        assert_eq!(
            read_patterns(text),
            [
                "test1",
                "test2",
                "a/file/here",
                "lastfile",
                "!inverted/abs/path",
                "!",
                "!"
            ]
        );
    }

    #[test]
    fn comments_only_in_column_one() {
        let text = "  # x\n#y\n./a/../b/\n//c//d\n/\n";
        assert_eq!(read_patterns(text), ["# x", "b", "c/d", "/"]);
    }

    #[test]
    fn bom_only_on_first_line() {
        assert_eq!(read_patterns("\u{feff}#c\nz\n"), ["z"]);
        // A BOM elsewhere is not whitespace: it stays in the pattern.
        assert_eq!(read_patterns("a\n\u{feff}b"), ["a", "\u{feff}b"]);
    }

    #[test]
    fn crlf_and_whitespace() {
        assert_eq!(read_patterns("a\r\n\tb \r\n\r\n#c\r\n"), ["a", "b"]);
        assert_eq!(read_patterns("\u{a0}x\u{2003}"), ["x"]);
    }

    #[test]
    fn cleaning_can_empty_a_pattern() {
        assert_eq!(read_patterns("a/..\n!./\n/.."), [".", "!.", "/"]);
        assert!(read_patterns("").is_empty());
        assert!(read_patterns("\n\n  \n").is_empty());
    }
}
