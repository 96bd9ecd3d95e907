//! `# syntax=`: kiln implements the Dockerfile syntax itself and runs no frontend
//! images, so a directive naming any other frontend stops the build instead of being
//! ignored.

use crate::error::{Result, SolveError};
use kiln_parser::Dockerfile;

/// Refuses a `# syntax=` directive that names another frontend than the Dockerfile
/// syntax kiln implements.
pub(super) fn check(dockerfile: &Dockerfile) -> Result<()> {
    for directive in dockerfile.directives.iter().filter(|d| d.name == "syntax") {
        let reference = directive.value.split(' ').next().unwrap_or_default();
        if !reference.is_empty() && !is_dockerfile_syntax(reference) {
            return Err(SolveError::Dockerfile {
                message: format!(
                    "`# syntax={reference}` names a frontend image, and kiln does not run \
                     frontend images: it implements the Dockerfile syntax itself \
                     (`docker/dockerfile:1`)"
                ),
                span: directive.span,
            });
        }
    }
    Ok(())
}

/// Whether `reference` names the Dockerfile syntax kiln implements: `docker/dockerfile`
/// (also as `docker.io/docker/dockerfile`), untagged, `latest` or a 1.x tag (`1`, `1.7`,
/// `1.7.1`, each also with `-labs` or `-experimental`), optionally pinned by digest.
fn is_dockerfile_syntax(reference: &str) -> bool {
    let named = reference
        .split_once('@')
        .map_or(reference, |(name, _)| name);
    let (name, tag) = match named.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (named, "latest"),
    };
    let name = ["docker.io/", "index.docker.io/", "registry-1.docker.io/"]
        .iter()
        .find_map(|registry| name.strip_prefix(registry))
        .unwrap_or(name);
    if name != "docker/dockerfile" {
        return false;
    }
    let version = tag
        .strip_suffix("-labs")
        .or_else(|| tag.strip_suffix("-experimental"))
        .unwrap_or(tag);
    let parts: Vec<&str> = version.split('.').collect();
    version == "latest"
        || (parts.first() == Some(&"1")
            && parts.len() <= 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::is_dockerfile_syntax;

    #[test]
    fn the_dockerfile_syntax_1_is_kilns_and_other_frontends_are_not() {
        for ours in [
            "docker/dockerfile",
            "docker/dockerfile:1",
            "docker/dockerfile:1.4",
            "docker/dockerfile:1.7.1",
            "docker/dockerfile:1-labs",
            "docker/dockerfile:1.2-experimental",
            "docker/dockerfile:latest",
            "docker.io/docker/dockerfile:1",
            "docker/dockerfile:1@sha256:ac85f380a63b13dfcefa89046420e1781752bab202122f8f50032edf31be0021",
        ] {
            assert!(is_dockerfile_syntax(ours), "{ours}");
        }
        for other in [
            "docker/dockerfile:2",
            "docker/dockerfile:1.x",
            "docker/dockerfile-upstream:master",
            "ghcr.io/docker/dockerfile:1",
            "tonistiigi/dockerfile:runmount",
            "example.com:5000/docker/dockerfile",
            "moby/buildkit:latest",
        ] {
            assert!(!is_dockerfile_syntax(other), "{other}");
        }
    }
}
