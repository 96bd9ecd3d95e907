//! Deep and wide trees: 10,000 levels and 1,000,000 entries in one folder, written and applied
//! without recursion (on a small stack) and without paths longer than `PATH_MAX`.

use std::os::unix::fs::MetadataExt;

use super::super::{LayerOptions, apply_layer, write_layer};
use super::tar_entries;
use crate::tree::remove_tree;
use crate::tree::testing::{DEEP, fast_tempdir, make_chain, make_wide, on_small_stack, read_chain};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn deep_tree_layer_write_does_not_overflow() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let upper = tmp.path().join("upper");
    std::fs::create_dir(&upper)?;
    make_chain(&upper, DEEP, b"leaf")?;
    let mut tar = Vec::new();
    let stats = on_small_stack(|| write_layer(&upper, &mut tar, &LayerOptions::default()))?;
    assert_eq!(stats.entries, DEEP as u64 + 1);
    let entries = tar_entries(&tar);
    assert_eq!(entries.len(), DEEP + 1);
    for (i, entry) in entries.iter().take(DEEP).enumerate() {
        assert_eq!(entry.path, "d/".repeat(i + 1));
    }
    let leaf = entries.last().ok_or("no entries")?;
    assert_eq!(leaf.path, format!("{}f", "d/".repeat(DEEP)));
    assert_eq!(leaf.size, 4);
    remove_tree(&upper)?;
    Ok(())
}

#[test]
fn deep_tree_layer_apply_does_not_overflow() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let (upper, dest) = (tmp.path().join("upper"), tmp.path().join("dest"));
    std::fs::create_dir(&upper)?;
    std::fs::create_dir(&dest)?;
    make_chain(&upper, DEEP, b"leaf")?;
    super::set_mtime(&upper.join("d"), 1_000_000);
    let mut tar = Vec::new();
    write_layer(&upper, &mut tar, &LayerOptions::default())?;
    let stats = on_small_stack(|| apply_layer(&mut tar.as_slice(), &dest))?;
    assert_eq!(stats.entries, DEEP as u64 + 1);
    assert_eq!(read_chain(&dest)?, (DEEP, b"leaf".to_vec()));
    assert_eq!(
        std::fs::symlink_metadata(dest.join("d"))?.mtime(),
        1_000_000
    );
    remove_tree(&upper)?;
    remove_tree(&dest)?;
    Ok(())
}

/// A tar sink for archives of header-only entries with short names (no PAX records, no data):
/// keeps each entry's name and type flag, without holding the stream.
#[derive(Default)]
struct Headers {
    block: Vec<u8>,
    entries: Vec<(Vec<u8>, u8)>,
    zero_blocks: usize,
}

impl std::io::Write for Headers {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for chunk in buf.chunks(512) {
            let take = chunk.len().min(512 - self.block.len());
            self.block.extend_from_slice(&chunk[..take]);
            if self.block.len() == 512 {
                if self.block.iter().all(|b| *b == 0) {
                    self.zero_blocks += 1;
                } else {
                    let name = self.block[..100].split(|b| *b == 0).next().unwrap_or(&[]);
                    self.entries.push((name.to_vec(), self.block[156]));
                }
                self.block.clear();
            }
            if take < chunk.len() {
                self.write_all(&chunk[take..])?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn wide_folder_million_entries_layer_write() -> TestResult {
    const WIDE: usize = 1_000_000;
    let tmp = fast_tempdir()?;
    let upper = tmp.path().join("upper");
    std::fs::create_dir_all(upper.join("w"))?;
    make_wide(&upper.join("w"), WIDE)?;
    let mut headers = Headers::default();
    let stats = write_layer(&upper, &mut headers, &LayerOptions::default())?;
    assert_eq!(stats.entries, WIDE as u64 + 1);
    assert_eq!(stats.bytes, (WIDE as u64 + 1) * 512 + 1024);
    assert_eq!(headers.zero_blocks, 2, "the trailer");
    let mut expected: Vec<(Vec<u8>, u8)> = (0..WIDE)
        .map(|i| (format!("w/{i}").into_bytes(), b'0'))
        .collect();
    expected.push((b"w/".to_vec(), b'5'));
    expected.sort();
    assert!(
        headers.entries == expected,
        "entries differ or are out of order"
    );
    assert_eq!(remove_tree(&upper)?, 0);
    Ok(())
}
