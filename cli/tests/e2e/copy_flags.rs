//! COPY and ADD flags as BuildKit builds them: `--link` (a layer of its own, rebased onto
//! a changed base without rerunning), `--parents`, `--exclude` and symbolic `--chmod`,
//! and their errors.

use crate::harness::Kiln;

/// The base stage writes the build argument `V`, so `--build-arg V=…` changes the base.
const LINKED: &str = "FROM busybox:local AS base\n\
ARG V=1\n\
RUN echo $V > /base && mkdir -m 700 /opt && mkdir /target && ln -s /target /lnk\n\
FROM base\n\
COPY --link a.txt /lnk/a.txt\n\
COPY --link a.txt /opt/x/a.txt\n\
COPY a.txt /plain/a.txt\n";

fn layers(kiln: &Kiln, image: &str) -> Vec<String> {
    let out = kiln.cmd(&["inspect", image]).ok().stdout;
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    all[0]["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// A changed base reruns the plain COPY but not the `--link` ones: their layers are
/// reused as they are (same diff ids) on top of the new base.
#[test]
fn copy_link_stays_cached_when_the_base_changes() {
    let kiln = Kiln::new();
    let dir = kiln.context("link", &[("Dockerfile", LINKED), ("a.txt", "a\n")]);
    let ctx = dir.display().to_string();
    kiln.build("l:1", &dir).ok();
    let before = layers(&kiln, "l:1");
    assert_eq!(before.len(), 5, "busybox, RUN, two links, COPY: {before:?}");
    let build = |v: &str| {
        let arg = format!("V={v}");
        let args = [
            "build",
            "--progress",
            "plain",
            "--build-arg",
            &arg,
            "-t",
            "l:2",
            &ctx,
        ];
        kiln.cmd(&args).ok()
    };
    let rebuild = build("2");
    for step in [
        "] COPY --link a.txt /lnk/a.txt",
        "] COPY --link a.txt /opt/x/a.txt",
    ] {
        assert_eq!(
            rebuild.status_of(step),
            "CACHED",
            "{step}:\n{}",
            rebuild.stderr
        );
    }
    for step in ["] LINK COPY --link a.txt /lnk", "] COPY a.txt /plain/a.txt"] {
        assert!(
            rebuild.status_of(step).starts_with("DONE"),
            "{step}:\n{}",
            rebuild.stderr
        );
    }
    let after = layers(&kiln, "l:2");
    assert_ne!(after[1], before[1], "the base changed");
    assert_eq!(
        after[2..4],
        before[2..4],
        "the link layers are the same layers"
    );
    assert_eq!(
        kiln.run_out("l:2", &["cat", "/base", "/opt/x/a.txt"]),
        "2\na\n"
    );
    // Back to the first base: every step, merges included, is a cache hit.
    let again = build("1");
    for step in ["] LINK COPY --link a.txt /opt", "] COPY a.txt /plain/a.txt"] {
        assert_eq!(
            again.status_of(step),
            "CACHED",
            "{step}:
{}",
            again.stderr
        );
    }
}

/// A `--link` copy never reads the base: a symlink on the destination path is not
/// followed (the link layer's folder replaces it), and the folders the layer creates
/// are 0755 root over the base's.
#[test]
fn copy_link_does_not_consult_the_base() {
    let kiln = Kiln::new();
    let dir = kiln.context("link", &[("Dockerfile", LINKED), ("a.txt", "a\n")]);
    kiln.build("l:1", &dir).ok();
    let script = "test -d /lnk && ! test -L /lnk && cat /lnk/a.txt && ls -A /target \
                  && stat -c '%a %u' /opt /plain";
    assert_eq!(
        kiln.run_out("l:1", &["sh", "-c", script]),
        "a\n755 0\n755 0\n"
    );
}

/// `--parents` keeps each source's path (below a `/./` pivot) under the destination;
/// `--exclude` leaves out what its patterns match below each source; symbolic
/// `--chmod` changes each entry's own mode; `--link` with `--from` works too.
#[test]
fn parents_exclude_and_symbolic_chmod() {
    let kiln = Kiln::new();
    let dockerfile = "FROM busybox:local AS src\n\
RUN mkdir -p /s/a/b && echo f > /s/a/b/f.txt && echo g > /s/a/b/g.log\n\
FROM busybox:local\n\
COPY --parents x/./y/*.txt /p/\n\
COPY --from=src --parents /s/./a/b/f.txt /q/\n\
COPY --exclude=*.log --exclude=skip d /d/\n\
COPY --link --from=src --exclude=**/*.log /s /l/\n\
COPY --chmod=go-r,u+x d/keep.txt /m\n";
    let dir = kiln.context(
        "flags",
        &[
            ("Dockerfile", dockerfile),
            ("x/y/z.txt", "z\n"),
            ("x/y/w.md", "w\n"),
            ("d/keep.txt", "k\n"),
            ("d/drop.log", "l\n"),
            ("d/skip/s", "s\n"),
            ("d/sub/deep.log", "l\n"),
        ],
    );
    kiln.build("f:1", &dir).ok();
    let script = "cd / && find p q d l -type f | sort && stat -c %a m";
    assert_eq!(
        kiln.run_out("f:1", &["sh", "-c", script]),
        "d/keep.txt\nd/sub/deep.log\nl/a/b/f.txt\np/y/z.txt\nq/a/b/f.txt\n700\n"
    );
    // An excluded file changing does not rerun the step.
    std::fs::write(dir.join("d/drop.log"), "changed\n").unwrap();
    let rebuild = kiln.build("f:1", &dir).ok();
    assert_eq!(
        rebuild.status_of("COPY --exclude"),
        "CACHED",
        "{}",
        rebuild.stderr
    );
}

/// Flag errors name the instruction and its line, in `kiln build` and `kiln check`;
/// `kiln check` accepts the flags themselves.
#[test]
fn copy_flag_errors_name_the_instruction() {
    let kiln = Kiln::new();
    for (line, message) in [
        (
            "COPY --chmod=u+q a /a",
            "invalid chmod parameter: 'u+q': invalid syntax",
        ),
        (
            "COPY --chmod=8 a /a",
            "invalid chmod parameter: '8'. it should be octal string and between 0 and 07777",
        ),
        (
            "COPY --exclude=! a /a",
            "--exclude: Illegal exclusion pattern",
        ),
        ("ADD --parents a /a", "unknown flag: --parents"),
        ("COPY --parents nope/./x /a/", "\"nope\": not found"),
        ("COPY --parents a/./*.none /a/", "\"a/./*.none\": not found"),
    ] {
        let dockerfile = format!("FROM busybox:local\nRUN true\n{line}\n");
        let dir = kiln.context("bad", &[("Dockerfile", &dockerfile), ("a", "a")]);
        let run = kiln.build("bad:1", &dir);
        assert_eq!(run.code, 1, "{line}: {}", run.stderr);
        for needle in [message, "Dockerfile:3"] {
            assert!(
                run.stderr.contains(needle),
                "{line}: no {needle:?} in:\n{}",
                run.stderr
            );
        }
    }
    let dockerfile = "FROM busybox:local AS a\nFROM busybox:local\n\
COPY --link --parents --exclude=*.log --chmod=a+rX --from=a /etc/./passwd /x/\n\
ADD --link --exclude=x --chmod=644 f /y/\n";
    let dir = kiln.context("good", &[("Dockerfile", dockerfile)]);
    let run = kiln.cmd(&["check", &dir.display().to_string()]).ok();
    assert!(run.stderr.contains("no problems found"), "{}", run.stderr);
}
