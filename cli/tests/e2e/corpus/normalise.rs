//! The corpus's result shapes, as `testdata/corpus/normalise.py` computes them from
//! BuildKit's results: the same rules, so the recorded files and kiln's results compare
//! as JSON values.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The image config fields that do not depend on the builder.
const CONFIG_FIELDS: [&str; 13] = [
    "ArgsEscaped",
    "Cmd",
    "Entrypoint",
    "Env",
    "ExposedPorts",
    "Healthcheck",
    "Labels",
    "OnBuild",
    "Shell",
    "StopSignal",
    "User",
    "Volumes",
    "WorkingDir",
];

/// A tar path as a rootfs-relative path: no leading `/` or `./`, no trailing `/`, `""`
/// for the root.
fn clean(path: &str) -> String {
    let mut path = path.trim_matches('/');
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    match path {
        "." => String::new(),
        _ => path.to_string(),
    }
}

/// path → entry of a rootfs tar.
fn entries(tar: &Path) -> BTreeMap<String, Map<String, Value>> {
    let file = std::fs::File::open(tar).unwrap_or_else(|e| panic!("{}: {e}", tar.display()));
    let mut archive = tar::Archive::new(file);
    let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut links: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        if path.is_empty() {
            continue;
        }
        let header = entry.header().clone();
        let kind = header.entry_type();
        let kind_name = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Link => "file",
            tar::EntryType::Directory => "dir",
            tar::EntryType::Symlink => "symlink",
            tar::EntryType::Fifo => "fifo",
            tar::EntryType::Char => "char",
            tar::EntryType::Block => "block",
            _ => "other",
        };
        let mut e = Map::new();
        e.insert("path".into(), json!(path));
        e.insert("type".into(), json!(kind_name));
        e.insert(
            "mode".into(),
            json!(format!("{:04o}", header.mode().unwrap() & 0o7777)),
        );
        e.insert("uid".into(), json!(header.uid().unwrap()));
        e.insert("gid".into(), json!(header.gid().unwrap()));
        let link_name = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut xattrs = Map::new();
        if let Some(pax) = entry.pax_extensions().unwrap() {
            for ext in pax {
                let ext = ext.unwrap();
                if let Some(name) = ext.key().unwrap().strip_prefix("SCHILY.xattr.") {
                    let value = String::from_utf8_lossy(ext.value_bytes()).into_owned();
                    xattrs.insert(name.to_string(), json!(value));
                }
            }
        }
        match kind {
            tar::EntryType::Link => {
                let first = clean(&link_name.unwrap_or_default());
                links
                    .entry(first.clone())
                    .or_insert_with(|| vec![first.clone()])
                    .push(path.clone());
                let source = &out[&first];
                for key in ["sha256", "mode", "uid", "gid", "xattrs"] {
                    if let Some(value) = source.get(key) {
                        e.insert(key.into(), value.clone());
                    }
                }
            }
            _ if kind_name == "file" => {
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                e.insert(
                    "sha256".into(),
                    json!(hex::encode(Sha256::digest(&content))),
                );
            }
            tar::EntryType::Symlink => {
                e.insert("target".into(), json!(link_name.unwrap_or_default()));
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                let major = header.device_major().unwrap().unwrap_or(0);
                let minor = header.device_minor().unwrap().unwrap_or(0);
                e.insert("rdev".into(), json!(format!("{major}:{minor}")));
            }
            _ => {}
        }
        if !xattrs.is_empty() && kind != tar::EntryType::Link {
            e.insert("xattrs".into(), Value::Object(xattrs));
        }
        out.insert(path, e);
    }
    for group in links.values() {
        let first = group.iter().min().cloned().unwrap_or_default();
        for path in group {
            if let Some(e) = out.get_mut(path) {
                e.insert("hardlink".into(), json!(first));
            }
        }
    }
    out
}

/// The filesystem of `built` (a rootfs tar), minus what it shares with `base` when it is a
/// busybox image (it holds `bin/busybox`), with `removed` entries for base paths it lacks.
pub fn fs(base: &Path, built: &Path) -> Value {
    let built = entries(built);
    let base = match built.contains_key("bin/busybox") {
        true => entries(base),
        false => BTreeMap::new(),
    };
    let mut listed: Vec<Value> = built
        .iter()
        .filter(|(path, e)| base.get(*path) != Some(e))
        .map(|(_, e)| Value::Object(e.clone()))
        .collect();
    listed.extend(
        base.keys()
            .filter(|path| !built.contains_key(*path))
            .map(|path| json!({"path": path, "type": "removed"})),
    );
    listed.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    Value::Array(listed)
}

fn keep(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false)) && value != &json!("") && value != &json!({})
}

/// The builder-independent part of an image config (the raw config JSON), with `url`
/// written back as `{{HTTP}}`.
pub fn config(raw: &Value, url: &str) -> Value {
    let mut out = Map::new();
    let cfg = &raw["config"];
    for field in CONFIG_FIELDS {
        if keep(&cfg[field]) {
            out.insert(field.into(), cfg[field].clone());
        }
    }
    let history: Vec<Value> = raw["history"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|h| {
            !h["comment"]
                .as_str()
                .is_some_and(|c| c.starts_with("Imported from"))
        })
        .map(|h| {
            let kept = ["created_by", "comment", "empty_layer"]
                .into_iter()
                .filter(|k| keep(&h[*k]))
                .map(|k| (k.to_string(), h[k].clone()));
            Value::Object(kept.collect())
        })
        .collect();
    out.insert("history".into(), Value::Array(history));
    let diff_ids = raw["rootfs"]["diff_ids"].as_array().map_or(0, Vec::len);
    out.insert("diff_ids".into(), json!(diff_ids));
    let text = Value::Object(out).to_string().replace(url, "{{HTTP}}");
    serde_json::from_str(&text).unwrap()
}

/// Short lines saying how `got` differs from `expected` (both fs listings or both configs).
pub fn diff(expected: &Value, got: &Value) -> Vec<String> {
    match (expected, got) {
        (Value::Array(want), Value::Array(have)) => {
            let by_path = |list: &[Value]| -> BTreeMap<String, Value> {
                list.iter()
                    .map(|e| {
                        (
                            e["path"].as_str().unwrap_or_default().to_string(),
                            e.clone(),
                        )
                    })
                    .collect()
            };
            let (want, have) = (by_path(want), by_path(have));
            let mut paths: Vec<&String> = want.keys().chain(have.keys()).collect();
            paths.sort();
            paths.dedup();
            paths
                .into_iter()
                .filter(|p| want.get(*p) != have.get(*p))
                .map(|p| {
                    let show = |v: Option<&Value>| v.map_or("(absent)".into(), Value::to_string);
                    format!(
                        "fs /{p}: BuildKit {} kiln {}",
                        show(want.get(p)),
                        show(have.get(p))
                    )
                })
                .collect()
        }
        (Value::Object(want), Value::Object(have)) => {
            let mut keys: Vec<&String> = want.keys().chain(have.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter(|k| want.get(*k) != have.get(*k))
                .map(|k| {
                    let show = |v: Option<&Value>| v.map_or("(absent)".into(), Value::to_string);
                    format!(
                        "config {k}: BuildKit {} kiln {}",
                        show(want.get(k)),
                        show(have.get(k))
                    )
                })
                .collect()
        }
        _ => vec![format!("BuildKit {expected} kiln {got}")],
    }
}
