//! The engine side: spawning the helper, feeding it the spec, streaming the output and reading
//! the report.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use rustix::io::fcntl_dupfd_cloexec;
use rustix::mount::{MountPropagationFlags, mount_change};
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::thread::UnshareFlags;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::OnceCell;
use tokio::sync::mpsc::UnboundedSender;

use crate::devices::DevicePolicy;
use crate::error::SandboxError;
use crate::helper::{HELPER_ARG, NETNS_FD, REPORT_FD, SPEC_FD};
use crate::network::PrivateNetwork;
use crate::protocol::{Report, Request};
use crate::seccomp;
use crate::spec::{NetworkMode, SandboxSpec};

/// Where the process's stdout and stderr go.
#[derive(Debug)]
pub enum Output {
    /// The engine's own stdout and stderr (`kiln run`).
    Inherit,
    /// Chunks sent as they arrive (RUN step logs). Dropping the receiver discards the rest.
    Pipe(UnboundedSender<OutputChunk>),
}

/// A piece of output of the sandboxed process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// Which stream it was written to.
    pub stream: Stream,
    /// The bytes, as written (not split into lines).
    pub data: Vec<u8>,
}

/// An output stream of the sandboxed process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How the sandboxed process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code, or 128 + the signal number when a signal killed it (like a shell).
    pub code: i32,
}

impl ExitStatus {
    /// Whether the process exited with code 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Runs processes in sandboxes through a helper binary (the `kiln` binary itself).
///
/// Clones share one private network ([`NetworkMode::Private`]), started when a sandbox first
/// needs it and stopped when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Sandbox {
    helper: PathBuf,
    devices: DevicePolicy,
    network: Arc<OnceCell<PrivateNetwork>>,
}

impl Sandbox {
    /// A sandbox runner that starts `helper_binary` with [`HELPER_ARG`]; normally
    /// `std::env::current_exe()`. Device access is restricted as [`DevicePolicy::Auto`] says.
    pub fn new(helper_binary: PathBuf) -> Self {
        Sandbox {
            helper: helper_binary,
            devices: DevicePolicy::default(),
            network: Arc::default(),
        }
    }

    /// The same runner with another device policy.
    pub fn with_devices(mut self, devices: DevicePolicy) -> Self {
        self.devices = devices;
        self
    }

    /// The private network, started on first use.
    async fn private_network(&self) -> Result<&PrivateNetwork, SandboxError> {
        self.network.get_or_try_init(PrivateNetwork::start).await
    }

