//! Mounts inside the rootfs: mount option parsing, /proc, /sys, the extra mounts of the spec,
//! and runc's masked and read-only paths.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use rustix::fs::{CWD, Mode};
use rustix::io::Errno;
use rustix::mount::{
    MountAttrFlags, MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, mount,
    mount_bind, mount_bind_recursive, mount_change, move_mount, open_tree,
};

use super::resolve::{
    create_file_in_root, fd_path, is_dir, mkdir_all_in_root, open_in_root, open_in_root_no_symlinks,
};
use crate::protocol::{Failure, StepContext};
use crate::spec::MountSpec;

/// runc's default masked paths: /dev/null is bound over files, a read-only tmpfs over dirs.
pub(crate) const MASKED_PATHS: [&str; 9] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

/// runc's default read-only paths.
pub(crate) const READONLY_PATHS: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// `mount(8)`-style options split into what `mount(2)` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountOptions {
    /// MS_* flags (without MS_BIND/MS_REC, see `bind`).
    pub flags: MountFlags,
    /// Filesystem-specific options, comma-separated.
    pub data: String,
    /// `Some(recursive)` for a bind mount.
    pub bind: Option<bool>,
    /// A propagation change to apply after mounting.
    pub propagation: Option<MountPropagationFlags>,
}

