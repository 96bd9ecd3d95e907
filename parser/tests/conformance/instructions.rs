//! `instructions/cases.json`: converting the first instruction of a text (or
//! of hand-made argument nodes) into a typed instruction.

use std::path::Path;

use kiln_parser::heredoc::Heredoc;
use kiln_parser::instructions::{Context, Converted, InstructionError, convert};
use kiln_parser::node::Node;
use kiln_parser::syntax::parse_nodes;
use kiln_parser::{CommandForm, Healthcheck, InstructionKind, parse};
use serde_json::{Value, json};

use super::{Tally, read_json};

fn first_node(text: &str) -> Option<Node> {
    parse_nodes(text, "Dockerfile").nodes.into_iter().next()
}

fn convert_first(text: &str) -> Result<Converted, InstructionError> {
    let node = first_node(text).ok_or_else(|| InstructionError {
        span: Default::default(),
        message: "no instruction".into(),
        help: None,
    })?;
    convert(&node, &mut Context::default())
}

fn error_matches(got: &Result<Converted, InstructionError>, case: &Value) -> bool {
    let Err(e) = got else { return false };
    match (
        case["expect_error_exact"].as_str(),
        case["expect_error_contains"].as_str(),
    ) {
        (Some(exact), _) => e.message == exact,
        (None, Some(part)) => e.message.contains(part),
        (None, None) => true,
    }
}

fn heredoc_files(docs: &[Heredoc]) -> Vec<Value> {
    docs.iter()
        .map(|h| json!({"name": h.name, "data": h.content, "chomp": h.chomp}))
        .collect()
}

pub fn run(dir: &Path) -> Vec<(&'static str, Tally)> {
    let cases = read_json(&dir.join("cases.json"));
    let mut tally = Tally::default();
    let list = |key: &str| cases[key].as_array().cloned().unwrap_or_default();
    for (i, case) in list("errors_from_text").iter().enumerate() {
        let got = convert_first(case["dockerfile"].as_str().unwrap_or_default());
        tally.check(
            format!("errors_from_text[{i}]"),
            error_matches(&got, case),
            || format!("{got:?}"),
        );
    }
    for (i, case) in list("errors_and_results_from_args").iter().enumerate() {
        let instruction = case["instruction"].as_str().unwrap_or_default();
        // A real node of that keyword, with the hand-made argument nodes.
        let got = match first_node(&format!("{instruction} placeholder=x")) {
            Some(mut node) => {
                node.args = case["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect();
                node.json = false;
                convert(&node, &mut Context::default())
            }
            None => continue,
        };
        let ok = if case.get("expect").is_some() {
            let want = &case["expect"]["healthcheck_test"];
            matches!(&got, Ok(Converted::Instruction(InstructionKind::Healthcheck(Healthcheck::Check(c))))
                if json!(c.test) == *want)
        } else {
            error_matches(&got, case)
        };
        tally.check(format!("errors_and_results_from_args[{i}]"), ok, || {
            format!("{got:?}")
        });
    }
    for (i, case) in list("copy_heredoc").iter().enumerate() {
        let got = convert_first(case["dockerfile"].as_str().unwrap_or_default());
        let ok = matches!(&got, Ok(Converted::Instruction(InstructionKind::Copy(c))) if {
            let contents: Vec<Value> = c.inline.iter()
                .map(|f| json!({"path": f.name, "data": f.data, "expand": f.expand}))
                .collect();
            json!(c.dest) == case["expect"]["dest"]
                && json!(c.sources) == case["expect"]["source_paths"]
                && json!(contents) == case["expect"]["source_contents"]
        });
        tally.check(format!("copy_heredoc[{i}]"), ok, || format!("{got:?}"));
    }
    for (i, case) in list("run_heredoc").iter().enumerate() {
        let got = convert_first(case["dockerfile"].as_str().unwrap_or_default());
        let ok = matches!(&got, Ok(Converted::Instruction(InstructionKind::Run(r))) if {
            let (shell, line) = match &r.command {
                CommandForm::Shell(s) => (true, vec![s.clone()]),
                CommandForm::Exec(a) => (false, a.clone()),
            };
            json!(shell) == case["expect"]["prepend_shell"]
                && json!(line) == case["expect"]["cmd_line"]
                && json!(heredoc_files(&r.heredocs)) == case["expect"]["files"]
        });
        tally.check(format!("run_heredoc[{i}]"), ok, || format!("{got:?}"));
    }
    other(&list("other"), &mut tally);
    vec![("cases", tally)]
}

fn other(cases: &[Value], tally: &mut Tally) {
    for (i, case) in cases.iter().enumerate() {
        let id = format!("other[{i}]");
        let text = case["dockerfile"].as_str().unwrap_or_default();
        if let Some(want) = case["expect"].get("flags_used") {
            let used: Vec<String> = first_node(text)
                .map(|n| n.flags.iter().map(|f| f.name.clone()).collect())
                .unwrap_or_default();
            let converts = convert_first(text).is_ok();
            tally.check(id, converts && json!(used) == *want, || format!("{used:?}"));
        } else if case["expect"].get("stage0_doc_comment").is_some() {
            let got = parse(text, "Dockerfile").map(|d| {
                let args = |decls: &[kiln_parser::ArgDecl]| -> Vec<Value> {
                    decls.iter().map(|a| json!({"key": a.name, "doc_comment": a.doc.clone().unwrap_or_default()})).collect()
                };
                let stage = d.stages.first();
                let commands: Vec<Value> = stage.into_iter().flat_map(|s| &s.instructions).filter_map(|ins| match &ins.kind {
                    InstructionKind::Arg(a) => Some(json!({"kind": "ARG", "args": args(a)})),
                    _ => None,
                }).collect();
                json!({
                    "stage0_doc_comment": stage.and_then(|s| s.doc.clone()).unwrap_or_default(),
                    "meta_args": args(&d.meta_args),
                    "stage0_commands": commands,
                })
            });
            let ok = got.as_ref().is_ok_and(|g| *g == case["expect"]);
            tally.check(id, ok, || format!("{got:?}"));
        } else if let Some(values) = case["flag_values"].as_array() {
            for (j, v) in values.iter().enumerate() {
                let interval = v["interval"].as_str().unwrap_or_default();
                let got = convert_first(&format!("HEALTHCHECK --interval={interval} CMD true"));
                let ok = match v["expect_error_contains"].as_str() {
                    Some(part) => got.as_ref().is_err_and(|e| e.message.contains(part)),
                    None => got.is_ok(),
                };
                tally.check(format!("{id}.flag_values[{j}]"), ok, || format!("{got:?}"));
            }
        } else {
            tally.check(id, false, || "unknown case shape".into());
        }
    }
}
