//! Running a RUN vertex: an active snapshot over the input, the sandbox over it,
//! output streamed as progress, commit on exit 0, abort otherwise.

use super::tail::Tail;
use super::{Solver, error_chain};
use crate::error::{Result, SolveError};
use crate::op::{ExecOp, Vertex};
use crate::progress::{Event, LogStream};
use kiln_cache::index::{CacheRecord, SnapshotRow};
use kiln_executor::{MountSpec, Output, ProcessSpec, SandboxSpec, Stream};

/// Hostname of build containers, fixed so it never changes a step's result.
const BUILD_HOSTNAME: &str = "kilnsandbox";
/// Lines of output shown when a RUN fails.
const TAIL_LINES: usize = 20;

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
    let spec = SandboxSpec {
        rootfs: MountSpec {
            source: "overlay".into(),
            target: "/".into(),
            fstype: "overlay".into(),
            options: mount.options,
        },
        rootfs_base_dir: Some(mount.base_dir),
        mountpoint: active.mount_dir(),
        mounts: Vec::new(),
        process: ProcessSpec {
            args: exec.args.clone(),
            env: exec.env.clone(),
            cwd: exec.cwd.clone(),
            user: exec.user.clone(),
        },
        hostname: BUILD_HOSTNAME.into(),
        network: exec.network,
        stdin: false,
    };
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
    let tail = forward.await.unwrap_or_default();
    let store = solver.store.clone();
    match status {
        Ok(status) if status.code == 0 => {
            record.snapshot = active.id().to_string();
            super::blocking(move || {
                if let Err(e) = store.discard_copy_up(&active, "etc") {
                    return Err(store.abort_after(active, e.into()));
                }
                Ok(store.commit(active, Some(&record))?)
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
