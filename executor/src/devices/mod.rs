//! The devices cgroup: a sandbox may create any device node (images ship them) but open only
//! Docker's default list (null, zero, full, random, urandom, tty, ptmx, pts/*), whether the node
//! was made by a RUN, came in a layer or was copied from a context. CAP_MKNOD stays, as in
//! Docker; the kernel checks the cgroup on every open.
//!
//! The helper creates one cgroup per sandbox, `kiln/<helper pid>` below its own, and applies
//! the rules ([`rules`]) with a BPF program ([`v2`]) on the cgroup v2 hierarchy, or with the v1
//! `devices` controller (`devices.deny` + `devices.allow`) where there is no v2 hierarchy. On
//! v2, PID 1 is born in the cgroup (`clone3` with `CLONE_INTO_CGROUP`); on v1 it moves itself
//! in before anything else ([`SandboxCgroup::join`]), which costs the kernel an RCU grace
//! period (several milliseconds), hence v2 first even on hybrid hosts, where the kernel
//! enforces both. The helper removes the cgroup when the sandbox is gone.
//!
//! ```text
//! <devices mount>/<kiln's cgroup>/kiln/
//! └── <helper pid>/   one per running sandbox; a leftover of a killed helper is removed by the
//!                      next helper that finds its pid gone
//! ```

pub(crate) mod rules;
pub(crate) mod v2;

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};

use crate::protocol::{Failure, StepContext};
use rules::DEFAULT_RULES;

/// How sandboxes restrict access to device nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DevicePolicy {
    /// A cgroup v2 BPF program when a v2 hierarchy is mounted, else the v1 `devices`
    /// controller; refuse to start a sandbox when neither is available.
    #[default]
    Auto,
    /// The cgroup v1 `devices` controller.
    V1,
    /// A cgroup v2 BPF device program.
    V2,
    /// No restriction: a sandbox may open any device node it can create. Unsafe; only for hosts
    /// without either cgroup mechanism, by explicit choice.
    Unrestricted,
}

/// Which mechanism enforces the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    V1,
    V2,
}

/// A sandbox's cgroup, made (v1) or found (v2) by the helper before it forks PID 1.
#[derive(Debug)]
pub(crate) struct SandboxCgroup {
    dir: PathBuf,
    backend: Backend,
    /// v2: the cgroup directory (for `CLONE_INTO_CGROUP`); v1: its `cgroup.procs`.
    fd: OwnedFd,
}

impl SandboxCgroup {
    /// The cgroup with the rules applied, or `None` for [`DevicePolicy::Unrestricted`].
    pub(crate) fn create(policy: DevicePolicy) -> Result<Option<Self>, Failure> {
        let mountinfo =
            fs_err::read_to_string("/proc/self/mountinfo").step(|| "read /proc/self/mountinfo")?;
        let cgroups =
            fs_err::read_to_string("/proc/self/cgroup").step(|| "read /proc/self/cgroup")?;
        let find = |backend| cgroup_dir(&mountinfo, &cgroups, backend).map(|dir| (backend, dir));
        let found = match policy {
            DevicePolicy::Unrestricted => return Ok(None),
            DevicePolicy::V1 => find(Backend::V1),
            DevicePolicy::V2 => find(Backend::V2),
            DevicePolicy::Auto => find(Backend::V2).or_else(|| find(Backend::V1)),
        };
        let (backend, parent) = found.ok_or_else(|| {
            let what = match policy {
                DevicePolicy::V1 => "the cgroup v1 devices controller is not mounted",
                DevicePolicy::V2 => "no cgroup v2 hierarchy is mounted",
                _ => {
                    "neither the cgroup v1 devices controller nor a cgroup v2 hierarchy is mounted"
                }
            };
            Failure::msg(
                "restrict device access",
                format!(
                    "{what}; kiln will not run a sandbox that can open host devices \
                     (`--devices-cgroup unrestricted` allows it, unsafely)"
                ),
            )
        })?;
        match backend {
            Backend::V1 => Self::create_v1(&parent).map(Some),
            Backend::V2 => Self::shared_v2(&parent).map(Some),
        }
    }

