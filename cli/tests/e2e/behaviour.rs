//! Behaviours where kiln once differed from BuildKit; each expectation was recorded
//! from BuildKit (dockerd 20.10), or from the newer BuildKit the note names.

use crate::harness::Kiln;
use crate::image::config;

#[test]
fn expose_of_a_variable_splits_into_ports() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "expose",
        &[(
            "Dockerfile",
            "FROM busybox:local\n\
             ARG PORTS=\"3000 4000/udp\"\n\
             EXPOSE $PORTS 80\n\
             ENV P2=\"5000/tcp 6000-6001/UDP\"\n\
             EXPOSE $P2\n",
        )],
    );
    kiln.build("expose:1", &dir).ok();
    let c = config(&kiln, "expose:1");
    let ports: Vec<&String> = c["config"]["ExposedPorts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        ports,
        [
            "3000/tcp", "4000/udp", "5000/tcp", "6000/udp", "6001/udp", "80/tcp"
        ]
    );
}

#[test]
fn copy_chown_reads_numbers_and_names_like_buildkit() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "chown",
        &[
            ("f", "hello\n"),
            (
                "Dockerfile",
                "FROM busybox:local\n\
                 RUN echo 'app:x:1001:1002::/home/app:/bin/sh' >> /etc/passwd && echo 'grp:x:1003:' >> /etc/group\n\
                 COPY --chown=1234 f /a\n\
                 COPY --chown=1001 f /b\n\
                 COPY --chown=app f /c\n\
                 COPY --chown=app:grp f /d\n\
                 COPY --chown=1001: f /e\n\
                 COPY --chown=:grp f /g\n\
                 COPY --chown=app f /dir/sub/\n",
            ),
        ],
    );
    kiln.build("chown:1", &dir).ok();
    let out = kiln.run_out(
        "chown:1",
        &[
            "stat",
            "-c",
            "%n %u %g",
            "/a",
            "/b",
            "/c",
            "/d",
            "/e",
            "/g",
            "/dir",
            "/dir/sub",
            "/dir/sub/f",
        ],
    );
    assert_eq!(
        out,
        "/a 1234 1234\n/b 1001 1001\n/c 1001 1002\n/d 1001 1003\n/e 1001 0\n/g 0 1003\n\
         /dir 1001 1002\n/dir/sub 1001 1002\n/dir/sub/f 1001 1002\n"
    );
}

#[test]
fn copy_chown_to_a_missing_name_fails_naming_the_line() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "chown-missing",
        &[
            ("f", "hello\n"),
            (
                "Dockerfile",
                "FROM busybox:local\nCOPY --chown=nosuchuser f /a\n",
            ),
        ],
    );
    let run = kiln.build("chown-missing:1", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("COPY --chown=nosuchuser f /a: unable to find user nosuchuser")
            && run.stderr.contains("Dockerfile:2:1"),
        "{}",
        run.stderr
    );
    let dir = kiln.context(
        "chown-missing-group",
        &[
            ("f", "hello\n"),
            (
                "Dockerfile",
                "FROM busybox:local\nRUN true\nCOPY --chown=root:nosuchgroup f /a\n",
            ),
        ],
    );
    let run = kiln.build("chown-missing:2", &dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("COPY --chown=root:nosuchgroup f /a: unable to find group nosuchgroup")
            && run.stderr.contains("Dockerfile:3:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn copy_from_keeps_the_source_owners_and_creates_directories_as_root() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "from-owner",
        &[(
            "Dockerfile",
            "FROM busybox:local AS src\n\
             RUN mkdir -p /d/s && echo x > /d/f && echo z > /d/s/z && chown -R 123:456 /d \
             && chown 9:10 /d/s/z && echo y > /g && chown 7:8 /g\n\
             FROM busybox:local\n\
             COPY --from=src /d /out/\n\
             COPY --from=src /g /new/deep/g\n\
             COPY --from=src /g /chowned\n\
             COPY --from=src --chown=5 /d /chowned-dir\n",
        )],
    );
    kiln.build("from-owner:1", &dir).ok();
    let out = kiln.run_out(
        "from-owner:1",
        &[
            "stat",
            "-c",
            "%n %u %g",
            "/out",
            "/out/f",
            "/out/s",
            "/out/s/z",
            "/new",
            "/new/deep",
            "/new/deep/g",
            "/chowned",
            "/chowned-dir",
            "/chowned-dir/s/z",
        ],
    );
    assert_eq!(
        out,
        "/out 0 0\n/out/f 123 456\n/out/s 123 456\n/out/s/z 9 10\n/new 0 0\n/new/deep 0 0\n\
         /new/deep/g 7 8\n/chowned 7 8\n/chowned-dir 5 5\n/chowned-dir/s/z 5 5\n"
    );
}

