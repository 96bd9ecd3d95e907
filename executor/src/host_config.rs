//! The parts of Docker's `HostConfig` that `docker build` sets for every RUN: extra
//! `/etc/hosts` entries (`--add-host`), the size of `/dev/shm` (`--shm-size`) and resource
//! limits (`--ulimit`), with docker's parsing of each flag.

use std::net::IpAddr;

use rustix::process::{Resource, Rlimit, setrlimit};
use serde::{Deserialize, Serialize};

use crate::protocol::{Failure, StepContext};

/// What a sandbox gets beyond its mounts and process, as `docker build`'s flags give it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostConfig {
    /// `/etc/hosts` lines after the sandbox's own, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<ExtraHost>,
    /// The size of the `/dev/shm` tmpfs in bytes; `None`: 64 MiB, as Docker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    /// Resource limits set before the process starts, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
}

impl HostConfig {
    /// Whether nothing is set (the sandbox's defaults hold).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One `--add-host NAME:IP`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraHost {
    pub name: String,
    pub ip: IpAddr,
}

impl ExtraHost {
    /// Parses docker's `NAME:IP` (also `NAME=IP`; an IPv6 address may be in brackets).
    pub fn parse(value: &str) -> Result<Self, String> {
        let (name, ip) = value
            .split_once('=')
            .or_else(|| value.split_once(':'))
            .ok_or_else(|| format!("bad format for add-host: `{value}` (expected NAME:IP)"))?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("invalid host name `{name}` in add-host `{value}`"));
        }
        if ip == "host-gateway" {
            return Err("`--add-host NAME:host-gateway` is not supported yet".into());
        }
        let bare = ip
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .unwrap_or(ip);
        let ip = bare
            .parse()
            .map_err(|_| format!("invalid IP address `{ip}` in add-host `{value}`"))?;
        Ok(Self {
            name: name.to_string(),
            ip,
        })
    }
}

/// One `--ulimit NAME=SOFT[:HARD]`; `-1` is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// The limits docker's `--ulimit` knows, by name.
const ULIMITS: [(&str, Resource); 15] = [
    ("core", Resource::Core),
    ("cpu", Resource::Cpu),
    ("data", Resource::Data),
    ("fsize", Resource::Fsize),
    ("locks", Resource::Locks),
    ("memlock", Resource::Memlock),
    ("msgqueue", Resource::Msgqueue),
    ("nice", Resource::Nice),
    ("nofile", Resource::Nofile),
    ("nproc", Resource::Nproc),
    ("rss", Resource::Rss),
    ("rtprio", Resource::Rtprio),
    ("rttime", Resource::Rttime),
    ("sigpending", Resource::Sigpending),
    ("stack", Resource::Stack),
];

impl Ulimit {
    /// Parses docker's `NAME=SOFT[:HARD]` (the hard limit defaults to the soft one).
    pub fn parse(value: &str) -> Result<Self, String> {
        let (name, limits) = value
            .split_once('=')
            .ok_or_else(|| format!("invalid ulimit argument: `{value}`"))?;
        if !ULIMITS.iter().any(|(n, _)| *n == name) {
            let known: Vec<&str> = ULIMITS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "invalid ulimit type: `{name}` (known: {})",
                known.join(", ")
            ));
        }
        let number = |s: &str| match s.parse::<i64>() {
            Ok(n) if n >= -1 => Ok(n),
            _ => Err(format!(
                "invalid ulimit value `{s}` in `{value}`: a number, or -1 for unlimited"
            )),
        };
        let (soft, hard) = match limits.split(':').collect::<Vec<_>>().as_slice() {
            [soft] => (number(soft)?, number(soft)?),
            [soft, hard] => (number(soft)?, number(hard)?),
            _ => {
                return Err(format!(
                    "too many limit value arguments - `{limits}`, can only have up to two, \
                     `soft[:hard]`"
                ));
            }
        };
        if hard != -1 && (soft == -1 || soft > hard) {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            ));
        }
        Ok(Self {
            name: name.to_string(),
            soft,
            hard,
        })
    }

    /// Sets the limit on the calling process (PID 1, before it drops capabilities).
    pub(crate) fn apply(&self) -> Result<(), Failure> {
        let resource = ULIMITS
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, r)| *r)
            .ok_or_else(|| Failure::msg("set ulimits", format!("unknown `{}`", self.name)))?;
        let value = |n: i64| u64::try_from(n).ok();
        let limit = Rlimit {
            current: value(self.soft),
            maximum: value(self.hard),
        };
        setrlimit(resource, limit).step(|| {
            format!(
                "set the ulimit {}={}:{} (raising a hard limit above the engine's needs \
                 CAP_SYS_RESOURCE)",
                self.name, self.soft, self.hard
            )
        })
    }
}

/// Parses a docker memory size (`--shm-size`): bytes, or a number with a binary unit
/// `b`, `k`, `m`, `g`, `t`, `p` (any case, an optional `b` or `ib` after it: `64m`, `1.5GB`).
pub fn parse_ram_size(value: &str) -> Result<u64, String> {
    let invalid = || format!("invalid size: `{value}`");
    let lower = value.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.trim_start();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b').filter(|u| !u.is_empty()))
        .unwrap_or(unit);
    let shift = match unit {
        "" | "b" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(invalid()),
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(invalid());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_host_takes_docker_forms() {
        let h = ExtraHost::parse("db:10.1.2.3").unwrap();
        assert_eq!(
            (h.name.as_str(), h.ip.to_string()),
            ("db", "10.1.2.3".into())
        );
        assert_eq!(ExtraHost::parse("v6:::1").unwrap().ip.to_string(), "::1");
        assert_eq!(ExtraHost::parse("v6=[::1]").unwrap().ip.to_string(), "::1");
        assert!(ExtraHost::parse("db").is_err());
        assert!(ExtraHost::parse("db:nope").is_err());
        assert!(ExtraHost::parse(":1.2.3.4").is_err());
        assert!(
            ExtraHost::parse("gw:host-gateway")
                .unwrap_err()
                .contains("not supported yet")
        );
    }

    #[test]
    fn ulimits_parse_like_docker() {
        let u = Ulimit::parse("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 2048));
        let u = Ulimit::parse("nproc=100").unwrap();
        assert_eq!((u.soft, u.hard), (100, 100));
        assert_eq!(Ulimit::parse("core=-1").unwrap().hard, -1);
        assert!(Ulimit::parse("core=5:-1").is_ok());
        for bad in [
            "nofile",
            "bogus=1",
            "as=1",
            "nofile=2:1",
            "nofile=1:2:3",
            "nofile=x",
            "nofile=-2",
        ] {
            assert!(Ulimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ram_sizes_use_binary_units() {
        assert_eq!(parse_ram_size("1024").unwrap(), 1024);
        assert_eq!(parse_ram_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_ram_size("64MB").unwrap(), 64 << 20);
        assert_eq!(parse_ram_size("2k").unwrap(), 2048);
        assert_eq!(parse_ram_size("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_ram_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_ram_size("2t").unwrap(), 2 << 40);
        for bad in ["", "m", "12q", "-1", "1..2m"] {
            assert!(parse_ram_size(bad).is_err(), "{bad}");
        }
    }
}
