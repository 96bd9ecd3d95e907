//! Building: the hello example, Dockerfile features, build flags.

use crate::harness::{Kiln, testdata};

#[test]
fn hello_example_builds_and_runs() {
    let kiln = Kiln::new();
    let build = kiln.build("hello:1", &testdata().join("hello")).ok();
    for step in [
        "[1/4] FROM docker.io/library/busybox:local",
        "[2/4] WORKDIR /app",
        "[3/4] COPY greet.sh .",
        "[4/4] RUN chmod",
    ] {
        assert!(
            build.stderr.contains(step),
            "missing {step}:\n{}",
            build.stderr
        );
    }
    assert!(
        build
            .stderr
            .contains("naming to docker.io/library/hello:1 done")
    );
    let run = kiln.cmd(&["run", "--rm", "hello:1"]).ok();
    assert_eq!(run.stdout, "hello from kiln (built)\n");
}

/// Recorded from BuildKit's plain progress: FROM is a step only for an image, and
/// `WORKDIR /` counts in the total but makes no step.
#[test]
fn step_numbers_count_like_buildkits() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "steps",
        &[
            (
                "Dockerfile",
                "FROM busybox:local AS one\n\
                 RUN echo one > /one\n\
                 FROM one AS two\n\
                 RUN echo two > /two\n\
                 WORKDIR /\n\
                 RUN echo x\n\
                 FROM scratch\n\
                 COPY a.txt /\n\
                 COPY --from=two /two /two\n",
            ),
            ("a.txt", "a"),
        ],
    );
    let build = kiln.build("steps:1", &dir).ok();
    for step in [
        "[one 1/2] FROM docker.io/library/busybox:local",
        "[one 2/2] RUN echo one > /one",
        "[two 1/3] RUN echo two > /two",
        "[two 2/3] RUN echo x",
        "[stage-2 1/2] COPY a.txt /",
        "[stage-2 2/2] COPY --from=two /two /two",
    ] {
        assert!(
            build.stderr.contains(step),
            "missing {step}:\n{}",
            build.stderr
        );
    }
}

#[test]
fn config_instructions_reach_the_image() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "cfg",
        &[(
            "Dockerfile",
            "FROM busybox:local\n\
             ARG NAME=world\n\
             ENV A=1 B=\"two words\"\n\
             ENV C=${A}-$NAME\n\
             WORKDIR /srv\n\
             WORKDIR sub\n\
             USER nobody\n\
             LABEL org.example.k=v\n\
             EXPOSE 8080 53/udp\n\
             ENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
             CMD [\"echo $A $B $C $(pwd) $(id -u)\"]\n",
        )],
    );
    kiln.build("cfg:1", &dir).ok();
    assert_eq!(
        kiln.run_out("cfg:1", &[]),
        "1 two words 1-world /srv/sub 65534\n"
    );
    // ARG values are not persisted in the image.
    assert_eq!(kiln.run_out("cfg:1", &["echo \"[$NAME]\""]), "[]\n");
}

#[test]
fn build_args_file_flag_and_several_tags() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "args",
        &[(
            "build.Dockerfile",
            "FROM busybox:local\nARG WHO=default\nRUN echo \"$WHO\" > /who\n",
        )],
    );
    let file = dir.join("build.Dockerfile").display().to_string();
    let ctx = dir.display().to_string();
    kiln.cmd(&[
        "build",
        "-f",
        &file,
        "--build-arg",
        "WHO=you",
        "-t",
        "a:1",
        "-t",
        "b:2",
        &ctx,
    ])
    .ok();
    assert_eq!(kiln.run_out("a:1", &["cat", "/who"]), "you\n");
    assert_eq!(kiln.image_id("a:1"), kiln.image_id("b:2"));
    let unused = kiln
        .cmd(&[
            "build",
            "-f",
            &file,
            "--build-arg",
            "NOPE=1",
            "-t",
            "c:1",
            &ctx,
        ])
        .ok();
    assert!(
        unused.stderr.contains("were not consumed: [NOPE]"),
        "{}",
        unused.stderr
    );
}

#[test]
fn run_steps_see_env_user_and_workdir() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "user",
        &[(
            "Dockerfile",
            "FROM busybox:local\nENV V=x\nWORKDIR /data\nRUN echo \"$V $(pwd)\" > /data/out\nUSER nobody\nRUN id -u > /tmp/uid\n",
        )],
    );
    kiln.build("user:1", &dir).ok();
    assert_eq!(
        kiln.run_out("user:1", &["cat", "/data/out", "/tmp/uid"]),
        "x /data\n65534\n"
    );
}

