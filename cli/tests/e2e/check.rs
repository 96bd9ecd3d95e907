//! `kiln check`, `kiln build --check` and `kiln debug parse`: the front end alone.

use crate::harness::Kiln;

#[test]
fn check_reports_every_error_with_location_and_exits_1() {
    let kiln = Kiln::empty();
    let dir = kiln.context(
        "chk",
        &[(
            "Dockerfile",
            "FROM busybox\nCOPPY a b\nRUN --bogus true\nEXPOSE 80/xyz\n",
        )],
    );
    let run = kiln.cmd(&["check", &dir.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for needle in [
        "unknown instruction: COPPY",
        "did you mean COPY?",
        "Dockerfile:2:1]",
        "Dockerfile:3:5]",
        "Dockerfile:4:",
        "Check failed: 3 errors",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?}:\n{}",
            run.stderr
        );
    }
    // Nothing was built: the state root was never created.
    assert!(!kiln.root.path().join("index-v1.db").exists());
}

#[test]
fn build_check_prints_warnings_and_succeeds() {
    let kiln = Kiln::empty();
    let dir = kiln.context(
        "warn",
        &[(
            "Dockerfile",
            "FROM busybox\nMAINTAINER someone\nENV A 1\nRUN true \\\n\n  && true\n",
        )],
    );
    let run = kiln.cmd(&["build", "--check", &dir.display().to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("MAINTAINER"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Check complete, 3 warnings found"),
        "{}",
        run.stderr
    );
    assert!(!kiln.root.path().join("index-v1.db").exists());
}

#[test]
fn debug_parse_prints_buildkit_dump() {
    let kiln = Kiln::empty();
    let dir = kiln.context(
        "dump",
        &[(
            "Dockerfile",
            "FROM busybox AS base\nCOPY --chown=1:1 a b /c/\nCMD [\"sh\", \"-c\", \"x\"]\n",
        )],
    );
    let run = kiln
        .cmd(&[
            "debug",
            "parse",
            &dir.join("Dockerfile").display().to_string(),
        ])
        .ok();
    assert_eq!(
        run.stdout,
        "(from \"busybox\" \"AS\" \"base\")\n(copy [\"--chown=1:1\"] \"a\" \"b\" \"/c/\")\n(cmd \"sh\" \"-c\" \"x\")\n"
    );
}

#[test]
fn unbounded_input_endless_dockerfile_is_refused() {
    let kiln = Kiln::empty();
    let dir = kiln.context("ctx", &[("a", "")]);
    let context = dir.display().to_string();
    for command in ["build", "check"] {
        let run = kiln.cmd(&[command, "-f", "/dev/zero", &context]);
        assert_eq!(run.code, 1, "{command}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("Dockerfile `/dev/zero` is too large (max 16 MiB)"),
            "{command}: {}",
            run.stderr
        );
    }
}

#[test]
fn unbounded_input_endless_fifo_is_refused() {
    let kiln = Kiln::empty();
    let fifo = kiln.work.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            // Writes until kiln closes its end.
            while pipe.write_all(&[b'#'; 65536]).is_ok() {}
        })
    };
    let run = kiln.cmd(&["check", "-f", &fifo.display().to_string()]);
    writer.join().unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("is too large"), "{}", run.stderr);
}

#[test]
fn unbounded_input_garbage_stops_after_100_errors() {
    let kiln = Kiln::empty();
    let garbage = "FROM scratch\n".to_string() + &"RUNX foo\nCOPY --bogus=1 a b\n".repeat(5_000);
    let dir = kiln.context("garbage", &[("Dockerfile", &garbage)]);
    let run = kiln.cmd(&["check", &dir.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let shown = run.stderr.matches("unknown instruction: RUNX").count()
        + run.stderr.matches("unknown flag: --bogus").count();
    assert_eq!(shown, 100, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("too many errors, stopping after the first 100"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("Check failed: more than 100 errors and 0 warnings found\n"),
        "{}",
        run.stderr
    );
}

/// `kiln check` refuses what `kiln build` would, with the location, without pulling a
/// base image (a missing one is no error) and without creating the state root.
#[test]
fn check_reports_what_the_build_would_refuse() {
    let kiln = Kiln::empty();
    for (dockerfile, message, at) in [
        (
            "# syntax=example.com/frontend:1\nFROM scratch\n",
            "names a frontend image",
            "Dockerfile:1:1]",
        ),
        (
            "FROM nosuch.example/image:1\nRUN echo hi\nRUN --security=insecure true\n",
            "RUN --security is not supported yet",
            "Dockerfile:3:1]",
        ),
        (
            "FROM scratch AS base\nONBUILD RUN --network=host x\nFROM base\n",
            "ONBUILD trigger of stage `base`, run by the FROM on line 3: `RUN --network=host` \
             needs the `network.host` entitlement",
            "Dockerfile:2:9]",
        ),
    ] {
        let dir = kiln.context("refused", &[("Dockerfile", dockerfile)]);
        let run = kiln.cmd(&["check", &dir.display().to_string()]);
        assert_eq!(run.code, 1, "{dockerfile}: {}", run.stderr);
        for needle in [message, at, "Check failed: 1 error and 0 warnings found"] {
            assert!(
                run.stderr.contains(needle),
                "missing {needle:?}:\n{}",
                run.stderr
            );
        }
    }
    let dir = kiln.context(
        "fine",
        &[("Dockerfile", "FROM nosuch.example/image:1\nRUN echo hi\n")],
    );
    let run = kiln.cmd(&["check", &dir.display().to_string()]).ok();
    assert!(run.stderr.contains("no problems found"), "{}", run.stderr);
    assert!(!kiln.root.path().join("CACHEDIR.TAG").exists());
}

/// `kiln build --check` lowers with the build's arguments and target.
#[test]
fn build_check_lowers_with_build_args_and_target() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "args",
        &[(
            "Dockerfile",
            "FROM busybox:local AS ok\nARG PORT=80\nEXPOSE $PORT\nFROM ok\nRUN --security=insecure true\n",
        )],
    );
    let path = dir.display().to_string();
    let check = |args: &[&str]| {
        let mut all = vec!["build", "--check"];
        all.extend(args);
        all.push(&path);
        kiln.cmd(&all)
    };
    let run = check(&["--target", "ok"]).ok();
    assert!(run.stderr.contains("no problems found"), "{}", run.stderr);
    let run = check(&["--target", "ok", "--build-arg", "PORT=80/xyz"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("Dockerfile:3:1]"), "{}", run.stderr);
    let run = check(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("RUN --security is not supported yet"),
        "{}",
        run.stderr
    );
}
