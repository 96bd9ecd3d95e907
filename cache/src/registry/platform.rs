//! Platforms (os, architecture, variant) and picking the host's entry of an image index.

use serde::Deserialize;
use std::fmt;

/// An OCI platform.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// This machine's platform.
    pub fn host() -> Self {
        let architecture = crate::oci::host_architecture();
        Self {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: (architecture == "arm64").then(|| "v8".into()),
        }
    }

    /// Whether an index entry for `other` runs here: same os and architecture, and the
    /// same variant when both name one (arm64's `v8` is the default one).
    pub fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && match (&self.variant, &other.variant) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => true,
            }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// One entry of an image index or manifest list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexEntry {
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// The entry of `entries` for `wanted`, or the platforms there are.
pub fn pick<'a>(
    entries: &'a [IndexEntry],
    wanted: &Platform,
) -> Result<&'a IndexEntry, Vec<String>> {
    entries
        .iter()
        .find(|e| e.platform.as_ref().is_some_and(|p| wanted.accepts(p)))
        .ok_or_else(|| {
            entries
                .iter()
                .filter_map(|e| e.platform.as_ref().map(ToString::to_string))
                .collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(os: &str, arch: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry {
            digest: format!("sha256:{arch}"),
            size: 1,
            platform: Some(Platform {
                os: os.into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
        }
    }

    #[test]
    fn picks_the_matching_entry_and_names_the_others_when_none_fits() {
        let entries = [
            entry("linux", "arm", Some("v7")),
            entry("linux", "arm64", Some("v8")),
            entry("linux", "amd64", None),
        ];
        let amd64 = Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        };
        assert_eq!(pick(&entries, &amd64).unwrap().digest, "sha256:amd64");
        let arm64 = Platform {
            variant: Some("v8".into()),
            architecture: "arm64".into(),
            ..amd64.clone()
        };
        assert_eq!(pick(&entries, &arm64).unwrap().digest, "sha256:arm64");
        let riscv = Platform {
            architecture: "riscv64".into(),
            ..amd64
        };
        assert_eq!(
            pick(&entries, &riscv).unwrap_err(),
            ["linux/arm/v7", "linux/arm64/v8", "linux/amd64"]
        );
    }
}
