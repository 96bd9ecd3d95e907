//! Seccomp: Docker's default profile ([`profile`]) compiled into one BPF program
//! ([`bpf`]) once per engine process, sent to the helper with the spec, and installed by PID 1
//! right before it drops capabilities (see [`install`] for why not later).
//!
//! System call names are resolved for the architecture kiln was built for with the
//! `syscalls` crate's tables; names the architecture lacks are skipped, as libseccomp does.

mod bpf;
mod profile;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use caps::Capability;
use serde::{Deserialize, Serialize};
use syscalls::Sysno;

use crate::protocol::{Failure, StepContext};
use bpf::{Insn, Verdict};

/// A compiled filter; each instruction packed as `code | jt << 16 | jf << 24 | k << 32`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeccompFilter {
    program: Vec<u64>,
}

/// Docker's default profile for Docker's default capability set, compiled on first use.
pub(crate) fn docker_default() -> Result<&'static SeccompFilter, String> {
    static FILTER: OnceLock<Result<SeccompFilter, String>> = OnceLock::new();
    FILTER
        .get_or_init(|| compile(&crate::capabilities::DEFAULT_CAPS))
        .as_ref()
        .map_err(Clone::clone)
}

/// What the profile says about each system call of this architecture, for a container holding
/// `caps`.
fn table(caps: &[Capability]) -> BTreeMap<u32, Verdict> {
    let mut table = BTreeMap::new();
    let mut set = |name: &str, verdict: Verdict| {
        if let Ok(sysno) = Sysno::from_str(name) {
            table.insert(sysno.id() as u32, verdict);
        }
    };
    for name in profile::ALLOWED {
        set(name, Verdict::Allow);
    }
    for (cap, group) in profile::WITH_CAPABILITY {
        if caps.contains(cap) {
            group.iter().for_each(|name| set(name, Verdict::Allow));
        }
    }
    set("socket", Verdict::Arg0Not(profile::SOCKET_DENIED_DOMAIN));
    set(
        "personality",
        Verdict::Arg0In(profile::PERSONALITIES.to_vec()),
    );
    if !caps.contains(&Capability::CAP_SYS_ADMIN) {
        set("clone", Verdict::Arg0Clear(profile::CLONE_NAMESPACE_FLAGS));
        set("clone3", Verdict::Errno(profile::CLONE3_ERRNO));
    }
    table
}

/// Compiles Docker's default profile for a container holding `caps`.
pub(crate) fn compile(caps: &[Capability]) -> Result<SeccompFilter, String> {
    let arch = bpf::audit_arch().ok_or_else(|| {
        format!(
            "no seccomp profile for the {} architecture",
            std::env::consts::ARCH
        )
    })?;
    let program = bpf::assemble(arch, &table(caps), profile::DEFAULT_ERRNO)
        .iter()
        .map(pack)
        .collect();
    Ok(SeccompFilter { program })
}

fn pack(i: &Insn) -> u64 {
    u64::from(i.code) | u64::from(i.jt) << 16 | u64::from(i.jf) << 24 | u64::from(i.k) << 32
}

fn unpack(v: u64) -> libc::sock_filter {
    // Truncating casts take the packed fields apart again.
    libc::sock_filter {
        code: v as u16,
        jt: (v >> 16) as u8,
        jf: (v >> 24) as u8,
        k: (v >> 32) as u32,
    }
}

