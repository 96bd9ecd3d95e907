//! Errors of the sandbox, on the engine side.

use std::io;
use std::path::PathBuf;

/// Why a sandbox could not be set up or run. A process that ran and exited (with any code) is
/// not an error: see [`crate::ExitStatus`].
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The sandbox needs root (mount, namespaces, `pivot_root`).
    #[error("the sandbox needs root, but kiln runs as uid {uid}")]
    NotRoot {
        /// The effective uid kiln runs as.
        uid: u32,
    },
    /// [`crate::enter_private_mount_namespace`] was called after threads were started.
    #[error(
        "`enter_private_mount_namespace` must be called before any thread starts ({threads} threads run)"
    )]
    NotSingleThreaded {
        /// The number of threads of the process.
        threads: usize,
    },
    /// Entering the engine's private mount namespace failed.
    #[error("failed to enter a private mount namespace: {step}")]
    PrivateMountNamespace {
        /// The failing step.
        step: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// Setting up the private network namespace failed.
    #[error("failed to set up the build network: {step}")]
    Network {
        /// The failing step.
        step: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// `slirp4netns`, which gives the default network its outbound access, is not installed.
    #[error(
        "the default network needs `slirp4netns`, which is not installed (`apt-get install slirp4netns`); \
         or choose `--network none` or `--network host`"
    )]
    SlirpMissing,
    /// `slirp4netns` exited before the network was ready.
    #[error("slirp4netns failed to set up the network ({status}): {stderr}")]
    SlirpFailed {
        /// How it exited.
        status: String,
        /// What it printed.
        stderr: String,
    },
    /// The seccomp profile could not be compiled for this architecture.
    #[error("failed to compile the seccomp profile: {message}")]
    Seccomp {
        /// What seccompiler said.
        message: String,
    },
    /// The spec could not be serialised for the helper.
    #[error("failed to encode the sandbox spec")]
    EncodeSpec {
        /// The serialisation error.
        #[source]
        source: serde_json::Error,
    },
    /// The helper binary could not be started.
    #[error("failed to start the sandbox helper `{}`", helper.display())]
    SpawnHelper {
        /// The helper binary.
        helper: PathBuf,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// Talking to the helper failed (creating its pipes, sending the spec, reading the report,
    /// reading the process output).
    #[error("failed to {what}")]
    HelperIo {
        /// What was being done, e.g. "send the spec to the sandbox helper".
        what: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// The helper exited without reporting a result (killed, or not a kiln helper).
    #[error("the sandbox helper exited without reporting a result ({status})")]
    HelperDied {
        /// How the helper exited.
        status: std::process::ExitStatus,
    },
    /// The helper's report could not be parsed.
    #[error("the sandbox helper sent an unreadable report")]
    BadReport {
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A setup step in the helper failed, e.g. "mount proc on /proc".
    #[error("sandbox setup failed: {step}")]
    Setup {
        /// The failing step.
        step: String,
        /// The system error (or a description when there is no errno).
        #[source]
        source: io::Error,
    },
    /// The command could not be executed (runc's `exec /bin/foo: no such file or directory`).
    #[error("exec {binary}")]
    Exec {
        /// The binary that was executed, after the `PATH` lookup.
        binary: String,
        /// The error of `execve`.
        #[source]
        source: io::Error,
    },
    /// `args[0]` has no '/' and is not in the container's `PATH`.
    #[error("exec: \"{name}\": executable file not found in $PATH")]
    NotInPath {
        /// The command name.
        name: String,
    },
    /// The command line was empty.
    #[error("no command given to run in the sandbox")]
    NoCommand,
    /// The `USER` names a user that is not in the container's `/etc/passwd`.
    #[error("unable to find user {user}: no matching entries in passwd file")]
    UnknownUser {
        /// The user name.
        user: String,
    },
    /// A uid or gid outside `0..=2147483647` (`4294967295` would mean "unchanged", i.e. root).
    #[error("uids and gids must be in range 0-2147483647 ({kind} {value})")]
    IdOutOfRange {
        /// "uid" or "gid".
        kind: String,
        /// The id as written.
        value: String,
    },
    /// The `USER` names a group that is not in the container's `/etc/group`.
    #[error("unable to find group {group}: no matching entries in group file")]
    UnknownGroup {
        /// The group name.
        group: String,
    },
}
