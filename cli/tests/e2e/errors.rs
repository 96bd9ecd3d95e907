//! Bad input gets a clear error and exit code 1, never a panic, and leaves no cache.

use crate::harness::Kiln;

fn build_file(kiln: &Kiln, dockerfile: &str) -> crate::harness::Run {
    let dir = kiln.context("bad", &[("Dockerfile", dockerfile)]);
    kiln.build("bad:1", &dir)
}

#[test]
fn unknown_flag_names_file_line_column_and_shows_the_line() {
    let kiln = Kiln::new();
    let run = build_file(&kiln, "FROM busybox:local\nCOPY --bogus=1 a b\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("× unknown flag: --bogus"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Dockerfile:2:6]"), "{}", run.stderr);
    assert!(
        run.stderr.contains(" 2 │ COPY --bogus=1 a b"),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_from_is_an_error_at_the_first_instruction() {
    let kiln = Kiln::new();
    let run = build_file(&kiln, "# comment\nRUN true\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("Dockerfile:2:1]"), "{}", run.stderr);
    assert!(run.stderr.contains(" 2 │ RUN true"), "{}", run.stderr);
}

#[test]
fn failing_run_reports_step_command_code_and_output_and_caches_nothing() {
    let kiln = Kiln::new();
    let run = build_file(
        &kiln,
        "FROM busybox:local\nRUN echo ok > /ok\nRUN echo first line && echo the reason >&2 && exit 3\n",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    for needle in [
        "[3/3] RUN echo first line",
        "exit code: 3",
        "/bin/sh -c echo first line",
        "the reason",
        "Dockerfile:3:1",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?}:\n{}",
            run.stderr
        );
    }
    let ls = kiln.cmd(&["cache", "ls"]).ok().stdout;
    assert!(ls.contains("RUN echo ok"), "{ls}");
    assert!(
        !ls.contains("the reason"),
        "the failed step must not be cached:\n{ls}"
    );
    // The failed step's snapshot is gone: only committed ones remain on disk.
    let snapshots = std::fs::read_dir(kiln.root.path().join("snapshots-v1"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(snapshots, 2, "busybox + the first RUN");
}

#[test]
fn missing_base_image_and_missing_source_are_user_errors() {
    let kiln = Kiln::new();
    let run = build_file(&kiln, "FROM nothere:1\nRUN true\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("nothere:1")
            && run
                .stderr
                .contains("not in the store, and pulling it failed"),
        "{}",
        run.stderr
    );
    let run = build_file(&kiln, "FROM busybox:local\nCOPY missing.txt /\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("missing.txt") && run.stderr.contains("not found"),
        "{}",
        run.stderr
    );
    let run = build_file(&kiln, "FROM busybox:local\nCOPY ../outside /\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("COPY ../outside /: build context")
            && run.stderr.contains("outside the build context")
            && run.stderr.contains("Dockerfile:2:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_source_left_out_by_dockerignore_is_not_found_naming_the_pattern_and_the_line() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "ignored",
        &[
            ("Dockerfile", "FROM busybox:local\nCOPY app.log /\n"),
            (".dockerignore", "# logs\n*.log\n"),
            ("app.log", "x"),
        ],
    );
    let run = kiln.build("ignored:1", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("COPY app.log /: build context `")
            && run
                .stderr
                .contains("\"app.log\": not found (excluded by `*.log` in .dockerignore)")
            && run.stderr.contains("Dockerfile:2:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_fifo_named_as_a_source_is_refused_naming_it_and_the_line() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "fifo",
        &[("Dockerfile", "FROM busybox:local\nRUN true\nCOPY pipe /\n")],
    );
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let run = kiln.build("fifo:1", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("\"pipe\" is a named pipe (fifo), which a build context cannot hold")
            && run.stderr.contains("Dockerfile:3:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn unsupported_progress_mode_is_refused() {
    let kiln = Kiln::new();
    let dir = kiln.context("p", &[("Dockerfile", "FROM busybox:local\n")]);
    let run = kiln.cmd(&["build", "--progress", "tty", &dir.display().to_string()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not supported yet"), "{}", run.stderr);
}
