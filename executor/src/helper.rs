//! The sandbox helper: the `kiln` binary re-executed with [`HELPER_ARG`].
//!
//! Single-threaded, started by [`crate::Sandbox::run`] with the JSON spec on fd 3 and a report
//! pipe on fd 4. It unshares the namespaces, mounts the rootfs in its private mount namespace,
//! creates stub mount points, forks PID 1 ([`crate::init`]), forwards signals to it, waits,
//! removes the stubs and writes one [`Report`] to fd 4.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use rustix::io::{FdFlags, fcntl_getfd, fcntl_setfd};
use rustix::mount::{MountPropagationFlags, mount_change};
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::thread::UnshareFlags;

use crate::devices::SandboxCgroup;
use crate::init;
use crate::network::loopback;
use crate::protocol::{Failure, Report, Request, StepContext};
use crate::rootfs::{self, Stubs};
use crate::spec::NetworkMode;

/// First argv element after the program name that selects the helper mode.
pub const HELPER_ARG: &str = "__kiln-sandbox-init";

/// The fd the helper reads the JSON spec from.
pub(crate) const SPEC_FD: RawFd = 3;
/// The fd the helper writes its JSON [`Report`] to.
pub(crate) const REPORT_FD: RawFd = 4;
/// For [`NetworkMode::Private`]: the network namespace to join.
pub(crate) const NETNS_FD: RawFd = 5;

/// Exit code of the helper when the sandbox could not be set up (Docker's for daemon errors).
const SETUP_FAILED: i32 = 125;

/// Signals forwarded to PID 1.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Entry point of the helper: the `kiln` binary calls this first thing in `main()` when
/// `argv[1] == HELPER_ARG` (before any thread or tokio runtime exists) and exits with the
/// returned code: the process's exit code, or 125 when the sandbox could not be set up (the
/// engine reads the details from the report pipe, not from this code).
pub fn helper_main() -> i32 {
    // Die with the engine. If the engine is already gone, the report pipe is broken anyway.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let (Some(spec_fd), Some(report_fd)) = (take_fd(SPEC_FD), take_fd(REPORT_FD)) else {
        let _ = writeln!(
            std::io::stderr(),
            "error: `{HELPER_ARG}` is internal to kiln and is started by the kiln engine only"
        );
        return SETUP_FAILED;
    };
    let mut warnings = Vec::new();
    let result = read_request(spec_fd).and_then(|request| run(&request, &mut warnings));
    let (report, code) = match result {
        Ok(code) => (Report::Exited { code, warnings }, code),
        Err(failure) => (Report::Failed { failure, warnings }, SETUP_FAILED),
    };
    let Ok(bytes) = serde_json::to_vec(&report) else {
        return SETUP_FAILED;
    };
    match File::from(report_fd).write_all(&bytes) {
        Ok(()) => code,
        Err(_) => SETUP_FAILED,
    }
}

/// Takes ownership of an inherited fd and makes it close-on-exec; `None` if it is not open.
fn take_fd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: `fd` is only borrowed to ask whether it is open.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl_getfd(borrowed).ok()?;
    fcntl_setfd(borrowed, FdFlags::CLOEXEC).ok()?;
    // SAFETY: the fd is open and nothing else in this process owns it (it was set up by the
    // engine for the helper).
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn read_request(fd: OwnedFd) -> Result<Request, Failure> {
    let mut bytes = Vec::new();
    File::from(fd)
        .read_to_end(&mut bytes)
        .step(|| "read the sandbox spec")?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure::msg("parse the sandbox spec", e.to_string()))
}

