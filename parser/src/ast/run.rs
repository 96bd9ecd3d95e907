//! `RUN` and its `--mount`, `--network` and `--security` flags.

use super::CommandForm;
use crate::diagnostic::Span;
use crate::heredoc::Heredoc;

/// `RUN [--mount=…]… [--network=…] [--security=…] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The command. With heredocs it is the shell form as written
    /// (`<<EOF | python`), and the bodies are in [`Run::heredocs`].
    pub command: CommandForm,
    /// `--network`: `default`, `none` or `host`.
    pub network: Option<String>,
    /// `--mount`s, in order.
    pub mounts: Vec<Mount>,
    /// `--security`.
    pub security: Option<Security>,
    /// Heredocs of the shell-form command, bodies unchomped (see
    /// [`Heredoc::chomp`]).
    pub heredocs: Vec<Heredoc>,
}

/// `RUN --security=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// The default sandbox.
    Sandbox,
    /// All capabilities, no seccomp or AppArmor (needs an entitlement).
    Insecure,
}

/// The kinds of `RUN --mount=type=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// `bind` (the default): files from the context or another stage.
    Bind,
    /// `cache`: a persistent cache directory.
    Cache,
    /// `tmpfs`: an empty in-memory file system.
    Tmpfs,
    /// `secret`: a secret file (or environment variable).
    Secret,
    /// `ssh`: an SSH agent socket.
    Ssh,
}

/// How concurrent builds share a cache mount (`sharing=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Every build uses the same directory at once (the default).
    Shared,
    /// A build that finds it in use gets a new one.
    Private,
    /// A build waits until the other is done.
    Locked,
}

/// One `RUN --mount=…`, validated. Text values are raw (variables are
/// expanded by the solver); numbers, booleans and enumerations must be
/// literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `type=`.
    pub kind: MountKind,
    /// `target=` / `dst=` / `destination=`.
    pub target: Option<String>,
    /// `source=` / `src=`.
    pub source: Option<String>,
    /// `from=`: a stage or image (never a variable).
    pub from: Option<String>,
    /// Read-only: `ro`/`readonly`, `rw`/`readwrite`, or the default for the
    /// kind (read-only except cache and tmpfs).
    pub readonly: bool,
    /// `id=`: the cache id or secret id.
    pub id: Option<String>,
    /// `sharing=` (cache mounts only).
    pub sharing: Option<Sharing>,
    /// `mode=` (octal; cache, secret and ssh mounts).
    pub mode: Option<u32>,
    /// `uid=` (cache, secret and ssh mounts).
    pub uid: Option<u32>,
    /// `gid=` (cache, secret and ssh mounts).
    pub gid: Option<u32>,
    /// `required` (secret and ssh mounts).
    pub required: bool,
    /// `size=` in bytes (tmpfs mounts).
    pub size: Option<u64>,
    /// `env=`: expose a secret as this environment variable.
    pub env: Option<String>,
    /// Where the flag is.
    pub span: Span,
}
