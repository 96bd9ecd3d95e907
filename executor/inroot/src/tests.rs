use super::*;
use std::os::unix::fs::symlink;
use std::path::Path;

fn root(dir: &Path) -> OwnedFd {
    rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap()
}

const DIRS: NewDirs = NewDirs {
    mode: 0o755,
    owner: None,
};

#[test]
fn dotdot_after_a_symlink_is_the_targets_parent_for_open_and_mkdir_alike() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
    std::fs::create_dir_all(dir.path().join("a")).unwrap();
    symlink("/x/y", dir.path().join("a/link")).unwrap();
    let root = root(dir.path());
    let mut created = Vec::new();
    mkdir_all(root.as_fd(), b"/a/link/../made", DIRS, &mut created).unwrap();
    assert!(
        dir.path().join("x/made").is_dir(),
        "made under the target's parent"
    );
    assert!(
        !dir.path().join("a/made").exists(),
        "not where lexical cleaning points"
    );
    assert_eq!(created, [b"/x/made".to_vec()]);
    // open resolves the same path to the same directory.
    let opened = rustix::fs::fstat(open_dir(root.as_fd(), b"/a/link/../made").unwrap()).unwrap();
    let made = std::fs::metadata(dir.path().join("x/made")).unwrap();
    assert_eq!(opened.st_ino, std::os::unix::fs::MetadataExt::ino(&made));
}

#[test]
fn dotdot_and_absolute_links_never_leave_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("root");
    std::fs::create_dir(&inner).unwrap();
    symlink("/", inner.join("up")).unwrap();
    symlink("../../..", inner.join("dots")).unwrap();
    let root = root(&inner);
    let mut created = Vec::new();
    mkdir_all(root.as_fd(), b"../../a", DIRS, &mut created).unwrap();
    mkdir_all(root.as_fd(), b"/up/b", DIRS, &mut created).unwrap();
    mkdir_all(root.as_fd(), b"/dots/c", DIRS, &mut created).unwrap();
    for name in ["a", "b", "c"] {
        assert!(inner.join(name).is_dir(), "{name} inside the root");
        assert!(!dir.path().join(name).exists(), "{name} outside the root");
    }
    assert_eq!(created, [b"/a".to_vec(), b"/b".to_vec(), b"/c".to_vec()]);
}

#[test]
fn a_dangling_symlink_gets_its_target_created_in_the_root() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/target/deep", dir.path().join("dangling")).unwrap();
    let root = root(dir.path());
    let mut created = Vec::new();
    mkdir_all(
        root.as_fd(),
        b"/dangling/sub",
        NewDirs {
            mode: 0o750,
            owner: None,
        },
        &mut created,
    )
    .unwrap();
    assert!(dir.path().join("target/deep/sub").is_dir());
    assert_eq!(
        created,
        [
            b"/target".to_vec(),
            b"/target/deep".to_vec(),
            b"/target/deep/sub".to_vec()
        ]
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("target/deep/sub"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o7777, 0o750, "the exact mode, whatever the umask");
}

#[test]
fn symlink_loops_end_with_eloop() {
    let dir = tempfile::tempdir().unwrap();
    symlink("b", dir.path().join("a")).unwrap();
    symlink("a", dir.path().join("b")).unwrap();
    let root = root(dir.path());
    assert_eq!(
        mkdir_all(root.as_fd(), b"/a/x", DIRS, &mut Vec::new()).err(),
        Some(Errno::LOOP)
    );
}

#[test]
fn split_parent_names_only_creatable_entries() {
    assert_eq!(split_parent(b"/a/b/"), Some((&b"/a"[..], &b"b"[..])));
    assert_eq!(split_parent(b"c"), Some((&b""[..], &b"c"[..])));
    for path in [&b"/"[..], b"/a/..", b"/a/.", b""] {
        assert_eq!(
            split_parent(path),
            None,
            "{}",
            String::from_utf8_lossy(path)
        );
    }
}

#[test]
fn a_missing_component_that_dotdot_leaves_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let root = root(dir.path());
    let mut created = Vec::new();
    mkdir_all(root.as_fd(), b"/../../x/./y/../z", DIRS, &mut created).unwrap();
    assert!(dir.path().join("x/z").is_dir());
    assert!(!dir.path().join("x/y").exists());
    assert_eq!(created, [b"/x".to_vec(), b"/x/z".to_vec()]);
}

#[test]
fn locate_follows_every_symlink_in_root_the_final_one_included() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("root");
    std::fs::create_dir_all(inner.join("real/sub")).unwrap();
    std::fs::write(inner.join("real/sub/f"), b"x").unwrap();
    std::fs::write(dir.path().join("host-file"), b"host").unwrap();
    symlink("real", inner.join("dirlink")).unwrap();
    symlink("/real/sub/f", inner.join("abs")).unwrap();
    symlink("../../../real/sub/f", inner.join("up")).unwrap();
    symlink("../host-file", inner.join("out")).unwrap();
    symlink("/missing/target", inner.join("dangling")).unwrap();
    symlink("sub/f", inner.join("real/rel")).unwrap();
    let root = root(&inner);
    let at = |path: &[u8]| locate(root.as_fd(), path, None);
    for link in [
        &b"abs"[..],
        b"up",
        b"dirlink/sub/f",
        b"/dirlink/rel",
        b"dirlink/sub/../rel",
    ] {
        let found = at(link).unwrap();
        assert_eq!(
            found.path,
            b"real/sub/f",
            "{}",
            String::from_utf8_lossy(link)
        );
        assert_eq!(found.name, b"f");
        assert!(found.exists);
        let file = rustix::fs::openat(&found.dir, "f", OFlags::RDONLY, Mode::empty()).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(file), &mut text).unwrap();
        assert_eq!(text, "x");
    }
    // A link out of the root resolves inside it: to a file that is not there.
    let out = at(b"out").unwrap();
    assert_eq!(
        (out.path.as_slice(), out.exists),
        (&b"host-file"[..], false)
    );
    let dangling = at(b"dangling");
    assert_eq!(dangling.unwrap_err(), Errno::NOENT, "its parent is missing");
    let made = locate(root.as_fd(), b"dangling", Some(DIRS)).unwrap();
    assert_eq!(
        (made.path.as_slice(), made.exists),
        (&b"missing/target"[..], false)
    );
    assert!(
        inner.join("missing").is_dir(),
        "the target's parent is made in the root"
    );
    let dir_link = at(b"dirlink").unwrap();
    assert_eq!(
        (dir_link.path.as_slice(), dir_link.name.as_slice()),
        (&b"real"[..], &b"real"[..])
    );
    let top = at(b"real/..").unwrap();
    assert!(top.path.is_empty() && top.name.is_empty() && top.exists);
    assert_eq!(at(b"real/sub/f/x").unwrap_err(), Errno::NOTDIR);
    symlink("loop", inner.join("loop")).unwrap();
    assert_eq!(at(b"loop").unwrap_err(), Errno::LOOP);
}
