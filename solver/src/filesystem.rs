//! An image's final filesystem leaving the machine (`kiln build -o type=tar|local`):
//! the snapshot chain mounted read-only, written as one tar with no whiteouts, or that
//! tar unpacked into a folder.

use crate::backend::mount::with_overlay;
use crate::error::{Result, SolveError};
use kiln_cache::Store;
use kiln_cache::layer::{LayerOptions, apply_layer, write_layer};
use std::io::Write;
use std::path::Path;

/// Writes the filesystem of the committed snapshot `top` (`None`: empty) as a tar to
/// `out`, mtimes clamped to `source_date_epoch`.
pub fn write_filesystem_tar(
    store: &Store,
    top: Option<&str>,
    source_date_epoch: Option<i64>,
    out: &mut dyn Write,
) -> Result<()> {
    let overlay = store.readonly_mount(top)?;
    let target = store
        .root()
        .tmp_dir()
        .join(format!("fs-{}", kiln_cache::random_id(8)));
    fs_err::create_dir(&target)?;
    let options = LayerOptions { source_date_epoch };
    let written = with_overlay(&overlay, &target, || write_layer(&target, out, &options));
    let _ = fs_err::remove_dir(&target);
    written?.map_err(|e| SolveError::Cache(e.into()))?;
    Ok(())
}

/// Unpacks the filesystem of `top` into the empty folder `dest`.
pub fn write_filesystem_dir(
    store: &Store,
    top: Option<&str>,
    source_date_epoch: Option<i64>,
    dest: &Path,
) -> Result<()> {
    let (reader, mut writer) = std::io::pipe()?;
    std::thread::scope(|scope| {
        let writing = scope.spawn(move || {
            let written = write_filesystem_tar(store, top, source_date_epoch, &mut writer);
            drop(writer);
            written
        });
        let mut reader = std::io::BufReader::new(reader);
        let applied = apply_layer(&mut reader, dest).map_err(|e| SolveError::Cache(e.into()));
        drop(reader);
        let written = writing
            .join()
            .map_err(|_| SolveError::Io(std::io::Error::other("filesystem writer panicked")))?;
        written.and(applied.map(drop))
    })
}
