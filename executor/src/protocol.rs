//! What the helper and PID 1 report back: the wire format of fd 4 and of PID 1's error pipe,
//! and the error type of the helper side.

use std::io;

use serde::{Deserialize, Serialize};

use crate::devices::DevicePolicy;
use crate::error::SandboxError;
use crate::seccomp::SeccompFilter;
use crate::spec::SandboxSpec;

/// What the engine sends the helper on fd 3: the caller's spec and what the engine added.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    /// What to run, as the caller asked.
    pub spec: SandboxSpec,
    /// Installed by PID 1 before it drops capabilities.
    pub seccomp: SeccompFilter,
    /// How device access is restricted.
    pub devices: DevicePolicy,
}

/// The helper's last word on fd 4 (one JSON document).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Report {
    /// The process ran and exited: exit code, or 128 + signal number.
    Exited {
        /// The exit code.
        code: i32,
        /// Cleanup problems that did not stop the run (logged by the engine).
        warnings: Vec<String>,
    },
    /// The sandbox could not be set up.
    Failed {
        /// What went wrong.
        failure: Failure,
        /// Cleanup problems (logged by the engine).
        warnings: Vec<String>,
    },
}

/// A setup failure inside the helper or PID 1, as sent over a pipe.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A step failed, with the errno when it was a system call.
    Setup {
        step: String,
        errno: Option<i32>,
        message: String,
    },
    /// `execve` failed.
    Exec { binary: String, errno: i32 },
    /// `args[0]` was not found in `PATH`.
    NotInPath { name: String },
    /// The argv was empty.
    NoCommand,
    /// The user name is not in `/etc/passwd`.
    UnknownUser { user: String },
    /// The group name is not in `/etc/group`.
    UnknownGroup { group: String },
    /// A uid or gid outside `0..=2147483647`.
    IdOutOfRange { kind: String, value: String },
}

impl Failure {
    /// A failed step with a message and no errno.
    pub(crate) fn msg(step: impl Into<String>, message: impl Into<String>) -> Self {
        Failure::Setup {
            step: step.into(),
            errno: None,
            message: message.into(),
        }
    }
}

impl From<Failure> for SandboxError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Setup {
                step,
                errno,
                message,
            } => SandboxError::Setup {
                step,
                source: match errno {
                    Some(errno) => io::Error::from_raw_os_error(errno),
                    None => io::Error::other(message),
                },
            },
            Failure::Exec { binary, errno } => SandboxError::Exec {
                binary,
                source: io::Error::from_raw_os_error(errno),
            },
            Failure::NotInPath { name } => SandboxError::NotInPath { name },
            Failure::NoCommand => SandboxError::NoCommand,
            Failure::UnknownUser { user } => SandboxError::UnknownUser { user },
            Failure::UnknownGroup { group } => SandboxError::UnknownGroup { group },
            Failure::IdOutOfRange { kind, value } => SandboxError::IdOutOfRange { kind, value },
        }
    }
}

/// Something that carries an errno.
pub(crate) trait Errno {
    fn errno(&self) -> Option<i32>;
}

impl Errno for rustix::io::Errno {
    fn errno(&self) -> Option<i32> {
        Some(self.raw_os_error())
    }
}

impl Errno for nix::Error {
    fn errno(&self) -> Option<i32> {
        Some(*self as i32)
    }
}

impl Errno for io::Error {
    fn errno(&self) -> Option<i32> {
        self.raw_os_error()
    }
}

impl Errno for caps::errors::CapsError {
    fn errno(&self) -> Option<i32> {
        None
    }
}

/// Attaches the failing step to a system call error.
pub(crate) trait StepContext<T> {
    /// Turns the error into [`Failure::Setup`] for the step `step()`.
    fn step<S: Into<String>>(self, step: impl FnOnce() -> S) -> Result<T, Failure>;
}

impl<T, E: Errno + std::fmt::Display> StepContext<T> for Result<T, E> {
    fn step<S: Into<String>>(self, step: impl FnOnce() -> S) -> Result<T, Failure> {
        self.map_err(|e| Failure::Setup {
            step: step().into(),
            errno: e.errno(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_failure_keeps_errno() {
        let r: Result<(), rustix::io::Errno> = Err(rustix::io::Errno::PERM);
        let failure = r.step(|| "mount proc on /proc").err();
        let Some(failure) = failure else {
            panic!("expected an error");
        };
        let err = SandboxError::from(failure);
        assert_eq!(err.to_string(), "sandbox setup failed: mount proc on /proc");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("Operation not permitted (os error 1)")
        );
    }

    #[test]
    fn report_round_trip() -> Result<(), serde_json::Error> {
        let report = Report::Failed {
            failure: Failure::Exec {
                binary: "/bin/foo".into(),
                errno: libc::ENOENT,
            },
            warnings: vec![],
        };
        let json = serde_json::to_vec(&report)?;
        let back: Report = serde_json::from_slice(&json)?;
        let Report::Failed { failure, .. } = back else {
            panic!("wrong variant");
        };
        let err = SandboxError::from(failure);
        assert_eq!(err.to_string(), "exec /bin/foo");
        Ok(())
    }
}
