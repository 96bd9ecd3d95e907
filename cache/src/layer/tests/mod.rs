//! Tests of layer writing and applying. They need root (mknod, chown, trusted xattrs, overlay).

mod deep;
mod extract;
mod hostile;
mod overlay;
mod prop;
mod roundtrip;

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::{LayerOptions, apply_layer, write_layer};

/// One entry of a tar stream, as the tests compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TarEntry {
    pub path: String,
    pub kind: u8,
    pub mode: u32,
    pub mtime: u64,
    pub size: u64,
}

/// The entries of an uncompressed tar stream.
pub(super) fn tar_entries(data: &[u8]) -> Vec<TarEntry> {
    let mut archive = tar::Archive::new(data);
    let mut out = Vec::new();
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let h = entry.header();
        out.push(TarEntry {
            path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            kind: h.entry_type().as_byte(),
            mode: h.mode().expect("mode"),
            mtime: h.mtime().expect("mtime"),
            size: entry.size(),
        });
    }
    out
}

pub(super) fn layer_bytes(upper: &Path, opts: &LayerOptions) -> Vec<u8> {
    let mut out = Vec::new();
    let stats = write_layer(upper, &mut out, opts).expect("write_layer");
    assert_eq!(stats.bytes, out.len() as u64);
    out
}

pub(super) fn apply_bytes(data: &[u8], dest: &Path) {
    let mut reader = data;
    let stats = apply_layer(&mut reader, dest).expect("apply_layer");
    assert_eq!(stats.bytes, data.len() as u64);
}

/// Everything the round trip must preserve about one file, keyed by relative path.
/// Hard links are recorded as the smallest path of their inode.
pub(super) fn describe_tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: HashMap<u64, String> = HashMap::new();
    let mut paths = Vec::new();
    collect(root, &mut paths);
    paths.sort();
    for path in paths {
        let meta = fs::symlink_metadata(&path).expect("lstat");
        let rel = path
            .strip_prefix(root)
            .expect("prefix")
            .to_string_lossy()
            .into_owned();
        let ft = meta.file_type();
        let mut d = format!(
            "mode={:o} uid={} gid={}",
            meta.mode(),
            meta.uid(),
            meta.gid()
        );
        if !ft.is_dir() {
            if let Some(first) = inodes.get(&meta.ino()) {
                out.insert(rel, format!("hardlink to {first}"));
                continue;
            }
            inodes.insert(meta.ino(), rel.clone());
        }
        d += &format!(" mtime={}", meta.mtime());
        if ft.is_file() {
            d += &format!(" content={:?}", fs::read(&path).expect("read"));
        } else if ft.is_symlink() {
            d += &format!(" -> {}", fs::read_link(&path).expect("readlink").display());
        } else if ft.is_char_device() || ft.is_block_device() {
            d += &format!(" rdev={}", meta.rdev());
        }
        d += &format!(" xattrs={:?}", xattrs(&path));
        out.insert(rel, d);
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        out.push(path.clone());
        if fs::symlink_metadata(&path).expect("lstat").is_dir() {
            collect(&path, out);
        }
    }
}

pub(super) fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 65536];
    let n = rustix::fs::llistxattr(path, &mut names[..]).expect("llistxattr");
    let mut out = Vec::new();
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let mut value = vec![0u8; 65536];
        let len = rustix::fs::lgetxattr(path, name, &mut value[..]).expect("lgetxattr");
        out.push((
            String::from_utf8_lossy(name).into_owned(),
            value[..len].to_vec(),
        ));
    }
    out.sort();
    out
}

/// Mounts an overlay; `upper` is `Some((upper, work))` for a writable one.
pub(super) fn mount_overlay(lowers: &[&Path], upper: Option<(&Path, &Path)>, target: &Path) {
    let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    let mut data = format!("lowerdir={},redirect_dir=off,metacopy=off", lower.join(":"));
    if let Some((upper, work)) = upper {
        data += &format!(",upperdir={},workdir={}", upper.display(), work.display());
    }
    let data = CString::new(data).expect("cstring");
    rustix::mount::mount(
        "overlay",
        target,
        "overlay",
        rustix::mount::MountFlags::empty(),
        data.as_c_str(),
    )
    .expect("mount overlay (the layer tests need root)");
}

pub(super) fn unmount(target: &Path) {
    rustix::mount::unmount(target, rustix::mount::UnmountFlags::empty()).expect("unmount");
}

pub(super) fn set_mtime(path: &Path, secs: i64) {
    let t = crate::rootfs::ops::timestamps(secs, 0);
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &t,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .expect("utimensat");
}

pub(super) fn name_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}
