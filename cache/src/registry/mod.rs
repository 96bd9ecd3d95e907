//! The registry client, on `oci-client`'s raw calls, split as containerd's
//! `remotes/docker` is: per-host settings (`config.rs`, `hosts.rs`) and credentials
//! (`auth.rs`, docker's `config.json`), resolving a
//! reference to a manifest (`resolver.rs`, `platform.rs`), fetching verified blobs
//! (`fetcher.rs`) and pulling a whole image into the store (`pull.rs`); uploading
//! blobs (`pusher.rs`) and pushing a whole image (`push.rs`); checking credentials
//! for `kiln login` (`login.rs`).

mod auth;
mod config;
mod error;
mod fetcher;
mod hosts;
mod login;
mod platform;
mod pull;
mod push;
mod pusher;
mod resolver;
mod unpack;

pub use auth::{DockerConfig, default_path as docker_config_path};
pub use config::{HostConfig, RegistryConfig};
pub use error::{RegistryError, Result};
pub use hosts::is_loopback;
pub use platform::Platform;
pub use pull::Pulled;
pub use push::{MediaTypes, Pushed, Upload};
pub use pusher::Uploaded;

use hosts::Role;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// How far one blob of a pull is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobProgress {
    /// The store had it already.
    Exists,
    /// Bytes received so far, of the total.
    Downloading { done: u64, total: u64 },
    /// Verified and in the store.
    Downloaded,
    /// A layer unpacked into a snapshot and its diff id verified.
    Unpacked,
}

/// Receives pull progress; implementations must be cheap and must not block.
pub trait PullProgress: Send + Sync {
    /// A blob (config or layer) moved on.
    fn blob(&self, digest: &str, progress: BlobProgress);
}

/// A progress sink that drops everything.
#[derive(Debug, Default)]
pub struct NoProgress;

impl PullProgress for NoProgress {
    fn blob(&self, _digest: &str, _progress: BlobProgress) {}
}

/// Receives push progress; implementations must be cheap and must not block.
pub trait PushProgress: Send + Sync {
    /// A layer is in the repository now, as `uploaded` says.
    fn layer(&self, digest: &str, uploaded: &Uploaded);
}

/// The registries kiln talks to: their settings and one client per host.
pub struct Registries {
    config: RegistryConfig,
    platform: Platform,
    /// docker's `config.json`, where credentials come from.
    docker_config: Option<PathBuf>,
    /// Per (host, role), each with the host's credentials stored.
    clients: Mutex<HashMap<(String, Role), Arc<oci_client::Client>>>,
}

impl std::fmt::Debug for Registries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registries")
            .field("config", &self.config)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

impl Registries {
    /// Registries with these settings, pulling for the host's platform.
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            platform: Platform::host(),
            docker_config: auth::default_path(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `host`'s requests other than blob uploads, made on first use.
    async fn client(&self, host: &str) -> Result<Arc<oci_client::Client>> {
        self.client_for(host, Role::Requests).await
    }

    /// The client for `host` in `role`, made on first use; oci-client answers the
    /// host's challenges (basic, or a bearer token fetched anonymously or with them)
    /// with the credentials docker's config holds for it.
    async fn client_for(&self, host: &str, role: Role) -> Result<Arc<oci_client::Client>> {
        let key = (host.to_string(), role);
        if let Some(client) = self.lock_clients().get(&key) {
            return Ok(client.clone());
        }
        let auth = match &self.docker_config {
            Some(path) => DockerConfig::load(path)?.auth(host)?,
            None => oci_client::secrets::RegistryAuth::Anonymous,
        };
        let client = hosts::client(host, &self.config.host(host), role)?;
        client
            .store_auth_if_needed(hosts::auth_key(host).as_str(), &auth)
            .await;
        Ok(self
            .lock_clients()
            .entry(key)
            .or_insert(Arc::new(client))
            .clone())
    }

    fn lock_clients(&self) -> MutexGuard<'_, HashMap<(String, Role), Arc<oci_client::Client>>> {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
