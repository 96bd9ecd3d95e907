//! The device rules: which device nodes a sandboxed process may create and open. One list,
//! applied by both back ends (the v1 `devices` controller and the v2 BPF program).

use std::fmt;

/// Block or character device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    /// A block device (`b`).
    Block,
    /// A character device (`c`).
    Char,
}

/// Access bits, as in the cgroup v2 BPF context (`BPF_DEVCG_ACC_*`).
pub(crate) const MKNOD: u32 = 1;
/// Reading the device.
pub(crate) const READ: u32 = 2;
/// Writing the device.
pub(crate) const WRITE: u32 = 4;
/// Every access.
pub(crate) const RWM: u32 = READ | WRITE | MKNOD;

/// One allow rule: a kind, a major and minor number (`None` = any), and the allowed access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub kind: DeviceKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
}

const fn char_dev(major: u32, minor: Option<u32>) -> DeviceRule {
    DeviceRule {
        kind: DeviceKind::Char,
        major: Some(major),
        minor,
        access: RWM,
    }
}

/// Docker's default allow list; everything else is denied. Any node may be created (so images
/// that ship device nodes still unpack and build), but only these may be opened.
pub(crate) const DEFAULT_RULES: [DeviceRule; 10] = [
    DeviceRule {
        kind: DeviceKind::Char,
        major: None,
        minor: None,
        access: MKNOD,
    },
    DeviceRule {
        kind: DeviceKind::Block,
        major: None,
        minor: None,
        access: MKNOD,
    },
    char_dev(1, Some(3)), // null
    char_dev(1, Some(5)), // zero
    char_dev(1, Some(7)), // full
    char_dev(1, Some(8)), // random
    char_dev(1, Some(9)), // urandom
    char_dev(5, Some(0)), // tty
    char_dev(5, Some(2)), // ptmx
    char_dev(136, None),  // pts/*
];

impl DeviceRule {
    /// Whether this rule allows `access` to the device `kind major:minor` (the semantics the
    /// back ends implement).
    #[cfg(test)]
    pub(crate) fn allows(&self, kind: DeviceKind, major: u32, minor: u32, access: u32) -> bool {
        self.kind == kind
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
            && access & !self.access == 0
    }
}

/// The v1 `devices.allow` syntax: `c 1:3 rwm`, `b *:* m`.
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DeviceKind::Block => 'b',
            DeviceKind::Char => 'c',
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        write!(f, "{kind} {}:{} {access}", num(self.major), num(self.minor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_syntax() {
        let lines: Vec<String> = DEFAULT_RULES.iter().map(ToString::to_string).collect();
        assert_eq!(lines[0], "c *:* m");
        assert_eq!(lines[1], "b *:* m");
        assert_eq!(lines[2], "c 1:3 rwm");
        assert_eq!(lines[9], "c 136:* rwm");
    }

    #[test]
    fn loop_devices_may_be_created_but_not_opened() {
        let allowed = |kind, major, minor, access| {
            DEFAULT_RULES
                .iter()
                .any(|r| r.allows(kind, major, minor, access))
        };
        assert!(allowed(DeviceKind::Block, 7, 0, MKNOD));
        assert!(!allowed(DeviceKind::Block, 7, 0, READ));
        assert!(!allowed(DeviceKind::Char, 10, 232, READ | WRITE)); // kvm
        assert!(!allowed(DeviceKind::Char, 10, 229, READ)); // fuse
        assert!(allowed(DeviceKind::Char, 1, 3, READ | WRITE));
        assert!(allowed(DeviceKind::Char, 136, 4, WRITE));
    }
}
