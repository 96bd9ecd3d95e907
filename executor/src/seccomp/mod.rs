//! Seccomp: Docker's default profile ([`profile`]) compiled with `seccompiler` once per engine
//! process, sent to the helper with the spec, and installed by PID 1 right before it drops
//! capabilities (see [`install`] for why not later).
//!
//! The profile becomes two programs: an allowlist (everything else fails with `EPERM`) and,
//! without `CAP_SYS_ADMIN`, one that makes `clone3` fail with `ENOSYS`. The kernel runs every
//! installed program and takes the most severe result, and among equal results the data of the
//! newest program, so `clone3` gets `ENOSYS` and every other call the allowlist's verdict.

mod profile;

use std::sync::OnceLock;

use caps::Capability;
use seccompiler::{BpfProgram, TargetArch, sock_filter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::protocol::Failure;

/// BPF programs to install, in order; each instruction packed as
/// `code | jt << 16 | jf << 24 | k << 32`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeccompFilters {
    programs: Vec<Vec<u64>>,
}

/// Docker's default profile for Docker's default capability set, compiled on first use.
pub(crate) fn docker_default() -> Result<&'static SeccompFilters, String> {
    static FILTERS: OnceLock<Result<SeccompFilters, String>> = OnceLock::new();
    FILTERS
        .get_or_init(|| compile(&crate::capabilities::DEFAULT_CAPS).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The architecture kiln runs on, as seccompiler names it.
fn target_arch() -> Result<TargetArch, seccompiler::Error> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(seccompiler::Error::Backend)
}

/// Compiles Docker's default profile for a container holding `caps`.
pub(crate) fn compile(caps: &[Capability]) -> Result<SeccompFilters, seccompiler::Error> {
    let arch = target_arch()?;
    let sys_admin = caps.contains(&Capability::CAP_SYS_ADMIN);
    let mut names: Vec<&str> = profile::ALLOWED.to_vec();
    for (cap, group) in profile::WITH_CAPABILITY {
        if caps.contains(cap) {
            names.extend_from_slice(group);
        }
    }
    names.retain(|n| !profile::ABSENT.contains(n));
    names.sort_unstable();
    names.dedup();

    let mut rules: Vec<Value> = names.iter().map(|n| json!({ "syscall": n })).collect();
    let arg0 =
        |op: Value, val: u64, len: &str| json!([{ "index": 0, "type": len, "op": op, "val": val }]);
    rules.push(json!({
        "syscall": "socket",
        "args": arg0(json!("ne"), profile::SOCKET_DENIED_DOMAIN, "dword"),
    }));
    for persona in profile::PERSONALITIES {
        rules
            .push(json!({ "syscall": "personality", "args": arg0(json!("eq"), persona, "dword") }));
    }
    if !sys_admin {
        let masked = json!({ "masked_eq": profile::CLONE_NAMESPACE_FLAGS });
        rules.push(json!({ "syscall": "clone", "args": arg0(masked, 0, "qword") }));
    }
    let mut filters = json!({
        "allowlist": {
            "mismatch_action": { "errno": profile::DEFAULT_ERRNO },
            "match_action": "allow",
            "filter": rules,
        }
    });
    if !sys_admin {
        filters["clone3"] = json!({
            "mismatch_action": "allow",
            "match_action": { "errno": profile::CLONE3_ERRNO },
            "filter": [{ "syscall": "clone3" }],
        });
    }
    let mut compiled = seccompiler::compile_from_json(filters.to_string().as_bytes(), arch)?;
    let programs = ["allowlist", "clone3"]
        .iter()
        .filter_map(|name| compiled.remove(*name))
        .map(|program| program.iter().map(pack).collect())
        .collect();
    Ok(SeccompFilters { programs })
}

fn pack(i: &sock_filter) -> u64 {
    u64::from(i.code) | u64::from(i.jt) << 16 | u64::from(i.jf) << 24 | u64::from(i.k) << 32
}

fn unpack(v: u64) -> sock_filter {
    // Truncating casts take the packed fields apart again.
    sock_filter {
        code: v as u16,
        jt: (v >> 16) as u8,
        jf: (v >> 24) as u8,
        k: (v >> 32) as u32,
    }
}

/// Installs the programs on the calling thread.
///
/// Without `no_new_privs` (kiln, like Docker, leaves it off so setuid binaries work) the
/// kernel only lets a process holding `CAP_SYS_ADMIN` install a filter, so PID 1 calls this
/// after its last mount and before it drops capabilities and switches user, as runc does. What
/// runs after it (capset, prctl, setgroups, setres[ug]id, umask, sigaction, close_range, the
/// `PATH` lookup and execve) is all allowed by the profile.
pub(crate) fn install(filters: &SeccompFilters) -> Result<(), Failure> {
    for program in &filters.programs {
        let program: BpfProgram = program.iter().copied().map(unpack).collect();
        seccompiler::apply_filter(&program)
            .map_err(|e| Failure::msg("install the seccomp filter", e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::DEFAULT_CAPS;

    fn one_name_compiles(name: &str) -> bool {
        let filter = json!({ "f": {
            "mismatch_action": "allow",
            "match_action": { "errno": 1 },
            "filter": [{ "syscall": name }],
        }});
        target_arch()
            .and_then(|arch| seccompiler::compile_from_json(filter.to_string().as_bytes(), arch))
            .is_ok()
    }

    #[test]
    fn default_profile_compiles_to_two_programs() -> Result<(), seccompiler::Error> {
        let filters = compile(&DEFAULT_CAPS)?;
        assert_eq!(filters.programs.len(), 2);
        assert!(filters.programs[0].len() > 500, "allowlist is too short");
        Ok(())
    }

    #[test]
    fn sys_admin_allows_clone3_and_needs_one_program() -> Result<(), seccompiler::Error> {
        let mut caps = DEFAULT_CAPS.to_vec();
        caps.push(Capability::CAP_SYS_ADMIN);
        assert_eq!(compile(&caps)?.programs.len(), 1);
        Ok(())
    }

    #[test]
    fn absent_names_are_exactly_those_the_architecture_lacks() {
        for name in profile::ABSENT {
            assert!(
                !one_name_compiles(name),
                "{name} exists on this architecture"
            );
        }
        let every = profile::ALLOWED
            .iter()
            .chain(profile::WITH_CAPABILITY.iter().flat_map(|(_, g)| g.iter()));
        for name in every.filter(|n| !profile::ABSENT.contains(n)) {
            assert!(
                one_name_compiles(name),
                "{name} is unknown on this architecture"
            );
        }
    }

    #[test]
    fn conditional_calls_are_not_also_unconditional() {
        // seccompiler would merge an unconditional and a conditional rule into the
        // conditional one, silently narrowing the allowlist.
        for name in ["socket", "personality", "clone"] {
            assert!(!profile::ALLOWED.contains(&name), "{name}");
        }
    }

    #[test]
    fn dangerous_calls_are_left_out() {
        let allowed: Vec<&str> = profile::ALLOWED.to_vec();
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
        ] {
            assert!(
                !allowed.contains(&name),
                "{name} must need a capability or be denied"
            );
        }
    }

    #[test]
    fn packing_round_trips() {
        let i = sock_filter {
            code: 0x15,
            jt: 3,
            jf: 250,
            k: 0xdead_beef,
        };
        let back = unpack(pack(&i));
        assert_eq!(
            (back.code, back.jt, back.jf, back.k),
            (0x15, 3, 250, 0xdead_beef)
        );
    }
}
