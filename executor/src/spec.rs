//! The description of one sandboxed process: what the engine sends to the helper.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::host_config::HostConfig;

/// Docker's default `PATH`, used when the process environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything the sandbox needs to run one process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SandboxSpec {
    /// The root filesystem mount, e.g. fstype "overlay", source "overlay",
    /// options `["lowerdir=a/fs:b/fs", "upperdir=c/fs", "workdir=c/work"]`.
    /// Its `target` is ignored: the rootfs is mounted on [`SandboxSpec::mountpoint`].
    pub rootfs: MountSpec,
    /// Directory the helper chdirs into before mounting `rootfs`, so overlay options can use
    /// short relative paths (a 50-layer image would otherwise overflow the one-page mount data
    /// limit).
    pub rootfs_base_dir: Option<PathBuf>,
    /// An existing empty host directory onto which the rootfs is mounted (in the helper's
    /// private mount namespace, so the mount is never visible on the host).
    pub mountpoint: PathBuf,
    /// Extra mounts made inside the rootfs after it is mounted (bind mounts for `kiln run -v`).
    /// Targets are absolute paths inside the container, resolved without escaping the rootfs
    /// and created (as directories, or as empty files for a bind of a file) when missing.
    pub mounts: Vec<MountSpec>,
    /// The process to execute.
    pub process: ProcessSpec,
    /// Hostname of the new UTS namespace; also written to `/etc/hosts`.
    pub hostname: String,
    /// How `/etc/hosts` names the sandbox.
    #[serde(default)]
    pub hosts: HostsFile,
    /// Network namespace mode.
    pub network: NetworkMode,
    /// Extra hosts, `/dev/shm` size and resource limits (`docker build`'s flags).
    #[serde(default)]
    pub host_config: HostConfig,
    /// Inherit the engine's stdin (`kiln run -i`), else `/dev/null`.
    pub stdin: bool,
}

/// One mount, in the terms of `mount(8)`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MountSpec {
    /// Source: a device, a host path for bind mounts, or a name like "overlay"/"tmpfs".
    pub source: PathBuf,
    /// Target: an absolute path inside the container (ignored for [`SandboxSpec::rootfs`]).
    pub target: PathBuf,
    /// Filesystem type ("overlay", "tmpfs", "bind"…). "bind" means a bind mount, as do the
    /// options "bind" and "rbind".
    pub fstype: String,
    /// `mount(8)`-style options: flags such as "ro", "nosuid", "rbind", "rprivate" are turned
    /// into mount flags; everything else is passed to the filesystem as data.
    pub options: Vec<String>,
}

/// The process started in the sandbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessSpec {
    /// argv; `args[0]` is looked up in the container's `PATH` if it contains no '/'.
    pub args: Vec<String>,
    /// "K=V" entries; if there is no `PATH`, Docker's [`DEFAULT_PATH`] is added, and if there is
    /// no `HOME`, the user's home directory from `/etc/passwd` (else "/").
    pub env: Vec<String>,
    /// Absolute working directory inside the container; created (mkdir -p, root, 0755) if
    /// missing.
    pub cwd: String,
    /// Docker `USER` syntax: "" (root), "uid", "uid:gid", "name", "name:group", "uid:group"…
    pub user: String,
}

/// The layout of the sandbox's `/etc/hosts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum HostsFile {
    /// Docker's container layout: `localhost`, the IPv6 names, `127.0.1.1 HOSTNAME`.
    #[default]
    Container,
    /// BuildKit's for RUN steps: `127.0.0.1 localhost HOSTNAME` and `::1 localhost …`,
    /// so `hostname -f` prints `localhost`.
    Build,
}

/// Which network namespace the sandbox uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum NetworkMode {
    /// A private network namespace with outbound access (slirp4netns), shared by the sandboxes
    /// of one [`crate::Sandbox`] runner, like a Docker bridge: the host's interfaces, loopback
    /// services and abstract unix sockets are out of reach.
    #[default]
    Private,
    /// Share the host's network namespace.
    Host,
    /// A new network namespace with only the loopback interface (up).
    None,
}

