//! `RootDir` tests. They need root (chown).

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use super::{Chmod, CopyOptions, RootDir, RootfsError};

struct Scene {
    tmp: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let tmp = tempfile::tempdir().expect("tempdir");
        for d in ["root", "ctx", "host"] {
            fs::create_dir(tmp.path().join(d)).expect("mkdir");
        }
        Scene { tmp }
    }
    fn p(&self, rel: &str) -> std::path::PathBuf {
        self.tmp.path().join(rel)
    }
    fn root(&self) -> RootDir {
        RootDir::open(&self.p("root")).expect("open root")
    }
    fn host_untouched(&self) {
        assert_eq!(fs::read_dir(self.p("host")).expect("read_dir").count(), 0);
    }
}

fn write_ctx(path: &Path, content: &str, mode: u32, mtime: i64) {
    fs::write(path, content).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    let t = super::ops::timestamps(mtime, 5);
    rustix::fs::utimensat(rustix::fs::CWD, path, &t, rustix::fs::AtFlags::empty()).expect("utimes");
}

#[test]
fn copy_file_into_dir_and_to_new_name() {
    let s = Scene::new();
    write_ctx(&s.p("ctx/app.sh"), "echo hi", 0o755, 1_500_000_000);
    let root = s.root();
    let stats = root
        .copy_in(&s.p("ctx/app.sh"), "/app/", &CopyOptions::default())
        .expect("copy");
    assert_eq!((stats.files, stats.bytes), (1, 7));
    let meta = fs::metadata(s.p("root/app/app.sh")).expect("copied");
    assert_eq!(meta.mode() & 0o7777, 0o755);
    assert_eq!((meta.mtime(), meta.mtime_nsec()), (1_500_000_000, 5));
    assert_eq!(
        fs::metadata(s.p("root/app")).expect("dir").mode() & 0o7777,
        0o755
    );

    // An existing directory (without a trailing slash) also receives the file.
    root.copy_in(&s.p("ctx/app.sh"), "/app", &CopyOptions::default())
        .expect("copy");
    // A new name.
    root.copy_in(&s.p("ctx/app.sh"), "/bin/run", &CopyOptions::default())
        .expect("copy");
    assert_eq!(fs::read(s.p("root/bin/run")).expect("read"), b"echo hi");
}

#[test]
fn copy_dir_copies_its_contents_with_chown_and_chmod() {
    let s = Scene::new();
    fs::create_dir_all(s.p("ctx/src/sub")).expect("mkdir");
    write_ctx(&s.p("ctx/src/a"), "a", 0o600, 1_400_000_000);
    write_ctx(&s.p("ctx/src/sub/b"), "bb", 0o644, 1_400_000_001);
    symlink("../a", s.p("ctx/src/sub/link")).expect("symlink");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        s.p("ctx/src/fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
    fs::write(s.p("ctx/src/skipme"), "x").expect("write");
    let opts = CopyOptions {
        chown: Some((1234, 5678)),
        chmod: Some(Chmod::Octal(0o640)),
        keep_owner: false,
        special_as_files: false,
    };
    let root = s.root();
    let stats = root
        .copy_in_filtered(&s.p("ctx/src"), b"src", "/dst/deep", &opts, &|rel, _| {
            rel == Path::new("skipme")
        })
        .expect("copy");
    assert_eq!((stats.files, stats.bytes), (3, 3));
    for (rel, mode) in [
        ("dst/deep/a", 0o640),
        ("dst/deep/sub/b", 0o640),
        ("dst/deep/sub", 0o640),
    ] {
        let m = fs::symlink_metadata(s.p("root").join(rel)).expect("stat");
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (mode, 1234, 5678),
            "{rel}"
        );
    }
    let link = fs::symlink_metadata(s.p("root/dst/deep/sub/link")).expect("link");
    assert!(link.file_type().is_symlink());
    assert_eq!((link.uid(), link.gid()), (1234, 5678));
    assert_eq!(
        fs::read_link(s.p("root/dst/deep/sub/link")).expect("readlink"),
        Path::new("../a")
    );
    assert!(!s.p("root/dst/deep/fifo").exists() && !s.p("root/dst/deep/skipme").exists());
    // A context's sockets and device nodes arrive as empty files; fifos never do.
    let socket = std::os::unix::net::UnixListener::bind(s.p("ctx/src/sock")).expect("bind");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        s.p("ctx/src/null"),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::from_raw_mode(0o640),
        rustix::fs::makedev(1, 3),
    )
    .expect("mknod");
    let special = CopyOptions {
        special_as_files: true,
        ..CopyOptions::default()
    };
    root.copy_in_filtered(&s.p("ctx/src"), b"src", "/special", &special, &|_, _| false)
        .expect("copy");
    drop(socket);
    for (name, mode) in [("sock", None), ("null", Some(0o640))] {
        let m = fs::symlink_metadata(s.p("root/special").join(name)).expect("stat");
        assert!(m.is_file() && m.len() == 0, "{name}");
        if let Some(mode) = mode {
            assert_eq!(m.mode() & 0o7777, mode, "{name}");
        }
    }
    assert!(!s.p("root/special/fifo").exists());
    assert_eq!(
        fs::metadata(s.p("root/dst/deep/a")).expect("stat").mtime(),
        1_400_000_000
    );
}

