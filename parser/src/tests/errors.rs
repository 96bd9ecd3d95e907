//! Error diagnostics: messages, exact positions, several errors at once.

use super::errors;
use crate::parse;

fn one(line: usize, column: usize, message: &str) -> Vec<(usize, usize, String)> {
    vec![(line, column, message.to_owned())]
}

#[test]
fn unknown_flag_points_at_the_flag() {
    assert_eq!(
        errors("FROM a\nCOPY --bogus=1 a b\n"),
        one(2, 6, "unknown flag: --bogus")
    );
    assert_eq!(
        errors("FROM a\nRUN  --foo true\n"),
        one(2, 6, "unknown flag: --foo")
    );
    assert_eq!(
        errors("FROM a\nENV --x=1 A=b\n"),
        one(2, 5, "unknown flag: --x")
    );
    let err = parse("FROM a\nCOPY --form=x a b\n", "Dockerfile").err();
    let help = err.and_then(|e| e.diagnostics.first().and_then(|d| d.help.clone()));
    assert_eq!(help.as_deref(), Some("did you mean --from?"));
}

#[test]
fn flag_problems() {
    assert_eq!(
        errors("FROM a\nRUN --mount=type=cahce,target=/x make\n"),
        one(
            2,
            5,
            "unsupported mount type \"cahce\" (did you mean cache?)"
        )
    );
    assert_eq!(
        errors("FROM a\nCOPY --from a b\n"),
        one(2, 6, "missing a value on flag: --from")
    );
    assert_eq!(
        errors("FROM a\nCOPY --from=x --from=y a b\n"),
        one(2, 15, "duplicate flag specified: --from")
    );
    assert_eq!(
        errors("FROM a\nRUN --network=bridge true\n"),
        one(2, 5, "unsupported network mode: \"bridge\"")
    );
}

#[test]
fn unknown_instruction_with_suggestion() {
    let err = match parse("FROM a\n  COPPY . .\n", "Dockerfile") {
        Err(e) => e,
        Ok(d) => panic!("parsed: {d:#?}"),
    };
    let d = &err.diagnostics[0];
    assert_eq!((d.span.line, d.span.column, d.span.len), (2, 3, 5));
    assert_eq!(d.message, "unknown instruction: COPPY");
    assert_eq!(d.help.as_deref(), Some("did you mean COPY?"));
    assert_eq!(
        err.to_string(),
        "Dockerfile:2:3: unknown instruction: COPPY\n 2 |   COPPY . .\n   |   ^^^^^\n   = help: did you mean COPY?"
    );
    assert_eq!(
        errors("FROM a\nfoo bar\n"),
        one(2, 1, "unknown instruction: foo")
    );
    let no_help = parse("FROM a\nXYZZY\n", "D").err();
    assert_eq!(no_help.map(|e| e.diagnostics[0].help.clone()), Some(None));
}

#[test]
fn missing_from_and_empty_files() {
    assert_eq!(
        errors("ARG V=1\n# c\nRUN echo\nRUN again\n"),
        one(3, 1, "no build stage in current context")
    );
    assert_eq!(errors(""), one(1, 1, "file with no instructions"));
    assert_eq!(
        errors("# only\n\n   # comments\n"),
        one(1, 1, "file with no instructions")
    );
    assert_eq!(
        errors("# escape=`\n"),
        one(1, 1, "file with no instructions")
    );
}

#[test]
fn argument_count_errors() {
    assert_eq!(
        errors("FROM a\nCOPY onlyone\n"),
        one(
            2,
            1,
            "COPY requires at least two arguments, but only one was provided. Destination could not be determined"
        )
    );
    assert_eq!(
        errors("FROM a\nENV PATH\n"),
        one(2, 1, "ENV must have two arguments")
    );
    assert_eq!(
        errors("FROM a\nWORKDIR\n"),
        one(2, 1, "WORKDIR requires exactly one argument")
    );
    assert_eq!(
        errors("FROM\n"),
        one(1, 1, "FROM requires either one or three arguments")
    );
    assert_eq!(
        errors("FROM a b\n"),
        one(1, 1, "FROM requires either one or three arguments")
    );
    assert_eq!(
        errors("FROM a\nCMD [\"a\", [\"nested\"]]\n"),
        one(
            2,
            5,
            "when using JSON array syntax, arrays must be comprised of strings only"
        )
    );
    assert_eq!(
        errors("FROM a\nENV A=1 B\n"),
        one(
            2,
            5,
            "Syntax error - can't find = in \"B\". Must be of the form: name=value"
        )
    );
}

#[test]
fn several_errors_reported_at_once_in_source_order() {
    let source = "RUN early\nFROM a\nCOPPY x y\nCOPY --bogus=1 a b\nRUN ok\nEXPOSE\n";
    assert_eq!(
        errors(source),
        vec![
            (1, 1, "no build stage in current context".to_owned()),
            (3, 1, "unknown instruction: COPPY".to_owned()),
            (4, 6, "unknown flag: --bogus".to_owned()),
            (6, 1, "EXPOSE requires at least one argument".to_owned()),
        ]
    );
    let rendered = parse(source, "Dockerfile")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(rendered.contains(
        "Dockerfile:4:6: unknown flag: --bogus\n 4 | COPY --bogus=1 a b\n   |      ^^^^^^^^^"
    ));
}

#[test]
fn errors_inside_continuations_point_at_the_right_line() {
    assert_eq!(
        errors("FROM a\nRUN \\\n  # comment\n  --bogus=1 true\n"),
        one(4, 3, "unknown flag: --bogus")
    );
}

#[test]
fn bad_escape_directive() {
    assert_eq!(
        errors("# escape=x\nFROM a\n"),
        one(1, 1, "invalid escape token 'x' does not match ` or \\")
    );
}
