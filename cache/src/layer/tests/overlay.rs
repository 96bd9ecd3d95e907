//! `write_layer` on an upper dir produced by a real overlay mount.

use std::fs;
use std::os::unix::fs::MetadataExt;

use super::super::LayerOptions;
use super::{layer_bytes, mount_overlay, tar_entries, unmount};

#[test]
fn write_layer_translates_overlay_whiteouts_and_opaque_dirs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (lower, upper, work, merged) = (
        tmp.path().join("lower"),
        tmp.path().join("upper"),
        tmp.path().join("work"),
        tmp.path().join("merged"),
    );
    for d in [&lower, &upper, &work, &merged] {
        fs::create_dir(d).expect("mkdir");
    }
    fs::write(lower.join("a"), "a").expect("write");
    fs::create_dir(lower.join("d")).expect("mkdir");
    fs::write(lower.join("d/x"), "x").expect("write");

    mount_overlay(&[&lower], Some((&upper, &work)), &merged);
    let changes = (|| -> std::io::Result<()> {
        fs::remove_file(merged.join("a"))?;
        fs::remove_dir_all(merged.join("d"))?;
        fs::create_dir(merged.join("d"))?;
        fs::write(merged.join("d/y"), "y")?;
        fs::write(merged.join("n"), "n")
    })();
    unmount(&merged);
    changes.expect("changes in the overlay");

    let data = layer_bytes(&upper, &LayerOptions::default());
    let entries = tar_entries(&data);
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, [".wh.a", "d/", "d/.wh..wh..opq", "d/y", "n"]);
    let kinds: Vec<u8> = entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [b'0', b'5', b'0', b'0', b'0']);
    assert_eq!(entries[0].size, 0);

    // Deterministic: the same input gives the same bytes.
    assert_eq!(data, layer_bytes(&upper, &LayerOptions::default()));

    // SOURCE_DATE_EPOCH clamps every mtime (all files here are newer than it).
    let epoch = 1_000_000;
    let clamped = layer_bytes(
        &upper,
        &LayerOptions {
            source_date_epoch: Some(epoch),
        },
    );
    assert!(
        tar_entries(&clamped)
            .iter()
            .all(|e| e.mtime == epoch as u64)
    );
    let newest = fs::metadata(upper.join("n")).expect("stat").mtime();
    let far = layer_bytes(
        &upper,
        &LayerOptions {
            source_date_epoch: Some(newest + 1000),
        },
    );
    assert!(tar_entries(&far).iter().all(|e| e.mtime <= newest as u64));
}
