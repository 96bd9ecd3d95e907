//! Pulling from registries on 127.0.0.1: a real `docker-registry` fed by `skopeo copy`
//! from OCI layouts of kiln's saved images, and a hostile one.

mod auth;
mod chunkless;
mod push;
mod server;
mod unpack;

use crate::harness::Kiln;
use crate::hostile::{Entry, Targets, tar_of};
use server::{Hostile, LocalRegistry, hostile_registry};

/// A registry holding busybox (from a kiln store) as `target`.
fn registry_with_busybox(target: &str) -> Option<(LocalRegistry, Kiln)> {
    let registry = LocalRegistry::start()?;
    let source = Kiln::new();
    registry.push_layout(
        &source.saved_layout("busybox:local"),
        "local",
        target,
        false,
    );
    Some((registry, source))
}

#[test]
fn pulled_image_runs() {
    let Some((registry, _source)) = registry_with_busybox("tools/busybox:1") else {
        return;
    };
    let kiln = Kiln::empty();
    let name = format!("{}/tools/busybox:1", registry.host);
    let pull = kiln.cmd(&["pull", &name]).ok();
    assert!(
        pull.stdout.starts_with("Digest: sha256:"),
        "{}",
        pull.stdout
    );
    assert!(
        pull.stdout
            .contains(&format!("Status: Downloaded newer image for {name}\n"))
    );
    assert!(pull.stdout.ends_with(&format!("{name}\n")));
    assert!(pull.stderr.contains(": Pull complete"), "{}", pull.stderr);
    assert_eq!(kiln.run_out(&name, &["echo", "pulled"]), "pulled\n");
    let again = kiln.cmd(&["pull", &name]).ok();
    assert!(again.stdout.contains("Status: Image is up to date for"));
    assert!(
        again.stderr.contains(": Already exists"),
        "{}",
        again.stderr
    );
}

#[test]
fn docker_io_name_resolves_through_a_mirror() {
    let Some((registry, _source)) = registry_with_busybox("library/debian:bookworm") else {
        return;
    };
    let kiln = Kiln::empty();
    let config = docker_io_mirror_config(&kiln, &registry);
    let env = [("KILN_CONFIG", config.as_str())];
    let pull = kiln.cmd_env(&["pull", "debian:bookworm"], &env).ok();
    assert!(pull.stdout.ends_with("docker.io/library/debian:bookworm\n"));
    assert_eq!(
        kiln.run_out("debian:bookworm", &["echo", "mirrored"]),
        "mirrored\n"
    );
}

/// A config file (for `KILN_CONFIG`) whose docker.io mirror is `registry`.
fn docker_io_mirror_config(kiln: &Kiln, registry: &LocalRegistry) -> String {
    let config = kiln.work.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[registry.\"docker.io\"]\nmirrors = [\"{}\"]\n",
            registry.host
        ),
    )
    .unwrap();
    config.display().to_string()
}

/// A layer (a plain tar of one file) and a config naming it.
fn layer_and_config() -> (Vec<u8>, Vec<u8>) {
    let layer = tar_of(&[Entry::File("hello", b"hello")]);
    let config = config_of(&layer);
    (layer, config)
}

/// A config whose one layer is `layer`.
fn config_of(layer: &[u8]) -> Vec<u8> {
    format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
        kiln_cache::sha256_digest(layer)
    )
    .into_bytes()
}

/// Pulls from a hostile registry (with a 2 s idle timeout): the error must name the
/// host and `expected`, and the store must hold no layer blob, no temp file and no
/// image. Returns the kiln whose pull failed.
fn refused(mode: Hostile, expected: &str) -> Kiln {
    let (layer, config) = layer_and_config();
    let layer_digest = kiln_cache::sha256_digest(&layer);
    let host = hostile_registry(mode, layer, config);
    let kiln = Kiln::empty();
    let config = kiln.work.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[registry.\"{host}\"]\nidle_timeout = 2\n"),
    )
    .unwrap();
    let run = kiln.cmd_env(
        &["pull", &format!("{host}/hostile/app:1")],
        &[("KILN_CONFIG", &config.display().to_string())],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(expected) && run.stderr.contains(&host),
        "{}",
        run.stderr
    );
    let blob = kiln
        .content_dir()
        .join("blobs/sha256")
        .join(layer_digest.trim_start_matches("sha256:"));
    assert!(!blob.exists());
    let tmp = kiln.root.path().join("tmp-v1");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    assert!(!kiln.cmd(&["images"]).ok().stdout.contains("hostile"));
    kiln
}

