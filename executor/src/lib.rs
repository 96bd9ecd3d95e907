//! kiln executor: the sandbox that runs a Dockerfile `RUN` step or a `kiln run` container.
//!
//! The engine is a multi-threaded tokio program and must never fork itself. [`Sandbox::run`]
//! re-executes the `kiln` binary with [`HELPER_ARG`] as its first argument; that small,
//! single-threaded helper ([`helper_main`]) unshares the namespaces, mounts the rootfs, forks
//! the container's PID 1 and waits for it. The spec travels to the helper as JSON on fd 3 and
//! the outcome (exit code or the setup step that failed) comes back as JSON on fd 4.
//!
//! ```text
//! kiln (engine, tokio) ──spawn──▶ kiln __kiln-sandbox-init (helper: new mnt/pid/uts/ipc[/net] ns)
//!                                    └─fork──▶ PID 1 (own mnt ns: /proc, /dev, /sys, /etc/hosts,
//!                                              pivot_root, user, caps) ──exec──▶ command
//! ```
//!
//! **Architecture Invariant:** the executor receives only a list of mounts and a process spec;
//! it knows nothing about images, snapshots or Dockerfiles.
//!
//! **Architecture Invariant:** every path inside a rootfs is resolved fd-relative with
//! `openat2(RESOLVE_IN_ROOT)`, so a hostile image cannot make the sandbox mount over, create
//! or delete a host path.
//!
//! `no_new_privs` is deliberately *not* set, as in Docker and BuildKit: setuid binaries such as
//! `sudo` keep working inside the sandbox.

mod capabilities;
mod devices;
mod error;
mod helper;
mod host_config;
mod ids;
mod init;
mod network;
mod protocol;
mod rootfs;
mod sandbox;
mod seccomp;
mod spec;
mod user;

pub use capabilities::default_caps_mask;
pub use devices::DevicePolicy;
pub use error::SandboxError;
pub use helper::{HELPER_ARG, helper_main};
pub use host_config::{ExtraHost, HostConfig, Ulimit, parse_ram_size};
pub use ids::{resolve_chown, resolve_ids};
pub use sandbox::{
    ExitStatus, Output, OutputChunk, Sandbox, Stream, enter_private_mount_namespace,
};
pub use spec::{DEFAULT_PATH, HostsFile, MountSpec, NetworkMode, ProcessSpec, SandboxSpec};
