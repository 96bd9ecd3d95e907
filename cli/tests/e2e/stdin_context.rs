//! `kiln build -`: the context as a tar on stdin (plain or gzip), as docker reads it.

use crate::harness::{Kiln, Run};
use crate::hostile::{Entry, tar_of};
use std::io::Write;
use std::path::Path;

/// `kiln build --progress plain -t TAG FLAGS… -` with `input` on stdin and `tmp` as the
/// temp folder.
fn build_stdin(kiln: &Kiln, tag: &str, flags: &[&str], input: &[u8], tmp: &Path) -> Run {
    let mut args = vec!["build", "--progress", "plain", "-t", tag];
    args.extend_from_slice(flags);
    args.push("-");
    kiln.cmd_input(&args, &[("TMPDIR", tmp.to_str().unwrap())], input)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A temp folder for kiln's own, which must be empty again after each build.
fn tmp(kiln: &Kiln) -> std::path::PathBuf {
    let tmp = kiln.work.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    tmp
}

#[track_caller]
fn assert_cleaned(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp).unwrap().collect();
    assert!(left.is_empty(), "left in the temp folder: {left:?}");
}

#[test]
fn stdin_context_plain_and_gzip_tars_are_contexts() {
    let kiln = Kiln::new();
    let tmp = tmp(&kiln);
    let tar = tar_of(&[
        Entry::File("Dockerfile", b"FROM busybox:local\nCOPY a.txt /a\n"),
        Entry::File("a.txt", b"from the tar\n"),
        Entry::File(
            "sub/alt.Dockerfile",
            b"FROM busybox:local\nCOPY sub/b.txt /b\n",
        ),
        Entry::File("sub/b.txt", b"b in sub\n"),
    ]);
    build_stdin(&kiln, "plain:1", &[], &tar, &tmp).ok();
    assert_eq!(kiln.run_out("plain:1", &["cat", "/a"]), "from the tar\n");
    assert_cleaned(&tmp);
    // `-f` names a file inside the archive.
    build_stdin(
        &kiln,
        "gz:1",
        &["-f", "sub/alt.Dockerfile"],
        &gzip(&tar),
        &tmp,
    )
    .ok();
    assert_eq!(kiln.run_out("gz:1", &["cat", "/b"]), "b in sub\n");
    assert_cleaned(&tmp);
}

#[test]
fn stdin_context_that_is_no_archive_is_the_dockerfile() {
    let kiln = Kiln::new();
    let tmp = tmp(&kiln);
    let dockerfile = "FROM busybox:local\nCOPY . /ctx/\n";
    build_stdin(&kiln, "df:1", &[], dockerfile.as_bytes(), &tmp).ok();
    // As docker: the context holds only the Dockerfile.
    assert_eq!(kiln.run_out("df:1", &["ls", "/ctx"]), "Dockerfile\n");
    assert_cleaned(&tmp);
}

#[test]
fn stdin_context_refuses_escapes_and_stdin_twice() {
    let kiln = Kiln::new();
    let tmp = tmp(&kiln);
    let outside = kiln.work.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let escape = format!("../../../../../../../..{}/x", outside.display());
    let run = build_stdin(
        &kiln,
        "bad:1",
        &[],
        &tar_of(&[
            Entry::File("Dockerfile", b"FROM busybox:local\n"),
            Entry::File(&escape, b"escaped"),
        ]),
        &tmp,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("unpacking the build context from stdin"),
        "{}",
        run.stderr
    );
    assert!(!outside.join("x").exists());
    assert_cleaned(&tmp);

    // A Dockerfile that is a link out of the archive is not read.
    let run = build_stdin(
        &kiln,
        "bad:2",
        &[],
        &tar_of(&[Entry::Symlink("Dockerfile", "/etc/passwd")]),
        &tmp,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the Dockerfile `Dockerfile` is not in the build context read from stdin"),
        "{}",
        run.stderr
    );
    assert_cleaned(&tmp);

    let run = build_stdin(&kiln, "bad:3", &["-f", "-"], b"", &tmp);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("can't use stdin for both the build context and the Dockerfile"),
        "{}",
        run.stderr
    );
    assert_cleaned(&tmp);
}