#[test]
fn destination_symlinks_resolve_inside_the_root() {
    let s = Scene::new();
    write_ctx(&s.p("ctx/f"), "data", 0o644, 1_000);
    fs::create_dir(s.p("root/elsewhere")).expect("mkdir");
    symlink("/elsewhere", s.p("root/app")).expect("symlink");
    // A dangling absolute link naming a real host directory.
    symlink(s.p("host"), s.p("root/hostlink")).expect("symlink");
    symlink("../../../../..", s.p("root/up")).expect("symlink");
    let root = s.root();
    root.copy_in(&s.p("ctx/f"), "/app/f", &CopyOptions::default())
        .expect("copy");
    assert_eq!(fs::read(s.p("root/elsewhere/f")).expect("read"), b"data");
    root.copy_in(&s.p("ctx/f"), "/hostlink/f", &CopyOptions::default())
        .expect("copy");
    let inside = s
        .p("root")
        .join(s.p("host").strip_prefix("/").expect("absolute"));
    assert_eq!(fs::read(inside.join("f")).expect("read"), b"data");
    root.copy_in(&s.p("ctx/f"), "up/../up/x/", &CopyOptions::default())
        .expect("copy");
    assert_eq!(fs::read(s.p("root/x/f")).expect("read"), b"data");
    s.host_untouched();
}

#[test]
fn existing_files_are_replaced_and_destination_links_written_through_in_root() {
    let s = Scene::new();
    write_ctx(&s.p("ctx/f"), "new", 0o644, 1_000);
    fs::write(s.p("root/other"), "old").expect("write");
    fs::hard_link(s.p("root/other"), s.p("root/f")).expect("link");
    fs::write(s.p("host/secret"), "keep").expect("write");
    symlink(s.p("host/secret"), s.p("root/g")).expect("symlink");
    fs::write(s.p("root/target"), "old").expect("write");
    symlink("/target", s.p("root/link")).expect("symlink");
    let root = s.root();
    root.copy_in(&s.p("ctx/f"), "/f", &CopyOptions::default())
        .expect("copy");
    root.copy_in(&s.p("ctx/f"), "/g", &CopyOptions::default())
        .expect("copy");
    root.copy_in(&s.p("ctx/f"), "/link", &CopyOptions::default())
        .expect("copy");
    assert_eq!(fs::read(s.p("root/f")).expect("read"), b"new");
    assert_eq!(fs::read(s.p("root/other")).expect("read"), b"old");
    // The link stays; its in-root target is replaced (made, with its parents, if missing).
    assert!(
        fs::symlink_metadata(s.p("root/link"))
            .expect("stat")
            .is_symlink()
    );
    assert_eq!(fs::read(s.p("root/target")).expect("read"), b"new");
    assert!(
        fs::symlink_metadata(s.p("root/g"))
            .expect("stat")
            .is_symlink()
    );
    let inside = s
        .p("root")
        .join(s.p("host/secret").strip_prefix("/").expect("absolute"));
    assert_eq!(fs::read(inside).expect("read"), b"new");
    assert_eq!(fs::read(s.p("host/secret")).expect("read"), b"keep");

    fs::create_dir_all(s.p("root/d/inner")).expect("mkdir");
    fs::create_dir(s.p("ctx/dir")).expect("mkdir");
    fs::write(s.p("ctx/dir/inner"), "file").expect("write");
    let err = root
        .copy_in(&s.p("ctx/dir"), "/d", &CopyOptions::default())
        .expect_err("dir");
    assert!(matches!(err, RootfsError::IsADirectory { .. }), "{err}");
}

