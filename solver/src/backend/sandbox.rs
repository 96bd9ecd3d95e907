//! [`SandboxExecutor`]: the [`Executor`] trait on `kiln_executor::Sandbox`.

use super::inline::InlineDir;
use super::{BoxFuture, ExecError, ExecSpec, Executor};
use crate::op::InlineFile;
use kiln_cache::OverlayMount;
use kiln_executor::{
    ExitStatus, HostsFile, MountSpec, NetworkMode, Output, OutputChunk, ProcessSpec, Sandbox,
    SandboxSpec,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// RUN steps in kiln's sandbox.
pub struct SandboxExecutor {
    sandbox: Arc<Sandbox>,
    /// Where a step's `/dev/pipes/` files are written (the state root's temp folder).
    tmp: PathBuf,
}

impl SandboxExecutor {
    pub fn new(sandbox: Arc<Sandbox>, tmp: PathBuf) -> Self {
        Self { sandbox, tmp }
    }
}

impl Executor for SandboxExecutor {
    fn run(
        &self,
        spec: ExecSpec,
        output: UnboundedSender<OutputChunk>,
    ) -> BoxFuture<'_, Result<ExitStatus, ExecError>> {
        Box::pin(async move {
            // Kept until the process has exited.
            let pipes = InlineDir::write(&self.tmp, &spec.pipes, 0o755)?;
            let mut sandbox = overlay_sandbox(
                spec.root,
                spec.mountpoint,
                spec.process,
                &spec.hostname,
                HostsFile::Build,
                spec.network,
            );
            sandbox.mounts = pipe_mounts(&spec.pipes, &pipes);
            sandbox.host_config = spec.host_config;
            Ok(self.sandbox.run(&sandbox, Output::Pipe(output)).await?)
        })
    }
}

/// Read-only binds of the written `pipes` at `/dev/pipes/<name>`, as BuildKit mounts a
/// heredoc script.
fn pipe_mounts(pipes: &[InlineFile], written: &InlineDir) -> Vec<MountSpec> {
    pipes
        .iter()
        .zip(&written.paths)
        .map(|(pipe, path)| MountSpec {
            source: path.clone(),
            target: PathBuf::from("/dev/pipes").join(&pipe.name),
            fstype: "bind".into(),
            options: vec!["ro".into()],
        })
        .collect()
}

/// A sandbox whose root filesystem is `mount` on `mountpoint`, with no other mounts
/// and no stdin.
pub fn overlay_sandbox(
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
        host_config: Default::default(),
        stdin: false,
    }
}