impl NetworkMode {
    /// Whether the sandbox has a network namespace of its own (and so a sysfs of its own).
    pub(crate) fn is_isolated(self) -> bool {
        self != NetworkMode::Host
    }
}

/// Returns `env` completed the way Docker does: `PATH` defaults to [`DEFAULT_PATH`] and `HOME`
/// to `home`. Entries without '=' are kept as they are, like Docker.
pub(crate) fn complete_env(env: &[String], home: &str) -> Vec<String> {
    let has = |key: &str| {
        env.iter()
            .any(|e| e.split_once('=').is_some_and(|(k, _)| k == key))
    };
    let mut out = env.to_vec();
    if !has("PATH") {
        out.push(format!("PATH={DEFAULT_PATH}"));
    }
    if !has("HOME") {
        out.push(format!("HOME={home}"));
    }
    out
}

/// The value of `key` in a "K=V" list (the last one wins, as with `execve` and most libcs).
pub(crate) fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .filter_map(|e| e.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SandboxSpec {
        SandboxSpec {
            rootfs: MountSpec {
                source: "overlay".into(),
                target: "/".into(),
                fstype: "overlay".into(),
                options: vec![
                    "lowerdir=a/fs:b/fs".into(),
                    "upperdir=c/fs".into(),
                    "workdir=c/work".into(),
                ],
            },
            rootfs_base_dir: Some("/var/lib/kiln/snapshots-v1".into()),
            mountpoint: "/var/lib/kiln/mnt/x".into(),
            mounts: vec![MountSpec {
                source: "/host/data".into(),
                target: "/data".into(),
                fstype: "bind".into(),
                options: vec!["rbind".into(), "ro".into()],
            }],
            process: ProcessSpec {
                args: vec!["sh".into(), "-c".into(), "echo hi".into()],
                env: vec!["A=1".into()],
                cwd: "/work".into(),
                user: "1000:1000".into(),
            },
            hostname: "kiln".into(),
            hosts: HostsFile::Container,
            network: NetworkMode::None,
            host_config: HostConfig {
                extra_hosts: vec![crate::ExtraHost {
                    name: "db".into(),
                    ip: [10, 0, 0, 1].into(),
                }],
                shm_size: Some(1 << 20),
                ulimits: vec![crate::Ulimit {
                    name: "nofile".into(),
                    soft: 10,
                    hard: 20,
                }],
            },
            stdin: false,
        }
    }

    #[test]
    fn spec_json_round_trip() -> Result<(), serde_json::Error> {
        let spec = spec();
        let json = serde_json::to_string(&spec)?;
        let back: SandboxSpec = serde_json::from_str(&json)?;
        assert_eq!(back, spec);
        Ok(())
    }

    #[test]
    fn default_path_and_home_are_added() {
        let env = complete_env(&["A=1".into()], "/home/u");
        assert_eq!(
            env,
            vec![
                "A=1".to_string(),
                format!("PATH={DEFAULT_PATH}"),
                "HOME=/home/u".into()
            ]
        );
    }

    #[test]
    fn given_path_and_home_are_kept() {
        let given: Vec<String> = vec!["PATH=/bin".into(), "HOME=/root2".into()];
        assert_eq!(complete_env(&given, "/"), given);
    }

    #[test]
    fn prefix_of_a_key_is_not_the_key() {
        let env = complete_env(&["PATHX=1".into(), "HOMEDIR=/x".into()], "/");
        assert!(env.contains(&format!("PATH={DEFAULT_PATH}")));
        assert!(env.contains(&"HOME=/".to_string()));
    }

    #[test]
    fn env_value_takes_the_last_entry() {
        let env: Vec<String> = vec!["PATH=/a".into(), "X".into(), "PATH=/b".into()];
        assert_eq!(env_value(&env, "PATH"), Some("/b"));
        assert_eq!(env_value(&env, "HOME"), None);
    }
}
