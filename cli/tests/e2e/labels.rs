//! Issue 6, item 10: errors name what they are about (the image run, the stage or image
//! `COPY --from` reads), refused archives are user errors (exit 1) that say why, and no
//! message echoes control characters from its input.

use crate::harness::{Kiln, Run};
use crate::hostile::Targets;

/// A tar of raw entries (path bytes as given, no validation) and its end marker.
fn raw_tar(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (path, kind, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_size(0);
        h.as_old_mut().name[..path.len()].copy_from_slice(path);
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn import(kiln: &Kiln, tar: &[u8]) -> Run {
    let path = kiln.work.path().join("in.tar");
    std::fs::write(&path, tar).unwrap();
    kiln.cmd(&["import", &path.display().to_string(), "hostile:1"])
}

#[track_caller]
fn assert_user_error(run: &Run, message: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "raw escape: {:?}",
        run.stderr
    );
}

#[test]
fn error_labels_kiln_run_names_the_image() {
    let kiln = Kiln::new();
    let run = kiln.cmd(&["run", "--rm", "busybox:local"]);
    assert_user_error(&run, "image `busybox:local`: no command specified");
    assert!(!run.stderr.contains("build context"), "{}", run.stderr);
}

#[test]
fn error_labels_copy_from_names_the_stage_or_image() {
    let kiln = Kiln::new();
    for (from, label) in [
        ("base", "stage `base`"),
        ("busybox:local", "image `busybox:local`"),
    ] {
        let dockerfile = format!(
            "FROM busybox:local AS base\nFROM busybox:local\nCOPY --from={from} /nope /x\n"
        );
        let dir = kiln.context(from, &[("Dockerfile", &dockerfile)]);
        let run = kiln.build("from:1", &dir);
        assert_user_error(&run, &format!("{label}: \"/nope\": not found"));
        assert!(!run.stderr.contains("build context"), "{}", run.stderr);
    }
}

#[test]
fn error_labels_hostile_import_is_a_user_error_with_escaped_paths() {
    let kiln = Kiln::empty();
    let run = import(
        &kiln,
        &raw_tar(&[(
            b"\x1b[31mred\x1b]0;t\x07/../../x",
            tar::EntryType::Regular,
            b"",
        )]),
    );
    assert_user_error(
        &run,
        "Refusing layer entry `\\u{1b}[31mred\\u{1b}]0;t\\u{7}/../../x`: a `..` component",
    );
}

#[test]
fn error_labels_hard_link_outside_says_so() {
    let kiln = Kiln::empty();
    let run = import(&kiln, &raw_tar(&[(b"a", tar::EntryType::Link, b"../../x")]));
    assert_user_error(
        &run,
        "Refusing hard link `a`: its target `../../x` points outside the archive root",
    );
    let run = import(
        &kiln,
        &raw_tar(&[(b"b", tar::EntryType::Link, b"/etc/passwd")]),
    );
    assert_user_error(
        &run,
        "Refusing hard link `b`: its target `/etc/passwd` is an absolute path",
    );
}

#[test]
fn import_refuses_layers_that_write_outside_the_root() {
    let kiln = Kiln::empty();
    let targets = Targets::new(kiln.work.path());
    for layer in targets.layers() {
        let run = import(&kiln, &layer.tar);
        assert_user_error(&run, &layer.message);
        targets.assert_untouched(layer.name);
        assert_eq!(kiln.snapshot_dirs(), 0, "{} left a snapshot", layer.name);
        assert_eq!(kiln.index_rows("snapshots"), 0, "{} left a row", layer.name);
    }
    assert!(!kiln.cmd(&["images"]).ok().stdout.contains("hostile"));
    // The store is still usable.
    kiln.cmd(&["cache", "prune"]).ok();
    let good = crate::hostile::tar_of(&[crate::hostile::Entry::File("a", b"good")]);
    import(&kiln, &good).ok();
    assert!(kiln.cmd(&["images"]).ok().stdout.contains("hostile"));
}

#[test]
fn error_labels_empty_tar_is_refused() {
    let kiln = Kiln::empty();
    for tar in [vec![0; 1024], Vec::new()] {
        let run = import(&kiln, &tar);
        assert_user_error(&run, "holds no files: refusing to import an empty image");
    }
    assert!(!kiln.cmd(&["images"]).ok().stdout.contains("hostile"));
}

#[test]
fn error_labels_dockerfile_text_is_escaped() {
    let kiln = Kiln::empty();
    let dir = kiln.context(
        "esc",
        &[(
            "Dockerfile",
            "FROM a\nCOPPY \x1b[31mred\x07 x\nRUN --b\x1bx=1 true\n",
        )],
    );
    let run = kiln.cmd(&["check", &dir.display().to_string()]);
    assert_user_error(&run, "COPPY \\u{1b}[31mred\\u{7} x");
    assert!(
        run.stderr.contains("unknown flag: --b\\u{1b}x"),
        "{}",
        run.stderr
    );
}
