//! Hostile archives: nothing may be written outside the destination.
//!
//! Policy pinned here: entries with absolute paths or `..` components are refused
//! (`LayerError::UnsafePath`), entries below a symlink (wherever it points) or a file too
//! (`LayerError::BadParent`, naming it), and hard links whose target is absolute, has a `..`,
//! passes through a symlink or is not an earlier entry (`LayerError::HardLink`, saying which).
//! Symlink entries themselves may point anywhere.

use std::fs;
use std::path::{Path, PathBuf};

use super::super::{LayerError, apply_layer};
use super::{describe_tree, name_bytes};

/// A raw tar entry: the path bytes go into the header as they are (no validation).
pub(super) fn raw(
    builder: &mut Vec<u8>,
    path: &[u8],
    kind: tar::EntryType,
    link: &[u8],
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    h.as_old_mut().name[..path.len()].copy_from_slice(path);
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    h.set_cksum();
    builder.extend_from_slice(h.as_bytes());
    builder.extend_from_slice(data);
    builder.resize(builder.len().div_ceil(512) * 512, 0);
}

struct Scene {
    _tmp: tempfile::TempDir,
    dest: std::path::PathBuf,
    sentinel: std::path::PathBuf,
}

/// `<tmp>/dest` (empty) next to `<tmp>/sentinel` (one file).
fn scene() -> Scene {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("dest");
    let sentinel = tmp.path().join("sentinel");
    fs::create_dir(&dest).expect("mkdir");
    fs::create_dir(&sentinel).expect("mkdir");
    fs::write(sentinel.join("file"), "untouched").expect("write");
    Scene {
        _tmp: tmp,
        dest,
        sentinel,
    }
}

fn apply(entries: Vec<u8>, dest: &Path) -> Result<(), LayerError> {
    let mut data = entries;
    data.extend_from_slice(&[0; 1024]);
    apply_layer(&mut data.as_slice(), dest).map(|_| ())
}

fn check_sentinel(s: &Scene) {
    let parent = s.dest.parent().expect("parent");
    let mut names: Vec<_> = fs::read_dir(parent)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["dest", "sentinel"]);
    let tree = describe_tree(&s.sentinel);
    assert_eq!(tree.len(), 1, "{tree:?}");
    assert_eq!(
        fs::read(s.sentinel.join("file")).expect("read"),
        b"untouched"
    );
}

#[test]
fn dotdot_entry_is_refused() {
    let s = scene();
    let mut t = Vec::new();
    raw(
        &mut t,
        b"../sentinel/evil",
        tar::EntryType::Regular,
        b"",
        b"evil",
    );
    let err = apply(t, &s.dest).expect_err("must refuse");
    assert!(matches!(err, LayerError::UnsafePath { .. }), "{err}");
    check_sentinel(&s);
}

#[test]
fn absolute_entries_are_refused() {
    let s = scene();
    let abs = s.sentinel.join("file");
    for path in [name_bytes(&abs), b"/abs", b"//abs", b"/"] {
        let mut t = Vec::new();
        raw(&mut t, path, tar::EntryType::Regular, b"", b"evil");
        let err = apply(t, &s.dest).expect_err("must refuse");
        assert_eq!(
            err.to_string(),
            format!(
                "Refusing layer entry `{}`: an absolute path",
                String::from_utf8_lossy(path)
            )
        );
        assert!(err.is_bad_archive());
    }
    assert!(describe_tree(&s.dest).is_empty());
    check_sentinel(&s);
}

#[test]
fn root_entries_and_leading_dot_slash_are_fine() {
    let s = scene();
    let mut t = Vec::new();
    raw(&mut t, b".", tar::EntryType::Directory, b"", b"");
    raw(&mut t, b"./", tar::EntryType::Directory, b"", b"");
    raw(&mut t, b"./d/", tar::EntryType::Directory, b"", b"");
    raw(&mut t, b"./d/f", tar::EntryType::Regular, b"", b"in");
    raw(&mut t, b"./d/hl", tar::EntryType::Link, b"./d/f", b"");
    apply(t, &s.dest).expect("a plain `tar -C dir .` layout");
    assert_eq!(fs::read(s.dest.join("d/hl")).expect("read"), b"in");
    check_sentinel(&s);
}

