//! Shell-word expansion (`crate::shell`).

use crate::shell::{ExpandError, expand_word, expand_words};

fn env(name: &str) -> Option<String> {
    match name {
        "PWD" => Some("/home".into()),
        "EMPTY" => Some(String::new()),
        "SPACED" => Some("  ab c".into()),
        "KOREAN" => Some("한국어".into()),
        _ => None,
    }
}

fn word(input: &str) -> Result<String, ExpandError> {
    expand_word(input, '\\', &env)
}

#[test]
fn variables_quotes_and_escapes() {
    let cases = [
        ("he$PWD.", "he/home."),
        ("he${PWD}x", "he/homex"),
        ("$UNSET-x", "-x"),
        ("'$PWD' \"$PWD\"", "$PWD /home"),
        ("\\$PWD", "$PWD"),
        ("a\\ b\\", "a b"),
        ("\"a\\\"b\\$c\\d\"", "a\"b$c\\d"),
        ("$.", "$."),
        ("$1${999}$@", ""),
        ("${KOREAN}!", "한국어!"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(word(input).as_deref(), Ok(expected), "input {input:?}");
    }
}

#[test]
fn modifiers() {
    let cases = [
        ("${UNSET:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${PWD:+set}", "set"),
        ("${EMPTY:+set}", ""),
        ("${EMPTY+set}", "set"),
        ("${UNSET+set}", ""),
        ("${UNSET:-${PWD:-x}}", "/home"),
        ("${UNSET:-'a b' \"$PWD\"}", "a b /home"),
        ("${PWD:?}", "/home"),
        ("${EMPTY?}", ""),
        ("${PWD#/}", "home"),
        ("${PWD%e}", "/hom"),
        ("${PWD/h/x}", "/xome"),
        ("${KOREAN//국/-}", "한-어"),
    ];
    for (input, expected) in cases {
        assert_eq!(word(input).as_deref(), Ok(expected), "input {input:?}");
    }
}

#[test]
fn expansion_errors() {
    let required = |name: &str, message: &str| ExpandError::Required {
        name: name.into(),
        message: message.into(),
    };
    let cases = [
        ("'abc", ExpandError::UnterminatedSingleQuote),
        ("\"abc", ExpandError::UnterminatedDoubleQuote),
        ("${PWD", ExpandError::MissingBrace),
        ("${PWD:-x", ExpandError::MissingBrace),
        ("${", ExpandError::MissingBrace),
        ("${}", ExpandError::BadSubstitution),
        ("${:x}", ExpandError::BadSubstitution),
        ("${.}", ExpandError::UnsupportedModifier(".".into())),
        ("${PWD:#/}", ExpandError::UnsupportedModifier(":#".into())),
        ("${PWD/h", ExpandError::MissingSlash),
        (
            "${PWD#\\x}",
            ExpandError::InvalidPattern {
                pattern: "\\x".into(),
                escaped: "x".into(),
            },
        ),
        ("${PWD:=x}", ExpandError::UnsupportedModifier(":=".into())),
        (
            "${EMPTY:?}",
            required("EMPTY", "is not allowed to be empty"),
        ),
        ("${UNSET:?need it}", required("UNSET", "need it")),
        ("${UNSET?}", required("UNSET", "is not allowed to be unset")),
    ];
    for (input, expected) in cases {
        assert_eq!(word(input), Err(expected), "input {input:?}");
    }
    assert_eq!(
        word("${UNSET:?need it}").map_err(|e| e.to_string()),
        Err("UNSET: need it".to_owned())
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "${A:-".repeat(100_000);
    assert_eq!(word(&deep), Err(ExpandError::TooDeep));
}

#[test]
fn words_mode_splits_on_unquoted_whitespace() {
    let words = |input: &str| expand_words(input, '\\', &env);
    let cases: [(&str, &[&str]); 6] = [
        ("a  b\tc", &["a", "b", "c"]),
        ("hello${SPACED}def", &["hello", "ab", "cdef"]),
        ("hello\"${SPACED}\" def", &["hello  ab c", "def"]),
        ("'a b' \"\" c\\ d", &["a b", "c d"]),
        ("$EMPTY $UNSET", &[]),
        ("${UNSET:-x y}z", &["x", "yz"]),
    ];
    for (input, expected) in cases {
        let expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(words(input), Ok(expected), "input {input:?}");
    }
    assert_eq!(words("'oops"), Err(ExpandError::UnterminatedSingleQuote));
}

#[test]
fn backtick_escape_escapes_and_leaves_backslashes_literal() {
    let word = |input: &str| expand_word(input, '`', &env);
    // Recorded from BuildKit with `# escape=``: ENV B=`$A C=x`y D=a\b E="q`"r".
    for (input, expected) in [
        ("`$EMPTY", "$EMPTY"),
        ("x`y", "xy"),
        ("a\\b", "a\\b"),
        ("\"q`\"r\"", "q\"r"),
    ] {
        assert_eq!(word(input), Ok(expected.to_owned()), "input {input:?}");
    }
}
