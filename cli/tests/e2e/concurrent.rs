//! Concurrent builds of the same steps on one state root: each step runs once, the
//! first record wins, and prune keeps what the images use.

use crate::harness::{Kiln, Run};
use std::collections::HashSet;

/// The RUN sleeps so that the four builds really reach it at the same time.
const DOCKERFILE: &str = "FROM busybox:local\n\
RUN sleep 1 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n' > /rand\n\
RUN cat /rand > /copy\n";

fn records(kiln: &Kiln) -> usize {
    kiln.cmd(&["cache", "ls"]).ok().stdout.lines().count() - 1
}

#[test]
fn concurrent_builds_run_a_shared_step_once() {
    let kiln = Kiln::new();
    let dir = kiln.context("c", &[("Dockerfile", DOCKERFILE)]);
    let builds: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (kiln, dir) = (&kiln, &dir);
                s.spawn(move || kiln.build(&format!("c:{i}"), dir))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().ok())
            .collect()
    });
    let ran = builds
        .iter()
        .filter(|b| b.status_of("[2/3]").starts_with("DONE"))
        .count();
    let stderr: Vec<&str> = builds.iter().map(|b| b.stderr.as_str()).collect();
    assert_eq!(ran, 1, "the others wait and take its record:\n{stderr:#?}");

    // The proof is the result: every image holds the one random value.
    let values: HashSet<String> = (0..4)
        .map(|i| kiln.run_out(&format!("c:{i}"), &["cat", "/copy"]))
        .collect();
    assert_eq!(values.len(), 1, "{values:?}");
    // One snapshot per record, plus the base image's: no sibling was kept.
    assert_eq!(kiln.snapshot_dirs(), records(&kiln) + 1);

    // The records name the images' snapshots: prune keeps them, nothing reruns.
    kiln.cmd(&["cache", "prune", "-f"]).ok();
    assert_eq!(records(&kiln), 2);
    let again = kiln.build("c:0", &dir).ok();
    for step in ["[2/3]", "[3/3]"] {
        assert_eq!(again.status_of(step), "CACHED", "{}", again.stderr);
    }
}
