//! Running COPY and WORKDIR vertices: file operations on the mounted overlay of an
//! active snapshot, all resolved inside its root.

use super::mount::with_overlay;
use crate::context::{BuildContext, Source};
use crate::error::{Result, SolveError};
use crate::op::FileOp;
use kiln_cache::Store;
use kiln_cache::index::{CacheRecord, SnapshotRow};
use kiln_cache::rootfs::{CopyOptions, RootDir};

pub(super) fn run(
    store: &Store,
    context: &BuildContext,
    op: &FileOp,
    sources: Option<&[Source]>,
    parent: Option<&str>,
    mut record: CacheRecord,
) -> Result<SnapshotRow> {
    let active = store.prepare(parent)?;
    let applied = store
        .active_mount(&active)
        .map_err(SolveError::from)
        .and_then(|mount| {
            with_overlay(&mount, &active.mount_dir(), || {
                apply(&active.mount_dir(), context, op, sources)
            })?
        });
    if let Err(e) = applied {
        store.abort(active)?;
        return Err(e);
    }
    record.snapshot = active.id().to_string();
    Ok(store.commit(active, Some(&record))?)
}

fn apply(
    root: &std::path::Path,
    context: &BuildContext,
    op: &FileOp,
    sources: Option<&[Source]>,
) -> Result<()> {
    let root = RootDir::open(root).map_err(step_error)?;
    match op {
        FileOp::Mkdir { path, owner } => {
            let owner = owner.as_deref().map(|o| ids(&root, o)).transpose()?;
            root.mkdir_all(path, 0o755, owner).map_err(step_error)?;
        }
        FileOp::Copy(copy) => {
            let sources = sources.unwrap_or_default();
            if sources.len() > 1 && !copy.dest.ends_with('/') {
                return Err(SolveError::Context {
                    path: copy.sources.join(" "),
                    message: "When using COPY with more than one source file, the destination must be a directory and end with a /".into(),
                });
            }
            let opts = CopyOptions {
                chown: copy.chown.as_deref().map(|c| ids(&root, c)).transpose()?,
                chmod: copy.chmod,
            };
            for source in sources {
                root.copy_in_filtered(&source.path, &copy.dest, &opts, &|below| {
                    context.is_excluded_below(source, below)
                })
                .map_err(step_error)?;
            }
        }
    }
    Ok(())
}

/// `user[:group]` to numeric ids, names looked up in the root's passwd and group files.
fn ids(root: &RootDir, spec: &str) -> Result<(u32, u32)> {
    let read = |path: &str| {
        root.read_file(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    kiln_executor::resolve_ids(spec, &read("/etc/passwd"), &read("/etc/group")).map_err(|message| {
        SolveError::Context {
            path: spec.to_string(),
            message,
        }
    })
}

fn step_error(e: impl std::error::Error) -> SolveError {
    SolveError::Io(std::io::Error::other(super::error_chain(&e)))
}
