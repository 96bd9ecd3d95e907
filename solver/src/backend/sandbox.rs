//! [`SandboxExecutor`]: the [`Executor`] trait on `kiln_executor::Sandbox`.

use super::{BoxFuture, ExecError, ExecSpec, Executor};
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
}

impl SandboxExecutor {
    pub fn new(sandbox: Arc<Sandbox>) -> Self {
        Self { sandbox }
    }
}

impl Executor for SandboxExecutor {
    fn run(
        &self,
        spec: ExecSpec,
        output: UnboundedSender<OutputChunk>,
    ) -> BoxFuture<'_, Result<ExitStatus, ExecError>> {
        Box::pin(async move {
            let spec = overlay_sandbox(
                spec.root,
                spec.mountpoint,
                spec.process,
                &spec.hostname,
                HostsFile::Build,
                spec.network,
            );
            Ok(self.sandbox.run(&spec, Output::Pipe(output)).await?)
        })
    }
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
        stdin: false,
    }
}