#[test]
fn workdir_is_written_to_the_config_like_buildkit() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "workdir",
        &[
            ("f", "hello\n"),
            (
                "Dockerfile",
                "FROM scratch AS empty\n\
                 COPY f /f\n\
                 FROM busybox:local AS slash\n\
                 WORKDIR /usr/src/\n\
                 FROM busybox:local AS unclean\n\
                 WORKDIR /a/../b//\n\
                 RUN pwd > /pwd\n\
                 FROM busybox:local AS relative\n\
                 WORKDIR /usr/src/\n\
                 WORKDIR rel/\n\
                 USER 1000:1000\n\
                 WORKDIR ../w2/.\n",
            ),
        ],
    );
    let workdir = |target: &str| {
        let tag = format!("workdir-{target}:1");
        let dir = dir.display().to_string();
        kiln.cmd(&["build", "--target", target, "-t", &tag, &dir])
            .ok();
        config(&kiln, &tag)["config"]["WorkingDir"].clone()
    };
    assert_eq!(workdir("empty"), "/");
    assert_eq!(workdir("slash"), "/usr/src/");
    assert_eq!(workdir("unclean"), "/a/../b//");
    assert_eq!(kiln.run_out("workdir-unclean:1", &["cat", "/pwd"]), "/b\n");
    assert_eq!(workdir("relative"), "/usr/src/w2");
    let owners = kiln.run_out(
        "workdir-relative:1",
        &[
            "stat",
            "-c",
            "%n %u %g %a",
            "/usr/src",
            "/usr/src/rel",
            "/usr/src/w2",
        ],
    );
    assert_eq!(
        owners,
        "/usr/src 0 0 755\n/usr/src/rel 0 0 755\n/usr/src/w2 1000 1000 755\n"
    );
}

#[test]
fn escape_directive_applies_to_variable_expansion() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "escape",
        &[
            ("f", "hello\n"),
            (
                "Dockerfile",
                "# escape=`\n\
                 FROM busybox:local\n\
                 ENV A=hello\n\
                 ENV B=`$A C=x`y D=a\\b E=\"q`\"r\" F='s\\t'\n\
                 ARG G=`$A-$A\n\
                 WORKDIR /tmp/`$A/$A\n\
                 RUN echo \"$B|$C|$D|$E|$F|$G\" > /out && pwd >> /out\n\
                 COPY f /cp/`$A/$A\n",
            ),
        ],
    );
    kiln.build("escape:1", &dir).ok();
    assert_eq!(
        kiln.run_out("escape:1", &["cat", "/out", "/cp/$A/hello"]),
        "$A|xy|a\\b|q\"r|s\\t|$A-hello\n/tmp/$A/hello\nhello\n"
    );
    let c = config(&kiln, "escape:1");
    assert_eq!(c["config"]["WorkingDir"], "/tmp/$A/hello");
    assert_eq!(c["config"]["Env"][4], "D=a\\b");
}

#[test]
fn syntax_naming_another_frontend_is_refused() {
    let kiln = Kiln::new();
    let ours = kiln.context(
        "syntax-ours",
        &[(
            "Dockerfile",
            "# syntax=docker.io/docker/dockerfile:1.7\nFROM busybox:local\n",
        )],
    );
    kiln.build("syntax:1", &ours).ok();
    let other = kiln.context(
        "syntax-other",
        &[(
            "Dockerfile",
            "# syntax=tonistiigi/dockerfile:runmount\nFROM busybox:local\n",
        )],
    );
    let run = kiln.build("syntax:2", &other);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("kiln does not run frontend images")
            && run.stderr.contains("Dockerfile:1:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_lower_case_dockerfile_is_found_and_dash_f_dash_reads_stdin() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "lower",
        &[(
            "dockerfile",
            "FROM busybox:local\nRUN echo lower > /which\n",
        )],
    );
    kiln.build("lower:1", &dir).ok();
    assert_eq!(kiln.run_out("lower:1", &["cat", "/which"]), "lower\n");
    let dir = dir.display().to_string();
    kiln.cmd_input(
        &["build", "-f", "-", "-t", "stdin:1", &dir],
        &[],
        "FROM busybox:local\nRUN echo stdin > /which\n",
    )
    .ok();
    assert_eq!(kiln.run_out("stdin:1", &["cat", "/which"]), "stdin\n");
    let run = kiln.cmd_input(
        &["build", "-f", "-", &dir],
        &[],
        "FROM busybox:local\nBOGUS x\n",
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("<stdin>:2:1"), "{}", run.stderr);
}

#[test]
fn run_gets_supplementary_groups_from_the_image_group_file() {
    // As runc ≥ 1.1.5 and containerd since CVE-2023-25173 (BuildKit 20.10 gave root no
    // supplementary groups): the primary group, then every group listing the user.
    let kiln = Kiln::new();
    let dir = kiln.context(
        "groups",
        &[(
            "Dockerfile",
            "FROM busybox:local\n\
             RUN echo 'wheel:x:10:root' >> /etc/group && \
             echo 'app:x:1001:1001::/:/bin/sh' >> /etc/passwd && \
             echo 'devs:x:2000:app' >> /etc/group\n\
             RUN id > /ids && chmod 666 /ids\n\
             USER app\n\
             RUN id >> /ids\n\
             USER 1001:5\n\
             RUN id >> /ids\n",
        )],
    );
    kiln.build("groups:1", &dir).ok();
    assert_eq!(
        kiln.run_out("groups:1", &["cat", "/ids"]),
        "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n\
         uid=1001(app) gid=1001 groups=1001,2000(devs)\n\
         uid=1001(app) gid=5 groups=5\n"
    );
}

