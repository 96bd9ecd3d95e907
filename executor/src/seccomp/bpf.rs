//! A seccomp filter as a classic BPF program that finds the system call by binary search.
//!
//! A linear filter (one comparison per listed call, as `seccompiler` and libseccomp's default
//! emit) costs about 1 ms to install: the kernel emulates the filter once per system call
//! number to fill its cache of always-allowed calls. Searching a sorted table takes about
//! nine comparisons instead of up to 350, both for that emulation and for every call the cache
//! does not cover.
//!
//! Layout: check the architecture, load the number, then the search tree; each comparison
//! is followed by a `ja` so that no conditional jump needs more than one instruction of
//! offset, however large the program.

use std::collections::BTreeMap;

/// What the filter does with one system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Allowed.
    Allow,
    /// Fails with this errno.
    Errno(u32),
    /// Allowed when the low 32 bits of argument 0 are one of these, else `EPERM`-like
    /// `default` errno.
    Arg0In(Vec<u32>),
    /// Allowed unless the low 32 bits of argument 0 equal this.
    Arg0Not(u32),
    /// Allowed when argument 0 has none of these bits set.
    Arg0Clear(u32),
}

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

pub(crate) const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
pub(crate) const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub(crate) const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
pub(crate) const JA: u16 = 0x05; // BPF_JMP | BPF_JA
pub(crate) const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub(crate) const RET: u16 = 0x06; // BPF_RET | BPF_K

pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;

/// Offsets in `struct seccomp_data`.
pub(crate) const NR: u32 = 0;
pub(crate) const ARCH: u32 = 4;
/// The low 32 bits of argument 0 (little-endian).
pub(crate) const ARG0_LO: u32 = 16;

/// The `AUDIT_ARCH_*` value of the architecture kiln runs on.
pub(crate) fn audit_arch() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(0xc000_003e),
        "aarch64" => Some(0xc000_00b7),
        "riscv64" => Some(0xc000_00f3),
        _ => None,
    }
}

fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A comparison that falls through to the next instruction when true and skips it when
/// false (the next instruction is then a `ja`).
fn test(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 1,
        k,
    }
}

/// Assembles the filter: calls in `table` get their verdict, every other call (and every call
/// of another architecture's ABI with the same audit value, such as x32) fails with
/// `default_errno`, and a call made through another audit architecture kills the process.
pub(crate) fn assemble(arch: u32, table: &BTreeMap<u32, Verdict>, default_errno: u32) -> Vec<Insn> {
    let mut p = vec![
        stmt(LD_ABS, ARCH),
        Insn {
            code: JEQ,
            jt: 1,
            jf: 0,
            k: arch,
        },
        stmt(RET, RET_KILL_PROCESS),
        stmt(LD_ABS, NR),
    ];
    search(&mut p, &intervals(table, default_errno), default_errno);
    p
}

/// The number line cut into intervals of one verdict each, as (first number, verdict), the
/// first starting at 0; neighbours with the same plain verdict are merged, so the many runs of
/// consecutive allowed calls become one interval each.
fn intervals(table: &BTreeMap<u32, Verdict>, default_errno: u32) -> Vec<(u32, Verdict)> {
    let mut out: Vec<(u32, Verdict)> = Vec::new();
    let mut push = |start: u32, verdict: Verdict| {
        let plain = matches!(verdict, Verdict::Allow | Verdict::Errno(_));
        if !(plain && out.last().is_some_and(|(_, last)| *last == verdict)) {
            out.push((start, verdict));
        }
    };
    let mut next = 0u32;
    for (&nr, verdict) in table {
        if nr > next {
            push(next, Verdict::Errno(default_errno));
        }
        push(nr, verdict.clone());
        next = nr.saturating_add(1);
    }
    push(next, Verdict::Errno(default_errno));
    out
}

/// Emits a binary search over the interval starts, each leaf being its verdict's block.
fn search(p: &mut Vec<Insn>, intervals: &[(u32, Verdict)], default_errno: u32) {
    if let [(_, verdict)] = intervals {
        block(p, verdict, default_errno);
        return;
    }
    let mid = intervals.len() / 2;
    // if nr >= start of the right half: jump over the left half, else fall into it.
    p.push(test(JGE, intervals[mid].0));
    let jump = p.len();
    p.push(stmt(JA, 0));
    search(p, &intervals[..mid], default_errno);
    p[jump].k = (p.len() - jump - 1) as u32;
    search(p, &intervals[mid..], default_errno);
}

