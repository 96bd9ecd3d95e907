//! PID 1 of the sandbox, between `fork` and `execve`: its own mount namespace, the mounts
//! inside the rootfs, `pivot_root`, working directory, user, capabilities, exec.
//!
//! Runs in the child of the single-threaded helper, so it may allocate freely.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;

use nix::sys::signal::{SigHandler, SigSet, Signal, signal};
use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountPropagationFlags, mount_change};
use rustix::thread::UnshareFlags;

use crate::devices::SandboxCgroup;
use crate::protocol::{Failure, Request, StepContext};
use crate::rootfs::{self, resolve::mkdir_all_in_root};
use crate::spec::{DEFAULT_PATH, complete_env, env_value};
use crate::{capabilities, seccomp, user};

/// Sets up the container and execs its command; returns only on failure.
pub(crate) fn run(
    request: &Request,
    cgroup: Option<&SandboxCgroup>,
) -> Result<Infallible, Failure> {
    // First of all: from here on, the device rules hold for this process and its children.
    if let Some(cgroup) = cgroup {
        cgroup.join()?;
    }
    let spec = &request.spec;
    rustix::process::umask(Mode::empty());
    // A mount namespace of our own, so `pivot_root` leaves the helper's view of the rootfs alone.
    // SAFETY: the process is single-threaded (a fork of the single-threaded helper).
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .step(|| "unshare the mount namespace")?;
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .step(|| "make / rprivate")?;

    // Reopen: an fd of the helper's namespace cannot be a mount target in ours.
    let root = rootfs::open_rootfs(spec)?;
    rootfs::setup(root.as_fd(), spec)?;
    rootfs::pivot_into(root)?;

    let cwd = if spec.process.cwd.is_empty() {
        "/"
    } else {
        spec.process.cwd.as_str()
    };
    let new_root = rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .step(|| "open the new root")?;
    let (dir, _) = mkdir_all_in_root(new_root.as_fd(), cwd, Mode::from_raw_mode(0o755))
        .step(|| format!("create the working directory {cwd}"))?;
    rustix::process::fchdir(&dir).step(|| format!("chdir {cwd}"))?;
    drop((dir, new_root));

    let user = user::lookup(&spec.process.user)?;
    let env = complete_env(&spec.process.env, &user.home);
    for ulimit in &spec.host_config.ulimits {
        ulimit.apply()?;
    }
    seccomp::install(&request.seccomp)?;
    capabilities::restrict_to_defaults()?;
    user::switch_to(&user)?;
    // Changing credentials cleared it.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).step(|| "set the parent death signal")?;

    let name = spec.process.args.first().ok_or(Failure::NoCommand)?;
    let binary = find_binary(name, env_value(&env, "PATH").unwrap_or(DEFAULT_PATH))?;
    let c = |s: &str| {
        CString::new(s)
            .map_err(|_| Failure::msg(format!("exec {binary}"), "NUL byte in argv or env"))
    };
    let path = c(&binary)?;
    let argv = spec
        .process
        .args
        .iter()
        .map(|a| c(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env.iter().map(|e| c(e)).collect::<Result<Vec<_>, _>>()?;

    prepare_exec()?;
    let errno = match nix::unistd::execve(&path, &argv, &envp) {
        Err(errno) => errno as i32,
        Ok(never) => match never {},
    };
    Err(Failure::Exec { binary, errno })
}

/// Finds `name` like a shell: as is when it has a '/', else the first executable regular file
/// of that name in `path` (an empty entry means the working directory).
pub(crate) fn find_binary(name: &str, path: &str) -> Result<String, Failure> {
    if name.contains('/') {
        return Ok(name.to_string());
    }
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{}/{name}", dir.trim_end_matches('/'));
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
            && meta.permissions().mode() & 0o111 != 0
        {
            return Ok(candidate);
        }
    }
    Err(Failure::NotInPath {
        name: name.to_string(),
    })
}

/// The process state the command starts with: umask 022, no blocked signals, every signal at
/// its default action (the helper is a Rust program that ignores SIGPIPE), and no fd beyond
/// stdin/stdout/stderr surviving `execve`.
fn prepare_exec() -> Result<(), Failure> {
    rustix::process::umask(Mode::from_raw_mode(0o022));
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: resetting to the default action installs no handler.
        unsafe { signal(sig, SigHandler::SigDfl) }.step(|| format!("reset {sig}"))?;
    }
    SigSet::empty()
        .thread_set_mask()
        .step(|| "unblock signals")?;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on fds.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).step(|| "mark fds close-on-exec");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_slash_are_not_looked_up() -> Result<(), Failure> {
        assert_eq!(find_binary("/bin/foo", "")?, "/bin/foo");
        assert_eq!(find_binary("./foo", "/bin")?, "./foo");
        Ok(())
    }

    #[test]
    fn path_lookup_skips_non_executables() -> Result<(), Box<dyn std::error::Error>> {
        let a = tempfile::tempdir()?;
        let b = tempfile::tempdir()?;
        std::fs::write(a.path().join("tool"), b"")?;
        std::fs::write(b.path().join("tool"), b"")?;
        std::fs::set_permissions(
            b.path().join("tool"),
            std::fs::Permissions::from_mode(0o755),
        )?;
        std::fs::create_dir(a.path().join("dir"))?;
        let path = format!("{}:{}/", a.path().display(), b.path().display());
        assert_eq!(
            find_binary("tool", &path).ok(),
            Some(format!("{}/tool", b.path().display()))
        );
        assert_eq!(
            find_binary("dir", &path).err(),
            Some(Failure::NotInPath { name: "dir".into() })
        );
        Ok(())
    }
}
