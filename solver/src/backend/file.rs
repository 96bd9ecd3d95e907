//! COPY, ADD and WORKDIR for [`super::StoreBackend`]: file operations on the mounted overlay
//! of an active snapshot, all resolved inside its root.

use super::inline::InlineDir;
use super::mount::with_overlay;
use super::store::store_active;
use super::{Active, FileSources, stage_source};
use crate::error::{Result, SolveError};
use crate::op::{CopySource, FileOp};
use crate::selection::{Excludes, step_leaves_out};
use kiln_cache::Store;
use kiln_cache::layer::LocalArchive;
use kiln_cache::rootfs::{CopyOptions, RootDir};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Mounts the active snapshot's root, applies `op` to it, unmounts.
pub(super) fn apply(
    store: &Store,
    active: &Active,
    op: &FileOp,
    sources: &FileSources<'_>,
) -> Result<()> {
    with_overlay(&active.root, &active.mountpoint, || {
        apply_mounted(store, active, op, sources)
    })?
}

fn apply_mounted(
    store: &Store,
    active: &Active,
    op: &FileOp,
    inputs: &FileSources<'_>,
) -> Result<()> {
    let root = RootDir::open(&active.mountpoint).map_err(step_error)?;
    let copy = match op {
        FileOp::Mkdir { path, owner } => {
            let owner = owner
                .as_deref()
                .map(|o| ids(&root, o, kiln_executor::resolve_ids))
                .transpose()?;
            root.mkdir_all(path, 0o755, owner).map_err(step_error)?;
            return Ok(());
        }
        FileOp::Copy(copy) => copy,
    };
    let opts = CopyOptions {
        chown: copy
            .chown
            .as_deref()
            .map(|c| ids(&root, c, kiln_executor::resolve_chown))
            .transpose()?,
        chmod: copy.chmod.clone(),
        keep_owner: matches!(copy.source, CopySource::Input(_)),
        special_as_files: copy.source == CopySource::Context,
    };
    let many = |n: usize| -> Result<()> {
        if n > 1 && !copy.dest.ends_with('/') {
            return Err(SolveError::Instruction(
                "When using COPY with more than one source file, the destination must be a directory and end with a /".into(),
            ));
        }
        Ok(())
    };
    let inline = copy.inline.len();
    let excludes = Excludes::new(&copy.exclude)?;
    match copy.source {
        CopySource::Context => {
            let selection = inputs.context_sources.cloned().unwrap_or_default();
            many(selection.sources.len() + inline)?;
            for source in &selection.sources {
                if copy.unpack && extract(&root, &source.path, &copy.dest, opts.chown)? {
                    continue;
                }
                let left_out = |below: &Path, is_dir| {
                    inputs
                        .context
                        .is_left_out(&selection, source, below, is_dir)
                        || step_leaves_out(source.kept.as_ref(), &excludes, below, is_dir)
                };
                root.copy_in_filtered(
                    &source.path,
                    source.name.as_bytes(),
                    &copy.dest,
                    &opts,
                    &left_out,
                )
                .map_err(step_error)?;
            }
        }
        CopySource::Urls => {
            let files = inputs.downloads.unwrap_or_default();
            many(files.len() + inline)?;
            for file in files {
                root.copy_in(file, &copy.dest, &opts).map_err(step_error)?;
            }
        }
        CopySource::Input(_) if copy.sources.is_empty() => {}
        CopySource::Input(_) => {
            let (from, from_label) = inputs.input.unwrap_or((None, ""));
            let mount = store.readonly_mount(from)?;
            let dir = store_active(active)?.source_mount_dir()?;
            with_overlay(&mount, &dir, || -> Result<()> {
                let from = RootDir::open(&dir).map_err(step_error)?;
                let entries = if copy.parents {
                    stage_source::resolve_parents(&from, &copy.sources, from_label)?
                } else {
                    stage_source::resolve(&from, &copy.sources, from_label)?
                };
                many(entries.len() + inline)?;
                for entry in &entries {
                    let left_out = |below: &Path, is_dir| {
                        step_leaves_out(entry.kept.as_ref(), &excludes, below, is_dir)
                    };
                    root.copy_in_filtered(
                        &entry.host_path(),
                        &entry.dest_name,
                        &copy.dest,
                        &opts,
                        &left_out,
                    )
                    .map_err(step_error)?;
                }
                Ok(())
            })??;
        }
    }
    // Heredoc files come after the paths, as in BuildKit's `dispatchCopy`.
    let files = InlineDir::write(&store.root().tmp_dir(), &copy.inline, 0o644)?;
    for path in &files.paths {
        root.copy_in(path, &copy.dest, &opts).map_err(step_error)?;
    }
    Ok(())
}

/// ADD of a local file: extracts it into the directory `dest` (created if missing, as
/// BuildKit does) if it is a tar archive; whether it was one.
fn extract(root: &RootDir, source: &Path, dest: &str, chown: Option<(u32, u32)>) -> Result<bool> {
    if !fs_err::symlink_metadata(source)?.is_file() {
        return Ok(false);
    }
    let Some(archive) = LocalArchive::open(source).map_err(step_error)? else {
        return Ok(false);
    };
    let dir = root.mkdir_all(dest, 0o755, chown).map_err(step_error)?;
    // The directory as the held fd resolved it in-root, whatever its path's symlinks.
    let host = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    archive.extract(&host, chown).map_err(step_error)?;
    Ok(true)
}

/// `kiln_executor::resolve_ids` or `resolve_chown`: spec, passwd, group → uid, gid.
type ResolveIds = fn(&str, &str, &str) -> std::result::Result<(u32, u32), String>;

/// `user[:group]` to numeric ids by `resolve` (USER's rules or `--chown`'s), names looked
/// up in the root's passwd and group files.
fn ids(root: &RootDir, spec: &str, resolve: ResolveIds) -> Result<(u32, u32)> {
    let read = |path: &str| {
        root.read_file(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    resolve(spec, &read("/etc/passwd"), &read("/etc/group")).map_err(SolveError::Instruction)
}

/// The error as one line, keeping a full disk recognisable.
fn step_error(e: impl std::error::Error + 'static) -> SolveError {
    let kind = if kiln_cache::is_no_space(&e) {
        std::io::ErrorKind::StorageFull
    } else {
        std::io::ErrorKind::Other
    };
    SolveError::Io(std::io::Error::new(kind, super::error_chain(&e)))
}
