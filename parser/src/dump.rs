//! The conformance dump of a [`SyntaxTree`]: one S-expression line per
//! instruction, byte-identical to BuildKit's `Node.Dump()` (see the parser
//! vectors' `FORMAT.md` §2). A debugging aid (`kiln debug parse`); nothing
//! builds from it.

use std::fmt::Write;

use crate::node::Node;
use crate::syntax::SyntaxTree;

/// Dumps every instruction of `tree`, each line ending with `\n`.
pub fn dump(tree: &SyntaxTree) -> String {
    let mut out = String::new();
    for node in &tree.nodes {
        dump_node(node, &mut out);
        out.push('\n');
    }
    out
}

/// `(keyword ["--flag" …] "arg" …)`, or `(onbuild (…))`.
fn dump_node(node: &Node, out: &mut String) {
    out.push('(');
    out.push_str(&node.keyword.to_lowercase());
    if !node.flags.is_empty() {
        out.push_str(" [");
        for (i, flag) in node.flags.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            go_quote(&flag.text(), out);
        }
        out.push(']');
    }
    if let Some(next) = &node.next {
        out.push(' ');
        dump_node(next, out);
    }
    for arg in &node.args {
        out.push(' ');
        go_quote(arg, out);
    }
    out.push(')');
}

/// Appends `s` quoted exactly like Go's `strconv.Quote`.
pub fn go_quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if is_go_printable(c) => out.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
}

/// Go's `unicode.IsPrint` for characters from U+0080 on: letters, marks,
/// numbers, punctuation and symbols; no spaces, controls, format characters,
/// surrogates, private use or unassigned code points.
fn is_go_printable(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    !(c.is_whitespace() || c.is_control() || is_format_or_unassigned(c))
}

/// Characters of general category Cf, Co, Cn and the Zs/Zl/Zp that
/// `char::is_whitespace` misses.
fn is_format_or_unassigned(c: char) -> bool {
    let u = u32::from(c);
    matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF
        | 0xFFFE..=0xFFFF | 0xFDD0..=0xFDEF)
        || (u & 0xFFFE) == 0xFFFE
        || (0x30000..0xE0000).contains(&u) && !(0x30000..=0x323AF).contains(&u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(s: &str) -> String {
        let mut out = String::new();
        go_quote(s, &mut out);
        out
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("\u{7}\u{8}\u{c}\n\r\t\u{b}"), r#""\a\b\f\n\r\t\v""#);
        assert_eq!(quote("\0\u{1b}\u{7f}"), r#""\x00\x1b\x7f""#);
        assert_eq!(quote("♥☃é한"), "\"♥☃é한\"");
        assert_eq!(
            quote("\u{a0}\u{200b}\u{85}\u{2028}"),
            r#""\u00a0\u200b\u0085\u2028""#
        );
        assert_eq!(quote("\u{e0001}\u{10ffff}"), r#""\U000e0001\U0010ffff""#);
        assert_eq!(quote("😀"), "\"😀\"");
    }
}
