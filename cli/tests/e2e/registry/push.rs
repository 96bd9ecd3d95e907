//! Pushing to a `docker-registry` on 127.0.0.1: round trips, pushes that upload
//! nothing twice, cross-repository mounts, media types and compressions as
//! `skopeo inspect --raw` reads them; and to a registry that breaks chunked uploads.

use super::chunkless::{PatchAnswer, chunkless_registry};
use super::server::LocalRegistry;
use crate::harness::Kiln;

/// A build context whose image prints a line of its own.
fn context(kiln: &Kiln) -> String {
    let dir = kiln.context(
        "push",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo pushed-and-back > /said\nCMD [\"cat\", \"/said\"]\n",
        )],
    );
    dir.display().to_string()
}

/// The digest of docker's last push line, `TAG: digest: sha256:… size: N`.
fn pushed_digest(output: &str, tag: &str) -> String {
    let prefix = format!("{tag}: digest: ");
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no push line in {output}"));
    let (digest, size) = line.split_once(" size: ").expect("size");
    assert!(size.parse::<u64>().is_ok(), "{line}");
    digest.to_string()
}

/// Lines of `kiln push` output that end with `what`.
fn layers_that(stderr: &str, what: &str) -> usize {
    stderr.lines().filter(|l| l.ends_with(what)).count()
}

#[test]
fn build_push_rmi_pull_run_gives_the_same_digest_and_output() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let name = format!("{}/app/round:1", registry.host);
    let build = kiln
        .cmd(&["build", "--push", "-t", &name, &context(&kiln)])
        .ok();
    let digest = pushed_digest(&build.stderr, "1");
    let id = kiln.image_id(&name);
    let inspect = kiln.cmd(&["inspect", &name]).ok();
    let repo = name.trim_end_matches(":1");
    assert!(
        inspect.stdout.contains(&format!("\"{repo}@{digest}\"")),
        "RepoDigests names the pushed manifest: {}",
        inspect.stdout
    );
    kiln.cmd(&["rmi", &name]).ok();
    let pull = kiln.cmd(&["pull", &name]).ok();
    assert!(
        pull.stdout.starts_with(&format!("Digest: {digest}\n")),
        "{}",
        pull.stdout
    );
    assert_eq!(kiln.image_id(&name), id, "the image id stays the same");
    assert_eq!(kiln.run_out(&name, &[]), "pushed-and-back\n");
}

#[test]
fn second_push_uploads_no_layer() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let name = format!("{}/app/twice:1", registry.host);
    kiln.build(&name, std::path::Path::new(&context(&kiln)))
        .ok();
    let first = kiln.cmd(&["push", &name]).ok();
    assert!(
        layers_that(&first.stderr, ": Pushed") > 0,
        "{}",
        first.stderr
    );
    let second = kiln.cmd(&["push", &name]).ok();
    assert_eq!(
        layers_that(&second.stderr, ": Pushed"),
        0,
        "{}",
        second.stderr
    );
    assert_eq!(
        layers_that(&second.stderr, ": Layer already exists"),
        layers_that(&first.stderr, ": Pushed"),
        "{}",
        second.stderr
    );
    assert_eq!(
        pushed_digest(&first.stdout, "1"),
        pushed_digest(&second.stdout, "1")
    );
}

#[test]
fn pushing_to_another_repository_mounts_instead_of_uploading() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let first = format!("{}/team/one:1", registry.host);
    let second = format!("{}/team/two:1", registry.host);
    kiln.build(&first, std::path::Path::new(&context(&kiln)))
        .ok();
    let pushed = kiln.cmd(&["push", &first]).ok();
    let layers = layers_that(&pushed.stderr, ": Pushed");
    kiln.cmd(&["tag", &first, &second]).ok();
    let mounted = kiln.cmd(&["push", &second]).ok();
    assert_eq!(
        layers_that(&mounted.stderr, ": Pushed"),
        0,
        "{}",
        mounted.stderr
    );
    assert_eq!(
        layers_that(&mounted.stderr, ": Mounted from team/one"),
        layers,
        "{}",
        mounted.stderr
    );
    assert_eq!(
        pushed_digest(&pushed.stdout, "1"),
        pushed_digest(&mounted.stdout, "1")
    );
}

#[test]
fn a_registry_that_breaks_chunked_uploads_gets_whole_blobs() {
    for patch in [PatchAnswer::Refused, PatchAnswer::WrongStatus] {
        let host = chunkless_registry(patch, 0);
        let kiln = Kiln::new();
        let name = format!("{host}/app/whole:1");
        kiln.build(&name, std::path::Path::new(&context(&kiln)))
            .ok();
        let pushed = kiln.cmd(&["push", &name]).ok();
        assert_eq!(
            layers_that(&pushed.stderr, ": Pushed"),
            2,
            "{patch:?}: {}",
            pushed.stderr
        );
        let puller = Kiln::empty();
        puller.cmd(&["pull", &name]).ok();
        assert_eq!(puller.run_out(&name, &[]), "pushed-and-back\n", "{patch:?}");
    }
}

