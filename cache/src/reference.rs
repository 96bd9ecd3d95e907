//! Image references as docker reads them: `alpine` is `docker.io/library/alpine:latest`,
//! `user/app` is `docker.io/user/app:latest`, `host:port/a/b:tag` names a registry host,
//! `name@sha256:…` and `name:tag@sha256:…` pin a manifest digest (the digest wins). The
//! first part is a registry host when it is `localhost` or holds a `.` or a `:`.
//!
//! The store keys images by their canonical name ([`Reference::canonical`]); people see the
//! familiar one ([`Reference::familiar`]), with `docker.io/` and `library/` left out.

use std::fmt;

use crate::error::{CacheError, Result};

/// Docker Hub's registry name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The namespace of Docker Hub's official images.
const OFFICIAL: &str = "library";
/// The tag of a reference that names none.
const DEFAULT_TAG: &str = "latest";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host (and port), e.g. `docker.io`, `localhost:5000`.
    pub registry: String,
    /// Repository path in the registry, e.g. `library/alpine`.
    pub repository: String,
    /// The tag (`latest` when neither a tag nor a digest is given).
    pub tag: Option<String>,
    /// A manifest digest (`sha256:…`), which wins over the tag.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses a reference as docker does.
    pub fn parse(reference: &str) -> Result<Self> {
        let invalid = |reason: &str| CacheError::InvalidReference {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        if reference.is_empty() {
            return Err(invalid("empty name"));
        }
        let (rest, digest) =
            match reference.split_once('@') {
                Some((rest, digest)) => (
                    rest,
                    Some(parse_digest(digest).ok_or_else(|| {
                        invalid("a digest is `sha256:` and 64 lowercase hex digits")
                    })?),
                ),
                None => (reference, None),
            };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((h, p)) if h.contains(['.', ':']) || h == "localhost" => (h, p),
            _ => (DOCKER_HUB, name),
        };
        if !registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            || registry.starts_with(['.', '-', ':'])
        {
            return Err(invalid("invalid registry host"));
        }
        if !path.split('/').all(valid_component) {
            return Err(invalid(
                "repository names must be lowercase letters, digits and separators (. _ - /)",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("{OFFICIAL}/{path}")
        } else {
            path.to_string()
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(invalid("invalid tag"));
        }
        let tag = match (tag, &digest) {
            (Some(tag), _) => Some(tag.to_string()),
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`, e.g. `docker.io/library/alpine`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository as docker shows it: `alpine`, `user/app`, `localhost:5000/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.registry != DOCKER_HUB {
            return self.name();
        }
        match self.repository.strip_prefix("library/") {
            Some(short) if !short.contains('/') => short.to_string(),
            _ => self.repository.clone(),
        }
    }

    /// The store's key: `registry/repository@digest` when pinned, else
    /// `registry/repository:tag`.
    pub fn canonical(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{}@{digest}", self.name()),
            (None, Some(tag)) => format!("{}:{tag}", self.name()),
            (None, None) => format!("{}:{DEFAULT_TAG}", self.name()),
        }
    }

    /// The familiar form, as `docker images` and `docker ps` show it: `alpine:latest`.
    pub fn familiar(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{}@{digest}", self.familiar_name()),
            (_, Some(tag)) => format!("{}:{tag}", self.familiar_name()),
            (None, None) => self.familiar_name(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

/// A `sha256:<64 lowercase hex>` digest, as given.
fn parse_digest(s: &str) -> Option<String> {
    let hex = s.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| s.to_string())
}

/// One path component: lowercase alphanumerics separated by `.`, `_`, `__` or dashes.
fn valid_component(part: &str) -> bool {
    !part.is_empty()
        && part.starts_with(|c: char| c.is_ascii_alphanumeric())
        && part.ends_with(|c: char| c.is_ascii_alphanumeric())
        && part
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The store's key for a reference a person wrote (see [`Reference::canonical`]).
pub fn normalize_reference(reference: &str) -> Result<String> {
    Reference::parse(reference).map(|r| r.canonical())
}

/// The store's key for a name to tag an image with: a reference with a tag, not a digest.
pub fn tag_reference(reference: &str) -> Result<String> {
    let parsed = Reference::parse(reference)?;
    if parsed.digest.is_some() {
        return Err(CacheError::InvalidReference {
            reference: reference.to_string(),
            reason: "an image is tagged with a name and a tag, not a digest".into(),
        });
    }
    Ok(parsed.canonical())
}

/// The familiar form of a store key or any reference; the input itself when it does not
/// parse.
pub fn familiar(reference: &str) -> String {
    Reference::parse(reference).map_or_else(|_| reference.to_string(), |r| r.familiar())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        normalize_reference(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_names_expand() {
        assert_eq!(canon("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(canon("busybox:local"), "docker.io/library/busybox:local");
        assert_eq!(canon("user/app"), "docker.io/user/app:latest");
        assert_eq!(canon("docker.io/alpine:3"), "docker.io/library/alpine:3");
        assert_eq!(canon("a/b/c:1"), "docker.io/a/b/c:1");
    }

    #[test]
    fn registry_hosts_are_recognised() {
        assert_eq!(canon("localhost/a"), "localhost/a:latest");
        assert_eq!(canon("localhost:5000/a/b"), "localhost:5000/a/b:latest");
        assert_eq!(
            canon("registry.example/team/base:1.0"),
            "registry.example/team/base:1.0"
        );
        assert_eq!(canon("127.0.0.1:5000/x:y"), "127.0.0.1:5000/x:y");
    }

    #[test]
    fn the_digest_wins() {
        assert_eq!(
            canon(&format!("alpine@{DIGEST}")),
            format!("docker.io/library/alpine@{DIGEST}")
        );
        let r = Reference::parse(&format!("host:5000/a:1.0@{DIGEST}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.canonical(), format!("host:5000/a@{DIGEST}"));
    }

    #[test]
    fn familiar_names_drop_the_defaults() {
        assert_eq!(familiar("docker.io/library/alpine:latest"), "alpine:latest");
        assert_eq!(familiar("docker.io/user/app:1"), "user/app:1");
        assert_eq!(familiar("localhost:5000/a/b:2"), "localhost:5000/a/b:2");
        assert_eq!(familiar("docker.io/library/a/b:1"), "library/a/b:1");
        let r = Reference::parse("busybox").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.familiar_name(), "busybox");
    }

    #[test]
    fn tags_cannot_be_digests() {
        assert!(tag_reference(&format!("a@{DIGEST}")).is_err());
        assert_eq!(
            tag_reference("a:1").ok().as_deref(),
            Some("docker.io/library/a:1")
        );
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "Hello",
            "a//b",
            "a:",
            "a:-x",
            "x@sha256:abc",
            "a b",
            "-a",
            "a-",
            "x@md5:00",
            ".host/a",
            "a/B",
        ] {
            assert!(normalize_reference(bad).is_err(), "{bad}");
        }
    }
}
