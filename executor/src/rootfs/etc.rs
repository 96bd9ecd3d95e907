//! /etc/hosts and /etc/resolv.conf: written to a private, detached tmpfs and bind-mounted
//! over the (possibly stub) files of the rootfs, so RUN steps never change them in a layer.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{Mode, OFlags, openat};
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags, fsconfig_create,
    fsconfig_set_string, fsmount, fsopen, move_mount, open_tree,
};

use super::resolve::open_in_root;
use crate::host_config::ExtraHost;
use crate::protocol::{Failure, StepContext};
use crate::spec::{HostsFile, NetworkMode, SandboxSpec};

/// Largest host resolv.conf copied.
const MAX_RESOLV_CONF: u64 = 1 << 20;

/// The content of the container's /etc/hosts: the layout's lines, then `extra` ones as
/// `IP<tab>NAME`, as BuildKit writes `--add-host` entries.
pub(crate) fn hosts_file(hostname: &str, layout: HostsFile, extra: &[ExtraHost]) -> String {
    let mut s = own_hosts(hostname, layout);
    for host in extra {
        s.push_str(&format!("{}\t{}\n", host.ip, host.name));
    }
    s
}

fn own_hosts(hostname: &str, layout: HostsFile) -> String {
    if layout == HostsFile::Build {
        return format!(
            "127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        );
    }
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    if !hostname.is_empty() && hostname != "localhost" {
        s.push_str(&format!("127.0.1.1\t{hostname}\n"));
    }
    s
}

/// The content of the container's /etc/resolv.conf: the host's for host networking (read before
/// `pivot_root`), the host's with slirp's DNS forwarder as the only name server for the private
/// network, empty without a network.
pub(crate) fn resolv_conf(network: NetworkMode) -> Result<Vec<u8>, Failure> {
    match network {
        NetworkMode::None => Ok(Vec::new()),
        NetworkMode::Host => host_resolv_conf(),
        NetworkMode::Private => {
            Ok(private_resolv_conf(&String::from_utf8_lossy(&host_resolv_conf()?)).into_bytes())
        }
    }
}

/// The host's resolv.conf with its name servers (which may be loopback addresses, unreachable
/// from the private network) replaced by slirp's forwarder.
fn private_resolv_conf(host: &str) -> String {
    let mut out: String = host
        .lines()
        .filter(|l| !l.trim_start().starts_with("nameserver"))
        .flat_map(|l| [l, "\n"])
        .collect();
    out.push_str(&format!("nameserver {}\n", crate::network::DNS_SERVER));
    out
}

fn host_resolv_conf() -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    match fs_err::File::open("/etc/resolv.conf") {
        Ok(f) => {
            f.take(MAX_RESOLV_CONF)
                .read_to_end(&mut bytes)
                .step(|| "read the host /etc/resolv.conf")?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).step(|| "open the host /etc/resolv.conf"),
    }
    Ok(bytes)
}

/// Writes the files to a detached tmpfs and binds each over its path in the rootfs (which must
/// exist: the helper creates stubs).
pub(crate) fn mount_etc_files(root: BorrowedFd<'_>, spec: &SandboxSpec) -> Result<(), Failure> {
    let resolv = resolv_conf(spec.network)?;
    let fs = fsopen("tmpfs", FsOpenFlags::FSOPEN_CLOEXEC).step(|| "open a tmpfs for /etc files")?;
    fsconfig_set_string(&fs, "mode", "0755").step(|| "configure the tmpfs for /etc files")?;
    fsconfig_set_string(&fs, "size", "1m").step(|| "configure the tmpfs for /etc files")?;
    fsconfig_create(&fs).step(|| "create the tmpfs for /etc files")?;
    let attrs = MountAttrFlags::MOUNT_ATTR_NOSUID
        | MountAttrFlags::MOUNT_ATTR_NODEV
        | MountAttrFlags::MOUNT_ATTR_NOEXEC;
    let tmp = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)
        .step(|| "mount the tmpfs for /etc files")?;

    let hosts = hosts_file(&spec.hostname, spec.hosts, &spec.host_config.extra_hosts);
    let files: [(&str, &[u8]); 2] = [("hosts", hosts.as_bytes()), ("resolv.conf", &resolv)];
    for (name, content) in files {
        let flags = OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC;
        let fd = openat(&tmp, name, flags, Mode::from_raw_mode(0o644))
            .step(|| format!("create {name} in the tmpfs"))?;
        std::fs::File::from(fd)
            .write_all(content)
            .step(|| format!("write {name} in the tmpfs"))?;
        bind_file(root, tmp.as_fd(), name)?;
    }
    Ok(())
}

/// Binds `name` of the detached tmpfs over /etc/`name` of the rootfs.
fn bind_file(root: BorrowedFd<'_>, tmp: BorrowedFd<'_>, name: &str) -> Result<(), Failure> {
    let path = format!("/etc/{name}");
    let target = open_in_root(root, &path).step(|| format!("open {path} in the rootfs"))?;
    let tree = open_tree(
        tmp,
        name,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .step(|| format!("clone {name} of the tmpfs"))?;
    let how = MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH;
    move_mount(&tree, "", &target, "", how).step(|| format!("bind {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_has_localhost_and_hostname() {
        let h = hosts_file("builder", HostsFile::Container, &[]);
        assert!(h.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
        assert!(h.ends_with("127.0.1.1\tbuilder\n"));
        assert!(!hosts_file("", HostsFile::Container, &[]).contains("127.0.1.1"));
        // Recorded from BuildKit (dockerd 20.10), 77 bytes.
        assert_eq!(
            hosts_file("buildkitsandbox", HostsFile::Build, &[]),
            "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        );
    }

    #[test]
    fn extra_hosts_follow_as_ip_tab_name() {
        let extra = [ExtraHost {
            name: "db".into(),
            ip: [10, 1, 2, 3].into(),
        }];
        assert!(
            hosts_file("b", HostsFile::Build, &extra)
                .ends_with("::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tdb\n")
        );
    }

    #[test]
    fn private_network_uses_the_slirp_dns_forwarder() {
        let host = "# generated\nnameserver 127.0.0.53\noptions edns0\nsearch example.test\n";
        assert_eq!(
            private_resolv_conf(host),
            "# generated\noptions edns0\nsearch example.test\nnameserver 10.0.2.3\n"
        );
    }

    #[test]
    fn no_network_has_empty_resolv_conf() -> Result<(), Failure> {
        assert!(resolv_conf(NetworkMode::None)?.is_empty());
        Ok(())
    }
}
