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
    #[error("{host}: {what}{}", stalled(source))]
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
    #[error(
        "{host}: blob {digest} broke off after {done} of {expected} bytes{}",
        stalled(source)
    )]
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
    /// A request kiln makes without oci-client (the login check) failed.
    #[error("{host}: {what}{}", stalled(source))]
    Http {
        host: String,
        what: String,
        #[source]
        source: reqwest::Error,
    },
    /// The registry refused the credentials `kiln login` was given.
    #[error("login failed for `{user}` on {host}: unauthorized (HTTP {status})")]
    LoginRefused {
        host: String,
        user: String,
        status: u16,
    },
    /// The registry answered the login check with neither a yes nor a no.
    #[error("login failed on {host}: {url} answered HTTP {status}")]
    LoginUnexpected {
        host: String,
        url: String,
        status: u16,
    },
    /// docker's `config.json` holds credentials of a kind kiln cannot use yet.
    #[error(
        "docker config `{}`: the credentials for {host} are an {kind} (an OAuth2 refresh token), which kiln does not support yet; `kiln login {host}` with a password replaces them",
        path.display()
    )]
    UnsupportedCredentials {
        path: PathBuf,
        host: String,
        kind: String,
    },
    /// The content store or the index failed.
    #[error(transparent)]
    Store(#[from] crate::error::CacheError),
}

/// What to add to a message when `error` comes from a registry that stopped sending for
/// longer than the idle timeout: the cause, said plainly.
fn stalled(error: &(dyn std::error::Error + 'static)) -> &'static str {
    if timed_out(error) {
        ": the registry stopped answering (timed out; `idle_timeout` in kiln's config file sets the limit)"
    } else {
        ""
    }
}

/// Whether `error` or anything under it is a timeout. reqwest's and oci-client's errors
/// hide the error they wrap from `source()` (transparent and io wrappers), so those are
/// looked into here.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    use oci_client::errors::OciDistributionError as Oci;
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(http) = error.downcast_ref::<reqwest::Error>()
            && http.is_timeout()
        {
            return true;
        }
        if let Some(Oci::RequestError(http)) = error.downcast_ref::<Oci>()
            && http.is_timeout()
        {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::TimedOut
                || io.get_ref().is_some_and(|inner| timed_out(inner)))
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// Result alias for the registry client.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
