//! Local archives as `ADD` extracts them: every compression told by content, merged into
//! the destination, `.wh.*` names kept as files, owners replaced by `--chown`, hostile
//! entries refused.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::super::{LayerError, LayerStats, LocalArchive};

fn extract_archive(
    archive: &Path,
    dest: &Path,
    chown: Option<(u32, u32)>,
) -> Result<Option<LayerStats>, LayerError> {
    LocalArchive::open(archive)?
        .map(|a| a.extract(dest, chown))
        .transpose()
}
use super::hostile::raw;

/// A tar with `a/b.txt` (owned 7:8) and `.wh.keep`.
fn sample_tar() -> Vec<u8> {
    let mut out = Vec::new();
    let mut add = |path: &str, kind: tar::EntryType, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o640 });
        h.set_uid(7);
        h.set_gid(8);
        h.set_size(data.len() as u64);
        h.set_mtime(1_000_000);
        h.set_path(path).expect("path");
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    };
    add("a/", tar::EntryType::Directory, b"");
    add("a/b.txt", tar::EntryType::Regular, b"hello\n");
    add(".wh.keep", tar::EntryType::Regular, b"kept");
    out.extend_from_slice(&[0; 1024]);
    out
}

fn compressed(how: &str, data: &[u8]) -> Vec<u8> {
    match how {
        "plain" => data.to_vec(),
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).expect("gzip");
            e.finish().expect("gzip")
        }
        "bzip2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).expect("bzip2");
            e.finish().expect("bzip2")
        }
        "xz" => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).expect("xz");
            e.finish().expect("xz")
        }
        "zstd" => zstd::encode_all(data, 1).expect("zstd"),
        other => panic!("no compression {other}"),
    }
}

/// `<tmp>/archive` holding `data`, and `<tmp>/dest` with one file already in it.
fn scene(data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive.bin");
    fs::write(&archive, data).expect("write");
    let dest = tmp.path().join("dest");
    fs::create_dir_all(dest.join("a")).expect("mkdir");
    fs::write(dest.join("a/old"), "old").expect("write");
    (tmp, archive, dest)
}

#[test]
fn every_compression_is_told_by_content_and_merged_into_the_destination() {
    for how in ["plain", "gzip", "bzip2", "xz", "zstd"] {
        let (_tmp, archive, dest) = scene(&compressed(how, &sample_tar()));
        let stats = extract_archive(&archive, &dest, None).expect("extract");
        assert!(stats.is_some(), "{how}: not taken for an archive");
        assert_eq!(fs::read(dest.join("a/b.txt")).expect("read"), b"hello\n");
        assert_eq!(fs::read(dest.join("a/old")).expect("read"), b"old", "{how}");
        // Not a whiteout: a file like any other.
        assert_eq!(fs::read(dest.join(".wh.keep")).expect("read"), b"kept");
        let meta = fs::metadata(dest.join("a/b.txt")).expect("stat");
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (7, 8, 0o640)
        );
        assert_eq!(meta.mtime(), 1_000_000);
    }
}

#[test]
fn chown_replaces_the_archive_owners() {
    let (_tmp, archive, dest) = scene(&compressed("gzip", &sample_tar()));
    extract_archive(&archive, &dest, Some((1000, 1001))).expect("extract");
    for path in ["a", "a/b.txt", ".wh.keep"] {
        let meta = fs::symlink_metadata(dest.join(path)).expect("stat");
        assert_eq!((meta.uid(), meta.gid()), (1000, 1001), "{path}");
    }
}

#[test]
fn files_that_are_not_tar_archives_are_left_alone() {
    for data in [
        b"just text, longer than nothing".to_vec(),
        compressed("gzip", b"compressed, but no tar inside"),
        compressed("xz", &[0u8; 2048]),
        Vec::new(),
    ] {
        let (_tmp, archive, dest) = scene(&data);
        assert!(
            extract_archive(&archive, &dest, None)
                .expect("extract")
                .is_none()
        );
        assert!(!dest.join("a/b.txt").exists());
    }
}

fn hostile(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Result<(), LayerError> {
    let mut data = Vec::new();
    for (path, kind, link) in entries {
        raw(&mut data, path, *kind, link, b"x");
    }
    data.extend_from_slice(&[0; 1024]);
    let (tmp, archive, dest) = scene(&compressed("gzip", &data));
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    let result = extract_archive(&archive, &dest, None).map(|_| ());
    assert_eq!(
        fs::read_dir(&outside).expect("read_dir").count(),
        0,
        "wrote outside"
    );
    assert!(!Path::new("/evil-kiln-add").exists());
    result
}

#[test]
fn hostile_archives_are_refused() {
    use tar::EntryType::{Link, Regular, Symlink};
    let dotdot = hostile(&[(b"../outside/x", Regular, b"")]);
    assert!(
        matches!(dotdot, Err(LayerError::UnsafePath { .. })),
        "{dotdot:?}"
    );
    let absolute = hostile(&[(b"/evil-kiln-add", Regular, b"")]);
    assert!(
        matches!(absolute, Err(LayerError::UnsafePath { .. })),
        "{absolute:?}"
    );
    let through = hostile(&[(b"l", Symlink, b"../outside"), (b"l/x", Regular, b"")]);
    assert!(
        matches!(through, Err(LayerError::BadParent { .. })),
        "{through:?}"
    );
    let link_out = hostile(&[(b"h", Link, b"../outside/x")]);
    assert!(
        matches!(link_out, Err(LayerError::HardLink { .. })),
        "{link_out:?}"
    );
}
