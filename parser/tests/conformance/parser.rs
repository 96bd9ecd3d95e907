//! `parser/`: tree dumps, negative cases, line numbers and the transcribed
//! tables.

use std::path::Path;

use kiln_parser::directives::{detect_syntax, find_directive};
use kiln_parser::heredoc::{chomp, heredocs_from_line, parse_heredoc_word};
use kiln_parser::json::{JsonArgs, json_args};
use kiln_parser::syntax::{SyntaxTree, parse_nodes};
use kiln_parser::words::split_words;
use kiln_parser::{Severity, dump::dump, parse};
use serde_json::Value;

use super::{Tally, read, read_json};

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn errors(tree: &SyntaxTree) -> Vec<String> {
    tree.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect()
}

fn cases(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut cases: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    cases.sort();
    cases
}

pub fn run(dir: &Path) -> Vec<(&'static str, Tally)> {
    let mut positive = Tally::default();
    for (name, path) in cases(&dir.join("positive")) {
        let tree = parse_nodes(&read(&path.join("Dockerfile")), "Dockerfile");
        let got = dump(&tree);
        let want = read(&path.join("result")).replace("\r\n", "\n");
        let errs = errors(&tree);
        positive.check(&name, errs.is_empty() && got == want, || {
            format!("errors {errs:?}\n--- got\n{got}--- want\n{want}")
        });
    }
    let mut negative = Tally::default();
    for (name, path) in cases(&dir.join("negative")) {
        let result = parse(&read(&path.join("Dockerfile")), "Dockerfile");
        negative.check(&name, result.is_err(), || "parsed without error".into());
    }
    vec![
        ("positive", positive),
        ("negative", negative),
        ("line-info", line_info(&dir.join("line-info"))),
        ("transcribed", transcribed(&dir.join("transcribed"))),
    ]
}

fn line_info(dir: &Path) -> Tally {
    let mut tally = Tally::default();
    let tree = parse_nodes(&read(&dir.join("Dockerfile")), "Dockerfile");
    let expected = read_json(&dir.join("expected.json"));
    let root = &expected["root"];
    let got_root = (
        tree.nodes.first().map(|n| n.span.line),
        tree.nodes.last().map(|n| n.end_line),
        tree.nodes.len(),
    );
    let want_root = (
        root["start_line"].as_u64().map(|v| v as usize),
        root["end_line"].as_u64().map(|v| v as usize),
        root["child_count"].as_u64().unwrap_or(0) as usize,
    );
    tally.check("root", got_root == want_root, || {
        format!("{got_root:?} != {want_root:?}")
    });
    for (i, child) in expected["children"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let got = tree
            .nodes
            .get(i)
            .map(|n| (n.span.line as u64, n.end_line as u64));
        let want = Some((
            child["start_line"].as_u64().unwrap_or(0),
            child["end_line"].as_u64().unwrap_or(0),
        ));
        tally.check(format!("children[{i}]"), got == want, || {
            format!("{got:?} != {want:?}")
        });
    }
    tally
}

fn transcribed(dir: &Path) -> Tally {
    let mut tally = Tally::default();
    heredoc_children(&dir.join("heredoc-extract"), "heredoc-extract", &mut tally);
    heredoc_children(&dir.join("heredoc-json"), "heredoc-json", &mut tally);
    empty_continuation(&dir.join("empty-continuation"), &mut tally);
    heredoc_words(&read_json(&dir.join("heredoc-words.json")), &mut tally);
    for (i, case) in read_json(&dir.join("words.json"))["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let got = split_words(case["input"].as_str().unwrap_or_default(), '\\');
        let want = strings(&case["expect"]);
        tally.check(format!("words.json cases[{i}]"), got == want, || {
            format!("{got:?} != {want:?}")
        });
    }
    let arrays = read_json(&dir.join("json-arrays.json"));
    for (i, case) in arrays["valid"].as_array().into_iter().flatten().enumerate() {
        let got = json_args(case["input"].as_str().unwrap_or_default());
        let want = JsonArgs::Strings(strings(&case["expect"]));
        tally.check(format!("json-arrays.json valid[{i}]"), got == want, || {
            format!("{got:?}")
        });
    }
    for (i, input) in arrays["not_string_array"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let got = json_args(input.as_str().unwrap_or_default());
        tally.check(
            format!("json-arrays.json not_string_array[{i}]"),
            got == JsonArgs::NotAllStrings,
            || format!("{got:?}"),
        );
    }
    directives(&read_json(&dir.join("directives.json")), &mut tally);
    for (i, case) in read_json(&dir.join("limits.json"))["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        // The recipe of the only case, built as it describes.
        let input = format!("\n\t\tFROM image\n\t\tLABEL test={}\n", "a".repeat(65_536));
        let want = case["expect_error_exact"].as_str().unwrap_or_default();
        let errs = parse(&input, "Dockerfile")
            .err()
            .map(|e| e.errors().map(|d| d.message.clone()).collect::<Vec<_>>());
        tally.check(
            format!("limits.json cases[{i}]"),
            errs.as_deref() == Some(&[want.to_owned()][..]),
            || format!("{errs:?}"),
        );
    }
    tally
}

