//! `kiln inspect IMAGE…`: a JSON array shaped like `docker image inspect`'s, plus the
//! manifest's descriptor (`Descriptor`, as docker shows with the containerd store).

use crate::args::InspectArgs;
use crate::error::{CliError, render_chain};
use crate::output::{eprintln, println};
use kiln_cache::oci::{Descriptor, MEDIA_TYPE_MANIFEST};
use kiln_cache::{Image, LockMode, Reference, Store, familiar};
use serde_json::{Value, json};
use std::path::Path;

pub fn run(root: &Path, args: &InspectArgs) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    let mut found = Vec::new();
    let mut failed = false;
    for reference in &args.images {
        match store.find_image(reference).and_then(|image| {
            Ok(describe(
                &image,
                &store.image_tags(&image.row.config_digest)?,
                &store.index().pushed(&image.row.config_digest)?,
            ))
        }) {
            Ok(value) => found.push(value),
            Err(e) => {
                failed = true;
                eprintln(render_chain(&e));
            }
        }
    }
    let text = serde_json::to_string_pretty(&Value::Array(found))
        .map_err(|e| CliError::Internal(render_chain(&e)))?;
    println(text)?;
    Ok(u8::from(failed))
}

/// One image as docker describes it; `pushed` lists the (repository, manifest digest)
/// it was pushed as, which are RepoDigests too.
fn describe(
    image: &Image,
    tags: &[kiln_cache::index::ImageRow],
    pushed: &[(String, String)],
) -> Value {
    let mut repo_tags: Vec<String> = tags.iter().map(|t| familiar(&t.name)).collect();
    repo_tags.sort();
    let mut repo_digests: Vec<String> = tags
        .iter()
        .filter_map(|t| Reference::parse(&t.name).ok())
        .map(|r| format!("{}@{}", r.familiar_name(), image.row.manifest_digest))
        .chain(pushed.iter().filter_map(|(repo, digest)| {
            let repo = Reference::parse(repo).ok()?;
            Some(format!("{}@{digest}", repo.familiar_name()))
        }))
        .collect();
    repo_digests.sort();
    repo_digests.dedup();
    let config = &image.config;
    json!({
        "Id": image.row.config_digest,
        "RepoTags": repo_tags,
        "RepoDigests": repo_digests,
        "Parent": "",
        "Comment": config.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
        "Created": config.created,
        "Author": config.author.clone().unwrap_or_default(),
        "Config": config.config,
        "Architecture": config.architecture,
        "Os": config.os,
        "Size": image.manifest.layers.iter().map(|l| l.size).sum::<u64>(),
        "RootFS": { "Type": config.rootfs.kind, "Layers": config.rootfs.diff_ids },
        "Descriptor": Descriptor {
            media_type: image
                .manifest
                .media_type
                .clone()
                .unwrap_or_else(|| MEDIA_TYPE_MANIFEST.into()),
            digest: image.row.manifest_digest.clone(),
            size: image.row.manifest_size,
            ..Default::default()
        },
    })
}
