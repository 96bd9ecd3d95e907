//! The container's root filesystem: mounting it, the stub mount points kiln adds and removes
//! again, the standard mounts inside it, and `pivot_root`.
//!
//! Who does what:
//! - the helper mounts the rootfs on the mountpoint ([`mount_rootfs`]) in its private mount
//!   namespace, creates missing mount points as stubs ([`Stubs::create`]) and removes them when
//!   the process has exited ([`Stubs::remove`]), through its own view of the rootfs;
//! - PID 1, in a mount namespace of its own, mounts /proc, /dev, /sys, /etc files, the extra
//!   mounts and the masks ([`setup`]) and pivots into the rootfs ([`pivot_into`]).

mod dev;
mod etc;
pub(crate) mod mounts;
pub(crate) mod resolve;

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::mount::{UnmountFlags, mount, unmount};

use crate::protocol::{Failure, StepContext};
use crate::spec::SandboxSpec;
use resolve::{create_file_in_root, mkdir_all_in_root, remove_stub_in_root};

/// What the sandbox needs in a rootfs: the kernel filesystems' mount points, and the
/// files `/etc/hosts` and `/etc/resolv.conf` are bound over. `true`: a directory.
const REQUIRED: [(&str, bool); 5] = [
    ("/proc", true),
    ("/dev", true),
    ("/sys", true),
    ("/etc/hosts", false),
    ("/etc/resolv.conf", false),
];

/// Mount points that stay when kiln made them, as runc leaves them under BuildKit (an
/// image built on a base without them has them after its first RUN, empty).
const KEPT: [&str; 3] = ["/proc", "/dev", "/sys"];

/// Mounts `spec.rootfs` on `spec.mountpoint` (after a chdir into `rootfs_base_dir`) and opens it.
pub(crate) fn mount_rootfs(spec: &SandboxSpec) -> Result<OwnedFd, Failure> {
    if let Some(base) = &spec.rootfs_base_dir {
        rustix::process::chdir(base).step(|| format!("chdir {}", base.display()))?;
    }
    let m = &spec.rootfs;
    let what = || format!("mount {} rootfs on {}", m.fstype, spec.mountpoint.display());
    let opts = mounts::parse_options(&m.fstype, &m.options);
    let data = CString::new(opts.data.clone())
        .map_err(|_| Failure::msg(what(), "NUL in mount options"))?;
    let data = (!opts.data.is_empty()).then_some(data.as_c_str());
    if let Some(recursive) = opts.bind {
        let flags = if recursive {
            rustix::mount::MountFlags::BIND | rustix::mount::MountFlags::REC
        } else {
            rustix::mount::MountFlags::BIND
        };
        mount(&m.source, &spec.mountpoint, "", flags, None).step(what)?;
    } else {
        mount(
            &m.source,
            &spec.mountpoint,
            m.fstype.as_str(),
            opts.flags,
            data,
        )
        .step(what)?;
    }
    open_rootfs(spec)
}

/// Opens the mounted rootfs as an O_PATH directory fd.
pub(crate) fn open_rootfs(spec: &SandboxSpec) -> Result<OwnedFd, Failure> {
    rustix::fs::open(
        &spec.mountpoint,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .step(|| format!("open the rootfs at {}", spec.mountpoint.display()))
}

/// The mount points kiln created in a rootfs, to be removed after the run so they do not end up
/// in a layer (except the kernel filesystems' directories, [`KEPT`], as BuildKit).
#[derive(Debug, Default)]
pub(crate) struct Stubs {
    created: Vec<String>,
}

impl Stubs {
    /// Creates whichever of /proc, /dev, /sys, /etc, /etc/hosts, /etc/resolv.conf is missing.
    /// On failure, the stubs created so far are still recorded (and removed by [`Stubs::remove`]).
    pub(crate) fn create(&mut self, root: BorrowedFd<'_>) -> Result<(), Failure> {
        for (path, is_dir) in REQUIRED {
            let created = if is_dir {
                mkdir_all_in_root(root, path, Mode::from_raw_mode(0o755)).map(|(_, c)| c)
            } else {
                create_file_in_root(root, path, Mode::from_raw_mode(0o644))
            };
            let created = created.step(|| format!("create {path} in the rootfs"))?;
            self.created
                .extend(created.into_iter().filter(|c| !KEPT.contains(&c.as_str())));
        }
        Ok(())
    }

    /// Removes the stubs that are still empty, innermost first. Returns warnings for those that
    /// could not be checked or removed.
    pub(crate) fn remove(self, root: BorrowedFd<'_>) -> Vec<String> {
        let mut warnings = Vec::new();
        for path in self.created.iter().rev() {
            if let Err(e) = remove_stub_in_root(root, path) {
                warnings.push(format!(
                    "failed to remove the stub {path} from the rootfs: {e}"
                ));
            }
        }
        warnings
    }
}

/// Mounts everything inside the rootfs (run by PID 1 in its own mount namespace, before
/// `pivot_root`, with umask 0).
pub(crate) fn setup(root: BorrowedFd<'_>, spec: &SandboxSpec) -> Result<(), Failure> {
    mounts::mount_proc(root)?;
    dev::mount_dev(root, spec.host_config.shm_size)?;
    mounts::mount_sys(root, spec.network.is_isolated())?;
    etc::mount_etc_files(root, spec)?;
    for m in &spec.mounts {
        mounts::mount_extra(root, m)?;
    }
    mounts::mask_paths(root)?;
    mounts::readonly_paths(root)?;
    Ok(())
}

/// `pivot_root(".", ".")` into the rootfs and detach the old root, leaving the process in "/".
pub(crate) fn pivot_into(root: OwnedFd) -> Result<(), Failure> {
    rustix::process::fchdir(root.as_fd()).step(|| "chdir into the rootfs")?;
    drop(root);
    rustix::process::pivot_root(".", ".").step(|| "pivot_root into the rootfs")?;
    unmount(".", UnmountFlags::DETACH).step(|| "detach the old root")?;
    rustix::process::chdir("/").step(|| "chdir /")?;
    Ok(())
}