#[test]
fn run_hostname_and_hosts_are_buildkits() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "hostname",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN (hostname; hostname -f; cat /etc/hosts) > /out\n",
        )],
    );
    kiln.build("hostname:1", &dir).ok();
    assert_eq!(
        kiln.run_out("hostname:1", &["cat", "/out"]),
        "buildkitsandbox\nlocalhost\n127.0.0.1\tlocalhost buildkitsandbox\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n"
    );
    // As newer BuildKit (20.10's ignores the argument): the build argument names it,
    // and a step that saw another name is another step.
    let dir = dir.display().to_string();
    let run = kiln
        .cmd(&[
            "build",
            "--progress",
            "plain",
            "--build-arg",
            "BUILDKIT_SANDBOX_HOSTNAME=myhost",
            "-t",
            "hostname:2",
            &dir,
        ])
        .ok();
    assert!(!run.stderr.contains("not consumed"), "{}", run.stderr);
    assert!(run.status_of("[2/2]").starts_with("DONE"), "{}", run.stderr);
    let out = kiln.run_out("hostname:2", &["cat", "/out"]);
    assert!(
        out.starts_with("myhost\nlocalhost\n127.0.0.1\tlocalhost myhost\n"),
        "{out}"
    );
}

#[test]
fn proxy_build_args_reach_run_without_an_arg_but_not_the_key_or_the_image() {
    // Recorded from BuildKit: the RUN sees them, a changed proxy is still a cache hit,
    // and neither the config's Env nor the history mention them.
    let kiln = Kiln::new();
    let dir = kiln.context(
        "proxy",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo \"p=$HTTP_PROXY n=$no_proxy\" > /p\n",
        )],
    );
    let ctx = dir.display().to_string();
    let build = |proxy: &str| {
        let arg = format!("HTTP_PROXY={proxy}");
        kiln.cmd(&[
            "build",
            "--progress",
            "plain",
            "--build-arg",
            &arg,
            "--build-arg",
            "no_proxy=.local",
            "-t",
            "proxy:1",
            &ctx,
        ])
        .ok()
    };
    let first = build("http://proxy.example:3128");
    assert!(!first.stderr.contains("not consumed"), "{}", first.stderr);
    assert_eq!(
        kiln.run_out("proxy:1", &["cat", "/p"]),
        "p=http://proxy.example:3128 n=.local\n"
    );
    let second = build("http://other.example:1");
    assert!(second.stderr.contains("CACHED"), "{}", second.stderr);
    let c = config(&kiln, "proxy:1");
    let text = c.to_string();
    assert!(
        !text.contains("proxy.example") && !text.contains("no_proxy="),
        "{text}"
    );
}

#[test]
fn source_date_epoch_as_a_build_arg_sets_the_image_time_and_is_checked() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "sde",
        &[("Dockerfile", "FROM busybox:local\nRUN true > /t\n")],
    );
    let ctx = dir.display().to_string();
    let ok = kiln
        .cmd(&[
            "build",
            "--build-arg",
            "SOURCE_DATE_EPOCH=1700000000",
            "-t",
            "sde:1",
            &ctx,
        ])
        .ok();
    assert!(!ok.stderr.contains("not consumed"), "{}", ok.stderr);
    assert_eq!(config(&kiln, "sde:1")["created"], "2023-11-14T22:13:20Z");
    let bad = kiln.cmd(&[
        "build",
        "--build-arg",
        "SOURCE_DATE_EPOCH=soon",
        "-t",
        "sde:2",
        &ctx,
    ]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("SOURCE_DATE_EPOCH must be a number"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_wildcard_matching_nothing_is_skipped_unless_nothing_matches_at_all() {
    let kiln = Kiln::new();
    for (from, copy) in [
        ("", "COPY"),
        (
            "FROM busybox:local AS src\nCOPY a.txt /s/\n",
            "COPY --from=src",
        ),
    ] {
        let prefix = if from.is_empty() { "" } else { "/s/" };
        let dockerfile =
            format!("{from}FROM busybox:local\n{copy} {prefix}*.nope {prefix}a.txt /dst/\n");
        let dir = kiln.context("wild", &[("Dockerfile", &dockerfile), ("a.txt", "a\n")]);
        kiln.build("wild:1", &dir).ok();
        assert_eq!(kiln.run_out("wild:1", &["cat", "/dst/a.txt"]), "a\n");
        let nothing = format!("{from}FROM busybox:local\n{copy} {prefix}*.nope /dst/\n");
        let dir = kiln.context("wild0", &[("Dockerfile", &nothing), ("a.txt", "a\n")]);
        let run = kiln.build("wild:2", &dir);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains("*.nope"), "{}", run.stderr);
    }
}