/// Emits the verdict of one call; every path ends in a `ret`.
fn block(p: &mut Vec<Insn>, verdict: &Verdict, default_errno: u32) {
    let deny = RET_ERRNO | default_errno;
    match verdict {
        Verdict::Allow => p.push(stmt(RET, RET_ALLOW)),
        Verdict::Errno(errno) => p.push(stmt(RET, RET_ERRNO | errno)),
        Verdict::Arg0In(values) => {
            p.push(stmt(LD_ABS, ARG0_LO));
            for (i, value) in values.iter().enumerate() {
                // Equal: jump to the `ret allow` after the last comparison and the deny.
                let to_allow = values.len() - i;
                p.push(Insn {
                    code: JEQ,
                    jt: to_allow as u8,
                    jf: 0,
                    k: *value,
                });
            }
            p.push(stmt(RET, deny));
            p.push(stmt(RET, RET_ALLOW));
        }
        Verdict::Arg0Not(value) => {
            p.push(stmt(LD_ABS, ARG0_LO));
            p.push(Insn {
                code: JEQ,
                jt: 1,
                jf: 0,
                k: *value,
            });
            p.push(stmt(RET, RET_ALLOW));
            p.push(stmt(RET, deny));
        }
        Verdict::Arg0Clear(mask) => {
            p.push(stmt(LD_ABS, ARG0_LO));
            p.push(stmt(AND, *mask));
            p.push(Insn {
                code: JEQ,
                jt: 0,
                jf: 1,
                k: 0,
            });
            p.push(stmt(RET, RET_ALLOW));
            p.push(stmt(RET, deny));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs a filter on one call: `(arch, nr, arg0)` → the `ret` value and the number of
    /// instructions run. Panics on anything the assembler does not emit and on a loop.
    pub(crate) fn run_counting(p: &[Insn], arch: u32, nr: u32, arg0: u64) -> (u32, usize) {
        let (mut a, mut pc, mut steps) = (0u32, 0usize, 0);
        loop {
            let i = p[pc];
            steps += 1;
            assert!(steps < 10_000, "the filter loops");
            pc += 1;
            match i.code {
                LD_ABS => {
                    a = match i.k {
                        NR => nr,
                        ARCH => arch,
                        ARG0_LO => arg0 as u32,
                        other => panic!("load of offset {other}"),
                    }
                }
                AND => a &= i.k,
                JA => pc += i.k as usize,
                JEQ => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JGE => pc += usize::from(if a >= i.k { i.jt } else { i.jf }),
                RET => return (i.k, steps),
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    pub(crate) fn run(p: &[Insn], arch: u32, nr: u32, arg0: u64) -> u32 {
        run_counting(p, arch, nr, arg0).0
    }

    fn table() -> BTreeMap<u32, Verdict> {
        let mut t: BTreeMap<u32, Verdict> =
            (0..300).step_by(3).map(|n| (n, Verdict::Allow)).collect();
        t.insert(41, Verdict::Arg0Not(40));
        t.insert(135, Verdict::Arg0In(vec![0, 8, 0xffff_ffff]));
        t.insert(56, Verdict::Arg0Clear(0x7e02_0000));
        t.insert(435, Verdict::Errno(38));
        t
    }

    #[test]
    fn every_number_gets_its_verdict() {
        let t = table();
        let p = assemble(0xc000_003e, &t, 1);
        let deny = RET_ERRNO | 1;
        for nr in 0..600 {
            let want = match t.get(&nr) {
                None => deny,
                Some(Verdict::Allow) => RET_ALLOW,
                Some(Verdict::Errno(e)) => RET_ERRNO | e,
                Some(_) => continue,
            };
            assert_eq!(run(&p, 0xc000_003e, nr, 0), want, "nr {nr}");
        }
        assert_eq!(run(&p, 0xc000_003e, 0x4000_0003, 0), deny, "x32 is denied");
        assert_eq!(
            run(&p, 0x4000_0003, 3, 0),
            RET_KILL_PROCESS,
            "other ABIs are killed"
        );
    }

    #[test]
    fn argument_rules() {
        let p = assemble(7, &table(), 1);
        assert_eq!(run(&p, 7, 41, 2), RET_ALLOW);
        assert_eq!(run(&p, 7, 41, 40), RET_ERRNO | 1);
        assert_eq!(run(&p, 7, 135, 8), RET_ALLOW);
        assert_eq!(run(&p, 7, 135, 0xffff_ffff), RET_ALLOW);
        assert_eq!(run(&p, 7, 135, 4), RET_ERRNO | 1);
        assert_eq!(run(&p, 7, 56, 0x0001_0011), RET_ALLOW);
        assert_eq!(run(&p, 7, 56, 0x1000_0000), RET_ERRNO | 1);
    }

    #[test]
    fn search_depth_is_logarithmic() {
        let t: BTreeMap<u32, Verdict> = (0..400).map(|n| (n, Verdict::Allow)).collect();
        let p = assemble(7, &t, 1);
        // A linear filter would run about 800 instructions for the last calls.
        let worst = (0..500).map(|nr| run_counting(&p, 7, nr, 0).1).max();
        assert!(
            worst.is_some_and(|w| w < 40),
            "{worst:?} instructions for one lookup"
        );
    }
}
