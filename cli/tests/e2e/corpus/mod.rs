//! Issue 8's corpus: every case in `testdata/corpus/` built with kiln and compared with
//! BuildKit's recorded result (the final filesystem and the image config, normalised as
//! `normalise.rs` says). Cases listed in `testdata/corpus/KNOWN_DIFFERENCES` may differ;
//! any other difference fails, and so does a listed case that now matches, so the list
//! only shrinks.

mod normalise;

use crate::harness::{Kiln, busybox_tar, testdata, tool_available};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The base image name the corpus's Dockerfiles use, in kiln and in dockerd.
const BASE: &str = "kiln-corpus-busybox:1";

fn corpus() -> PathBuf {
    testdata().join("corpus")
}

/// The case folders (`NN-name`), sorted.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    cases.sort();
    cases
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

/// `KNOWN_DIFFERENCES`: case name → reason.
fn known_differences() -> BTreeMap<String, String> {
    std::fs::read_to_string(corpus().join("KNOWN_DIFFERENCES"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((case, reason)) => (case.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// `python3 -m http.server` on a free 127.0.0.1 port serving the corpus folder (a case's
/// `http/` folder is `{{HTTP}}`), killed on drop.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(corpus())
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "http.server never answered"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds one case with kiln in a fresh state root; `Err` says how it differs.
fn run_case(case: &Path, server: &str) -> Result<(), Vec<String>> {
    let name = name(case);
    let url = format!("{server}/{name}/http");
    let kiln = Kiln::empty();
    kiln.cmd(&["import", &busybox_tar().display().to_string(), BASE])
        .ok();
    let work = kiln.work.path();
    let context = work.join("context");
    std::fs::create_dir_all(&context).unwrap();
    if case.join("context").is_dir() {
        let status = Command::new("cp")
            .arg("-a")
            .arg(case.join("context/."))
            .arg(&context)
            .status()
            .unwrap();
        assert!(status.success(), "{name}: copy the context");
    }
    if case.join("context.sh").is_file() {
        let status = Command::new("bash")
            .arg(case.join("context.sh"))
            .current_dir(&context)
            .status()
            .unwrap();
        assert!(status.success(), "{name}: context.sh failed");
    }
    let dockerfile = work.join("Dockerfile");
    let text = std::fs::read_to_string(case.join("Dockerfile")).unwrap();
    std::fs::write(&dockerfile, text.replace("{{HTTP}}", &url)).unwrap();
    let fs_tar = work.join("fs.tar");
    let mut args: Vec<String> = [
        "build",
        "--progress",
        "plain",
        "--network",
        "none",
        "-t",
        "corpus-case:1",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["-f".into(), dockerfile.display().to_string()]);
    args.extend(["-o".into(), format!("type=tar,dest={}", fs_tar.display())]);
    if let Ok(lines) = std::fs::read_to_string(case.join("args")) {
        for arg in lines.lines().filter(|l| !l.is_empty()) {
            args.extend(["--build-arg".into(), arg.to_string()]);
        }
    }
    if let Ok(target) = std::fs::read_to_string(case.join("target")) {
        args.extend(["--target".into(), target.trim().to_string()]);
    }
    args.push(context.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = kiln.cmd(&args);
    let expected = case.join("expected");
    if let Ok(error) = std::fs::read_to_string(expected.join("error")) {
        return match run.code {
            0 => Err(vec![format!(
                "BuildKit failed ({}), kiln built it",
                error.trim()
            )]),
            _ => Ok(()),
        };
    }
    if run.code != 0 {
        let error = run
            .stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("× "))
            .unwrap_or_else(|| run.stderr.lines().last().unwrap_or_default());
        return Err(vec![format!("kiln failed: {error}")]);
    }
    let read = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(expected.join(file)).unwrap()).unwrap()
    };
    let mut diffs = normalise::diff(&read("fs.json"), &normalise::fs(busybox_tar(), &fs_tar));
    diffs.extend(normalise::diff(
        &read("config.json"),
        &normalise::config(&raw_config(&kiln), &url),
    ));
    match diffs.is_empty() {
        true => Ok(()),
        false => Err(diffs),
    }
}

/// The config JSON of `corpus-case:1`, as stored (manifest → config blob).
fn raw_config(kiln: &Kiln) -> Value {
    let inspect: Value =
        serde_json::from_str(&kiln.cmd(&["inspect", "corpus-case:1"]).ok().stdout).unwrap();
    let blob = |digest: &str| -> Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let path = kiln.content_dir().join("blobs/sha256").join(hex);
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let manifest = blob(inspect[0]["Descriptor"]["digest"].as_str().unwrap());
    blob(manifest["config"]["digest"].as_str().unwrap())
}

#[test]
fn corpus_matches_buildkit() {
    let with_http = tool_available("python3");
    let server = with_http.then(HttpServer::start);
    let base_url = server
        .as_ref()
        .map(|s| format!("http://127.0.0.1:{}", s.port))
        .unwrap_or_default();
    let all = cases();
    let cases: Vec<PathBuf> = all
        .iter()
        .filter(|c| with_http || !c.join("http").is_dir())
        .cloned()
        .collect();
    let results: Mutex<BTreeMap<String, Result<(), Vec<String>>>> = Mutex::default();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let result = run_case(case, &base_url);
                    results.lock().unwrap().insert(name(case), result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let known = known_differences();
    let matching = results.values().filter(|r| r.is_ok()).count();
    let same_fs = results
        .values()
        .filter(|r| match r {
            Ok(()) => true,
            Err(diffs) => diffs.iter().all(|d| d.starts_with("config ")),
        })
        .count();
    println!(
        "corpus: {matching}/{total} match BuildKit ({same_fs}/{total} filesystems match)",
        total = results.len()
    );
    let mut failures = Vec::new();
    for (case, result) in &results {
        match (result, known.get(case)) {
            (Ok(()), Some(_)) => failures.push(format!(
                "{case} now matches BuildKit: remove it from KNOWN_DIFFERENCES"
            )),
            (Err(diffs), listed) => {
                let head: Vec<&String> = diffs.iter().take(6).collect();
                let more = diffs.len().saturating_sub(head.len());
                let mut text = format!("{case}:");
                for line in head {
                    text.push_str(&format!("\n    {line}"));
                }
                if more > 0 {
                    text.push_str(&format!("\n    … {more} more"));
                }
                println!("{text}");
                if listed.is_none() {
                    failures.push(format!("{case} differs and is not in KNOWN_DIFFERENCES"));
                }
            }
            (Ok(()), None) => {}
        }
    }
    for case in known.keys() {
        if all.iter().all(|c| &name(c) != case) {
            failures.push(format!("KNOWN_DIFFERENCES names {case}, which is no case"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