#[test]
fn build_network_none_has_only_loopback() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "net",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN grep -c : /proc/net/dev > /ifaces\n",
        )],
    );
    let ctx = dir.display().to_string();
    kiln.cmd(&["build", "--network", "none", "-t", "net:1", &ctx])
        .ok();
    assert_eq!(kiln.run_out("net:1", &["cat", "/ifaces"]), "1\n");
}

#[test]
fn copy_wildcards_and_directories() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "copy",
        &[
            ("Dockerfile", "FROM busybox:local\nCOPY *.txt /txt/\nCOPY tree /tree\nCOPY --chmod=600 a.txt /secret\n"),
            ("a.txt", "a"),
            ("b.txt", "b"),
            ("c.md", "c"),
            ("tree/x/y", "y"),
        ],
    );
    kiln.build("copy:1", &dir).ok();
    let out = kiln.run_out(
        "copy:1",
        &[
            "sh",
            "-c",
            "ls /txt; cat /tree/x/y; echo; stat -c %a /secret",
        ],
    );
    assert_eq!(out, "a.txt\nb.txt\ny\n600\n");
}

#[test]
fn dockerignore_leaves_files_out_of_copy_and_cache_keys() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "ign",
        &[
            (
                "Dockerfile",
                "FROM busybox:local\nCOPY . /ctx\nRUN find /ctx | sort > /list\n",
            ),
            (".dockerignore", "*.secret\nlogs\n!logs/keep.log\n"),
            ("app.txt", "app"),
            ("db.secret", "s"),
            ("logs/x.log", "x"),
            ("logs/keep.log", "k"),
        ],
    );
    kiln.build("ign:1", &dir).ok();
    let list = kiln.run_out("ign:1", &["cat", "/list"]);
    assert_eq!(
        list,
        "/ctx\n/ctx/.dockerignore\n/ctx/Dockerfile\n/ctx/app.txt\n/ctx/logs\n/ctx/logs/keep.log\n"
    );
    // Ignored files do not change the COPY's cache key.
    std::fs::write(dir.join("db.secret"), "changed").unwrap();
    std::fs::write(dir.join("logs/x.log"), "changed").unwrap();
    let again = kiln.build("ign:1", &dir).ok();
    assert_eq!(again.status_of("[2/3]"), "CACHED", "{}", again.stderr);
}

#[test]
fn stages_the_target_does_not_need_never_run() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "stages",
        &[(
            "Dockerfile",
            "FROM busybox:local AS broken\nRUN exit 1\n\
             FROM busybox:local AS base\nRUN echo base > /base\n\
             FROM base\nRUN cat /base > /final\n",
        )],
    );
    let build = kiln.build("st:1", &dir).ok();
    assert!(!build.stderr.contains("exit 1"), "{}", build.stderr);
    assert!(
        build.stderr.contains("[base 2/2] RUN echo base"),
        "{}",
        build.stderr
    );
    assert_eq!(kiln.run_out("st:1", &["cat", "/final"]), "base\n");
}

#[test]
fn copy_from_stages_and_images() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "multi",
        &[(
            "Dockerfile",
            "FROM busybox:local AS build\n\
             RUN mkdir -p /out && echo A > /out/a.txt && echo C > /out/c.txt && echo L > /out/x.log\n\
             FROM busybox:local AS other\n\
             RUN echo other > /o\n\
             FROM busybox:local\n\
             COPY --from=build /out/*.txt /res/\n\
             COPY --from=1 /o /res/o\n\
             COPY --from=busybox:local /etc/group /res/group\n\
             RUN ls /res > /list\n",
        )],
    );
    let build = kiln.build("multi:1", &dir).ok();
    assert!(
        build.stderr.contains("[build 2/2] RUN mkdir"),
        "{}",
        build.stderr
    );
    assert_eq!(
        kiln.run_out("multi:1", &["cat", "/list"]),
        "a.txt\nc.txt\ngroup\no\n"
    );
    assert_eq!(
        kiln.run_out("multi:1", &["cat", "/res/a.txt", "/res/o"]),
        "A\nother\n"
    );
    let again = kiln.build("multi:1", &dir).ok();
    assert!(
        !again.stderr.contains("DONE"),
        "a rebuild runs nothing:\n{}",
        again.stderr
    );
}

