//! Resolving a reference to an image manifest: the tag (or pinned digest) on the first
//! host that answers (mirrors in order, then the registry), then, for an image index or
//! manifest list, the entry of this machine's platform. Every document's digest is
//! checked over the bytes as received, and those bytes are what the store keeps.

use super::error::{RegistryError, Result};
use super::platform::{IndexEntry, Platform, pick};
use crate::reference::Reference;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// Docker's image manifest (v2 schema 2).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The manifest types kiln asks for.
const ACCEPTED: &[&str] = &[
    crate::oci::MEDIA_TYPE_MANIFEST,
    crate::oci::MEDIA_TYPE_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// An image manifest found on a host.
pub struct Resolved {
    /// The host that served it.
    pub host: String,
    /// The reference on that host (blobs are fetched from the same place).
    pub remote: oci_client::Reference,
    /// The manifest as received.
    pub bytes: Vec<u8>,
    /// Its digest.
    pub digest: String,
}

/// What a manifest-ish document is, from its fields.
#[derive(Deserialize)]
struct Shape {
    #[serde(default, rename = "schemaVersion")]
    schema_version: u32,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
}

/// Resolves `reference` on `host` with `client`.
pub async fn resolve(
    client: &oci_client::Client,
    host: &str,
    reference: &Reference,
    platform: &Platform,
) -> Result<Resolved> {
    let remote = match (&reference.digest, &reference.tag) {
        (Some(digest), _) => oci_client::Reference::with_digest(
            host.into(),
            reference.repository.clone(),
            digest.clone(),
        ),
        (None, tag) => oci_client::Reference::with_tag(
            host.into(),
            reference.repository.clone(),
            tag.clone().unwrap_or_else(|| "latest".into()),
        ),
    };
    let what = format!("manifest of {}", reference.familiar());
    let bytes = fetch(client, host, &remote, &what).await?;
    let digest = crate::digest::sha256_digest(&bytes);
    if let Some(expected) = &reference.digest
        && *expected != digest
    {
        return Err(RegistryError::DigestMismatch {
            host: host.into(),
            what,
            expected: expected.clone(),
            actual: digest,
        });
    }
    let entries = match shape(host, &what, &bytes)? {
        None => {
            return Ok(Resolved {
                host: host.into(),
                remote,
                bytes,
                digest,
            });
        }
        Some(entries) => entries,
    };
    let entry =
        pick(&entries, platform).map_err(|available| RegistryError::NoMatchingPlatform {
            reference: reference.familiar(),
            wanted: platform.to_string(),
            available,
        })?;
    let remote = oci_client::Reference::with_digest(
        host.into(),
        reference.repository.clone(),
        entry.digest.clone(),
    );
    let what = format!("{platform} manifest of {}", reference.familiar());
    let bytes = fetch(client, host, &remote, &what).await?;
    let digest = crate::digest::sha256_digest(&bytes);
    if digest != entry.digest || bytes.len() as u64 != entry.size {
        return Err(RegistryError::DigestMismatch {
            host: host.into(),
            what,
            expected: format!("{} ({} bytes)", entry.digest, entry.size),
            actual: format!("{digest} ({} bytes)", bytes.len()),
        });
    }
    if shape(host, &what, &bytes)?.is_some() {
        return Err(bad(host, &what, "an index inside an index"));
    }
    Ok(Resolved {
        host: host.into(),
        remote,
        bytes,
        digest,
    })
}

async fn fetch(
    client: &oci_client::Client,
    host: &str,
    remote: &oci_client::Reference,
    what: &str,
) -> Result<Vec<u8>> {
    // The host's credentials were stored in the client when it was made; oci-client
    // keeps those over the ones passed here.
    let (bytes, _) = client
        .pull_manifest_raw(remote, &RegistryAuth::Anonymous, ACCEPTED)
        .await
        .map_err(|source| RegistryError::Remote {
            host: host.into(),
            what: format!("fetching the {what}"),
            source,
        })?;
    Ok(bytes.to_vec())
}

/// `None` for an image manifest, the entries for an index or manifest list.
fn shape(host: &str, what: &str, bytes: &[u8]) -> Result<Option<Vec<IndexEntry>>> {
    let shape: Shape =
        serde_json::from_slice(bytes).map_err(|e| bad(host, what, &e.to_string()))?;
    if shape.schema_version != 2 {
        return Err(bad(
            host,
            what,
            &format!("schema version {} is not supported", shape.schema_version),
        ));
    }
    match (shape.manifests, shape.layers) {
        (Some(entries), None) => Ok(Some(entries)),
        (None, Some(_)) => Ok(None),
        _ => Err(bad(host, what, "neither an image manifest nor an index")),
    }
}

fn bad(host: &str, what: &str, reason: &str) -> RegistryError {
    RegistryError::BadDocument {
        host: host.into(),
        what: what.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_apart_by_their_fields() {
        let index = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:a","size":1}]}"#;
        assert_eq!(shape("h", "m", index).unwrap().unwrap().len(), 1);
        let manifest = br#"{"schemaVersion":2,"config":{},"layers":[]}"#;
        assert!(shape("h", "m", manifest).unwrap().is_none());
        let v1 = br#"{"schemaVersion":1,"fsLayers":[]}"#;
        assert!(
            shape("h", "m", v1)
                .unwrap_err()
                .to_string()
                .contains("schema version 1")
        );
        assert!(shape("h", "m", b"{}").is_err());
    }
}