/// After a pull from a registry that stopped answering, the same store pulls the same
/// layer from a registry that works.
fn pull_from_a_good_registry_works(kiln: &Kiln) {
    let (layer, config) = layer_and_config();
    let host = server::token_registry(layer, config);
    let name = format!("{host}/public/app:1");
    kiln.cmd(&["pull", &name]).ok();
    assert!(kiln.cmd(&["images"]).ok().stdout.contains("public/app"));
}

#[test]
fn registry_that_stops_sending_mid_blob_times_out() {
    let kiln = refused(
        Hostile::StallBlob,
        "broke off after 1024 of 2048 bytes: the registry stopped answering (timed out",
    );
    pull_from_a_good_registry_works(&kiln);
}

#[test]
fn registry_that_never_sends_the_manifest_times_out() {
    let kiln = refused(
        Hostile::StallManifest,
        "hostile/app:1: the registry stopped answering (timed out",
    );
    pull_from_a_good_registry_works(&kiln);
}

#[test]
fn blob_with_wrong_digest_is_refused() {
    refused(Hostile::WrongDigest, "expected sha256:");
}

#[test]
fn truncated_blob_is_refused() {
    refused(Hostile::Truncated, "broke off after");
}

#[test]
fn manifest_claiming_a_10_gb_layer_is_refused() {
    refused(Hostile::Huge, "10000000000");
}

#[test]
fn pulled_layers_that_write_outside_the_root_are_refused() {
    let kiln = Kiln::empty();
    let targets = Targets::new(kiln.work.path());
    for layer in targets.layers() {
        let name = layer.name;
        let config = config_of(&layer.tar);
        let host = hostile_registry(Hostile::Faithful, layer.tar, config);
        let run = kiln.cmd(&["pull", &format!("{host}/hostile/app:1")]);
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert!(
            run.stderr.contains(&layer.message),
            "{name}: {}",
            run.stderr
        );
        targets.assert_untouched(name);
        assert_eq!(kiln.snapshot_dirs(), 0, "{name} left a snapshot");
        assert_eq!(kiln.index_rows("snapshots"), 0, "{name} left a row");
        assert_eq!(kiln.index_rows("images"), 0, "{name} was tagged");
        let tmp = kiln.root.path().join("tmp-v1");
        assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    }
    // The refused images' blobs are reclaimed, and a good image still pulls and unpacks.
    kiln.cmd(&["cache", "prune"]).ok();
    let blobs = kiln.content_dir().join("blobs/sha256");
    assert_eq!(std::fs::read_dir(&blobs).unwrap().count(), 0);
    let (layer, config) = layer_and_config();
    let host = hostile_registry(Hostile::Faithful, layer, config);
    kiln.cmd(&["pull", &format!("{host}/hostile/app:1")]).ok();
    assert_eq!(kiln.snapshot_dirs(), 1, "unpacked by the pull");
    assert!(kiln.cmd(&["images"]).ok().stdout.contains("hostile/app"));
}

/// Builds `FROM base` plus a RUN on the loopback registry's copy of busybox.
fn build_from(
    kiln: &Kiln,
    base: &str,
    env: &[(&str, &str)],
    extra: &[&str],
) -> crate::harness::Run {
    let dir = kiln.context(
        "from-registry",
        &[("Dockerfile", &format!("FROM {base}\nRUN if [ -e /version ]; then cat /version; else echo one; fi > /seen\n"))],
    );
    let ctx = dir.display().to_string();
    let mut args = vec!["build", "--progress", "plain", "-t", "app:1"];
    args.extend_from_slice(extra);
    args.push(&ctx);
    kiln.cmd_env(&args, env)
}

#[test]
fn from_a_missing_image_pulls_it_before_the_step_runs() {
    let Some((registry, _source)) = registry_with_busybox("tools/busybox:1") else {
        return;
    };
    let kiln = Kiln::empty();
    let base = format!("{}/tools/busybox:1", registry.host);
    let build = build_from(&kiln, &base, &[], &[]).ok();
    // The pull's progress comes first: bytes per layer, then its unpacking.
    let lines: Vec<&str> = build.stderr.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {}", build.stderr))
    };
    let started = at(&format!("#0 [internal] pull {base}"));
    let bytes = lines
        .iter()
        .position(|l| l.starts_with("#0 sha256:") && l.ends_with(" done") && l.contains(" / "))
        .unwrap_or_else(|| panic!("no byte progress in {}", build.stderr));
    let unpacked = at("#0 extracting sha256:");
    let done = at("#0 DONE ");
    let first_step = at("#1 ");
    assert!(started < bytes && bytes < unpacked && unpacked < done && done < first_step);
    assert_eq!(kiln.run_out("app:1", &["cat", "/seen"]), "one\n");
    assert!(kiln.cmd(&["images"]).ok().stdout.contains("tools/busybox"));
}

