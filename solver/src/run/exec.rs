//! Running a RUN vertex: an active snapshot over the input, the sandbox over it,
//! output streamed as progress, commit on exit 0, abort otherwise.

use super::tail::Tail;
use super::{Solver, error_chain};
use crate::error::{Result, SolveError};
use crate::op::{ExecOp, Vertex};
use crate::progress::{Event, LogStream};
use kiln_cache::OverlayMount;
use kiln_cache::index::{CacheRecord, SnapshotRow};
use kiln_executor::{HostsFile, MountSpec, NetworkMode, Output, ProcessSpec, SandboxSpec, Stream};
use std::path::PathBuf;

/// Lines of output shown when a RUN fails.
const TAIL_LINES: usize = 20;

/// A sandbox whose root filesystem is `mount` on `mountpoint`, with no other mounts
/// and no stdin.
pub(crate) fn overlay_sandbox(
    mount: OverlayMount,
    mountpoint: PathBuf,
    process: ProcessSpec,
    hostname: &str,
    hosts: HostsFile,
    network: NetworkMode,
) -> SandboxSpec {
    SandboxSpec {
        rootfs: MountSpec {
            source: "overlay".into(),
            target: "/".into(),
            fstype: "overlay".into(),
            options: mount.options,
        },
        rootfs_base_dir: Some(mount.base_dir),
        mountpoint,
        mounts: Vec::new(),
        process,
        hostname: hostname.into(),
        hosts,
        network,
        stdin: false,
    }
}

pub(super) async fn run(
    solver: &Solver,
    id: usize,
    vertex: &Vertex,
    exec: &ExecOp,
    parent: Option<String>,
    mut record: CacheRecord,
) -> Result<SnapshotRow> {
    let store = solver.store.clone();
    let (active, mount) = super::blocking(move || {
        let active = store.prepare(parent.as_deref())?;
        let mount = store.active_mount(&active)?;
        Ok((active, mount))
    })
    .await?;
    let process = ProcessSpec {
        args: exec.args.clone(),
        env: exec.env.iter().chain(&exec.proxy_env).cloned().collect(),
        cwd: exec.cwd.clone(),
        user: exec.user.clone(),
    };
    let spec = overlay_sandbox(
        mount,
        active.mount_dir(),
        process,
        &exec.hostname,
        HostsFile::Build,
        exec.network,
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<kiln_executor::OutputChunk>();
    let reporter = solver.reporter.clone();
    let forward = tokio::spawn(async move {
        let mut tail = Tail::new(64 * 1024);
        while let Some(chunk) = rx.recv().await {
            tail.push(&chunk.data);
            let stream = match chunk.stream {
                Stream::Stdout => LogStream::Stdout,
                Stream::Stderr => LogStream::Stderr,
            };
            reporter.event(Event::Log {
                vertex: id,
                stream,
                data: chunk.data,
            });
        }
        tail
    });
    let status = solver.sandbox.run(&spec, Output::Pipe(tx)).await;
    let on_conflict = solver.on_conflict();
    let tail = forward.await.unwrap_or_default();
    let store = solver.store.clone();
    match status {
        Ok(status) if status.code == 0 => {
            record.snapshot = active.id().to_string();
            super::blocking(move || {
                if let Err(e) = store.discard_copy_up(&active, "etc") {
                    return Err(store.abort_after(active, e.into()));
                }
                Ok(store.commit_step(active, &record, on_conflict)?)
            })
            .await
        }
        outcome => {
            let error = match outcome {
                Ok(status) => SolveError::RunFailed {
                    step: vertex.name.clone(),
                    command: exec.args.join(" "),
                    code: status.code,
                    output_tail: tail.last_lines(TAIL_LINES),
                    span: vertex.span,
                },
                Err(e) => SolveError::Step {
                    step: vertex.name.clone(),
                    message: error_chain(&e),
                    span: vertex.span,
                },
            };
            Err(super::blocking(move || Ok(store.abort_after(active, error))).await?)
        }
    }
}