/// Sets up the namespaces, the devices cgroup and the rootfs, runs PID 1 and cleans up.
/// Returns its exit code.
fn run(request: &Request, warnings: &mut Vec<String>) -> Result<i32, Failure> {
    let spec = &request.spec;
    if spec.process.args.is_empty() {
        return Err(Failure::NoCommand);
    }
    if spec.network == NetworkMode::Private {
        let netns = take_fd(NETNS_FD).ok_or_else(|| {
            Failure::msg("join the build network", "no network namespace was passed")
        })?;
        rustix::thread::move_into_link_name_space(
            netns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .step(|| "join the build network")?;
    }
    let mut flags =
        UnshareFlags::NEWNS | UnshareFlags::NEWPID | UnshareFlags::NEWUTS | UnshareFlags::NEWIPC;
    if spec.network == NetworkMode::None {
        flags |= UnshareFlags::NEWNET;
    }
    // SAFETY: the helper is single-threaded and NEWFILES is not among the flags.
    unsafe { rustix::thread::unshare_unsafe(flags) }.step(|| "unshare namespaces")?;
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .step(|| "make / rprivate")?;
    if spec.network == NetworkMode::None {
        loopback::loopback_up().step(|| "bring up the loopback interface")?;
    }
    if !spec.hostname.is_empty() {
        rustix::system::sethostname(spec.hostname.as_bytes())
            .step(|| format!("sethostname {}", spec.hostname))?;
    }
    let root = rootfs::mount_rootfs(spec)?;
    let mut stubs = Stubs::default();
    let result = stubs.create(root.as_fd()).and_then(|()| {
        let cgroup = SandboxCgroup::create(request.devices)?;
        let result = run_pid1(request, cgroup.as_ref());
        warnings.extend(cgroup.and_then(SandboxCgroup::remove));
        result
    });
    warnings.extend(stubs.remove(root.as_fd()));
    result
}

/// Forks PID 1, waits until it has exec'd (or reports its setup failure), then waits for it
/// while forwarding signals.
fn run_pid1(request: &Request, cgroup: Option<&SandboxCgroup>) -> Result<i32, Failure> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    FORWARDED.iter().for_each(|s| mask.add(*s));
    mask.thread_block().step(|| "block signals")?;
    let (err_read, err_write) = pipe_with(PipeFlags::CLOEXEC).step(|| "create the error pipe")?;

    match fork_pid1(cgroup.and_then(SandboxCgroup::clone_target))? {
        ForkResult::Child => {
            drop(err_read);
            let Err(failure) = init::run(request, cgroup);
            if let Ok(bytes) = serde_json::to_vec(&failure) {
                let _ = File::from(err_write).write_all(&bytes);
            }
            // SAFETY: _exit skips the parent's atexit handlers and destructors, as after fork.
            unsafe { libc::_exit(SETUP_FAILED) }
        }
        ForkResult::Parent { child } => {
            drop(err_write);
            let mut bytes = Vec::new();
            let read = File::from(err_read).read_to_end(&mut bytes);
            if read.is_err() || !bytes.is_empty() {
                let _ = waitpid(child, None);
                read.step(|| "read the error pipe of the container process")?;
                return Err(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                    Failure::msg(
                        "start the container process",
                        format!("unreadable report: {e}"),
                    )
                }));
            }
            wait_forwarding(child, &mask)
        }
    }
}

/// `struct clone_args` of `clone3`.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks PID 1: born inside `cgroup` when given (`clone3` with `CLONE_INTO_CGROUP`, which
/// spares the kernel the RCU grace period of moving a process), else a plain `fork`.
fn fork_pid1(cgroup: Option<BorrowedFd<'_>>) -> Result<ForkResult, Failure> {
    let Some(cgroup) = cgroup else {
        // SAFETY: the helper is single-threaded, so the child may do anything.
        return unsafe { fork() }.step(|| "fork the container process");
    };
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: without a new stack, clone3 returns twice like fork; the helper is
    // single-threaded, so the child inherits no lock held by another thread. The child runs
    // only kiln's own setup code and ends in execve or _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match pid {
        0 => Ok(ForkResult::Child),
        pid if pid > 0 => Ok(ForkResult::Parent {
            child: Pid::from_raw(pid as i32),
        }),
        _ => Err(std::io::Error::last_os_error())
            .step(|| "start the container process in its cgroup"),
    }
}

/// Waits for `child`, forwarding the signals of `mask` (except SIGCHLD) to it. Returns its exit
/// code, or 128 + the signal that killed it.
fn wait_forwarding(child: Pid, mask: &SigSet) -> Result<i32, Failure> {
    loop {
        let sig = mask.wait().step(|| "wait for signals")?;
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        match waitpid(child, Some(WaitPidFlag::WNOHANG))
            .step(|| "wait for the container process")?
        {
            WaitStatus::Exited(_, code) => return Ok(code),
            WaitStatus::Signaled(_, sig, _) => return Ok(128 + sig as i32),
            _ => {}
        }
    }
}
