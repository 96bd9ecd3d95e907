//! A tree written with `write_layer` and applied with `apply_layer` comes back identical.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use rustix::fs::{FileType, Mode};

use super::super::LayerOptions;
use super::{apply_bytes, describe_tree, layer_bytes, mount_overlay, set_mtime, unmount, xattrs};

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).expect("lchown");
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A tree with every kind of entry and metadata a layer carries.
fn build_tree(root: &Path) {
    let long_dir = root
        .join("l".repeat(90))
        .join("m".repeat(90))
        .join("n".repeat(90));
    fs::create_dir_all(&long_dir).expect("mkdir");
    fs::write(long_dir.join("file-with-a-long-path"), "long").expect("write");
    fs::create_dir_all(root.join("etc/ssl")).expect("mkdir");
    fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").expect("write");
    fs::write(root.join("etc/ssl/cert"), vec![7u8; 70_000]).expect("write");
    fs::write(root.join("suid"), "#!/bin/sh\n").expect("write");
    chmod(&root.join("suid"), 0o4755);
    fs::create_dir(root.join("tmp")).expect("mkdir");
    chmod(&root.join("tmp"), 0o1777);
    fs::create_dir(root.join("private")).expect("mkdir");
    chmod(&root.join("private"), 0o750);
    chown(&root.join("private"), 1000, 1000);
    fs::write(root.join("private/owned"), "mine").expect("write");
    chown(&root.join("private/owned"), 1000, 1001);
    chmod(&root.join("private/owned"), 0o600);
    symlink("/etc/passwd", root.join("abs-link")).expect("symlink");
    chown(&root.join("abs-link"), 1001, 1002);
    symlink("../etc", root.join("private/rel-link")).expect("symlink");
    fs::hard_link(root.join("etc/passwd"), root.join("passwd-hardlink")).expect("link");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("fifo"),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .expect("mkfifo");
    let null = rustix::fs::makedev(1, 3);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        root.join("null"),
        FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        null,
    )
    .expect("mknod");
    rustix::fs::lsetxattr(
        root.join("suid"),
        "user.kiln",
        b"v\0binary",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setxattr");
    rustix::fs::lsetxattr(
        root.join("etc"),
        "trusted.kiln",
        b"dir",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setxattr");
    rustix::fs::lsetxattr(
        root.join("abs-link"),
        "trusted.link",
        b"l",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("setxattr");
    fs::write(root.join("h\u{e9}llo w\u{f6}rld"), "utf8").expect("write");
    // Fixed mtimes, directories last (creating children changes them).
    let mut t = 1_600_000_000;
    let mut all = Vec::new();
    super::collect(root, &mut all);
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in all {
        t += 17;
        set_mtime(&p, t);
    }
}

#[test]
fn apply_layer_restores_what_write_layer_wrote() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    fs::create_dir(&src).expect("mkdir");
    fs::create_dir(&dst).expect("mkdir");
    build_tree(&src);
    let data = layer_bytes(&src, &LayerOptions::default());
    apply_bytes(&data, &dst);
    assert_eq!(describe_tree(&src), describe_tree(&dst));
    // And the applied tree writes the very same layer.
    assert_eq!(data, layer_bytes(&dst, &LayerOptions::default()));
}

#[test]
fn apply_layer_makes_overlay_whiteouts_that_hide_lower_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| tmp.path().join(n);
    for d in ["base", "layer", "merged"] {
        fs::create_dir(p(d)).expect("mkdir");
    }
    fs::write(p("base/a"), "a").expect("write");
    fs::write(p("base/keep"), "keep").expect("write");
    fs::create_dir(p("base/d")).expect("mkdir");
    fs::write(p("base/d/x"), "x").expect("write");

    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        h.set_size(data.len() as u64);
        builder.append_data(&mut h, path, data).expect("append");
    };
    add(".wh.a", tar::EntryType::Regular, b"");
    add("d/", tar::EntryType::Directory, b"");
    add("d/.wh..wh..opq", tar::EntryType::Regular, b"");
    add("d/y", tar::EntryType::Regular, b"y");
    let data = builder.into_inner().expect("tar");
    apply_bytes(&data, &p("layer"));

    let wh = fs::symlink_metadata(p("layer/a")).expect("whiteout");
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &wh.file_type()
    ));
    assert_eq!(std::os::unix::fs::MetadataExt::rdev(&wh), 0);
    assert!(xattrs(&p("layer/d")).contains(&("trusted.overlay.opaque".into(), b"y".to_vec())));
    assert!(!p("layer/.wh.a").exists() && !p("layer/d/.wh..wh..opq").exists());

    mount_overlay(&[&p("layer"), &p("base")], None, &p("merged"));
    let seen = (
        p("merged/a").exists(),
        p("merged/keep").exists(),
        p("merged/d/x").exists(),
        p("merged/d/y").exists(),
    );
    unmount(&p("merged"));
    assert_eq!(seen, (false, true, false, true));
}

#[test]
fn later_entries_replace_earlier_ones_and_dirs_merge() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        builder.append_data(&mut h, path, data).expect("append");
    };
    add("d/", tar::EntryType::Directory, 0o755, b"");
    add("d/one", tar::EntryType::Regular, 0o644, b"1");
    add("d/", tar::EntryType::Directory, 0o700, b"");
    add("d/two", tar::EntryType::Regular, 0o644, b"2");
    add("f", tar::EntryType::Regular, 0o644, b"old");
    add("f", tar::EntryType::Regular, 0o600, b"new");
    add("x/", tar::EntryType::Directory, 0o755, b"");
    add("x/inner", tar::EntryType::Regular, 0o644, b"i");
    add("x", tar::EntryType::Regular, 0o644, b"file now");
    let data = builder.into_inner().expect("tar");
    apply_bytes(&data, tmp.path());
    let d = tmp.path().join("d");
    assert!(d.join("one").exists() && d.join("two").exists());
    assert_eq!(
        fs::metadata(&d).expect("stat").permissions().mode() & 0o7777,
        0o700
    );
    assert_eq!(fs::read(tmp.path().join("f")).expect("read"), b"new");
    assert_eq!(fs::read(tmp.path().join("x")).expect("read"), b"file now");
}