    /// Runs the process to completion.
    ///
    /// `Ok` for any exit of the process (exit code, or 128 + signal like a shell); `Err` only when
    /// the sandbox could not be set up, e.g. a bad mount, an unknown user, or a missing binary
    /// ([`SandboxError::Exec`], [`SandboxError::NotInPath`]).
    ///
    /// Dropping the future kills the helper, and with it the whole sandbox.
    pub async fn run(
        &self,
        spec: &SandboxSpec,
        output: Output,
    ) -> Result<ExitStatus, SandboxError> {
        let seccomp = seccomp::docker_default()
            .map_err(|message| SandboxError::Seccomp { message })?
            .clone();
        let request = Request {
            spec: spec.clone(),
            seccomp,
            devices: self.devices,
        };
        let spec_json =
            serde_json::to_vec(&request).map_err(|source| SandboxError::EncodeSpec { source })?;
        let netns = match spec.network {
            NetworkMode::Private => Some(
                fcntl_dupfd_cloexec(self.private_network().await?.netns(), 10).map_err(|e| {
                    SandboxError::HelperIo {
                        what: "pass the network namespace to the sandbox helper",
                        source: e.into(),
                    }
                })?,
            ),
            NetworkMode::Host | NetworkMode::None => None,
        };
        let io = |what| {
            move |e: rustix::io::Errno| SandboxError::HelperIo {
                what,
                source: e.into(),
            }
        };
        let (spec_read, spec_write) =
            pipe_with(PipeFlags::CLOEXEC).map_err(io("create the spec pipe"))?;
        let (report_read, report_write) =
            pipe_with(PipeFlags::CLOEXEC).map_err(io("create the report pipe"))?;
        // Above the target numbers, so the dup2s in the child never clobber each other. The
        // originals are closed right away: a stray copy of the report's write end would keep
        // the engine waiting for EOF forever.
        let spec_read = fcntl_dupfd_cloexec(spec_read, 10).map_err(io("create the spec pipe"))?;
        let report_write =
            fcntl_dupfd_cloexec(report_write, 10).map_err(io("create the report pipe"))?;

        let mut cmd = tokio::process::Command::new(&self.helper);
        cmd.arg(HELPER_ARG)
            .env_clear()
            .stdin(if spec.stdin {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        match output {
            Output::Inherit => cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit()),
            Output::Pipe(_) => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
        };
        let mut fds = vec![
            (spec_read.as_raw_fd(), SPEC_FD),
            (report_write.as_raw_fd(), REPORT_FD),
        ];
        fds.extend(netns.as_ref().map(|fd| (fd.as_raw_fd(), NETNS_FD)));
        // SAFETY: only dup2 (async-signal-safe) runs between fork and exec; dup2 clears
        // close-on-exec on the new fds.
        unsafe {
            cmd.pre_exec(move || {
                for &(from, to) in &fds {
                    if libc::dup2(from, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|source| SandboxError::SpawnHelper {
            helper: self.helper.clone(),
            source,
        })?;
        drop((spec_read, report_write, netns));

        let send_spec =
            tokio::task::spawn_blocking(move || File::from(spec_write).write_all(&spec_json));
        let read_report = tokio::task::spawn_blocking(move || read_all(report_read));
        let pumps = match output {
            Output::Inherit => None,
            Output::Pipe(tx) => Some((
                tokio::spawn(pump(child.stdout.take(), Stream::Stdout, tx.clone())),
                tokio::spawn(pump(child.stderr.take(), Stream::Stderr, tx)),
            )),
        };

        // The report and the output are complete when the helper closes its fds, which is
        // before it exits: tearing down its namespaces (mount namespace: an RCU grace period)
        // takes milliseconds more. So wait for the report, not for the exit, and reap the
        // helper in the background. When run() returns, the process tree is gone and the stubs
        // are removed; only the helper's mount namespace may outlive it by a few ms.
        if let Some((out, err)) = pumps {
            for pump in [out, err] {
                joined(pump.await)?.map_err(|source| SandboxError::HelperIo {
                    what: "read the output of the sandboxed process",
                    source,
                })?;
            }
        }
        let report = joined(read_report.await)?.map_err(|source| SandboxError::HelperIo {
            what: "read the report of the sandbox helper",
            source,
        })?;
        let sent = joined(send_spec.await)?;
        if report.is_empty() {
            let status = child
                .wait()
                .await
                .map_err(|source| SandboxError::HelperIo {
                    what: "wait for the sandbox helper",
                    source,
                })?;
            if let Err(source) = sent {
                return Err(SandboxError::HelperIo {
                    what: "send the spec to the sandbox helper",
                    source,
                });
            }
            return Err(SandboxError::HelperDied { status });
        }
        tokio::spawn(async move {
            if let Err(e) = child.wait().await {
                tracing::warn!("failed to reap the sandbox helper: {e}");
            }
        });
        let report: Report =
            serde_json::from_slice(&report).map_err(|source| SandboxError::BadReport { source })?;
        match report {
            Report::Exited { code, warnings } => {
                warnings.iter().for_each(|w| tracing::warn!("{w}"));
                Ok(ExitStatus { code })
            }
            Report::Failed { failure, warnings } => {
                warnings.iter().for_each(|w| tracing::warn!("{w}"));
                Err(failure.into())
            }
        }
    }
}

/// Unwraps a finished blocking task or pump; a panic there is turned into an error.
fn joined<T>(r: Result<T, tokio::task::JoinError>) -> Result<T, SandboxError> {
    r.map_err(|e| SandboxError::HelperIo {
        what: "join a sandbox I/O task",
        source: std::io::Error::other(e.to_string()),
    })
}

fn read_all(fd: OwnedFd) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::from(fd).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Forwards a child pipe to the channel until EOF. A closed receiver only stops the forwarding;
/// the pipe is still drained so the process never blocks on a full pipe.
async fn pump(
    reader: Option<impl AsyncRead + Unpin>,
    stream: Stream,
    tx: UnboundedSender<OutputChunk>,
) -> std::io::Result<()> {
    let Some(mut reader) = reader else {
        return Ok(());
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let _ = tx.send(OutputChunk {
            stream,
            data: buf[..n].to_vec(),
        });
    }
}

/// Unshares a private mount namespace for the calling process (mount propagation of / set to
/// private, recursively), so that overlay mounts the engine makes are invisible on the host and
/// disappear if kiln dies.
///
/// Call at the top of `main`, while the process is still single-threaded (`unshare` only
/// affects the calling thread). Errors if not root or if other threads already run.
pub fn enter_private_mount_namespace() -> Result<(), SandboxError> {
    let uid = rustix::process::geteuid();
    if !uid.is_root() {
        return Err(SandboxError::NotRoot { uid: uid.as_raw() });
    }
    let threads = thread_count().map_err(|source| SandboxError::PrivateMountNamespace {
        step: "count the threads of the process",
        source,
    })?;
    if threads != 1 {
        return Err(SandboxError::NotSingleThreaded { threads });
    }
    // SAFETY: the process is single-threaded (checked above).
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }.map_err(|e| {
        SandboxError::PrivateMountNamespace {
            step: "unshare the mount namespace",
            source: e.into(),
        }
    })?;
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| SandboxError::PrivateMountNamespace {
        step: "make / rprivate",
        source: e.into(),
    })
}

/// The number of threads of this process (entries of /proc/self/task).
fn thread_count() -> std::io::Result<usize> {
    Ok(fs_err::read_dir("/proc/self/task")?.count())
}
