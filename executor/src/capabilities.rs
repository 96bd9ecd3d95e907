//! Capabilities: bound the process to Docker's default set.

use caps::{CapSet, Capability, CapsHashSet};

use crate::protocol::{Failure, StepContext};

/// Docker's default capability set (moby `oci/caps/defaults.go`).
pub(crate) const DEFAULT_CAPS: [Capability; 14] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

/// The default set as a capability mask (bit n = capability n), as in `/proc/self/status`.
pub fn default_caps_mask() -> u64 {
    DEFAULT_CAPS
        .iter()
        .fold(0, |mask, cap| mask | cap.bitmask())
}

/// Drops every capability outside [`DEFAULT_CAPS`] from the bounding, permitted and effective
/// sets, and clears the inheritable and ambient sets (as Docker does since CVE-2022-24769).
///
/// Call before switching to the container user: `setuid` to a non-root user then clears the
/// permitted and effective sets, so such a user ends with no effective capabilities.
pub(crate) fn restrict_to_defaults() -> Result<(), Failure> {
    let keep: CapsHashSet = DEFAULT_CAPS.iter().copied().collect();
    let bounding =
        caps::read(None, CapSet::Bounding).step(|| "read the capability bounding set")?;
    for cap in bounding.difference(&keep) {
        caps::drop(None, CapSet::Bounding, *cap)
            .step(|| format!("drop {cap} from the bounding set"))?;
    }
    caps::clear(None, CapSet::Inheritable).step(|| "clear the inheritable capabilities")?;
    caps::clear(None, CapSet::Ambient).step(|| "clear the ambient capabilities")?;
    // Effective first: it must stay a subset of permitted.
    caps::set(None, CapSet::Effective, &keep).step(|| "set the effective capabilities")?;
    caps::set(None, CapSet::Permitted, &keep).step(|| "set the permitted capabilities")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mask_matches_docker() {
        // `CapBnd` of `docker run --rm busybox grep Cap /proc/self/status`.
        assert_eq!(default_caps_mask(), 0x00000000a80425fb);
    }
}
