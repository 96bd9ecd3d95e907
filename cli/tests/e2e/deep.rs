//! Deep trees: a RUN that makes, and a context that holds, 10,000 nested directories build,
//! export and run.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use crate::harness::Kiln;

/// Levels of the deep trees.
const DEEP: usize = 10_000;

/// A shell snippet that enters the 10,000-deep chain `d/d/…` below the current directory, 1,000
/// levels per `cd` (a relative path of 2,000 bytes is within `PATH_MAX`; `-P` keeps busybox from
/// building the absolute path, which is not). `mkdir -p` first when `make`.
fn enter_chain(make: bool) -> String {
    let chunk = vec!["d"; 1000].join("/");
    let mkdir = if make {
        format!("mkdir -p {chunk} && ")
    } else {
        String::new()
    };
    format!(
        "n=0; while [ $n -lt {} ]; do {mkdir}cd -P {chunk} || exit 1; n=$((n+1)); done",
        DEEP / 1000
    )
}

/// The content of `f` at the bottom of the chain below `/dir` in the image.
fn read_deep(kiln: &Kiln, image: &str, dir: &str) -> String {
    let script = format!("cd {dir} && {} && cat f", enter_chain(false));
    kiln.run_out(image, &["sh", "-c", &script])
}

#[test]
fn deep_tree_run_builds_and_runs() {
    let kiln = Kiln::in_memory();
    let run = format!(
        "mkdir /deep && cd /deep && {} && echo deep > f",
        enter_chain(true)
    );
    let dir = kiln.context(
        "deep-run",
        &[("Dockerfile", &format!("FROM busybox:local\nRUN {run}\n"))],
    );
    kiln.build("deep:run", &dir).ok();
    assert_eq!(read_deep(&kiln, "deep:run", "/deep"), "deep\n");
    kiln.remove_deep();
}

#[test]
fn deep_context_copy_builds_and_runs() {
    let kiln = Kiln::in_memory();
    let dir = kiln.context(
        "deep-copy",
        &[("Dockerfile", "FROM busybox:local\nCOPY . /ctx/\n")],
    );
    let mut level: OwnedFd =
        rustix::fs::open(&dir, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
    for _ in 0..DEEP {
        rustix::fs::mkdirat(&level, "d", Mode::from_raw_mode(0o755)).unwrap();
        level = rustix::fs::openat(level.as_fd(), "d", OFlags::RDONLY, Mode::empty()).unwrap();
    }
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC;
    let leaf = rustix::fs::openat(&level, "f", flags, Mode::from_raw_mode(0o644)).unwrap();
    rustix::io::write(&leaf, b"leaf\n").unwrap();
    kiln.build("deep:copy", &dir).ok();
    assert_eq!(read_deep(&kiln, "deep:copy", "/ctx"), "leaf\n");
    kiln.remove_deep();
}