#[test]
fn mkdir_all_and_read_file_stay_inside() {
    let s = Scene::new();
    fs::create_dir(s.p("root/etc")).expect("mkdir");
    fs::write(s.p("root/etc/passwd.real"), "root:x:0:0").expect("write");
    symlink("/etc/passwd.real", s.p("root/etc/passwd")).expect("symlink");
    symlink(s.p("host"), s.p("root/work")).expect("symlink");
    fs::write(s.p("root/file"), "").expect("write");
    let root = s.root();
    assert_eq!(root.read_file("/etc/passwd").expect("read"), b"root:x:0:0");
    root.mkdir_all("/work/a/b", 0o750, Some((7, 8)))
        .expect("mkdir");
    let inside = s
        .p("root")
        .join(s.p("host").strip_prefix("/").expect("absolute"));
    let m = fs::metadata(inside.join("a/b")).expect("created");
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o750, 7, 8));
    root.mkdir_all("../../../../top", 0o755, None)
        .expect("mkdir");
    assert!(s.p("root/top").is_dir());
    let err = root
        .mkdir_all("/file/sub", 0o755, None)
        .expect_err("not a dir");
    assert!(matches!(err, RootfsError::InRoot { .. }), "{err}");
    symlink("loop", s.p("root/loop")).expect("symlink");
    assert!(root.mkdir_all("/loop/x", 0o755, None).is_err());
    s.host_untouched();
}

#[test]
fn deep_context_copy_does_not_overflow() -> Result<(), Box<dyn std::error::Error>> {
    use crate::tree::testing::{DEEP, make_chain, on_small_stack, read_chain};
    let s = Scene::new();
    make_chain(&s.p("ctx"), DEEP, b"leaf")?;
    let root = s.root();
    let stats = on_small_stack(|| root.copy_in(&s.p("ctx"), "/ctx/", &CopyOptions::default()))?;
    assert_eq!(stats.files, 1);
    assert_eq!(read_chain(&s.p("root/ctx"))?, (DEEP, b"leaf".to_vec()));
    crate::tree::remove_tree(&s.p("ctx/d"))?;
    crate::tree::remove_tree(&s.p("root/ctx"))?;
    Ok(())
}

#[test]
fn deep_tree_remove_existing_does_not_overflow() -> Result<(), Box<dyn std::error::Error>> {
    use crate::tree::testing::{DEEP, make_chain, on_small_stack};
    let s = Scene::new();
    fs::create_dir(s.p("root/x"))?;
    make_chain(&s.p("root/x"), DEEP, b"")?;
    fs::write(s.p("ctx/x"), "file")?;
    let root = s.root();
    // A file never replaces a directory in a COPY, but a layer entry does: through the same
    // removal, which must not recurse.
    let removed = on_small_stack(|| super::ops::remove_existing(root.as_fd(), b"x", false))?;
    assert_eq!(removed, super::ops::Existing::Removed);
    assert!(!s.p("root/x").exists());
    root.copy_in(&s.p("ctx/x"), "/x", &CopyOptions::default())?;
    assert_eq!(fs::read_to_string(s.p("root/x"))?, "file");
    Ok(())
}

#[test]
fn hard_links_among_copied_files_stay_hard_links() {
    use std::os::unix::fs::MetadataExt;
    let s = Scene::new();
    fs::create_dir_all(s.p("ctx/src/sub")).expect("mkdir");
    write_ctx(&s.p("ctx/src/one"), "same", 0o644, 1_400_000_000);
    fs::hard_link(s.p("ctx/src/one"), s.p("ctx/src/sub/two")).expect("link");
    write_ctx(&s.p("ctx/src/other"), "same", 0o644, 1_400_000_000);
    let root = s.root();
    root.copy_in_filtered(
        &s.p("ctx/src"),
        b"src",
        "/dst",
        &CopyOptions::default(),
        &|_, _| false,
    )
    .expect("copy");
    let ino = |rel: &str| fs::metadata(s.p(rel)).expect("stat").ino();
    assert_eq!(ino("root/dst/one"), ino("root/dst/sub/two"));
    assert_ne!(ino("root/dst/one"), ino("root/dst/other"));
    assert_ne!(
        ino("root/dst/one"),
        ino("ctx/src/one"),
        "a copy, not a link to the context"
    );
}
