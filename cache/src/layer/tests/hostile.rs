//! Hostile archives: nothing may be written outside the destination.
//!
//! Policy pinned here: entries with `..` components are refused (`LayerError::UnsafePath`),
//! hard links whose target has one or is not inside the destination too
//! (`LayerError::HardLink`, saying so); absolute paths and symlinks planted by earlier entries resolve
//! inside the destination, so writes through them are in-root writes.

use std::fs;
use std::path::Path;

use super::super::{LayerError, apply_layer};
use super::{describe_tree, name_bytes};

/// A raw tar entry: the path bytes go into the header as they are (no validation).
fn raw(builder: &mut Vec<u8>, path: &[u8], kind: tar::EntryType, link: &[u8], data: &[u8]) {
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
fn absolute_entry_lands_inside() {
    let s = scene();
    let mut t = Vec::new();
    let abs = s.sentinel.join("file");
    raw(
        &mut t,
        name_bytes(&abs),
        tar::EntryType::Regular,
        b"",
        b"evil",
    );
    raw(&mut t, b"/abs", tar::EntryType::Regular, b"", b"in");
    apply(t, &s.dest).expect("in-root write");
    assert_eq!(fs::read(s.dest.join("abs")).expect("read"), b"in");
    let inside = s.dest.join(abs.strip_prefix("/").expect("absolute"));
    assert_eq!(fs::read(inside).expect("read"), b"evil");
    check_sentinel(&s);
}

#[test]
fn absolute_symlink_then_write_through_it_lands_inside() {
    let s = scene();
    let mut t = Vec::new();
    raw(
        &mut t,
        b"link",
        tar::EntryType::Symlink,
        name_bytes(&s.sentinel),
        b"",
    );
    raw(&mut t, b"link/file", tar::EntryType::Regular, b"", b"evil");
    raw(&mut t, b"link/new", tar::EntryType::Regular, b"", b"evil");
    apply(t, &s.dest).expect("in-root write");
    let inside = s.dest.join(s.sentinel.strip_prefix("/").expect("absolute"));
    assert_eq!(fs::read(inside.join("file")).expect("read"), b"evil");
    check_sentinel(&s);
}

#[test]
fn relative_escaping_symlink_then_write_through_it_lands_inside() {
    let s = scene();
    let mut t = Vec::new();
    raw(&mut t, b"up", tar::EntryType::Symlink, b"../../..", b"");
    raw(&mut t, b"up/x", tar::EntryType::Regular, b"", b"evil");
    raw(
        &mut t,
        b"side",
        tar::EntryType::Symlink,
        b"../sentinel",
        b"",
    );
    raw(&mut t, b"side/file", tar::EntryType::Regular, b"", b"evil");
    apply(t, &s.dest).expect("in-root write");
    assert_eq!(fs::read(s.dest.join("x")).expect("read"), b"evil");
    assert_eq!(
        fs::read(s.dest.join("sentinel/file")).expect("read"),
        b"evil"
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

#[test]
fn hard_links_out_of_the_root_are_refused_or_resolved_inside() {
    let s = scene();
    let mut t = Vec::new();
    raw(
        &mut t,
        b"hl",
        tar::EntryType::Link,
        b"../../etc/passwd",
        b"",
    );
    let err = apply(t, &s.dest).expect_err("must refuse");
    assert_eq!(
        err.to_string(),
        "Refusing hard link `hl`: its target `../../etc/passwd` points outside the archive root"
    );

    // Absolute target: looked up inside dest, where it does not exist.
    let mut t = Vec::new();
    raw(
        &mut t,
        b"hl",
        tar::EntryType::Link,
        name_bytes(&s.sentinel.join("file")),
        b"",
    );
    let err = apply(t, &s.dest).expect_err("no such target inside");
    assert!(matches!(err, LayerError::HardLink { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("is not inside the archive root (or not before the link)"),
        "{err}"
    );
    assert!(err.is_bad_archive());
    assert_eq!(
        std::os::unix::fs::MetadataExt::nlink(
            &fs::metadata(s.sentinel.join("file")).expect("stat")
        ),
        1
    );

    // Through a planted symlink: still inside.
    let mut t = Vec::new();
    raw(
        &mut t,
        b"out",
        tar::EntryType::Symlink,
        name_bytes(&s.sentinel),
        b"",
    );
    raw(&mut t, b"hl2", tar::EntryType::Link, b"out/file", b"");
    let err = apply(t, &s.dest).expect_err("no such target inside");
    assert!(matches!(err, LayerError::HardLink { .. }), "{err}");
    assert!(!s.dest.join("hl2").exists());
    check_sentinel(&s);
}

#[test]
fn whiteouts_cannot_escape_or_forge_overlay_xattrs() {
    let s = scene();
    let mut t = Vec::new();
    raw(
        &mut t,
        b"link",
        tar::EntryType::Symlink,
        name_bytes(&s.sentinel),
        b"",
    );
    raw(&mut t, b"link/.wh.file", tar::EntryType::Regular, b"", b"");
    raw(
        &mut t,
        b"link/.wh..wh..opq",
        tar::EntryType::Regular,
        b"",
        b"",
    );
    apply(t, &s.dest).expect("in-root whiteouts");
    check_sentinel(&s);
    assert!(super::xattrs(&s.sentinel).is_empty());

    let mut t = Vec::new();
    raw(&mut t, b".wh...", tar::EntryType::Regular, b"", b"");
    assert!(matches!(
        apply(t, &s.dest),
        Err(LayerError::UnsafePath { .. })
    ));
    check_sentinel(&s);
}