    /// v1: a cgroup of this sandbox's own, `kiln/<helper pid>`, with the rules written.
    fn create_v1(parent: &Path) -> Result<Self, Failure> {
        let parent = parent.join("kiln");
        fs_err::create_dir_all(&parent).step(|| "create the kiln devices cgroup")?;
        remove_stale(&parent);
        let dir = parent.join(std::process::id().to_string());
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).step(|| format!("create the cgroup {}", dir.display())),
        }
        let write = |file: &str, line: &str| {
            fs_err::OpenOptions::new()
                .write(true)
                .open(dir.join(file))
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .step(|| format!("write `{line}` to {}/{file}", dir.display()))
        };
        let applied = write("devices.deny", "a")
            .and_then(|()| {
                DEFAULT_RULES
                    .iter()
                    .try_for_each(|rule| write("devices.allow", &rule.to_string()))
            })
            .and_then(|()| {
                rustix::fs::open(
                    dir.join("cgroup.procs"),
                    OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .step(|| format!("open {}/cgroup.procs", dir.display()))
            });
        match applied {
            Ok(fd) => Ok(SandboxCgroup {
                dir,
                backend: Backend::V1,
                fd,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// v2: the cgroup all sandboxes share, `kiln-devices-<program hash>`, whose BPF program
    /// is attached once, by the first helper that finds none (under an exclusive `flock` of
    /// the directory, so two helpers never both attach); it stays for the next builds. A
    /// helper uses it only once it has seen the program attached.
    fn shared_v2(parent: &Path) -> Result<Self, Failure> {
        let dir = parent.join(format!("kiln-devices-{}", v2::program_hash(&DEFAULT_RULES)));
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).step(|| format!("create the cgroup {}", dir.display())),
        }
        let fd = rustix::fs::open(
            &dir,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .step(|| format!("open the cgroup {}", dir.display()))?;
        let attached = || {
            v2::attached_programs(fd.as_fd())
                .step(|| format!("query the device programs of {}", dir.display()))
        };
        if attached()? == 0 {
            rustix::fs::flock(&fd, rustix::fs::FlockOperation::LockExclusive)
                .step(|| format!("lock {}", dir.display()))?;
            if attached()? == 0 {
                v2::attach(fd.as_fd(), &DEFAULT_RULES)
                    .step(|| format!("attach the device BPF program to {}", dir.display()))?;
            }
            rustix::fs::flock(&fd, rustix::fs::FlockOperation::Unlock)
                .step(|| format!("unlock {}", dir.display()))?;
        }
        Ok(SandboxCgroup {
            dir,
            backend: Backend::V2,
            fd,
        })
    }

    /// The cgroup v2 directory PID 1 is to be born in, or `None` when PID 1 must
    /// [`join`](Self::join) the (v1) cgroup itself.
    pub(crate) fn clone_target(&self) -> Option<BorrowedFd<'_>> {
        (self.backend == Backend::V2).then(|| self.fd.as_fd())
    }

    /// Moves the calling process into a v1 cgroup (PID 1 calls this first, before it runs
    /// anything it was given); nothing to do on v2, where PID 1 is born inside.
    pub(crate) fn join(&self) -> Result<(), Failure> {
        if self.backend == Backend::V2 {
            return Ok(());
        }
        rustix::io::write(&self.fd, b"0")
            .map(drop)
            .step(|| format!("join the cgroup {}", self.dir.display()))
    }

    /// Removes a v1 cgroup once every process in it is gone (the shared v2 one stays).
    /// Returns a warning on failure.
    pub(crate) fn remove(self) -> Option<String> {
        if self.backend == Backend::V2 {
            return None;
        }
        drop(self.fd);
        std::fs::remove_dir(&self.dir)
            .err()
            .map(|e| format!("failed to remove the cgroup {}: {e}", self.dir.display()))
    }
}

/// Removes sandbox cgroups whose helper is gone (killed before it could clean up). A cgroup
/// that still holds processes cannot be removed, so a live sandbox is never affected.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let gone = rustix::process::Pid::from_raw(pid)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_err());
        if gone {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// The directory of this process's own cgroup in the hierarchy `backend` uses, from the
/// contents of `/proc/self/mountinfo` and `/proc/self/cgroup`; `None` when that hierarchy is
/// not mounted.
fn cgroup_dir(mountinfo: &str, cgroups: &str, backend: Backend) -> Option<PathBuf> {
    let (mount_root, mountpoint) = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let left: Vec<&str> = left.split(' ').collect();
        let mut right = right.split(' ');
        let (fstype, super_opts) = (right.next()?, right.nth(1).unwrap_or(""));
        let wanted = match backend {
            Backend::V1 => fstype == "cgroup" && super_opts.split(',').any(|o| o == "devices"),
            Backend::V2 => fstype == "cgroup2",
        };
        wanted.then(|| (left.get(3).copied(), left.get(4).copied()))
    })?;
    let own = cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let wanted = match backend {
            Backend::V1 => controllers.split(',').any(|c| c == "devices"),
            Backend::V2 => controllers.is_empty(),
        };
        wanted.then_some(path)
    });
    let mountpoint = Path::new(mountpoint?);
    let own = own.unwrap_or("/");
    let relative = own
        .strip_prefix(mount_root.unwrap_or("/"))
        .unwrap_or("")
        .trim_start_matches('/');
    Some(mountpoint.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
38 30 0:34 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,devices
39 30 0:35 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
";
    const HYBRID_CGROUP: &str = "5:devices:/ci/job\n4:memory:/x\n0::/user.slice\n";

    #[test]
    fn finds_both_hierarchies_on_a_hybrid_host() {
        assert_eq!(
            cgroup_dir(HYBRID_MOUNTINFO, HYBRID_CGROUP, Backend::V1),
            Some(PathBuf::from("/sys/fs/cgroup/devices/ci/job"))
        );
        assert_eq!(
            cgroup_dir(HYBRID_MOUNTINFO, HYBRID_CGROUP, Backend::V2),
            Some(PathBuf::from("/sys/fs/cgroup/unified/user.slice"))
        );
    }

    #[test]
    fn pure_v2_has_no_devices_controller() {
        let mountinfo = "29 24 0:25 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
        let cgroup = "0::/system.slice/kiln.service\n";
        assert_eq!(cgroup_dir(mountinfo, cgroup, Backend::V1), None);
        assert_eq!(
            cgroup_dir(mountinfo, cgroup, Backend::V2),
            Some(PathBuf::from("/sys/fs/cgroup/system.slice/kiln.service"))
        );
    }

    #[test]
    fn namespaced_mount_root_is_stripped() {
        let mountinfo =
            "38 30 0:34 /docker/abc /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n";
        let cgroup = "5:devices:/docker/abc\n";
        assert_eq!(
            cgroup_dir(mountinfo, cgroup, Backend::V1),
            Some(PathBuf::from("/sys/fs/cgroup/devices"))
        );
    }

    #[test]
    fn nothing_mounted_is_none() {
        assert_eq!(cgroup_dir("", "", Backend::V1), None);
        assert_eq!(cgroup_dir("", "", Backend::V2), None);
    }
}
