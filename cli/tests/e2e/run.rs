//! `kiln run`: the image's command, flags, exit codes.

use crate::harness::Kiln;

#[test]
fn run_flags_override_the_image_config() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "r",
        &[(
            "Dockerfile",
            "FROM busybox:local\nENV FOO=image\nCMD [\"true\"]\n",
        )],
    );
    kiln.build("r:1", &dir).ok();
    let out = kiln
        .cmd(&[
            "run",
            "--rm",
            "-e",
            "FOO=cli",
            "-w",
            "/tmp",
            "-u",
            "65534",
            "--network",
            "none",
            "r:1",
            "sh",
            "-c",
            "echo $FOO; pwd; id -u; grep -c : /proc/net/dev",
        ])
        .ok()
        .stdout;
    assert_eq!(out, "cli\n/tmp\n65534\n1\n");
}

#[test]
fn run_returns_the_container_exit_code_and_streams_stderr() {
    let kiln = Kiln::new();
    let run = kiln.cmd(&[
        "run",
        "--rm",
        "busybox:local",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(run.code, 7);
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\n");
}

#[test]
fn run_without_a_command_or_image_is_a_user_error() {
    let kiln = Kiln::new();
    let run = kiln.cmd(&["run", "--rm", "busybox:local"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no command specified"),
        "{}",
        run.stderr
    );
    let run = kiln.cmd(&["run", "--rm", "nothere:1", "true"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
}

#[test]
fn rm_removes_the_container_layer_and_without_it_the_layer_stays() {
    let kiln = Kiln::new();
    let containers = kiln.root.path().join("containers-v1");
    kiln.cmd(&["run", "--rm", "busybox:local", "touch", "/x"])
        .ok();
    assert_eq!(std::fs::read_dir(&containers).unwrap().count(), 0);
    kiln.cmd(&["run", "busybox:local", "touch", "/x"]).ok();
    let kept: Vec<_> = std::fs::read_dir(&containers).unwrap().collect();
    assert_eq!(kept.len(), 1);
    let dir = kept[0].as_ref().unwrap().path();
    assert!(
        dir.join("fs/x").exists(),
        "the container's write is in its own layer"
    );
}

#[test]
fn a_working_dir_through_symlinks_is_made_where_the_kernel_resolves_it() {
    // /p is a link to /q/r, and /q/r/link a dangling link to ../s: `..` in a link's
    // target is relative to where the link really is (/q/r), so /p/link/sub is /q/s/sub.
    // The sandbox once cleaned such paths lexically (/p/../s = /s), creating /s/sub and
    // then failing to enter /p/link/sub.
    let kiln = Kiln::new();
    let dir = kiln.context(
        "links",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN mkdir -p /q/r && ln -s /q/r /p && ln -s ../s /q/r/link\n",
        )],
    );
    kiln.build("links:1", &dir).ok();
    let out = kiln
        .cmd(&[
            "run",
            "--rm",
            "-w",
            "/p/link/sub",
            "links:1",
            "sh",
            "-c",
            "pwd -P; test -e /s || echo no-stray-dir",
        ])
        .ok()
        .stdout;
    assert_eq!(out, "/q/s/sub\nno-stray-dir\n");
}
