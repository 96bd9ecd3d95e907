//! The step cache: what reruns and what does not.

use crate::harness::Kiln;

const DOCKERFILE: &str = "FROM busybox:local\n\
WORKDIR /app\n\
COPY greet.sh .\n\
RUN head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /rand\n";

fn rand(kiln: &Kiln) -> String {
    kiln.run_out("c:1", &["cat", "/rand"])
}

/// A state root with `c:1` built from DOCKERFILE, and its context folder.
fn built() -> (Kiln, std::path::PathBuf) {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "c",
        &[("Dockerfile", DOCKERFILE), ("greet.sh", "echo hi\n")],
    );
    kiln.build("c:1", &dir).ok();
    (kiln, dir)
}

#[test]
fn rebuild_runs_nothing_and_keeps_results() {
    let (kiln, dir) = built();
    let (first, id) = (rand(&kiln), kiln.image_id("c:1"));
    assert_eq!(first.len(), 32);
    let again = kiln.build("c:1", &dir).ok();
    for step in ["[1/4]", "[2/4]", "[3/4]", "[4/4]"] {
        assert_eq!(again.status_of(step), "CACHED", "{step}:\n{}", again.stderr);
    }
    // The proof is the result, not the progress text: the random value survived.
    assert_eq!(rand(&kiln), first);
    assert_eq!(
        kiln.image_id("c:1"),
        id,
        "a fully cached rebuild gives the same image"
    );

    let ctx = dir.display().to_string();
    kiln.cmd(&["build", "--no-cache", "-t", "c:1", &ctx]).ok();
    assert_ne!(rand(&kiln), first, "--no-cache reruns RUN");
}

#[test]
fn changed_content_reruns_copy_and_later_steps_only() {
    let (kiln, dir) = built();
    let first = rand(&kiln);
    std::fs::write(dir.join("greet.sh"), "echo changed\n").unwrap();
    let rebuild = kiln.build("c:1", &dir).ok();
    assert_eq!(rebuild.status_of("[2/4]"), "CACHED");
    assert!(
        rebuild.status_of("[3/4]").starts_with("DONE"),
        "{}",
        rebuild.stderr
    );
    assert!(
        rebuild.status_of("[4/4]").starts_with("DONE"),
        "{}",
        rebuild.stderr
    );
    assert_ne!(rand(&kiln), first);
    assert_eq!(
        kiln.run_out("c:1", &["cat", "/app/greet.sh"]),
        "echo changed\n"
    );
}

#[test]
fn touching_without_changing_content_reruns_nothing() {
    let (kiln, dir) = built();
    let first = rand(&kiln);
    // New mtime and ctime, same bytes.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.join("greet.sh"), "echo hi\n").unwrap();
    let rebuild = kiln.build("c:1", &dir).ok();
    assert_eq!(rebuild.status_of("[3/4]"), "CACHED", "{}", rebuild.stderr);
    assert_eq!(rebuild.status_of("[4/4]"), "CACHED");
    assert_eq!(rand(&kiln), first);
}

#[test]
fn cache_ls_lists_one_row_per_cached_step() {
    let (kiln, _context) = built();
    let ls = kiln.cmd(&["cache", "ls"]).ok().stdout;
    let lines: Vec<&str> = ls.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("LAST USED"),
        "{ls}"
    );
    assert_eq!(lines.len(), 4, "{ls}");
    for description in ["WORKDIR /app", "COPY greet.sh .", "RUN head -c 16"] {
        assert!(ls.contains(description), "{description} missing:\n{ls}");
    }
}