#[test]
fn copy_from_resolves_symlinks_inside_the_source_stage() {
    let kiln = Kiln::new();
    let marker = std::env::temp_dir().join(format!("kiln-from-marker-{}", std::process::id()));
    std::fs::write(&marker, "host secret").unwrap();
    let dockerfile = format!(
        "FROM busybox:local AS evil\nRUN mkdir /out && ln -s / /out/escape\n\
         FROM busybox:local\nCOPY --from=evil /out/escape{m} /stolen\n",
        m = marker.display()
    );
    let dir = kiln.context("evil", &[("Dockerfile", &dockerfile)]);
    let run = kiln.build("evil:1", &dir);
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(
        run.code, 1,
        "the host file must not be reachable:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
}

#[test]
fn independent_stages_run_at_the_same_time() {
    // The two stages meet over loopback: the listener only gets the message if the
    // sender runs while it listens. Run one after the other, the listener times out.
    // (The FIFO keeps the listener's stdin open: busybox nc hangs up on stdin EOF.)
    let kiln = Kiln::new();
    let port = 20000 + std::process::id() % 20000;
    let dockerfile = format!(
        "FROM busybox:local AS listen\n\
         RUN mkfifo /in && (timeout 20 nc -l -p {port} < /in > /got &) && exec 3>/in && \
             for i in $(seq 200); do test -s /got && break; sleep 0.1; done && test -s /got\n\
         FROM busybox:local AS send\n\
         RUN for i in $(seq 200); do echo hello | nc 127.0.0.1 {port} && exit 0; sleep 0.1; done; exit 1\n\
         FROM busybox:local\n\
         COPY --from=listen /got /got\n\
         COPY --from=send /etc/passwd /sent\n"
    );
    let dir = kiln.context("par", &[("Dockerfile", &dockerfile)]);
    kiln.build("par:1", &dir).ok();
    assert_eq!(kiln.run_out("par:1", &["cat", "/got"]), "hello\n");
}

#[test]
fn from_platform_native_works_and_other_platforms_are_refused() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "plat",
        &[(
            "Dockerfile",
            "FROM --platform=$BUILDPLATFORM busybox:local AS build\n\
             ARG TARGETARCH\nARG TARGETPLATFORM\n\
             RUN echo $TARGETARCH $TARGETPLATFORM > /arch\n\
             FROM --platform=$TARGETPLATFORM busybox:local\n\
             COPY --from=build /arch /arch\n",
        )],
    );
    kiln.build("plat:1", &dir).ok();
    let arch = kiln_cache::oci::host_architecture();
    assert_eq!(
        kiln.run_out("plat:1", &["cat", "/arch"]),
        format!("{arch} linux/{arch}\n")
    );
    let other = if arch == "s390x" { "ppc64le" } else { "s390x" };
    let dir = kiln.context(
        "foreign",
        &[(
            "Dockerfile",
            &format!("FROM --platform=linux/{other} busybox:local\nRUN true\n"),
        )],
    );
    let run = kiln.build("foreign:1", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("not supported yet"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("linux/{other}")),
        "{}",
        run.stderr
    );
}

#[test]
fn targetstage_is_the_target_stages_name_once_declared() {
    let kiln = Kiln::new();
    let stages = "FROM busybox:local AS base\n\
                  RUN echo -n \"value:$TARGETSTAGE\" > /first\n\
                  ARG TARGETSTAGE\n\
                  RUN echo -n \"value:$TARGETSTAGE\" > /second\n\
                  FROM base AS foo\n";
    let dir = kiln.context("ts", &[("Dockerfile", &format!("{stages}FROM base\n"))]);
    let named = kiln.cmd(&[
        "build",
        "--target",
        "foo",
        "-t",
        "ts:foo",
        dir.to_str().unwrap(),
    ]);
    named.ok();
    assert_eq!(kiln.run_out("ts:foo", &["cat", "/first"]), "value:");
    assert_eq!(kiln.run_out("ts:foo", &["cat", "/second"]), "value:foo");
    kiln.build("ts:default", &dir).ok();
    assert_eq!(
        kiln.run_out("ts:default", &["cat", "/second"]),
        "value:default"
    );
    let dir = kiln.context(
        "ts-final",
        &[("Dockerfile", &format!("{stages}FROM base AS final\n"))],
    );
    kiln.build("ts:final", &dir).ok();
    assert_eq!(kiln.run_out("ts:final", &["cat", "/second"]), "value:final");
}
