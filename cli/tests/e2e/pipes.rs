//! Issue 6, item 6: a closed stdout ends a command quietly (exit 0, as a reader that
//! stopped early wants), a full one is an error, and a closed stderr never aborts a
//! build or changes its exit code.

use crate::harness::{Kiln, Run, closed_pipe, full_device};

#[track_caller]
fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && run.code != 101,
        "kiln panicked (exit {}):\n{}",
        run.code,
        run.stderr
    );
}

#[test]
fn broken_pipe_images_exits_quietly() {
    let kiln = Kiln::empty();
    let run = kiln.cmd_stdio(&["images"], Some(closed_pipe()), None);
    assert_no_panic(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "");
}

#[test]
fn broken_pipe_cache_ls_and_du_exit_quietly() {
    let kiln = Kiln::empty();
    for command in [&["cache", "ls"], &["cache", "du"]] {
        let run = kiln.cmd_stdio(command, Some(closed_pipe()), None);
        assert_no_panic(&run);
        assert_eq!(run.code, 0, "{command:?}: {}", run.stderr);
    }
}

#[test]
fn broken_pipe_debug_parse_exits_quietly() {
    let kiln = Kiln::empty();
    let dir = kiln.context("dump", &[("Dockerfile", "FROM scratch\nCOPY a b\n")]);
    let file = dir.join("Dockerfile").display().to_string();
    let run = kiln.cmd_stdio(&["debug", "parse", &file], Some(closed_pipe()), None);
    assert_no_panic(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn broken_pipe_full_stdout_is_an_error() {
    let kiln = Kiln::empty();
    let run = kiln.cmd_stdio(&["images"], Some(full_device()), None);
    assert_no_panic(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot write to stdout: No space left on device"),
        "{}",
        run.stderr
    );
}

#[test]
fn broken_pipe_stderr_does_not_abort_a_build() {
    let kiln = Kiln::empty();
    let dir = kiln.context(
        "quiet",
        &[
            ("Dockerfile", "FROM scratch\nCOPY a /a\nCOPY a /b\n"),
            ("a", "x"),
        ],
    );
    let context = dir.display().to_string();
    let args = ["build", "--progress", "plain", "-t", "quiet:1", &context];
    // As `kiln build … 2>&1 | head -3` once head has exited.
    let run = kiln.cmd_stdio(&args, Some(closed_pipe()), Some(closed_pipe()));
    assert_eq!(run.code, 0, "the build was aborted");
    assert!(kiln.cmd(&["images"]).ok().stdout.contains("quiet"));
}

#[test]
fn broken_pipe_stderr_keeps_the_exit_code_of_an_error() {
    let kiln = Kiln::empty();
    let dir = kiln.context("bad", &[("Dockerfile", "FROM scratch\nCOPPY a b\n")]);
    let run = kiln.cmd_stdio(
        &["check", &dir.display().to_string()],
        None,
        Some(closed_pipe()),
    );
    assert_eq!(run.code, 1);
}