fn heredoc_children(dir: &Path, name: &str, tally: &mut Tally) {
    let tree = parse_nodes(&read(&dir.join("Dockerfile")), "Dockerfile");
    let errs = errors(&tree);
    tally.check(format!("{name} parses"), errs.is_empty(), || {
        format!("{errs:?}")
    });
    let expected = read_json(&dir.join("expected.json"));
    for child in expected["children"].as_array().into_iter().flatten() {
        let index = child["child_index"].as_u64().unwrap_or(0) as usize;
        let got: Option<Vec<Value>> = tree.nodes.get(index).map(|n| {
            n.heredocs
                .iter()
                .map(|h| {
                    serde_json::json!({"name": h.name, "content": h.content, "expand": h.expand,
                        "chomp": h.chomp, "file_descriptor": h.file_descriptor})
                })
                .collect()
        });
        let want = match &child["heredocs"] {
            Value::Null => Some(Vec::new()),
            v => v.as_array().cloned(),
        };
        tally.check(format!("{name} children[{index}]"), got == want, || {
            format!("{got:?} != {want:?}")
        });
    }
}

fn empty_continuation(dir: &Path, tally: &mut Tally) {
    let expected = read_json(&dir.join("expected.json"));
    let warnings = match parse(&read(&dir.join("Dockerfile")), "Dockerfile") {
        Ok(d) => d.warnings,
        Err(e) => {
            tally.check("empty-continuation", false, || e.to_string());
            return;
        }
    };
    let count = expected["warning_count"].as_u64().unwrap_or(0) as usize;
    tally.check("empty-continuation count", warnings.len() == count, || {
        format!("{warnings:#?}")
    });
    for (i, want) in expected["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(got) = warnings.get(i) else { continue };
        let short_ok = strings(&want["short_contains"])
            .iter()
            .all(|s| got.message.contains(s.as_str()));
        let detail_ok = want["detail0_contains"]
            .as_str()
            .is_none_or(|d| got.help.as_deref().is_some_and(|h| h.contains(d)));
        tally.check(
            format!("empty-continuation warnings[{i}]"),
            short_ok && detail_ok,
            || format!("{got:?}"),
        );
    }
}

fn heredoc_words(v: &Value, tally: &mut Tally) {
    let words = &v["parse_heredoc_word"];
    for (i, w) in strings(&words["valid"]).iter().enumerate() {
        let got = parse_heredoc_word(w);
        let ok = matches!(&got, Ok(Some(h)) if h.name == "EOF");
        tally.check(format!("heredoc-words valid[{i}]"), ok, || {
            format!("{w:?}: {got:?}")
        });
    }
    for (i, w) in strings(&words["invalid"]).iter().enumerate() {
        let got = parse_heredoc_word(w);
        tally.check(format!("heredoc-words invalid[{i}]"), got.is_err(), || {
            format!("{w:?}: {got:?}")
        });
    }
    for (i, w) in strings(&words["not_heredoc"]).iter().enumerate() {
        let got = parse_heredoc_word(w);
        tally.check(
            format!("heredoc-words not_heredoc[{i}]"),
            got == Ok(None),
            || format!("{w:?}: {got:?}"),
        );
    }
    for (i, case) in v["heredocs_from_line"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let line = case["line"].as_str().unwrap_or_default();
        let got: Vec<String> = heredocs_from_line(line)
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.name)
            .collect();
        // As the reference test: the names returned must match position by
        // position (see FORMAT.md §8 on `RUN <<- EOF`).
        let want = strings(&case["names"]);
        let ok = got.len() <= want.len() && got.iter().zip(&want).all(|(a, b)| a == b);
        tally.check(format!("heredoc-words heredocs_from_line[{i}]"), ok, || {
            format!("{line:?}: {got:?} vs {want:?}")
        });
    }
    for (i, case) in v["chomp_content"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let got = chomp(case["input"].as_str().unwrap_or_default());
        let want = case["expected"].as_str().unwrap_or_default();
        tally.check(
            format!("heredoc-words chomp_content[{i}]"),
            got == want,
            || got.clone(),
        );
    }
}

fn directives(v: &Value, tally: &mut Tally) {
    for (i, case) in v["directive_parser"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let tree = parse_nodes(case["input"].as_str().unwrap_or_default(), "Dockerfile");
        let got: Vec<Value> = tree
            .directives
            .iter()
            .map(|d| serde_json::json!({"name": d.name, "value": d.value}))
            .collect();
        let want = case["directives"].as_array().cloned().unwrap_or_default();
        tally.check(
            format!("directives directive_parser[{i}]"),
            got == want,
            || format!("{got:?}"),
        );
    }
    let compare = |found: Option<kiln_parser::directives::DetectedDirective>, case: &Value| {
        let want_found = case["found"].as_bool().unwrap_or(false);
        match found {
            None => !want_found,
            Some(d) => {
                want_found
                    && case["ref"].as_str().is_none_or(|r| r == d.reference)
                    && case["cmdline"].as_str().is_none_or(|c| c == d.cmdline)
                    && case["line"].as_u64().is_none_or(|l| l as usize == d.line)
            }
        }
    };
    for (i, case) in v["detect_syntax"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut input = case["input"].as_str().unwrap_or_default().to_owned();
        if case["input_hex_prefix"].as_str() == Some("efbbbf") {
            input.insert(0, '\u{FEFF}');
        }
        let found = detect_syntax(&input);
        tally.check(
            format!("directives detect_syntax[{i}]"),
            compare(found.clone(), case),
            || format!("{found:?}"),
        );
    }
    for (i, case) in v["parse_directive"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = case["key"].as_str().unwrap_or_default();
        let found = find_directive(case["input"].as_str().unwrap_or_default(), key);
        tally.check(
            format!("directives parse_directive[{i}]"),
            compare(found.clone(), case),
            || format!("{found:?}"),
        );
    }
}
