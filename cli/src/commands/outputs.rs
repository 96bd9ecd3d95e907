//! What `kiln build` writes besides the local image: `-o` outputs, pushes
//! (`--push`, `type=image,push=true`), `--iidfile` and `--metadata-file`.

use crate::args::BuildArgs;
use crate::destination::{Destination, write_dir};
use crate::error::CliError;
use crate::output::eprintln;
use crate::output_spec::OutputSpec;
use kiln_cache::registry::Registries;
use kiln_cache::{ArchiveFormat, ArchiveImage, ExportCompression, Store, tag_reference};
use kiln_solver::BuildOutcome;
use std::path::PathBuf;

/// The outputs of one build, checked before it starts.
#[derive(Debug)]
pub struct BuildOutputs {
    specs: Vec<OutputSpec>,
    /// Every name the image is tagged with: `-t` and `type=image,name=…`.
    pub names: Vec<String>,
    /// Names to push to, each with its `oci-mediatypes` (none: the image's own).
    pushes: Vec<(String, Option<bool>)>,
    how: ExportCompression,
    iidfile: Option<PathBuf>,
    metadata_file: Option<PathBuf>,
}

impl BuildOutputs {
    /// Reads and checks the output flags.
    pub fn from_args(args: &BuildArgs) -> Result<Self, CliError> {
        let specs = args
            .outputs
            .iter()
            .map(|s| OutputSpec::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let pushes = pushes(args, &specs)?;
        if specs.iter().filter(|s| s.is_stdout()).count() > 1 {
            return Err(CliError::user("only one output can be written to stdout"));
        }
        let mut names = args.tags.clone();
        for spec in &specs {
            if let OutputSpec::Image { names: more, .. } = spec {
                names.extend(more.iter().cloned());
            }
        }
        for name in &names {
            tag_reference(name)?;
        }
        Ok(Self {
            specs,
            names,
            pushes,
            how: args.compression.export_compression()?,
            iidfile: args.iidfile.clone(),
            metadata_file: args.metadata_file.clone(),
        })
    }

    /// Writes every output of the built image, pushes it, then writes the id and
    /// metadata files.
    pub fn write(
        &self,
        store: &Store,
        outcome: &BuildOutcome,
        epoch: Option<i64>,
        remote: (&Registries, &tokio::runtime::Runtime),
    ) -> Result<(), CliError> {
        let names = self
            .names
            .iter()
            .map(|n| tag_reference(n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut digest = outcome.image.manifest_digest.clone();
        let mut archived = false;
        for spec in &self.specs {
            let (format, dest) = match spec {
                OutputSpec::Oci(dest) => (ArchiveFormat::Oci, dest),
                OutputSpec::Docker(dest) => (ArchiveFormat::Docker, dest),
                OutputSpec::Tar(dest) => {
                    dest.write_file(|out| {
                        kiln_solver::write_filesystem_tar(store, outcome.top.as_deref(), epoch, out)
                            .map_err(|e| solve_error(&e))
                    })?;
                    continue;
                }
                OutputSpec::Local(dir) => {
                    write_dir(dir, |tmp| {
                        kiln_solver::write_filesystem_dir(store, outcome.top.as_deref(), epoch, tmp)
                            .map_err(|e| solve_error(&e))
                    })?;
                    continue;
                }
                OutputSpec::Image { .. } => continue,
            };
            let image = ArchiveImage {
                image: store.image_by_manifest(&outcome.image.manifest_digest)?,
                names: names.clone(),
            };
            dest.write_file(|out| {
                let how = &self.how;
                let report = store.write_archive(&[image], format, how, epoch.unwrap_or(0), out)?;
                super::report_export(&report);
                if !archived && let Some(first) = report.manifests.first() {
                    digest = first.clone();
                    archived = true;
                }
                Ok(())
            })?;
        }
        for (name, oci) in &self.pushes {
            let (pushed, line) = super::push::push_image(
                store,
                remote.0,
                remote.1,
                name,
                &self.how,
                super::push::media_types(*oci),
            )?;
            eprintln(line);
            if !archived {
                digest = pushed.digest;
                archived = true;
            }
        }
        if let Some(path) = &self.iidfile {
            let id = outcome.image.config_digest.as_bytes();
            Destination::Path(path.clone()).write_file(|out| Ok(out.write_all(id)?))?;
        }
        if let Some(path) = &self.metadata_file {
            let metadata = serde_json::json!({
                "containerimage.digest": digest,
                "containerimage.config.digest": outcome.image.config_digest,
                "image.name": names.join(","),
            });
            let json = serde_json::to_vec_pretty(&metadata)
                .map_err(|e| CliError::Internal(crate::error::render_chain(&e)))?;
            Destination::Path(path.clone()).write_file(|out| Ok(out.write_all(&json)?))?;
        }
        Ok(())
    }
}

/// The names to push to: `--push` pushes the `-t` names, `type=image,push=true` its own
/// names or, without any, the `-t` names (as buildx does).
fn pushes(args: &BuildArgs, specs: &[OutputSpec]) -> Result<Vec<(String, Option<bool>)>, CliError> {
    let mut pushes: Vec<(String, Option<bool>)> = Vec::new();
    let mut add = |names: &[String], oci: Option<bool>| {
        for name in names {
            if !pushes.iter().any(|(n, _)| n == name) {
                pushes.push((name.clone(), oci));
            }
        }
    };
    if args.push {
        add(&args.tags, None);
    }
    for spec in specs {
        if let OutputSpec::Image {
            names,
            push: true,
            oci_mediatypes,
        } = spec
        {
            add(
                if names.is_empty() { &args.tags } else { names },
                *oci_mediatypes,
            );
        }
    }
    let asked = args.push
        || specs
            .iter()
            .any(|s| matches!(s, OutputSpec::Image { push: true, .. }));
    if asked && pushes.is_empty() {
        return Err(CliError::user(
            "pushing needs a name: add `-t NAME` or `type=image,name=NAME,push=true`",
        ));
    }
    Ok(pushes)
}

fn solve_error(e: &kiln_solver::SolveError) -> CliError {
    crate::error::build_error(e, "", "")
}
