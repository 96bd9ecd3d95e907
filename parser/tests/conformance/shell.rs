//! `shell/`: envVarTest, wordsTest and expansion-cases.json (Linux rows).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kiln_parser::shell::ShellLex;
use serde_json::Value;

use super::{Tally, read, read_json};

pub fn run(dir: &Path) -> Vec<(&'static str, Tally)> {
    vec![
        ("envVarTest", env_var_test(&read(&dir.join("envVarTest")))),
        ("wordsTest", words_test(&read(&dir.join("wordsTest")))),
        (
            "expansion-cases",
            expansion_cases(&read_json(&dir.join("expansion-cases.json"))),
        ),
    ]
}

fn lookup_in(env: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| env.get(name).cloned()
}

fn env_var_test(text: &str) -> Tally {
    let mut tally = Tally::default();
    let env: BTreeMap<String, String> = [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let lookup = lookup_in(&env);
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        let [platform, input, expect] = fields.as_slice() else {
            panic!("envVarTest line {}: {line:?}", n + 1);
        };
        if *platform == "W" {
            continue;
        }
        let got = ShellLex::new('\\')
            .process(input, &lookup)
            .map(|e| e.result);
        let ok = match *expect {
            "error" => got.is_err(),
            want => got.as_deref() == Ok(want),
        };
        tally.check(format!("line {}", n + 1), ok, || {
            format!("{input:?}: {got:?} vs {expect:?}")
        });
    }
    tally
}

fn words_test(text: &str) -> Tally {
    let mut tally = Tally::default();
    let mut env = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(def) = line.strip_prefix("ENV ") {
            if let Some((k, v)) = def.trim_start_matches(' ').split_once('=') {
                env.insert(k.to_owned(), v.to_owned());
            }
            continue;
        }
        let Some((input, expect)) = line.split_once('|') else {
            panic!("wordsTest line {}: {line:?}", n + 1);
        };
        let input = input.trim();
        let want: Vec<String> = expect
            .trim_start_matches(' ')
            .split(',')
            .map(str::to_owned)
            .collect();
        let got = ShellLex::new('\\')
            .process(input, &lookup_in(&env))
            .map(|e| e.words);
        let ok = match want.as_slice() {
            [e] if e == "error" => got.is_err(),
            _ => got.as_ref() == Ok(&want),
        };
        tally.check(format!("line {}", n + 1), ok, || {
            format!("{input:?}: {got:?} vs {want:?}")
        });
    }
    tally
}

fn env_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn set_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

fn expansion_cases(v: &Value) -> Tally {
    let mut tally = Tally::default();
    for key in ["process_with_matches", "process_platform", "mandatory_vars"] {
        for (i, case) in v[key].as_array().into_iter().flatten().enumerate() {
            let env = env_of(&case["env"]);
            let input = case["input"].as_str().unwrap_or_default();
            let got = ShellLex::new('\\').process(input, &lookup_in(&env));
            let ok = if case["expect_error"].as_bool() == Some(true) {
                match (&got, case["error_contains"].as_str()) {
                    (Err(e), Some(part)) => e.to_string().contains(part),
                    (Err(_), None) => true,
                    (Ok(_), _) => false,
                }
            } else {
                got.as_ref().is_ok_and(|e| {
                    case["expect"].as_str() == Some(e.result.as_str())
                        && (case.get("matched").is_none() || set_of(&case["matched"]) == e.matched)
                        && (case.get("unmatched").is_none()
                            || set_of(&case["unmatched"]) == e.unmatched)
                })
            };
            tally.check(format!("{key}[{i}]"), ok, || format!("{input:?}: {got:?}"));
        }
    }
    for (i, case) in v["env_list_lookup"]["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        // A NAME=VALUE list: no `=` means empty, the last entry wins.
        let mut env = BTreeMap::new();
        for entry in case["env_list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
            env.insert(k.to_owned(), v.to_owned());
        }
        let name = case["name"].as_str().unwrap_or_default();
        let got = ShellLex::new('\\')
            .process(&format!("${{{name}}}"), &lookup_in(&env))
            .map(|e| e.result);
        let want = case["expect"].as_str().unwrap_or_default();
        tally.check(
            format!("env_list_lookup[{i}]"),
            got.as_deref() == Ok(want),
            || format!("{got:?}"),
        );
    }
    tally
}
