//! Registry settings from kiln's config file, shaped like BuildKit's `buildkitd.toml`:
//!
//! ```toml
//! [registry."docker.io"]
//! mirrors = ["127.0.0.1:5000"]   # tried in order, then docker.io itself
//!
//! [registry."registry.internal:5000"]
//! http = true                    # plain HTTP
//! insecure = true                # HTTPS without certificate verification
//! ca = ["/etc/kiln/internal-ca.pem"]
//! idle_timeout = 120             # seconds without a byte before giving up (0: never)
//! ```
//!
//! The file is `$KILN_CONFIG`, else `~/.config/kiln/config.toml`, else
//! `/etc/kiln/config.toml`; without one every registry uses its defaults.

use super::error::{RegistryError, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings of one registry host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Hosts (`host[:port]`) tried before this one, in order.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Speak plain HTTP to this host.
    #[serde(default)]
    pub http: bool,
    /// Accept any TLS certificate from this host.
    #[serde(default)]
    pub insecure: bool,
    /// Extra CA certificates (PEM files) this host's certificate may chain to.
    #[serde(default)]
    pub ca: Vec<PathBuf>,
    /// Seconds a request may wait for the next byte (connecting, the answer, each read
    /// of a body) before it fails; `None`: [`DEFAULT_IDLE_TIMEOUT`], 0: no limit.
    #[serde(default)]
    pub idle_timeout: Option<u64>,
}

/// Seconds without a byte from a registry before a request gives up, unless the host's
/// `idle_timeout` says otherwise. An idle limit, not a total one: long downloads that
/// keep moving never hit it.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 30;

impl HostConfig {
    /// How long a request may wait for the next byte (`None`: for ever).
    pub fn idle_timeout(&self) -> Option<Duration> {
        match self.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT) {
            0 => None,
            seconds => Some(Duration::from_secs(seconds)),
        }
    }
}

/// Registry settings: per host, keyed by `host[:port]` as references name it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    #[serde(default)]
    pub registry: BTreeMap<String, HostConfig>,
}

impl RegistryConfig {
    /// Reads the config file kiln uses (see the module docs); an absent file gives the
    /// defaults, except that a `$KILN_CONFIG` naming a missing file is an error.
    pub fn load() -> Result<Self> {
        if let Some(path) = std::env::var_os("KILN_CONFIG") {
            return Self::read(Path::new(&path));
        }
        let user = std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".config/kiln/config.toml"));
        for path in user
            .into_iter()
            .chain([PathBuf::from("/etc/kiln/config.toml")])
        {
            if path.exists() {
                return Self::read(&path);
            }
        }
        Ok(Self::default())
    }

    /// Reads one config file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fs_err::read_to_string(path).map_err(|source| RegistryError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|source| RegistryError::ConfigParse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Marks `host` as speaking plain HTTP (`--insecure-registry`).
    pub fn allow_http(&mut self, host: &str) {
        self.registry.entry(host.to_string()).or_default().http = true;
    }

    /// The settings of `host` (defaults when it has no entry).
    pub fn host(&self, host: &str) -> HostConfig {
        self.registry.get(host).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_shaped_config_parses() {
        let config = RegistryConfig::parse(
            r#"
            [registry."docker.io"]
            mirrors = ["127.0.0.1:5000", "mirror.example"]
            [registry."reg.example:443"]
            insecure = true
            ca = ["/etc/ca.pem"]
            "#,
        )
        .unwrap();
        assert_eq!(
            config.host("docker.io").mirrors,
            ["127.0.0.1:5000", "mirror.example"]
        );
        let host = config.host("reg.example:443");
        assert!(host.insecure && !host.http);
        assert_eq!(host.ca, [PathBuf::from("/etc/ca.pem")]);
        assert_eq!(config.host("quay.io"), HostConfig::default());
    }

    #[test]
    fn idle_timeout_defaults_to_30_seconds_and_0_disables_it() {
        let config = RegistryConfig::parse(
            "[registry.\"slow\"]\nidle_timeout = 120\n[registry.\"patient\"]\nidle_timeout = 0\n",
        )
        .unwrap();
        assert_eq!(
            config.host("slow").idle_timeout(),
            Some(Duration::from_secs(120))
        );
        assert_eq!(config.host("patient").idle_timeout(), None);
        assert_eq!(
            config.host("other").idle_timeout(),
            Some(Duration::from_secs(DEFAULT_IDLE_TIMEOUT))
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(RegistryConfig::parse("[registry.\"x\"]\nmirror = [\"y\"]\n").is_err());
    }

    #[test]
    fn insecure_registry_flag_allows_http() {
        let mut config = RegistryConfig::default();
        config.allow_http("reg.example");
        assert!(config.host("reg.example").http);
    }
}
