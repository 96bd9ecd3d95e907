//! `kiln build -o`: BuildKit's output syntax, `type=…,key=value,…`.

use crate::destination::Destination;
use crate::error::CliError;
use std::path::PathBuf;

/// One build output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// An OCI image layout in a tar.
    Oci(Destination),
    /// Docker's `docker save` format.
    Docker(Destination),
    /// The final filesystem as a tar.
    Tar(Destination),
    /// The final filesystem as files in a folder.
    Local(PathBuf),
    /// The image, tagged locally with `names` and, with `push`, pushed there in OCI
    /// (`oci_mediatypes`), Docker or (`None`) the image's own media types.
    Image {
        names: Vec<String>,
        push: bool,
        oci_mediatypes: Option<bool>,
    },
}

impl OutputSpec {
    /// Parses one `-o` value. `-` alone is a tar on stdout and a value without `=` a
    /// folder, as in buildx.
    pub fn parse(spec: &str) -> Result<Self, CliError> {
        if !spec.contains('=') {
            return Ok(match spec {
                "-" => Self::Tar(Destination::Stdout),
                dir => Self::Local(PathBuf::from(dir)),
            });
        }
        let mut kind = None;
        let (mut dest, mut names, mut push, mut oci) = (None, Vec::new(), false, None);
        for pair in spec.split(',') {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid(spec, &format!("`{pair}` is not KEY=VALUE")))?;
            match key {
                "type" => kind = Some(value),
                "dest" => dest = Some(value),
                "name" => names.push(value.to_string()),
                "push" => push = parse_bool(spec, value)?,
                "oci-mediatypes" => oci = Some(parse_bool(spec, value)?),
                _ => return Err(invalid(spec, &format!("unknown key `{key}`"))),
            }
        }
        let needs_dest = || dest.ok_or_else(|| invalid(spec, "`dest` is missing"));
        let only = |allowed: bool, key: &str| match allowed {
            true => Ok(()),
            false => Err(invalid(
                spec,
                &format!("`{key}` only applies to `type=image`"),
            )),
        };
        let kind = kind.ok_or_else(|| invalid(spec, "`type` is missing"))?;
        if kind != "image" {
            only(names.is_empty(), "name")?;
            only(!push, "push")?;
            only(oci.is_none(), "oci-mediatypes")?;
        } else if dest.is_some() {
            return Err(invalid(spec, "`dest` does not apply to `type=image`"));
        }
        Ok(match kind {
            "oci" => Self::Oci(Destination::parse(needs_dest()?)),
            "docker" => Self::Docker(Destination::parse(needs_dest()?)),
            "tar" => Self::Tar(Destination::parse(needs_dest()?)),
            "local" => match needs_dest()? {
                "-" => return Err(invalid(spec, "`type=local` needs a folder, not `-`")),
                dir => Self::Local(PathBuf::from(dir)),
            },
            "image" => Self::Image {
                names,
                push,
                oci_mediatypes: oci,
            },
            "registry" => Self::Image {
                names,
                push: true,
                oci_mediatypes: oci,
            },
            other => {
                return Err(invalid(
                    spec,
                    &format!("unknown type `{other}` (known: oci, docker, tar, local, image)"),
                ));
            }
        })
    }

    /// Whether it writes to stdout.
    pub fn is_stdout(&self) -> bool {
        matches!(
            self,
            Self::Oci(Destination::Stdout)
                | Self::Docker(Destination::Stdout)
                | Self::Tar(Destination::Stdout)
        )
    }
}

fn parse_bool(spec: &str, value: &str) -> Result<bool, CliError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(spec, &format!("`{value}` is not true or false"))),
    }
}

fn invalid(spec: &str, reason: &str) -> CliError {
    CliError::user(format!("invalid output `{spec}`: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkit_syntax_and_shorthands_parse() {
        let parse = |s| OutputSpec::parse(s).unwrap();
        assert_eq!(
            parse("type=oci,dest=out.tar"),
            OutputSpec::Oci(Destination::Path("out.tar".into()))
        );
        assert_eq!(
            parse("type=docker,dest=-"),
            OutputSpec::Docker(Destination::Stdout)
        );
        assert_eq!(parse("-"), OutputSpec::Tar(Destination::Stdout));
        assert_eq!(parse("out"), OutputSpec::Local("out".into()));
        assert_eq!(
            parse("type=image,name=a:1,name=b,push=true,oci-mediatypes=false"),
            OutputSpec::Image {
                names: vec!["a:1".into(), "b".into()],
                push: true,
                oci_mediatypes: Some(false),
            }
        );
    }

    #[test]
    fn mistakes_are_refused() {
        for bad in [
            "type=oci",
            "dest=x",
            "type=zip,dest=x",
            "type=local,dest=-",
            "type=tar,dest=x,name=a",
            "type=image,dest=x",
            "type=oci,dest=x,colour=red",
            "type=image,push=maybe",
        ] {
            assert!(OutputSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