/// Splits `options` into flags and data. `fstype` "bind" makes a bind mount even without a
/// "bind"/"rbind" option.
pub(crate) fn parse_options(fstype: &str, options: &[String]) -> MountOptions {
    let mut o = MountOptions {
        flags: MountFlags::empty(),
        data: String::new(),
        bind: (fstype == "bind").then_some(false),
        propagation: None,
    };
    let rec = MountPropagationFlags::REC;
    for opt in options {
        let (set, clear) = match opt.as_str() {
            "defaults" | "" => (MountFlags::empty(), MountFlags::empty()),
            "ro" => (MountFlags::RDONLY, MountFlags::empty()),
            "rw" => (MountFlags::empty(), MountFlags::RDONLY),
            "nosuid" => (MountFlags::NOSUID, MountFlags::empty()),
            "suid" => (MountFlags::empty(), MountFlags::NOSUID),
            "nodev" => (MountFlags::NODEV, MountFlags::empty()),
            "dev" => (MountFlags::empty(), MountFlags::NODEV),
            "noexec" => (MountFlags::NOEXEC, MountFlags::empty()),
            "exec" => (MountFlags::empty(), MountFlags::NOEXEC),
            "sync" => (MountFlags::SYNCHRONOUS, MountFlags::empty()),
            "async" => (MountFlags::empty(), MountFlags::SYNCHRONOUS),
            "dirsync" => (MountFlags::DIRSYNC, MountFlags::empty()),
            "noatime" => (MountFlags::NOATIME, MountFlags::empty()),
            "nodiratime" => (MountFlags::NODIRATIME, MountFlags::empty()),
            "relatime" => (MountFlags::RELATIME, MountFlags::empty()),
            "strictatime" => (MountFlags::STRICTATIME, MountFlags::empty()),
            "nosymfollow" => (MountFlags::NOSYMFOLLOW, MountFlags::empty()),
            "bind" => {
                o.bind = Some(o.bind.unwrap_or(false));
                continue;
            }
            "rbind" => {
                o.bind = Some(true);
                continue;
            }
            p @ ("private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"
            | "unbindable" | "runbindable") => {
                let kind = match p.trim_start_matches('r') {
                    "private" => MountPropagationFlags::PRIVATE,
                    "shared" => MountPropagationFlags::SHARED,
                    "slave" => MountPropagationFlags::DOWNSTREAM,
                    _ => MountPropagationFlags::UNBINDABLE,
                };
                o.propagation = Some(if p.starts_with('r') { kind | rec } else { kind });
                continue;
            }
            data => {
                if !o.data.is_empty() {
                    o.data.push(',');
                }
                o.data.push_str(data);
                continue;
            }
        };
        o.flags = (o.flags | set) - clear;
    }
    o
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE)`: sets `attr` (MOUNT_ATTR_*) on the
/// mount `fd` is the root of and on every mount below it. rustix has no wrapper yet.
pub(crate) fn set_attr_recursive(fd: BorrowedFd<'_>, attr: u64) -> Result<(), Errno> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set: attr,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: the path is a valid C string, `attr` outlives the call and its size is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &raw const attr,
            size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::INVAL))
    } else {
        Ok(())
    }
}

/// MOUNT_ATTR_* of a read-only, nosuid, nodev, noexec mount.
const LOCKED_DOWN: u64 = MountAttrFlags::MOUNT_ATTR_RDONLY
    .union(MountAttrFlags::MOUNT_ATTR_NOSUID)
    .union(MountAttrFlags::MOUNT_ATTR_NODEV)
    .union(MountAttrFlags::MOUNT_ATTR_NOEXEC)
    .bits() as u64;

/// Mounts a fresh procfs (of the new pid namespace) on /proc.
pub(crate) fn mount_proc(root: BorrowedFd<'_>) -> Result<(), Failure> {
    let target = open_in_root_no_symlinks(root, "/proc").step(|| "open /proc in the rootfs")?;
    let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    mount("proc", fd_path(target.as_fd()), "proc", flags, None).step(|| "mount proc on /proc")
}

/// /sys: a read-only sysfs with a new network namespace, else a read-only recursive bind of the
/// host's /sys (sysfs cannot be mounted for a network namespace the sandbox does not own).
pub(crate) fn mount_sys(root: BorrowedFd<'_>, new_netns: bool) -> Result<(), Failure> {
    let target = open_in_root_no_symlinks(root, "/sys").step(|| "open /sys in the rootfs")?;
    if new_netns {
        let flags =
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        return mount("sysfs", fd_path(target.as_fd()), "sysfs", flags, None)
            .step(|| "mount sysfs on /sys");
    }
    let flags = OpenTreeFlags::OPEN_TREE_CLONE
        | OpenTreeFlags::OPEN_TREE_CLOEXEC
        | OpenTreeFlags::AT_RECURSIVE;
    let tree = open_tree(CWD, "/sys", flags).step(|| "clone the host /sys")?;
    set_attr_recursive(tree.as_fd(), LOCKED_DOWN).step(|| "make the /sys bind read-only")?;
    let how = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
    move_mount(&tree, "", &target, "", how).step(|| "bind the host /sys on /sys")
}

/// Makes one of the spec's extra mounts. Bind targets are created as a directory or an empty
/// file matching the source; other targets as directories.
pub(crate) fn mount_extra(root: BorrowedFd<'_>, m: &MountSpec) -> Result<(), Failure> {
    let target = m.target.to_string_lossy();
    let what = || format!("mount {} on {target}", m.source.display());
    let opts = parse_options(&m.fstype, &m.options);
    let dir_mode = Mode::from_raw_mode(0o755);
    match opts.bind {
        Some(recursive) => {
            let source_is_dir = std::fs::metadata(&m.source)
                .step(|| format!("stat {}", m.source.display()))?
                .is_dir();
            if source_is_dir {
                mkdir_all_in_root(root, &target, dir_mode).step(|| format!("create {target}"))?;
            } else {
                create_file_in_root(root, &target, Mode::from_raw_mode(0o644))
                    .step(|| format!("create {target}"))?;
            }
            let fd = open_in_root(root, &target).step(|| format!("open {target} in the rootfs"))?;
            let path = fd_path(fd.as_fd());
            if recursive {
                mount_bind_recursive(&m.source, &path)
            } else {
                mount_bind(&m.source, &path)
            }
            .step(what)?;
            let attr = mount_attr_of(opts.flags);
            if attr != 0 {
                let fd =
                    open_in_root(root, &target).step(|| format!("open {target} in the rootfs"))?;
                set_attr_recursive(fd.as_fd(), attr)
                    .step(|| format!("set the options of {target}"))?;
            }
        }
        None => {
            let (fd, _) =
                mkdir_all_in_root(root, &target, dir_mode).step(|| format!("create {target}"))?;
            let data = std::ffi::CString::new(opts.data.clone())
                .map_err(|_| Failure::msg(what(), "NUL in mount options"))?;
            let data = (!opts.data.is_empty()).then_some(data.as_c_str());
            mount(
                &m.source,
                fd_path(fd.as_fd()),
                m.fstype.as_str(),
                opts.flags,
                data,
            )
            .step(what)?;
        }
    }
    if let Some(propagation) = opts.propagation {
        let fd = open_in_root(root, &target).step(|| format!("open {target} in the rootfs"))?;
        mount_change(fd_path(fd.as_fd()), propagation)
            .step(|| format!("set the propagation of {target}"))?;
    }
    Ok(())
}

/// The MOUNT_ATTR_* equivalent of the flags that matter on a bind mount.
fn mount_attr_of(flags: MountFlags) -> u64 {
    let pairs = [
        (MountFlags::RDONLY, MountAttrFlags::MOUNT_ATTR_RDONLY),
        (MountFlags::NOSUID, MountAttrFlags::MOUNT_ATTR_NOSUID),
        (MountFlags::NODEV, MountAttrFlags::MOUNT_ATTR_NODEV),
        (MountFlags::NOEXEC, MountAttrFlags::MOUNT_ATTR_NOEXEC),
        (MountFlags::NOATIME, MountAttrFlags::MOUNT_ATTR_NOATIME),
        (
            MountFlags::NODIRATIME,
            MountAttrFlags::MOUNT_ATTR_NODIRATIME,
        ),
        (
            MountFlags::NOSYMFOLLOW,
            MountAttrFlags::MOUNT_ATTR_NOSYMFOLLOW,
        ),
    ];
    pairs
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .fold(0, |acc, (_, a)| acc | u64::from(a.bits()))
}

/// Hides runc's masked paths: /dev/null over files, an empty read-only tmpfs over dirs.
/// Paths that do not exist are skipped. Needs /dev/null in the rootfs.
pub(crate) fn mask_paths(root: BorrowedFd<'_>) -> Result<(), Failure> {
    let null = open_in_root(root, "/dev/null").step(|| "open /dev/null in the rootfs")?;
    for path in MASKED_PATHS {
        let fd = match open_in_root(root, path) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(e).step(|| format!("open {path} in the rootfs")),
        };
        let target = fd_path(fd.as_fd());
        if is_dir(&fd).step(|| format!("stat {path}"))? {
            mount("tmpfs", &target, "tmpfs", MountFlags::RDONLY, None)
                .step(|| format!("mask {path}"))?;
        } else {
            mount_bind(fd_path(null.as_fd()), &target).step(|| format!("mask {path}"))?;
        }
    }
    Ok(())
}

/// Makes runc's read-only paths read-only (a recursive bind onto themselves, then
/// ro,nosuid,nodev,noexec). Paths that do not exist are skipped.
pub(crate) fn readonly_paths(root: BorrowedFd<'_>) -> Result<(), Failure> {
    for path in READONLY_PATHS {
        let fd = match open_in_root(root, path) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(e).step(|| format!("open {path} in the rootfs")),
        };
        let target = fd_path(fd.as_fd());
        mount_bind_recursive(&target, &target).step(|| format!("bind {path} onto itself"))?;
        // Reopen: `fd` still points at the mount below the new bind.
        let fd = open_in_root(root, path).step(|| format!("open {path} in the rootfs"))?;
        set_attr_recursive(fd.as_fd(), LOCKED_DOWN).step(|| format!("make {path} read-only"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(fstype: &str, options: &[&str]) -> MountOptions {
        let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        parse_options(fstype, &options)
    }

    #[test]
    fn overlay_options_are_data() {
        let o = opts(
            "overlay",
            &["lowerdir=a/fs:b/fs", "upperdir=c/fs", "workdir=c/work"],
        );
        assert_eq!(o.data, "lowerdir=a/fs:b/fs,upperdir=c/fs,workdir=c/work");
        assert_eq!(o.flags, MountFlags::empty());
        assert_eq!(o.bind, None);
    }

    #[test]
    fn flags_are_flags_and_later_wins() {
        let o = opts(
            "tmpfs",
            &["ro", "nosuid", "nodev", "size=64k", "rw", "mode=1777"],
        );
        assert_eq!(o.flags, MountFlags::NOSUID | MountFlags::NODEV);
        assert_eq!(o.data, "size=64k,mode=1777");
    }

    #[test]
    fn bind_kinds() {
        assert_eq!(opts("bind", &[]).bind, Some(false));
        assert_eq!(opts("none", &["rbind", "ro"]).bind, Some(true));
        assert_eq!(opts("bind", &["rbind"]).bind, Some(true));
        assert_eq!(opts("", &["bind"]).bind, Some(false));
    }

    #[test]
    fn propagation() {
        let o = opts("bind", &["rprivate"]);
        assert_eq!(
            o.propagation,
            Some(MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)
        );
        let o = opts("bind", &["slave"]);
        assert_eq!(o.propagation, Some(MountPropagationFlags::DOWNSTREAM));
        assert_eq!(o.data, "");
    }

    #[test]
    fn attr_of_bind_flags() {
        let attr = mount_attr_of(MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::SYNCHRONOUS);
        assert_eq!(attr, 0x1 | 0x2);
    }
}
