//! Image names: `name[:tag]` as users write them, normalised so that `busybox` and
//! `busybox:latest` are the same image.

use crate::error::{CacheError, Result};

/// Normalises an image reference: checks its characters and adds `:latest` when it has
/// no tag. Names are kept as written otherwise (no implicit `docker.io/library/`).
pub fn normalize_reference(reference: &str) -> Result<String> {
    let invalid = |reason: &str| CacheError::InvalidReference {
        reference: reference.to_string(),
        reason: reason.to_string(),
    };
    if reference.is_empty() {
        return Err(invalid("empty name"));
    }
    if reference.contains('@') {
        return Err(invalid("digest references are not supported yet"));
    }
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match reference[last_slash..].rfind(':') {
        Some(i) => (
            &reference[..last_slash + i],
            &reference[last_slash + i + 1..],
        ),
        None => (reference, "latest"),
    };
    let (host, path) = match name.split_once('/') {
        Some((h, p)) if h.contains(['.', ':']) || h == "localhost" => (Some(h), p),
        _ => (None, name),
    };
    if let Some(h) = host
        && !h
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(invalid("invalid registry host"));
    }
    let path_ok = !path.is_empty()
        && path.split('/').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
        });
    if !path_ok {
        return Err(invalid(
            "repository names must be lowercase letters, digits and separators (. _ - /)",
        ));
    }
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !tag_ok {
        return Err(invalid("invalid tag"));
    }
    Ok(format!("{name}:{tag}"))
}

#[cfg(test)]
mod tests {
    use super::normalize_reference as n;

    #[test]
    fn adds_latest_and_keeps_tags() {
        assert_eq!(n("busybox").unwrap(), "busybox:latest");
        assert_eq!(n("busybox:local").unwrap(), "busybox:local");
        assert_eq!(
            n("localhost:5000/a/b").unwrap(),
            "localhost:5000/a/b:latest"
        );
        assert_eq!(
            n("localhost:5000/a/b:1.0").unwrap(),
            "localhost:5000/a/b:1.0"
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
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }
}
