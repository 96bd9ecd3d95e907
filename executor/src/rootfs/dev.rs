//! A minimal /dev: a tmpfs with the usual device nodes and symlinks, devpts, /dev/shm and
//! /dev/mqueue, like runc's defaults.

use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{FileType, Mode, makedev, mkdirat, mknodat, symlinkat};
use rustix::io::Errno;
use rustix::mount::{MountFlags, mount};

use super::resolve::{fd_path, open_in_root, open_in_root_no_symlinks};
use crate::protocol::{Failure, StepContext};

/// Character devices: name, major, minor (all mode 0666, owned by root).
pub(crate) const DEVICES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Symlinks: name, target.
pub(crate) const SYMLINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// The options of `/dev/shm` without `--shm-size`: Docker's 64 MiB.
const SHM_DEFAULT: &str = "mode=1777,size=65536k";

/// Sub-mounts: directory, mode, fstype, flags, data.
const SUBMOUNTS: [(&str, u32, &str, MountFlags, &str); 3] = [
    (
        "pts",
        0o755,
        "devpts",
        MountFlags::NOSUID.union(MountFlags::NOEXEC),
        "newinstance,ptmxmode=0666,mode=0620,gid=5",
    ),
    (
        "shm",
        0o1777,
        "tmpfs",
        MountFlags::NOSUID
            .union(MountFlags::NODEV)
            .union(MountFlags::NOEXEC),
        SHM_DEFAULT,
    ),
    (
        "mqueue",
        0o755,
        "mqueue",
        MountFlags::NOSUID
            .union(MountFlags::NODEV)
            .union(MountFlags::NOEXEC),
        "",
    ),
];

/// Mounts and fills /dev, with `/dev/shm` of `shm_size` bytes if given. The process umask
/// must be 0 (modes are taken as given).
pub(crate) fn mount_dev(root: BorrowedFd<'_>, shm_size: Option<u64>) -> Result<(), Failure> {
    let target = open_in_root_no_symlinks(root, "/dev").step(|| "open /dev in the rootfs")?;
    mount(
        "tmpfs",
        fd_path(target.as_fd()),
        "tmpfs",
        MountFlags::NOSUID | MountFlags::STRICTATIME,
        Some(c"mode=755,size=65536k"),
    )
    .step(|| "mount tmpfs on /dev")?;
    // Reopen: the old fd points below the new tmpfs.
    let dev = open_in_root(root, "/dev").step(|| "open /dev in the rootfs")?;

    for (name, major, minor) in DEVICES {
        mknodat(
            &dev,
            name,
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o666),
            makedev(major, minor),
        )
        .step(|| format!("mknod /dev/{name}"))?;
    }
    for (name, target) in SYMLINKS {
        symlinkat(target, &dev, name).step(|| format!("symlink /dev/{name} -> {target}"))?;
    }
    for (name, mode, fstype, flags, data) in SUBMOUNTS {
        match mkdirat(&dev, name, Mode::from_raw_mode(mode)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e).step(|| format!("mkdir /dev/{name}")),
        }
        let dir =
            open_in_root(root, &format!("/dev/{name}")).step(|| format!("open /dev/{name}"))?;
        let data = match shm_size {
            Some(size) if data == SHM_DEFAULT => format!("mode=1777,size={size}"),
            _ => data.to_string(),
        };
        let data = std::ffi::CString::new(data)
            .map_err(|_| Failure::msg("mount /dev", "NUL in options"))?;
        let data = (!data.is_empty()).then_some(data.as_c_str());
        mount(fstype, fd_path(dir.as_fd()), fstype, flags, data)
            .step(|| format!("mount {fstype} on /dev/{name}"))?;
    }
    Ok(())
}
