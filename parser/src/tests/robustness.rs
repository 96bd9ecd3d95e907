//! Line endings, hostile input, size and speed.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::ok;
use crate::{Dockerfile, MAX_ERRORS, Span, parse};

/// The AST with byte offsets and lengths cleared (CR bytes shift them).
fn without_offsets(mut d: Dockerfile) -> Dockerfile {
    let clear = |s: &mut Span| {
        s.offset = 0;
        s.len = 0;
    };
    d.directives.iter_mut().for_each(|x| clear(&mut x.span));
    d.warnings.iter_mut().for_each(|x| clear(&mut x.span));
    for stage in &mut d.stages {
        clear(&mut stage.span);
        stage
            .instructions
            .iter_mut()
            .for_each(|i| clear(&mut i.span));
    }
    d
}

const SAMPLE: &str = "# syntax=docker/dockerfile:1\n# escape=\\\nARG BASE=busybox\n\
FROM $BASE AS build\n# comment\nENV A=1 \\\n    B=\"two words\"\nRUN echo one \\\n  # inside\n\n  && echo two\n\
COPY --chown=1:1 [\"a\", \"/b\"]\nENV LEGACY value\nCMD [\"sh\"]\n";

#[test]
fn crlf_input_gives_the_same_ast() {
    let lf = ok(SAMPLE);
    let crlf = ok(&SAMPLE.replace('\n', "\r\n"));
    assert_eq!(without_offsets(crlf), without_offsets(lf));
}

#[test]
fn bom_and_missing_final_newline() {
    let d = ok("\u{FEFF}# syntax=x\nFROM a\nRUN b \\");
    assert_eq!(d.directives[0].value, "x");
    assert_eq!(d.stages[0].instructions[0].original, "RUN b");
}

#[test]
fn hostile_inputs_do_not_panic() {
    let inputs = [
        "\\",
        "`",
        "#",
        "# escape=`",
        "FROM",
        "FROM a\nRUN [",
        "FROM a\nCOPY --",
        "FROM a\nCOPY --\"",
        "FROM a\nRUN --x='",
        "\r",
        "\r\r\r",
        "FROM a\r",
        "\u{0}",
        "FROM a\nENV =",
        "FROM a\nARG =x",
        "FROM a\nRUN \\\n",
        "FROM a\nLABEL \"",
        "é\\\n\\",
        "FROM a\nCMD [1, 2]",
    ];
    for input in inputs {
        let _ = parse(input, "Dockerfile").map_err(|e| e.to_string());
    }
}

#[test]
fn a_large_file_of_continuation_lines_parses_fast() {
    // 1 MB here (debug build); the 10 MB release timing is `large_file_timing`.
    let source = big_source(1 << 20);
    let start = Instant::now();
    let d = ok(&source);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(d.stages[0].instructions.len(), 1);
}

#[test]
fn unbounded_input_reports_the_first_errors_of_both_layers_then_stops() {
    // `ENV` alone is a line-layer error, `COPPY` an instruction-layer one.
    let source = "FROM a\n".to_owned() + &"ENV\nCOPPY x\n".repeat(10_000);
    let errors = parse(&source, "Dockerfile").expect_err("garbage");
    let lines: Vec<usize> = errors.errors().map(|d| d.span.line).collect();
    let expected: Vec<usize> = (2..=MAX_ERRORS + 2).collect();
    assert_eq!(
        lines, expected,
        "the first errors in order, then the marker"
    );
    let last = errors.diagnostics.last().expect("diagnostics");
    assert_eq!(
        last.message,
        "too many errors, stopping after the first 100"
    );
    let messages: Vec<&str> = errors.errors().map(|d| d.message.as_str()).collect();
    assert!(messages[..MAX_ERRORS].iter().any(|m| m.contains("COPPY")));
    assert!(messages[..MAX_ERRORS].iter().any(|m| m.contains("ENV")));
}

fn big_source(bytes: usize) -> String {
    let line = "    && echo some words to build a long continued command \\\n";
    let mut source = String::from("FROM a\nRUN true \\\n");
    while source.len() < bytes {
        source.push_str(line);
    }
    source.push_str("    && true\n");
    source
}

/// `cargo test -p kiln-parser --release -- --ignored large_file_timing --nocapture`
#[test]
#[ignore = "timing; run in release"]
fn large_file_timing() {
    let source = big_source(10 << 20);
    let start = Instant::now();
    let d = ok(&source);
    let elapsed = start.elapsed();
    println!("10 MB continuation file parsed in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(1));
    assert_eq!(d.stages[0].instructions.len(), 1);
    // Many small instructions, too.
    let many = "FROM a\n".to_owned() + &"RUN echo hello world && make\n".repeat(10 << 20 >> 5);
    let start = Instant::now();
    let d = ok(&many);
    println!("10 MB of one-line RUNs parsed in {:?}", start.elapsed());
    assert!(d.stages[0].instructions.len() > 300_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(source in any::<String>()) {
        let _ = parse(&source, "Dockerfile").map_err(|e| e.to_string());
    }

    #[test]
    fn dockerfile_like_strings_never_panic(
        source in "(FROM|RUN|COPY|ADD|ENV|ARG|CMD|ONBUILD|HEALTHCHECK|SHELL|EXPOSE|--mount=|type=|#|--|<<|<<-|EOF|\\[|\\]|\"|'|\\\\|`|=|\\$|\\{|\\}|%|/|:|,| |\t|\r|\n|a|1|é){0,80}"
    ) {
        let _ = parse(&source, "Dockerfile").map_err(|e| e.to_string());
        let _ = crate::dump::dump(&crate::syntax::parse_nodes(&source, "Dockerfile"));
        let _ = crate::expand_word(&source, '\\', &|_| Some("v".into()));
        let _ = crate::expand_words(&source, '\\', &|_| None);
    }
}
