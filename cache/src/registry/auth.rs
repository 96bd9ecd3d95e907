//! Registry credentials in docker's format: `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`. A host's credentials come from its `credHelpers` entry, else
//! `credsStore`, through `docker-credential-<name>`, else from `auths` (base64
//! `user:password`). docker.io's key is `https://index.docker.io/v1/`; other hosts are
//! keyed by `host[:port]`. Keys kiln does not read are kept as they are.

use super::error::{RegistryError, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oci_client::secrets::RegistryAuth;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// docker.io's key in `config.json` and in credential helpers.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";
/// The user name a credential helper gives with an identity token as the secret.
const IDENTITY_TOKEN_USER: &str = "<token>";
/// What a credential helper says when it has nothing for a server.
const HELPER_NOT_FOUND: &str = "credentials not found in native keychain";

/// The `config.json` docker reads: where it is and what it holds.
#[derive(Debug)]
pub struct DockerConfig {
    path: PathBuf,
    file: ConfigFile,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct ConfigFile {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(
        rename = "credsStore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    creds_store: Option<String>,
    #[serde(
        rename = "credHelpers",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    cred_helpers: BTreeMap<String, String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    auth: String,
    #[serde(flatten)]
    other: Map<String, Value>,
}

/// What a credential helper's `get` prints.
#[derive(Deserialize)]
struct HelperCredentials {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The path of docker's config file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json` (`None` without either variable).
pub fn default_path() -> Option<PathBuf> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")))?;
    Some(dir.join("config.json"))
}

/// The key of a registry (`host[:port]`, or a URL as docker accepts) in `config.json`
/// and credential helpers.
fn server_key(server: &str) -> &str {
    match hostname(server) {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY,
        other => other,
    }
}

/// `https://host/v1/` → `host`, as docker matches `auths` keys and login servers.
pub(super) fn hostname(key: &str) -> &str {
    let bare = key.split_once("://").map_or(key, |(_, rest)| rest);
    bare.split('/').next().unwrap_or(bare)
}

impl DockerConfig {
    /// Reads the file at `path`; an absent one is empty.
    pub fn load(path: &Path) -> Result<Self> {
        let read_error = |source| RegistryError::DockerConfig {
            path: path.to_path_buf(),
            action: "reading",
            source,
        };
        let file = match fs_err::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigFile::default(),
            Err(e) => return Err(read_error(e)),
        };
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The helper that keeps `host`'s credentials, if any.
    fn helper(&self, host: &str) -> Option<&str> {
        self.file
            .cred_helpers
            .get(server_key(host))
            .or(self.file.creds_store.as_ref())
            .map(String::as_str)
    }

    /// The credentials for `host`: anonymous when none are stored.
    pub fn auth(&self, host: &str) -> Result<RegistryAuth> {
        let key = server_key(host);
        if let Some(helper) = self.helper(host) {
            return match run_helper(helper, "get", key)? {
                None => Ok(RegistryAuth::Anonymous),
                Some(out) => {
                    let found: HelperCredentials = serde_json::from_slice(&out).map_err(|e| {
                        helper_error(helper, "get", format!("unreadable answer: {e}"))
                    })?;
                    // docker's convention for an identity token kept by a helper.
                    if found.username == IDENTITY_TOKEN_USER {
                        return Err(self.unsupported(
                            host,
                            format!("identity token from `docker-credential-{helper}`"),
                        ));
                    }
                    Ok(RegistryAuth::Basic(found.username, found.secret))
                }
            };
        }
        let entry = self.file.auths.get(key).or_else(|| {
            let wanted = hostname(key);
            self.file
                .auths
                .iter()
                .find(|(k, _)| hostname(k) == wanted)
                .map(|(_, entry)| entry)
        });
        match entry {
            Some(entry) if entry.other.get("identitytoken").is_some_and(|t| t != "") => {
                Err(self.unsupported(host, "`identitytoken`".into()))
            }
            Some(entry) if !entry.auth.is_empty() => self.decode(host, &entry.auth),
            // A bearer token docker sends as it is.
            Some(entry) => match entry.other.get("registrytoken").and_then(|t| t.as_str()) {
                Some(token) if !token.is_empty() => Ok(RegistryAuth::Bearer(token.to_string())),
                _ => Ok(RegistryAuth::Anonymous),
            },
            None => Ok(RegistryAuth::Anonymous),
        }
    }

    /// Credentials kiln cannot use yet: said, never skipped for anonymous access.
    fn unsupported(&self, host: &str, kind: String) -> RegistryError {
        RegistryError::UnsupportedCredentials {
            path: self.path.clone(),
            host: host.to_string(),
            kind,
        }
    }

    /// `base64(user:password)` → basic credentials.
    fn decode(&self, host: &str, auth: &str) -> Result<RegistryAuth> {
        let bad = || RegistryError::BadAuthEntry {
            path: self.path.clone(),
            host: host.to_string(),
        };
        let bytes = BASE64.decode(auth.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (user, password) = text.split_once(':').ok_or_else(bad)?;
        Ok(RegistryAuth::Basic(user.to_string(), password.to_string()))
    }

    /// Stores `user`'s `password` for `host` as docker does: in its helper (with an
    /// empty `auths` entry), else base64 in `auths`; then writes the file.
    pub fn login(&mut self, host: &str, user: &str, password: &str) -> Result<()> {
        let key = server_key(host);
        let entry = match self.helper(host) {
            Some(helper) => {
                let request = serde_json::json!({
                    "ServerURL": key, "Username": user, "Secret": password,
                });
                run_helper(helper, "store", &request.to_string())?;
                AuthEntry::default()
            }
            None => AuthEntry {
                auth: BASE64.encode(format!("{user}:{password}")),
                other: Map::new(),
            },
        };
        self.file.auths.insert(key.to_string(), entry);
        self.save()
    }

    /// Forgets `host`'s credentials; false if there were none.
    pub fn logout(&mut self, host: &str) -> Result<bool> {
        let key = server_key(host);
        let mut found = self.file.auths.remove(key).is_some();
        if let Some(helper) = self.helper(host) {
            found |= run_helper(helper, "erase", key)?.is_some();
        }
        if found {
            self.save()?;
        }
        Ok(found)
    }

    /// Writes the file (mode 0600) through a temp file and a rename.
    fn save(&self) -> Result<()> {
        let write_error = |source| RegistryError::DockerConfig {
            path: self.path.clone(),
            action: "writing",
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs_err::create_dir_all(dir).map_err(write_error)?;
        let mut text = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| write_error(std::io::Error::other(e)))?;
        text.push(b'\n');
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        temp.write_all(&text).map_err(write_error)?;
        temp.as_file().sync_all().map_err(write_error)?;
        temp.persist(&self.path).map_err(|e| write_error(e.error))?;
        Ok(())
    }
}

/// Runs `docker-credential-<helper> <action>` with `input` on stdin: its stdout, or
/// `None` when it has no credentials for the server.
fn run_helper(helper: &str, action: &'static str, input: &str) -> Result<Option<Vec<u8>>> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| helper_error(helper, action, format!("cannot run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| helper_error(helper, action, e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| helper_error(helper, action, e.to_string()))?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    let message = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if message.contains(HELPER_NOT_FOUND) {
        return Ok(None);
    }
    Err(helper_error(helper, action, message))
}

fn helper_error(helper: &str, action: &'static str, reason: String) -> RegistryError {
    RegistryError::CredentialHelper {
        helper: helper.to_string(),
        action,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(text: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        let config = DockerConfig::load(&path).unwrap();
        (dir, config)
    }

    fn basic(user: &str, password: &str) -> RegistryAuth {
        RegistryAuth::Basic(user.into(), password.into())
    }

    #[test]
    fn docker_hub_and_url_keys_match_their_hosts() {
        let (_dir, config) = config_with(
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"aHViOnB3"},
                "https://reg.example:5000/v2/":{"auth":"cmVnOnB3"}}}"#,
        );
        assert_eq!(config.auth("docker.io").unwrap(), basic("hub", "pw"));
        assert_eq!(config.auth("reg.example:5000").unwrap(), basic("reg", "pw"));
        assert_eq!(config.auth("quay.io").unwrap(), RegistryAuth::Anonymous);
    }

    #[test]
    fn a_bad_auth_entry_names_the_host_not_the_secret() {
        let (_dir, config) = config_with(r#"{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}"#);
        let message = config.auth("h").unwrap_err().to_string();
        assert!(message.contains("for h"), "{message}");
        assert!(!message.contains("nocolon"), "{message}");
    }

    #[test]
    fn login_and_logout_keep_what_kiln_does_not_read() {
        let (dir, mut config) =
            config_with(r#"{"psFormat":"x","auths":{"h":{"auth":"YTpi","email":"e"}}}"#);
        config
            .login("https://index.docker.io/v1/", "u", "p:w")
            .unwrap();
        let path = dir.path().join("config.json");
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["psFormat"], "x");
        assert_eq!(written["auths"]["h"]["email"], "e");
        assert_eq!(
            written["auths"][DOCKER_HUB_KEY]["auth"],
            BASE64.encode("u:p:w")
        );
        let mut config = DockerConfig::load(&path).unwrap();
        assert_eq!(config.auth("docker.io").unwrap(), basic("u", "p:w"));
        assert!(config.logout("docker.io").unwrap());
        assert!(!config.logout("docker.io").unwrap());
        assert_eq!(
            DockerConfig::load(&path)
                .unwrap()
                .auth("docker.io")
                .unwrap(),
            RegistryAuth::Anonymous
        );
    }

    #[test]
    fn a_registry_token_is_sent_as_a_bearer_token() {
        let (_dir, config) =
            config_with(r#"{"auths":{"reg.example":{"registrytoken":"tok-123"}}}"#);
        assert_eq!(
            config.auth("reg.example").unwrap(),
            RegistryAuth::Bearer("tok-123".into())
        );
        assert_eq!(
            config.auth("other.example").unwrap(),
            RegistryAuth::Anonymous
        );
    }

    #[test]
    fn an_identity_token_is_refused_by_name() {
        let (_dir, config) = config_with(
            r#"{"auths":{"reg.example":{"auth":"dXNlcjo=","identitytoken":"refresh-me"}}}"#,
        );
        let message = config.auth("reg.example").unwrap_err().to_string();
        assert!(
            message.contains("`identitytoken`") && message.contains("not support"),
            "{message}"
        );
        assert!(!message.contains("refresh-me"), "{message}");
    }

    #[test]
    fn an_absent_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let config = DockerConfig::load(&dir.path().join("none/config.json")).unwrap();
        assert_eq!(config.auth("h").unwrap(), RegistryAuth::Anonymous);
    }
}
