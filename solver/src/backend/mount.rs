//! Mounting a snapshot's overlay in the engine for file operations.
//!
//! kiln enters a private mount namespace at start-up, so these mounts are invisible on
//! the host and vanish with the process. Overlay options use paths relative to the
//! snapshot folder (long chains would overflow the one-page mount data); the `chdir`
//! that needs happens on a short-lived thread with its own filesystem context
//! (`unshare(CLONE_FS)`), never changing the engine's working directory.

use kiln_cache::OverlayMount;
use rustix::mount::{MountFlags, UnmountFlags};
use std::ffi::CString;
use std::io;
use std::path::Path;

/// Mounts `overlay` on `target`, runs `f`, then unmounts.
pub fn with_overlay<T>(
    overlay: &OverlayMount,
    target: &Path,
    f: impl FnOnce() -> T,
) -> io::Result<T> {
    let data = CString::new(overlay.options.join(","))
        .map_err(|_| io::Error::other("overlay options contain a NUL byte"))?;
    let base = overlay.base_dir.clone();
    let target_owned = target.to_path_buf();
    std::thread::scope(|scope| {
        scope
            .spawn(move || -> io::Result<()> {
                // SAFETY: this short-lived thread holds nothing that depends on the
                // working directory; unsharing CLONE_FS gives it its own, so the chdir
                // below cannot affect any other thread.
                unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS)? };
                rustix::process::chdir(&base)?;
                rustix::mount::mount(
                    "overlay",
                    &target_owned,
                    "overlay",
                    MountFlags::empty(),
                    data.as_c_str(),
                )?;
                Ok(())
            })
            .join()
            .map_err(|_| io::Error::other("mount thread panicked"))?
    })
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("mount overlay on `{}`: {e}", target.display()),
        )
    })?;
    let out = f();
    rustix::mount::unmount(target, UnmountFlags::DETACH).map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("unmount `{}`: {e}", target.display()),
        )
    })?;
    Ok(out)
}
