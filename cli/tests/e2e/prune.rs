//! `kiln cache prune` and `kiln cache du`: what goes, what stays, and leftovers of
//! killed builds.

use crate::harness::{Kiln, Run};
use std::path::PathBuf;

/// The first image of `t:1`: its records become dangling once OLD is rebuilt as NEW.
const OLD: &str = "FROM busybox:local\nRUN echo old > /old\nRUN echo old2 > /old2\n";
const NEW: &str = "FROM busybox:local\nWORKDIR /app\nRUN echo new > /app/new\n";

/// A state root where `t:1` was built from OLD, then from NEW; the context of NEW.
fn rebuilt() -> (Kiln, PathBuf) {
    let kiln = Kiln::new();
    let old = kiln.context("old", &[("Dockerfile", OLD)]);
    kiln.build("t:1", &old).ok();
    let new = kiln.context("new", &[("Dockerfile", NEW)]);
    kiln.build("t:1", &new).ok();
    (kiln, new)
}

fn ls(kiln: &Kiln) -> String {
    kiln.cmd(&["cache", "ls"]).ok().stdout
}

/// The record ids `kiln cache ls` lists (ages change from one second to the next).
fn ids(kiln: &Kiln) -> Vec<String> {
    ls(kiln)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn assert_all_cached(rebuild: &Run, cached: bool) {
    for step in ["[2/3]", "[3/3]"] {
        let status = rebuild.status_of(step);
        assert_eq!(
            status == "CACHED",
            cached,
            "{step} is {status}:\n{}",
            rebuild.stderr
        );
    }
}

#[test]
fn prune_removes_dangling_records_and_keeps_the_tagged_image_cached() {
    let (kiln, new) = rebuilt();
    let before = ls(&kiln);
    assert!(before.contains("RUN echo old > /old"), "{before}");

    let out = kiln.cmd(&["cache", "prune"]).ok().stdout;
    assert!(out.starts_with("Deleted build cache objects:\n"), "{out}");
    assert!(out.contains("RUN echo old > /old\n"), "{out}");
    assert!(out.contains("RUN echo old2 > /old2\n"), "{out}");
    assert!(
        !out.contains("new"),
        "records of the tagged image stay:\n{out}"
    );
    let total = out.lines().last().unwrap();
    assert!(total.starts_with("Total reclaimed space: "), "{out}");
    assert_ne!(total, "Total reclaimed space: 0B", "{out}");

    let after = ls(&kiln);
    assert!(!after.contains("old"), "{after}");
    assert!(
        after.contains("WORKDIR /app") && after.contains("RUN echo new"),
        "{after}"
    );
    assert_eq!(kiln.run_out("t:1", &["cat", "/app/new"]), "new\n");
    assert_all_cached(&kiln.build("t:1", &new).ok(), true);

    // Nothing dangling is left: a second prune removes no record.
    let again = kiln.cmd(&["cache", "prune", "-f"]).ok().stdout;
    assert!(again.starts_with("Total reclaimed space: "), "{again}");
}

#[test]
fn prune_all_keeps_images_runnable_and_reruns_their_steps() {
    let (kiln, new) = rebuilt();
    let out = kiln.cmd(&["cache", "prune", "--all", "-f"]).ok().stdout;
    assert!(out.contains("RUN echo new > /app/new"), "{out}");
    assert_eq!(ls(&kiln).lines().count(), 1, "only the header is left");
    assert_eq!(kiln.run_out("t:1", &["cat", "/app/new"]), "new\n");
    assert_eq!(kiln.run_out("busybox:local", &["echo", "ok"]), "ok\n");
    assert_all_cached(&kiln.build("t:1", &new).ok(), false);
    assert_eq!(kiln.run_out("t:1", &["cat", "/app/new"]), "new\n");
}

#[test]
fn prune_filters_by_age_and_refuses_bad_flags() {
    let (kiln, _new) = rebuilt();
    let before = ids(&kiln);
    let out = kiln
        .cmd(&["cache", "prune", "--filter", "until=24h"])
        .ok()
        .stdout;
    assert!(!out.contains("Deleted"), "every record is recent:\n{out}");
    assert_eq!(ids(&kiln), before);
    let out = kiln
        .cmd(&["cache", "prune", "--all", "--keep-storage", "1GB"])
        .ok()
        .stdout;
    assert!(
        !out.contains("Deleted"),
        "the cache is far below 1GB:\n{out}"
    );

    let bad = kiln.cmd(&["cache", "prune", "--filter", "label=x"]);
    assert_eq!(bad.code, 1, "a bad flag value is a user error");
    assert!(
        bad.stderr.contains("unsupported filter `label=x`"),
        "{}",
        bad.stderr
    );
    let bad = kiln.cmd(&["cache", "prune", "--keep-storage", "10XB"]);
    assert_eq!(bad.code, 1, "a bad flag value is a user error");
    assert!(bad.stderr.contains("invalid size `10XB`"), "{}", bad.stderr);
}

#[test]
fn du_lists_records_and_totals() {
    let (kiln, _new) = rebuilt();
    let du = kiln.cmd(&["cache", "du"]).ok().stdout;
    let lines: Vec<&str> = du.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("RECLAIMABLE"),
        "{du}"
    );
    assert!(
        lines[0].contains("SIZE") && lines[0].contains("LAST ACCESSED"),
        "{du}"
    );
    let rows = &lines[1..lines.len() - 4];
    assert_eq!(rows.len(), 4, "two records of each image:\n{du}");
    assert_eq!(
        rows.iter().filter(|r| r.contains(" true ")).count(),
        2,
        "{du}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.contains(" false ")).count(),
        2,
        "{du}"
    );
    let totals: Vec<&str> = lines[lines.len() - 4..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(totals, ["Shared:", "Private:", "Reclaimable:", "Total:"]);
    assert!(!du.contains("Reclaimable:  0B"), "{du}");

    kiln.cmd(&["cache", "prune"]).ok();
    let du = kiln.cmd(&["cache", "du"]).ok().stdout;
    assert!(!du.contains(" true "), "{du}");
    assert!(du.contains("Private:      0B\nReclaimable:  0B\n"), "{du}");
}

#[test]
fn prune_waits_for_builds_and_reclaims_a_killed_one() {
    let kiln = Kiln::new();
    // `sleep 45`, not 60: store.rs checks that no `sleep 60` outlives its build.
    let dir = kiln.context(
        "slow",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN head -c 100000 /dev/zero > /big && touch /started && sleep 45\n",
        )],
    );
    let (mut child, active) = kiln.start_build_until("slow:1", &dir, "started");

    // The build holds the state root: prune says why it waits, then gives up.
    let locked = kiln.cmd_env(&["cache", "prune"], &[("KILN_LOCK_TIMEOUT", "1")]);
    assert_eq!(locked.code, 1, "{locked:?}");
    assert!(
        locked.stderr.contains("Waiting for the lock"),
        "{}",
        locked.stderr
    );
    assert!(
        locked.stderr.contains("locked by another kiln process"),
        "{}",
        locked.stderr
    );
    assert!(active.is_dir());

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let out = kiln.cmd(&["cache", "prune"]).ok().stdout;
    assert!(!active.exists(), "the killed build's snapshot is reclaimed");
    let total = out.lines().last().unwrap();
    assert!(total.starts_with("Total reclaimed space: 1"), "{out}");
    assert!(total.ends_with("kB"), "at least the 100kB file:\n{out}");
    assert!(
        std::fs::read_dir(kiln.root.path().join("tmp-v1"))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(kiln.run_out("busybox:local", &["echo", "ok"]), "ok\n");
}