/// A new empty directory in `s.dest`, for one more apply.
fn fresh_dir(s: &Scene) -> PathBuf {
    let count = fs::read_dir(&s.dest).expect("read_dir").count();
    let dir = s.dest.join(format!("case{count}"));
    fs::create_dir(&dir).expect("mkdir");
    dir
}

/// Applies `link` (a symlink to `target`), then `link/file` and the like; each must be refused
/// naming the symlink, and nothing written through it.
fn refuse_write_through(s: &Scene, target: &[u8]) {
    let through: [(&[u8], tar::EntryType); 5] = [
        (b"link/file", tar::EntryType::Regular),
        (b"link/new/deeper", tar::EntryType::Regular),
        (b"link/dir/", tar::EntryType::Directory),
        (b"link/.wh.file", tar::EntryType::Regular),
        (b"link/.wh..wh..opq", tar::EntryType::Regular),
    ];
    for (path, kind) in through {
        let dest = fresh_dir(s);
        fs::create_dir(dest.join("in")).expect("mkdir");
        fs::write(dest.join("in/file"), "untouched").expect("write");
        let mut t = Vec::new();
        raw(&mut t, b"link", tar::EntryType::Symlink, target, b"");
        raw(&mut t, path, kind, b"", b"evil");
        let err = apply(t, &dest).expect_err("must refuse");
        assert_eq!(
            err.to_string(),
            format!(
                "Refusing layer entry `{}`: its parent `link` is a symlink (layers never write through symlinks)",
                String::from_utf8_lossy(path)
            )
        );
        assert!(err.is_bad_archive());
        assert_eq!(
            fs::read(dest.join("in/file")).expect("read"),
            b"untouched",
            "{target:?}"
        );
        assert!(super::xattrs(&dest.join("in")).is_empty());
        let names: Vec<_> = fs::read_dir(&dest)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
    check_sentinel(s);
    assert!(super::xattrs(&s.sentinel).is_empty());
}

#[test]
fn writes_through_an_absolute_symlink_are_refused() {
    let s = scene();
    refuse_write_through(&s, name_bytes(&s.sentinel));
}

#[test]
fn writes_through_an_escaping_relative_symlink_are_refused() {
    let s = scene();
    refuse_write_through(&s, b"../sentinel");
    refuse_write_through(&s, b"../../../..");
}

#[test]
fn writes_through_an_in_root_symlink_are_refused() {
    let s = scene();
    refuse_write_through(&s, b"in");
    refuse_write_through(&s, b".");
}

#[test]
fn deep_symlink_or_file_on_the_way_is_refused_and_named() {
    let s = scene();
    let mut t = Vec::new();
    raw(&mut t, b"a/b/", tar::EntryType::Directory, b"", b"");
    raw(&mut t, b"a/b/l", tar::EntryType::Symlink, b"/etc", b"");
    raw(
        &mut t,
        b"a/b/l/x/passwd",
        tar::EntryType::Regular,
        b"",
        b"evil",
    );
    let err = apply(t, &s.dest).expect_err("must refuse");
    assert!(
        matches!(&err, LayerError::BadParent { parent, symlink: true, .. } if parent == "a/b/l"),
        "{err}"
    );

    let mut t = Vec::new();
    raw(&mut t, b"f", tar::EntryType::Regular, b"", b"file");
    raw(&mut t, b"f/x", tar::EntryType::Regular, b"", b"evil");
    let err = apply(t, &s.dest).expect_err("must refuse");
    assert_eq!(
        err.to_string(),
        "Refusing layer entry `f/x`: its parent `f` is not a directory"
    );
    check_sentinel(&s);
}

#[test]
fn symlink_entries_may_point_anywhere() {
    let s = scene();
    let mut t = Vec::new();
    raw(
        &mut t,
        b"abs",
        tar::EntryType::Symlink,
        name_bytes(&s.sentinel),
        b"",
    );
    raw(&mut t, b"up", tar::EntryType::Symlink, b"../../..", b"");
    raw(&mut t, b"d/rel", tar::EntryType::Symlink, b"../abs", b"");
    apply(t, &s.dest).expect("symlink targets are data");
    assert_eq!(
        fs::read_link(s.dest.join("abs")).expect("readlink"),
        s.sentinel
    );
    assert_eq!(
        fs::read_link(s.dest.join("up")).expect("readlink"),
        Path::new("../../..")
    );
    assert_eq!(
        fs::read_link(s.dest.join("d/rel")).expect("readlink"),
        Path::new("../abs")
    );
    check_sentinel(&s);
}

#[test]
fn symlink_at_the_final_component_is_replaced_not_followed() {
    let s = scene();
    let mut t = Vec::new();
    raw(
        &mut t,
        b"f",
        tar::EntryType::Symlink,
        name_bytes(&s.sentinel.join("file")),
        b"",
    );
    raw(&mut t, b"f", tar::EntryType::Regular, b"", b"evil");
    apply(t, &s.dest).expect("replace");
    assert_eq!(fs::read(s.dest.join("f")).expect("read"), b"evil");
    check_sentinel(&s);
}

/// Applies `setup` then a hard link `hl` to `target`: it must be refused saying `reason`, with
/// nothing linked to the sentinel.
fn refuse_hard_link(
    s: &Scene,
    setup: &[(&[u8], tar::EntryType, &[u8])],
    target: &[u8],
    reason: &str,
) {
    let dest = fresh_dir(s);
    let mut t = Vec::new();
    for (path, kind, link) in setup {
        raw(&mut t, path, *kind, link, b"");
    }
    raw(&mut t, b"hl", tar::EntryType::Link, target, b"");
    let err = apply(t, &dest).expect_err("must refuse");
    assert_eq!(
        err.to_string(),
        format!(
            "Refusing hard link `hl`: its target `{}` {reason}",
            String::from_utf8_lossy(target)
        )
    );
    assert!(matches!(err, LayerError::HardLink { .. }), "{err}");
    assert!(err.is_bad_archive());
    assert!(!dest.join("hl").exists());
    let nlink = std::os::unix::fs::MetadataExt::nlink(
        &fs::metadata(s.sentinel.join("file")).expect("stat"),
    );
    assert_eq!(nlink, 1);
}

#[test]
fn hard_links_out_of_the_root_are_refused() {
    let s = scene();
    let file = s.sentinel.join("file");
    let symlink = tar::EntryType::Symlink;
    let outside = "points outside the archive root";
    refuse_hard_link(&s, &[], b"../../etc/passwd", outside);
    refuse_hard_link(&s, &[], b"d/../../sentinel/file", outside);
    refuse_hard_link(&s, &[], name_bytes(&file), "is an absolute path");
    refuse_hard_link(&s, &[], b"/hl", "is an absolute path");
    let through = "passes through a symlink";
    refuse_hard_link(
        &s,
        &[(b"out", symlink, name_bytes(&s.sentinel))],
        b"out/file",
        through,
    );
    refuse_hard_link(
        &s,
        &[(b"out", symlink, b"../../sentinel")],
        b"out/file",
        through,
    );
    let in_root: [(&[u8], tar::EntryType, &[u8]); 3] = [
        (b"d/", tar::EntryType::Directory, b""),
        (b"d/f", tar::EntryType::Regular, b""),
        (b"l", symlink, b"d"),
    ];
    refuse_hard_link(&s, &in_root, b"l/f", through);
    let absent = "is not inside the archive root (or not before the link)";
    refuse_hard_link(&s, &[], b"sentinel/file", absent);
    refuse_hard_link(&s, &[(b"f", tar::EntryType::Regular, b"")], b"f/x", absent);
    check_sentinel(&s);
}

#[test]
fn hard_link_to_a_symlink_links_the_symlink_itself() {
    let s = scene();
    let mut t = Vec::new();
    let file = s.sentinel.join("file");
    raw(
        &mut t,
        b"out",
        tar::EntryType::Symlink,
        name_bytes(&file),
        b"",
    );
    raw(&mut t, b"hl", tar::EntryType::Link, b"out", b"");
    apply(t, &s.dest).expect("a link to a symlink");
    assert_eq!(fs::read_link(s.dest.join("hl")).expect("readlink"), file);
    let nlink = std::os::unix::fs::MetadataExt::nlink(&fs::metadata(&file).expect("stat"));
    assert_eq!(nlink, 1);
    check_sentinel(&s);
}

#[test]
fn whiteouts_cannot_escape_or_forge_overlay_xattrs() {
    let s = scene();
    let mut t = Vec::new();
    raw(&mut t, b".wh...", tar::EntryType::Regular, b"", b"");
    assert!(matches!(
        apply(t, &s.dest),
        Err(LayerError::UnsafePath { .. })
    ));
    check_sentinel(&s);
}
