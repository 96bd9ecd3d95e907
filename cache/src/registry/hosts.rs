//! Per-host connection settings: plain HTTP only for hosts the user allows and loopback
//! hosts without a CA of their own; HTTPS with the system roots plus the host's CAs from the config and, like
//! docker, `/etc/docker/certs.d/<host>/*.crt`.

use super::config::HostConfig;
use super::error::{RegistryError, Result};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where docker keeps per-registry CA certificates.
const DOCKER_CERTS_DIR: &str = "/etc/docker/certs.d";
/// Blobs downloaded at once per host.
const PARALLEL_DOWNLOADS: usize = 3;

/// Whether `host` (`name[:port]`) is a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(bracketed),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The name oci-client keeps `host`'s credentials under (docker.io's is
/// `index.docker.io`).
pub fn auth_key(host: &str) -> String {
    oci_client::Reference::with_tag(host.to_string(), "library/x".into(), "latest".into())
        .resolve_registry()
        .to_string()
}

/// What a client is for. The idle timeout cuts every read of a [`Role::Requests`]
/// client; reqwest counts the time a request body takes to go up as time waiting for
/// the answer, so on a slow uplink an upload would hit it: upload clients only have it
/// as their connect timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manifests, blob downloads, HEADs and mounts.
    Requests,
    /// Blob uploads in chunks.
    ChunkedUpload,
    /// Blob uploads in one request, for registries that break the chunked protocol.
    WholeUpload,
}

/// How to reach one host: scheme, trust and timeout.
struct Connection {
    /// Plain HTTP rather than HTTPS.
    http: bool,
    /// Extra CA certificates (PEM).
    roots: Vec<Vec<u8>>,
    insecure: bool,
    idle: Option<Duration>,
}

impl Connection {
    fn of(host: &str, config: &HostConfig) -> Result<Self> {
        // reqwest is built without a default crypto provider; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cas = ca_files(host, config);
        // A loopback host speaks HTTPS only when it has a CA of its own.
        let http = config.http || (is_loopback(host) && cas.is_empty());
        let roots = cas
            .into_iter()
            .map(|path| {
                fs_err::read(&path).map_err(|source| RegistryError::Ca {
                    host: host.to_string(),
                    path,
                    source,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            http,
            roots,
            insecure: config.insecure,
            idle: config.idle_timeout(),
        })
    }
}

/// An `oci_client` client for one host, for `role`.
pub fn client(host: &str, config: &HostConfig, role: Role) -> Result<oci_client::Client> {
    let connection = Connection::of(host, config)?;
    let roots = connection
        .roots
        .into_iter()
        .map(|data| Certificate {
            encoding: CertificateEncoding::Pem,
            data,
        })
        .collect();
    oci_client::Client::try_from(ClientConfig {
        protocol: if connection.http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        accept_invalid_certificates: connection.insecure,
        extra_root_certificates: roots,
        max_concurrent_download: PARALLEL_DOWNLOADS,
        use_monolithic_push: role == Role::WholeUpload,
        read_timeout: connection.idle.filter(|_| role == Role::Requests),
        connect_timeout: connection.idle,
        ..Default::default()
    })
    .map_err(|source| RegistryError::Remote {
        host: host.to_string(),
        what: "setting up the connection".into(),
        source,
    })
}

/// A plain HTTP client for `host` with the same scheme, trust and idle timeout as its
/// registry clients, and the base URL (`scheme://host`) of its API.
pub fn http_client(host: &str, config: &HostConfig) -> Result<(reqwest::Client, String)> {
    let connection = Connection::of(host, config)?;
    let setup_error = |source| RegistryError::Http {
        host: host.to_string(),
        what: "setting up the connection".into(),
        source,
    };
    let roots = connection
        .roots
        .iter()
        .map(|pem| reqwest::Certificate::from_pem(pem))
        .collect::<Result<Vec<_>, _>>()
        .map_err(setup_error)?;
    let mut builder = reqwest::Client::builder()
        .danger_accept_invalid_certs(connection.insecure)
        .tls_certs_merge(roots);
    if let Some(idle) = connection.idle {
        builder = builder.read_timeout(idle).connect_timeout(idle);
    }
    let client = builder.build().map_err(setup_error)?;
    let scheme = if connection.http { "http" } else { "https" };
    let base = format!("{scheme}://{}", auth_key(host));
    Ok((client, base))
}

/// The CA files for `host`: the config's, then docker's `certs.d` ones.
fn ca_files(host: &str, config: &HostConfig) -> Vec<PathBuf> {
    let mut files = config.ca.clone();
    files.extend(certs_d(&Path::new(DOCKER_CERTS_DIR).join(host)));
    files
}

/// The `*.crt` files of a docker `certs.d/<host>` folder, sorted (none if it is absent).
fn certs_d(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "crt"))
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        for host in [
            "127.0.0.1:5000",
            "localhost",
            "localhost:1",
            "[::1]:80",
            "127.8.9.1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "docker.io",
            "10.0.0.1:5000",
            "localhost.example",
            "[fe80::1]:5",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn certs_d_lists_crt_files_only() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.crt", "a.crt", "client.key", "client.cert"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let names: Vec<_> = certs_d(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.crt", "b.crt"]);
        assert!(certs_d(&dir.path().join("absent")).is_empty());
    }
}
