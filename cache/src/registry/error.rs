//! Errors of the registry client.

use std::path::PathBuf;

/// An error while talking to a registry or storing what it sent.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The config file could not be read.
    #[error("registry config `{}`", path.display())]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("registry config `{}`", path.display())]
    ConfigParse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A CA certificate named by the config could not be read.
    #[error("CA certificate `{}` for {host}", path.display())]
    Ca {
        host: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// docker's `config.json` could not be read or written.
    #[error("{action} docker config `{}`", path.display())]
    DockerConfig {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An `auths` entry of docker's `config.json` is not base64 `user:password`.
    #[error("docker config `{}`: the credentials for {host} are not base64 `user:password`", path.display())]
    BadAuthEntry { path: PathBuf, host: String },
    /// A `docker-credential-*` helper failed.
    #[error("credential helper `{helper}` {action}: {reason}")]
    CredentialHelper {
        helper: String,
        action: &'static str,
        reason: String,
    },
    /// The registry (or the connection to it) failed.
    #[error("{host}: {what}")]
    Remote {
        host: String,
        what: String,
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    /// The registry answered something that is not a manifest or index kiln reads.
    #[error("{host}: {what}: {reason}")]
    BadDocument {
        host: String,
        what: String,
        reason: String,
    },
    /// No entry of an image index fits this machine.
    #[error("no image for {wanted} in `{reference}`; it has {}", available.join(", "))]
    NoMatchingPlatform {
        reference: String,
        wanted: String,
        available: Vec<String>,
    },
    /// Bytes from the registry did not hash to the digest that named them.
    #[error("{host}: {what} has digest {actual}, expected {expected}")]
    DigestMismatch {
        host: String,
        what: String,
        expected: String,
        actual: String,
    },
    /// A blob was longer or shorter than its descriptor says.
    #[error("{host}: blob {digest} is {actual} bytes{}, expected {expected}", if *.truncated { " (truncated)" } else { " or more" })]
    SizeMismatch {
        host: String,
        digest: String,
        expected: u64,
        actual: u64,
        /// The stream ended early rather than running long.
        truncated: bool,
    },
    /// A blob would not fit on the disk holding the store.
    #[error("{host}: blob {digest} claims {size} bytes, more than the {free} free in the store")]
    TooLarge {
        host: String,
        digest: String,
        size: u64,
        free: u64,
    },
    /// The blob stream broke off.
    #[error("{host}: blob {digest} broke off after {done} of {expected} bytes")]
    Stream {
        host: String,
        digest: String,
        done: u64,
        expected: u64,
        #[source]
        source: std::io::Error,
    },
    /// The blob's bytes were no longer wanted (unpacking them failed first).
    #[error("download of blob {digest} abandoned")]
    Abandoned { digest: String },
    /// The content store or the index failed.
    #[error(transparent)]
    Store(#[from] crate::error::CacheError),
}

/// Result alias for the registry client.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
