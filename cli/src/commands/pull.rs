//! `kiln pull`, with docker's output: a line per finished layer on stderr, then the
//! digest, the status and the full name on stdout.

use crate::args::PullArgs;
use crate::error::CliError;
use crate::output::{eprintln, println};
use kiln_cache::registry::{BlobProgress, PullProgress};
use kiln_cache::{LockMode, Reference, Store};
use std::path::Path;

/// Prints docker's per-layer lines when a layer is downloaded and when it is unpacked.
struct LayerLines;

impl PullProgress for LayerLines {
    fn blob(&self, digest: &str, progress: BlobProgress) {
        let short = digest.strip_prefix("sha256:").unwrap_or(digest);
        let short = short.get(..12).unwrap_or(short);
        match progress {
            BlobProgress::Exists => eprintln(format_args!("{short}: Already exists")),
            BlobProgress::Downloaded => eprintln(format_args!("{short}: Download complete")),
            BlobProgress::Unpacked => eprintln(format_args!("{short}: Pull complete")),
            BlobProgress::Downloading { .. } => {}
        }
    }
}

pub fn run(root: &Path, args: PullArgs) -> Result<u8, CliError> {
    let reference = Reference::parse(&args.image)?;
    let registries = super::registries(&args.registry)?;
    let store = Store::open(root, LockMode::Shared)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let what = reference
        .tag
        .as_deref()
        .or(reference.digest.as_deref())
        .unwrap_or("latest");
    eprintln(format_args!(
        "{what}: Pulling from {}",
        reference.repository
    ));
    let pulled = runtime.block_on(registries.pull(&store, &reference, &LayerLines))?;
    println(format_args!("Digest: {}", pulled.row.manifest_digest))?;
    let status = if pulled.updated {
        "Downloaded newer image for"
    } else {
        "Image is up to date for"
    };
    println(format_args!("Status: {status} {}", reference.familiar()))?;
    println(reference.canonical())?;
    Ok(0)
}
