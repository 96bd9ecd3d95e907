//! `kiln push IMAGE`, with docker's output: a line per layer on stderr (`Pushed`,
//! `Layer already exists`, `Mounted from …`), then `TAG: digest: … size: N` on stdout.
//! Builds push through [`push_image`] too.

use crate::args::PushArgs;
use crate::error::CliError;
use crate::output::{eprintln, println};
use kiln_cache::registry::{MediaTypes, PushProgress, Pushed, Registries, Upload, Uploaded};
use kiln_cache::{ExportCompression, LockMode, Reference, Store};
use std::path::Path;

/// Prints docker's per-layer lines.
struct LayerLines;

impl PushProgress for LayerLines {
    fn layer(&self, digest: &str, uploaded: &Uploaded) {
        let short = digest.strip_prefix("sha256:").unwrap_or(digest);
        let short = short.get(..12).unwrap_or(short);
        match uploaded {
            Uploaded::Exists => eprintln(format_args!("{short}: Layer already exists")),
            Uploaded::Mounted { from } => eprintln(format_args!("{short}: Mounted from {from}")),
            Uploaded::Pushed => eprintln(format_args!("{short}: Pushed")),
        }
    }
}

/// Pushes the local image `name` to the registry it names; returns what was pushed and
/// the line docker prints at the end (`TAG: digest: … size: N`).
pub fn push_image(
    store: &Store,
    registries: &Registries,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    how: &ExportCompression,
    media_types: Option<MediaTypes>,
) -> Result<(Pushed, String), CliError> {
    let reference = Reference::parse(&kiln_cache::tag_reference(name)?)?;
    let image = store.image(name)?;
    eprintln(format_args!(
        "The push refers to repository [{}]",
        reference.name()
    ));
    let upload = Upload::prepare(store, &image, how, media_types)?;
    let pushed = runtime.block_on(registries.push(store, &upload, &reference, &LayerLines))?;
    let tag = reference.tag.as_deref().unwrap_or("latest");
    let line = format!("{tag}: digest: {} size: {}", pushed.digest, pushed.size);
    Ok((pushed, line))
}

/// The media types asked by `--oci-mediatypes` (none: the image's own).
pub fn media_types(oci: Option<bool>) -> Option<MediaTypes> {
    oci.map(|oci| {
        if oci {
            MediaTypes::Oci
        } else {
            MediaTypes::Docker
        }
    })
}

pub fn run(root: &Path, args: &PushArgs) -> Result<u8, CliError> {
    let registries = super::registries(&args.registry)?;
    let how = args.compression.export_compression()?;
    let store = Store::open(root, LockMode::Shared)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (_, line) = push_image(
        &store,
        &registries,
        &runtime,
        &args.image,
        &how,
        media_types(args.oci_mediatypes),
    )?;
    println(line)?;
    Ok(0)
}
