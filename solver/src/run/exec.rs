//! Running a RUN vertex: an active snapshot over the parent, the executor over its
//! root mounts, output streamed as progress, commit on exit 0, remove otherwise.

use super::tail::Tail;
use super::{Inputs, Solver, blocking, error_chain};
use crate::backend::{Committed, ExecSpec};
use crate::error::{Result, SolveError};
use crate::op::{ExecOp, Vertex};
use crate::progress::{Event, LogStream};
use kiln_cache::index::CacheRecord;
use kiln_executor::{ProcessSpec, Stream};

/// Lines of output shown when a RUN fails.
const TAIL_LINES: usize = 20;

pub(super) async fn run(
    solver: &Solver,
    id: usize,
    vertex: &Vertex,
    exec: &ExecOp,
    inputs: &Inputs,
    mut record: CacheRecord,
) -> Result<Committed> {
    let snapshotter = solver.backend.snapshotter.clone();
    let parent = inputs.parent().and_then(|r| r.snapshot.clone());
    let active = blocking(move || snapshotter.prepare(parent.as_deref())).await?;
    let spec = ExecSpec {
        root: active.root.clone(),
        mountpoint: active.mountpoint.clone(),
        process: ProcessSpec {
            args: exec.args.clone(),
            env: exec.env.iter().chain(&exec.proxy_env).cloned().collect(),
            cwd: exec.cwd.clone(),
            user: exec.user.clone(),
        },
        hostname: exec.hostname.clone(),
        network: exec.network,
        pipes: exec.pipes.clone(),
        host_config: exec.host_config.clone(),
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
    let status = solver.backend.executor.run(spec, tx).await;
    let on_conflict = solver.on_conflict(vertex);
    let tail = forward.await.unwrap_or_default();
    let snapshotter = solver.backend.snapshotter.clone();
    match status {
        Ok(status) if status.code == 0 => {
            record.snapshot = active.id.clone();
            blocking(move || {
                if let Err(e) = snapshotter.discard_copy_up(&active, "etc") {
                    let _ = snapshotter.remove(active);
                    return Err(e);
                }
                snapshotter.commit(active, &record, on_conflict)
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
                    message: error_chain(e.as_ref()),
                    span: vertex.span,
                },
            };
            blocking(move || {
                let _ = snapshotter.remove(active);
                Ok(())
            })
            .await?;
            Err(error)
        }
    }
}