/// OCI's manifest, config and gzip layer media types.
const OCI_TYPES: [&str; 3] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.oci.image.layer.v1.tar+gzip",
];
/// Docker's.
const DOCKER_TYPES: [&str; 3] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
];

/// The manifest of `name` (`host/repo:tag`) as `skopeo inspect --raw` reads it.
fn remote_manifest(name: &str) -> serde_json::Value {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{name}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The media types of `name`'s manifest, config and every layer.
fn assert_media_types(name: &str, [manifest, config, layer]: [&str; 3]) {
    let found = remote_manifest(name);
    assert_eq!(found["mediaType"], manifest, "{found}");
    assert_eq!(found["config"]["mediaType"], config, "{found}");
    let layers = found["layers"].as_array().unwrap();
    assert!(!layers.is_empty(), "{found}");
    for entry in layers {
        assert_eq!(entry["mediaType"], layer, "{found}");
    }
}

#[test]
fn oci_mediatypes_flag_picks_docker_or_oci_types() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let docker = format!("{}/types/docker:1", registry.host);
    let oci = format!("{}/types/oci:1", registry.host);
    kiln.build(&docker, std::path::Path::new(&context(&kiln)))
        .ok();
    kiln.cmd(&["tag", &docker, &oci]).ok();
    kiln.cmd(&["push", "--oci-mediatypes=false", &docker]).ok();
    assert_media_types(&docker, DOCKER_TYPES);
    kiln.cmd(&["push", "--oci-mediatypes", &oci]).ok();
    assert_media_types(&oci, OCI_TYPES);
}

#[test]
fn default_push_keeps_the_images_own_media_types() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let built = format!("{}/types/built:1", registry.host);
    kiln.build(&built, std::path::Path::new(&context(&kiln)))
        .ok();
    kiln.cmd(&["push", &built]).ok();
    assert_media_types(&built, OCI_TYPES);
    // A pulled Docker image leaves as it came, byte for byte.
    let docker = format!("{}/types/docker:1", registry.host);
    kiln.cmd(&["tag", &built, &docker]).ok();
    let first = kiln.cmd(&["push", "--oci-mediatypes=false", &docker]).ok();
    let puller = Kiln::empty();
    puller.cmd(&["pull", &docker]).ok();
    let again = format!("{}/types/again:1", registry.host);
    puller.cmd(&["tag", &docker, &again]).ok();
    let second = puller.cmd(&["push", &again]).ok();
    assert_media_types(&again, DOCKER_TYPES);
    assert_eq!(
        pushed_digest(&first.stdout, "1"),
        pushed_digest(&second.stdout, "1")
    );
}

#[test]
fn zstd_and_uncompressed_pushes_say_so_and_pull_back_the_same() {
    let Some(registry) = LocalRegistry::start() else {
        return;
    };
    let kiln = Kiln::new();
    let built = format!("{}/comp/built:1", registry.host);
    kiln.build(&built, std::path::Path::new(&context(&kiln)))
        .ok();
    for (compression, layer) in [
        ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
        ("uncompressed", "application/vnd.oci.image.layer.v1.tar"),
    ] {
        let name = format!("{}/comp/{compression}:1", registry.host);
        kiln.cmd(&["tag", &built, &name]).ok();
        kiln.cmd(&[
            "push",
            "--compression",
            compression,
            "--force-compression",
            &name,
        ])
        .ok();
        assert_media_types(&name, [OCI_TYPES[0], OCI_TYPES[1], layer]);
        let puller = Kiln::empty();
        puller.cmd(&["pull", &name]).ok();
        assert_eq!(
            puller.image_id(&name),
            kiln.image_id(&built),
            "{compression}"
        );
        assert_eq!(
            puller.run_out(&name, &[]),
            "pushed-and-back\n",
            "{compression}"
        );
    }
}

#[test]
fn push_uploads_blobs_at_the_same_time() {
    // The registry answers no blob HEAD until it has two at once: a push that sends
    // blobs one after the other waits on the first and times out.
    let host = chunkless_registry(PatchAnswer::Refused, 2);
    let kiln = Kiln::new();
    let config = kiln.work.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[registry.\"{host}\"]\nidle_timeout = 5\n"),
    )
    .unwrap();
    let name = format!("{host}/app/together:1");
    kiln.build(&name, std::path::Path::new(&context(&kiln)))
        .ok();
    let pushed = kiln
        .cmd_env(
            &["push", &name],
            &[("KILN_CONFIG", &config.display().to_string())],
        )
        .ok();
    assert_eq!(
        layers_that(&pushed.stderr, ": Pushed"),
        2,
        "{}",
        pushed.stderr
    );
}