#[test]
fn from_debian_bookworm_resolves_through_a_mirror_in_a_build() {
    let Some((registry, _source)) = registry_with_busybox("library/debian:bookworm") else {
        return;
    };
    let kiln = Kiln::empty();
    let config = docker_io_mirror_config(&kiln, &registry);
    build_from(&kiln, "debian:bookworm", &[("KILN_CONFIG", &config)], &[]).ok();
    assert_eq!(kiln.run_out("app:1", &["cat", "/seen"]), "one\n");
}

#[test]
fn build_pull_re_resolves_a_moved_tag() {
    let Some((registry, _source)) = registry_with_busybox("tools/busybox:1") else {
        return;
    };
    let kiln = Kiln::empty();
    let base = format!("{}/tools/busybox:1", registry.host);
    build_from(&kiln, &base, &[], &[]).ok();
    // The tag moves to an image with /version in it.
    let other = Kiln::new();
    let dir = other.context(
        "v2",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo two > /version\n",
        )],
    );
    other.build("v2:1", &dir).ok();
    let layout = other.saved_layout("v2:1");
    registry.push_layout(&layout, "1", "tools/busybox:1", false);
    // Without --pull the store's copy of the tag is used; with it, the moved tag.
    build_from(&kiln, &base, &[], &[]).ok();
    assert_eq!(kiln.run_out("app:1", &["cat", "/seen"]), "one\n");
    build_from(&kiln, &base, &[], &["--pull"]).ok();
    assert_eq!(kiln.run_out("app:1", &["cat", "/seen"]), "two\n");
}

/// Pushes an image index named `name` whose entries all point at busybox's manifest,
/// claiming the given architectures (linux), to `target` in `registry`.
fn push_index(registry: &LocalRegistry, source: &Kiln, architectures: &[&str], target: &str) {
    let content = source.saved_layout("busybox:local");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(content.join("index.json")).unwrap()).unwrap();
    let busybox = index["manifests"][0].clone();
    let layout = source
        .work
        .path()
        .join(format!("index-{}", architectures.join("-")));
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for blob in std::fs::read_dir(content.join("blobs/sha256"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(blob.path(), blobs.join(blob.file_name())).unwrap();
    }
    let entries: Vec<serde_json::Value> = architectures
        .iter()
        .map(|arch| {
            serde_json::json!({
                "mediaType": busybox["mediaType"],
                "digest": busybox["digest"],
                "size": busybox["size"],
                "platform": { "architecture": arch, "os": "linux" },
            })
        })
        .collect();
    let index_doc = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }))
    .unwrap();
    let digest = kiln_cache::sha256_digest(&index_doc);
    std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), &index_doc).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest,
            "size": index_doc.len(),
            "annotations": { "org.opencontainers.image.ref.name": "multi" },
        }],
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    registry.push_layout(&layout, "multi", target, true);
}

#[test]
fn multi_platform_index_pulls_the_host_entry() {
    let Some((registry, source)) = registry_with_busybox("tools/busybox:1") else {
        return;
    };
    push_index(
        &registry,
        &source,
        &["s390x", kiln_cache::oci::host_architecture(), "riscv64"],
        "tools/multi:1",
    );
    let kiln = Kiln::empty();
    let name = format!("{}/tools/multi:1", registry.host);
    kiln.cmd(&["pull", &name]).ok();
    assert_eq!(kiln.run_out(&name, &["echo", "native"]), "native\n");
}

#[test]
fn multi_platform_index_without_the_host_entry_names_its_platforms() {
    let Some((registry, source)) = registry_with_busybox("tools/busybox:1") else {
        return;
    };
    let others: Vec<&str> = ["s390x", "ppc64le", "arm64", "amd64"]
        .into_iter()
        .filter(|a| *a != kiln_cache::oci::host_architecture())
        .take(2)
        .collect();
    push_index(&registry, &source, &others, "tools/foreign:1");
    let kiln = Kiln::empty();
    let run = kiln.cmd(&["pull", &format!("{}/tools/foreign:1", registry.host)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for arch in others {
        assert!(
            run.stderr.contains(&format!("linux/{arch}")),
            "{}",
            run.stderr
        );
    }
    assert!(
        kiln.cmd(&["images"]).ok().stdout.lines().count() == 1,
        "nothing was stored"
    );
}
