//! cgroup v2: the device rules as an eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE`,
//! loaded and attached to the sandbox's cgroup (cgroup v2 has no `devices` controller).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::rules::{DeviceKind, DeviceRule, RWM};

/// `BPF_DEVCG_DEV_BLOCK` / `BPF_DEVCG_DEV_CHAR`: the low 16 bits of `access_type`.
fn kind_code(kind: DeviceKind) -> i32 {
    match kind {
        DeviceKind::Block => 1,
        DeviceKind::Char => 2,
    }
}

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst in the low 4 bits, src in the high 4.
    regs: u8,
    off: i16,
    imm: i32,
}

const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV_X: u8 = 0xbf; // dst = src
const MOV_K: u8 = 0xb7; // dst = imm
const AND_K: u8 = 0x57; // dst &= imm
const RSH_K: u8 = 0x77; // dst >>= imm
const JNE_K: u8 = 0x55; // if dst != imm: pc += off
const JSET_K: u8 = 0x45; // if dst & imm: pc += off
const EXIT: u8 = 0x95;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | src << 4,
        off,
        imm,
    }
}

// Registers: r1 = context, r2 = requested access, r3 = kind, r4 = major, r5 = minor.
const ACCESS: u8 = 2;
const KIND: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

/// The program: returns 1 (allow) when a rule matches the device and covers the requested
/// access, else 0 (deny).
pub(crate) fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_W, ACCESS, 1, 0, 0),
        insn(MOV_X, KIND, ACCESS, 0, 0),
        insn(AND_K, KIND, 0, 0, 0xffff),
        insn(RSH_K, ACCESS, 0, 0, 16),
        insn(LDX_W, MAJOR, 1, 4, 0),
        insn(LDX_W, MINOR, 1, 8, 0),
    ];
    for rule in rules {
        // Each test jumps past the rest of the block when it fails.
        let mut tests = vec![(JNE_K, KIND, kind_code(rule.kind))];
        if let Some(major) = rule.major {
            tests.push((JNE_K, MAJOR, major as i32));
        }
        if let Some(minor) = rule.minor {
            tests.push((JNE_K, MINOR, minor as i32));
        }
        if rule.access != RWM {
            tests.push((JSET_K, ACCESS, (!rule.access & RWM) as i32));
        }
        let block_len = tests.len() + 2;
        for (i, (code, reg, imm)) in tests.into_iter().enumerate() {
            p.push(insn(code, reg, 0, (block_len - i - 1) as i16, imm));
        }
        p.push(insn(MOV_K, 0, 0, 0, 1));
        p.push(insn(EXIT, 0, 0, 0, 0));
    }
    p.push(insn(MOV_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a properly laid out prefix of `union bpf_attr` and its size is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Loads the program for `rules` and attaches it to the cgroup directory `cgroup`. The program
/// stays attached until the cgroup is removed.
pub(crate) fn attach(cgroup: BorrowedFd<'_>, rules: &[DeviceRule]) -> std::io::Result<()> {
    let insns = program(rules);
    let license = c"Apache-2.0";
    let mut load = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..ProgLoad::default()
    };
    load.prog_name[..11].copy_from_slice(b"kiln_device");
    let fd = bpf(BPF_PROG_LOAD, &mut load)?;
    // SAFETY: BPF_PROG_LOAD returned a new fd that nothing else owns.
    let prog = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut attach = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attach)?;
    Ok(())
}

const BPF_PROG_QUERY: libc::c_long = 16;

/// The `BPF_PROG_QUERY` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

/// How many device programs are attached to the cgroup directory `cgroup` itself.
pub(crate) fn attached_programs(cgroup: BorrowedFd<'_>) -> std::io::Result<u32> {
    let mut query = ProgQuery {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..ProgQuery::default()
    };
    bpf(BPF_PROG_QUERY, &mut query)?;
    Ok(query.prog_cnt)
}

/// A short hash (FNV-1a, hex) of the program for `rules`: the name of the cgroup it is
/// attached to, so that other rules never share a cgroup with these.
pub(crate) fn program_hash(rules: &[DeviceRule]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for i in program(rules) {
        for byte in [i.code, i.regs]
            .into_iter()
            .chain(i.off.to_le_bytes())
            .chain(i.imm.to_le_bytes())
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:012x}", hash >> 16)
}

#[cfg(test)]
mod tests {
    use super::super::rules::{DEFAULT_RULES, MKNOD, READ, WRITE};
    use super::*;

    /// Runs the subset of eBPF that [`program`] emits on one device request.
    fn interpret(p: &[Insn], kind: DeviceKind, major: u32, minor: u32, access: u32) -> u64 {
        let ctx = [(access << 16) | kind_code(kind) as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            let imm = i.imm as u32 as u64;
            pc += 1;
            match i.code {
                LDX_W => r[dst] = u64::from(ctx[i.off as usize / 4]),
                MOV_X => r[dst] = r[src],
                MOV_K => r[dst] = imm,
                AND_K => r[dst] &= imm,
                RSH_K => r[dst] >>= imm,
                JNE_K if r[dst] != imm => pc += i.off as usize,
                JSET_K if r[dst] & imm != 0 => pc += i.off as usize,
                JNE_K | JSET_K => {}
                EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn program_agrees_with_the_rules() {
        let p = program(&DEFAULT_RULES);
        for kind in [DeviceKind::Block, DeviceKind::Char] {
            for (major, minor) in [
                (1, 3),
                (1, 5),
                (1, 4),
                (5, 0),
                (5, 1),
                (5, 2),
                (7, 0),
                (10, 229),
                (136, 0),
                (136, 9),
                (8, 0),
            ] {
                for access in 1..=7 {
                    let want = DEFAULT_RULES
                        .iter()
                        .any(|r| r.allows(kind, major, minor, access));
                    let got = interpret(&p, kind, major, minor, access) == 1;
                    assert_eq!(got, want, "{kind:?} {major}:{minor} access {access}");
                }
            }
        }
    }

    #[test]
    fn other_rules_hash_differently() {
        let fewer = &DEFAULT_RULES[..9];
        assert_ne!(program_hash(&DEFAULT_RULES), program_hash(fewer));
        assert_eq!(program_hash(&DEFAULT_RULES), program_hash(&DEFAULT_RULES));
    }

    #[test]
    fn mknod_of_anything_but_no_read_of_a_disk() {
        let p = program(&DEFAULT_RULES);
        assert_eq!(interpret(&p, DeviceKind::Block, 8, 0, MKNOD), 1);
        assert_eq!(interpret(&p, DeviceKind::Block, 8, 0, READ), 0);
        assert_eq!(interpret(&p, DeviceKind::Char, 1, 3, READ | WRITE), 1);
    }
}