/// Installs the filter on the calling thread.
///
/// Without `no_new_privs` (kiln, like Docker, leaves it off so setuid binaries work) the
/// kernel only lets a process holding `CAP_SYS_ADMIN` install a filter, so PID 1 calls this
/// after its last mount and before it drops capabilities and switches user, as runc does. What
/// runs after it (capset, prctl, setgroups, setres[ug]id, umask, sigaction, close_range, the
/// `PATH` lookup and execve) is all allowed by the profile.
pub(crate) fn install(filter: &SeccompFilter) -> Result<(), Failure> {
    let mut program: Vec<libc::sock_filter> = filter.program.iter().copied().map(unpack).collect();
    let len = u16::try_from(program.len())
        .map_err(|_| Failure::msg("install the seccomp filter", "the filter is too long"))?;
    let fprog = libc::sock_fprog {
        len,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: `fprog` points at `len` valid instructions that outlive the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).step(|| "install the seccomp filter");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::bpf::tests::run;
    use super::bpf::{RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS};
    use super::*;
    use crate::capabilities::DEFAULT_CAPS;

    fn program(caps: &[Capability]) -> Vec<Insn> {
        let filter = compile(caps).unwrap_or_default();
        filter
            .program
            .iter()
            .map(|v| {
                let i = unpack(*v);
                Insn {
                    code: i.code,
                    jt: i.jt,
                    jf: i.jf,
                    k: i.k,
                }
            })
            .collect()
    }

    fn verdict(p: &[Insn], name: &str, arg0: u64) -> u32 {
        let arch = bpf::audit_arch().unwrap_or_default();
        let nr = Sysno::from_str(name).map(|s| s.id() as u32);
        run(p, arch, nr.unwrap_or(u32::MAX), arg0)
    }

    const EPERM: u32 = RET_ERRNO | 1;

    #[test]
    fn ordinary_calls_are_allowed() {
        let p = program(&DEFAULT_CAPS);
        for name in [
            "read", "write", "openat", "execve", "clone", "chroot", "ptrace", "mknodat",
        ] {
            assert_eq!(verdict(&p, name, 0), RET_ALLOW, "{name}");
        }
    }

    #[test]
    fn host_keyrings_reachable_calls_are_denied() {
        let p = program(&DEFAULT_CAPS);
        for name in [
            "add_key",
            "keyctl",
            "request_key",
            "unshare",
            "bpf",
            "perf_event_open",
            "kexec_load",
            "open_by_handle_at",
            "mount",
            "umount2",
            "setns",
            "init_module",
            "reboot",
            "swapon",
            "sethostname",
            "pivot_root",
            "userfaultfd",
        ] {
            assert_eq!(verdict(&p, name, 0), EPERM, "{name}");
        }
    }

    #[test]
    fn argument_rules_follow_docker() {
        let p = program(&DEFAULT_CAPS);
        assert_eq!(verdict(&p, "socket", 2), RET_ALLOW, "AF_INET");
        assert_eq!(verdict(&p, "socket", 40), EPERM, "AF_VSOCK");
        assert_eq!(verdict(&p, "personality", 0xffff_ffff), RET_ALLOW);
        assert_eq!(
            verdict(&p, "personality", 0x0040_0000),
            EPERM,
            "READ_IMPLIES_EXEC"
        );
        let newuser = 0x1000_0000;
        assert_eq!(verdict(&p, "clone", newuser | 0x11), EPERM);
        assert_eq!(verdict(&p, "clone3", 0), RET_ERRNO | 38, "ENOSYS");
    }

    #[test]
    fn sys_admin_lifts_the_namespace_rules() {
        let mut caps = DEFAULT_CAPS.to_vec();
        caps.push(Capability::CAP_SYS_ADMIN);
        let p = program(&caps);
        assert_eq!(verdict(&p, "clone", 0x1000_0000), RET_ALLOW);
        assert_eq!(verdict(&p, "clone3", 0), RET_ALLOW);
        assert_eq!(verdict(&p, "unshare", 0), RET_ALLOW);
    }

    #[test]
    fn other_abis_are_killed() {
        let p = program(&DEFAULT_CAPS);
        assert_eq!(run(&p, 0x4000_0003, 3, 0), RET_KILL_PROCESS, "i386");
    }

    #[test]
    fn conditional_calls_are_not_also_unconditional() {
        for name in ["socket", "personality", "clone", "clone3"] {
            assert!(!profile::ALLOWED.contains(&name), "{name}");
        }
    }

    #[test]
    fn most_of_the_allowlist_exists_here() {
        let known = profile::ALLOWED
            .iter()
            .filter(|n| Sysno::from_str(n).is_ok())
            .count();
        assert!(known > 250, "only {known} names resolved");
    }
}
