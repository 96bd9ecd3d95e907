//! Network namespaces of sandboxes.
//!
//! The default ([`crate::NetworkMode::Private`]) is one private network namespace per
//! [`crate::Sandbox`] runner (so per build), shared by all its sandboxes, with outbound access
//! through `slirp4netns`: user-mode networking that only opens ordinary sockets on the host, so
//! it changes no host interface, route or firewall rule (unlike veth + NAT), and the namespace
//! cannot see the host's interfaces, packets or abstract unix sockets. Connections to the
//! host's 127.0.0.1 are refused (`--disable-host-loopback`), as from a Docker bridge. DNS goes
//! through slirp's forwarder at [`DNS_SERVER`], which uses the host's resolver.
//!
//! The namespace is made without forking: a short-lived thread unshares `CLONE_NEWNET`, brings
//! `lo` up and opens `/proc/thread-self/ns/net`; the fd keeps the namespace alive. slirp4netns
//! gets it as an inherited fd and stops when the engine closes its exit pipe, or dies.

pub(crate) mod loopback;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;

use rustix::fs::{Mode, OFlags};
use rustix::io::fcntl_dupfd_cloexec;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::thread::UnshareFlags;

use crate::error::SandboxError;

/// The DNS forwarder slirp4netns provides inside the namespace.
pub(crate) const DNS_SERVER: &str = "10.0.2.3";

/// The user-mode networking program.
const SLIRP: &str = "slirp4netns";

/// Fds of the slirp4netns child: exit pipe, ready pipe, network namespace.
const SLIRP_FDS: [i32; 3] = [3, 4, 5];

/// A private network namespace with slirp4netns serving it. Dropping it stops slirp4netns; the
/// namespace goes when the last sandbox in it has exited.
#[derive(Debug)]
pub(crate) struct PrivateNetwork {
    netns: OwnedFd,
    _slirp: tokio::process::Child,
    _exit: OwnedFd,
}

fn failed(step: &'static str) -> impl FnOnce(std::io::Error) -> SandboxError {
    move |source| SandboxError::Network { step, source }
}

impl PrivateNetwork {
    /// Creates the namespace and starts slirp4netns in it; returns once the namespace has its
    /// interface, address, route and DNS.
    pub(crate) async fn start() -> Result<Self, SandboxError> {
        let netns = std::thread::spawn(new_netns)
            .join()
            .map_err(|_| failed("create a network namespace")(std::io::Error::other("panic")))?
            .map_err(failed("create a network namespace"))?;
        let io = |step| move |e: rustix::io::Errno| failed(step)(e.into());
        let (exit_read, exit_write) = pipe_with(PipeFlags::CLOEXEC).map_err(io("create a pipe"))?;
        let (ready_read, ready_write) =
            pipe_with(PipeFlags::CLOEXEC).map_err(io("create a pipe"))?;
        // Above the target numbers, so the dup2s in the child never clobber each other.
        let sources = [
            fcntl_dupfd_cloexec(&exit_read, 10).map_err(io("duplicate an fd"))?,
            fcntl_dupfd_cloexec(&ready_write, 10).map_err(io("duplicate an fd"))?,
            fcntl_dupfd_cloexec(&netns, 10).map_err(io("duplicate an fd"))?,
        ];
        drop((exit_read, ready_write));
        let raw = sources.each_ref().map(AsRawFd::as_raw_fd);
        let mut cmd = tokio::process::Command::new(SLIRP);
        cmd.args([
            "--configure",
            "--mtu=65520",
            "--disable-host-loopback",
            "--enable-sandbox",
            "--enable-seccomp",
            "--netns-type=path",
            "--exit-fd=3",
            "--ready-fd=4",
            "/proc/self/fd/5",
            "tap0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        // SAFETY: only dup2 (async-signal-safe) runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                for (from, to) in raw.into_iter().zip(SLIRP_FDS) {
                    if libc::dup2(from, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut slirp = cmd.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                SandboxError::SlirpMissing
            } else {
                failed("start slirp4netns")(source)
            }
        })?;
        drop(sources);
        let ready = tokio::task::spawn_blocking(move || {
            let mut byte = [0u8; 1];
            std::fs::File::from(ready_read).read(&mut byte)
        })
        .await
        .map_err(|e| failed("wait for slirp4netns")(std::io::Error::other(e.to_string())))?
        .map_err(failed("wait for slirp4netns"))?;
        if ready == 0 {
            let mut stderr = String::new();
            if let Some(mut e) = slirp.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut stderr).await;
            }
            let status = slirp.wait().await.ok();
            return Err(SandboxError::SlirpFailed {
                status: status.map_or_else(|| "unknown".into(), |s| s.to_string()),
                stderr: stderr.trim().to_string(),
            });
        }
        // Keep draining slirp's log, so that it never blocks or dies on a full or closed pipe.
        if let Some(mut stderr) = slirp.stderr.take() {
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
            });
        }
        Ok(PrivateNetwork {
            netns,
            _slirp: slirp,
            _exit: exit_write,
        })
    }

    /// The namespace, for the helper to join.
    pub(crate) fn netns(&self) -> &OwnedFd {
        &self.netns
    }
}

/// Runs on a thread of its own, which exits right after: unshares a network namespace, brings
/// its loopback interface up and returns an fd of it.
fn new_netns() -> std::io::Result<OwnedFd> {
    // SAFETY: CLONE_NEWNET only changes the calling thread's network namespace; this thread
    // ends right after and runs nothing else.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }?;
    loopback::loopback_up()?;
    Ok(rustix::fs::open(
        "/proc/thread-self/ns/net",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
