//! `kiln load`: archives written by skopeo, hostile archives, and base-image config
//! fields kiln does not know.

use crate::harness::{Kiln, tool_available};
use crate::hostile::{Entry, Targets, tar_of};
use kiln_cache::sha256_digest;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An OCI archive of one image named `name` with `layer` (a plain tar) and `config`
/// (its `rootfs` filled in); `tamper` may change the manifest's layer descriptor.
fn oci_archive(
    name: &str,
    layer: &[u8],
    mut config: serde_json::Value,
    tamper: impl Fn(&mut serde_json::Value),
) -> Vec<u8> {
    let layer_digest = sha256_digest(layer);
    config["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": [layer_digest]});
    let config = serde_json::to_vec(&config).unwrap();
    let mut layer_descriptor = serde_json::json!({
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": layer_digest,
        "size": layer.len(),
    });
    tamper(&mut layer_descriptor);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256_digest(&config),
            "size": config.len(),
        },
        "layers": [layer_descriptor],
    }))
    .unwrap();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256_digest(&manifest),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": name},
        }],
    }))
    .unwrap();
    let blob = |data: &[u8]| format!("blobs/sha256/{}", &sha256_digest(data)[7..]);
    // The layer lies where its (maybe tampered) descriptor says.
    let layer_path = format!(
        "blobs/sha256/{}",
        &layer_descriptor["digest"].as_str().unwrap()[7..]
    );
    let (config_path, manifest_path) = (blob(&config), blob(&manifest));
    tar_of(&[
        Entry::File("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        Entry::File(&layer_path, layer),
        Entry::File(&config_path, &config),
        Entry::File(&manifest_path, &manifest),
        Entry::File("index.json", &index),
    ])
}

fn base_config() -> serde_json::Value {
    serde_json::json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]}})
}

/// Writes `data` to a file in the work dir.
fn write(kiln: &Kiln, name: &str, data: &[u8]) -> PathBuf {
    let path = kiln.work.path().join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// The images' names and ids (not their ages, which change with the clock).
fn image_list(kiln: &Kiln) -> Vec<String> {
    let out = kiln.cmd(&["images"]).ok().stdout;
    out.lines()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Loads `archive` and checks it is refused with `message`, leaving the store as it was.
#[track_caller]
fn assert_refused(kiln: &Kiln, archive: &Path, message: &str) {
    let images = image_list(kiln);
    let snapshots = kiln.snapshot_dirs();
    let run = kiln.cmd(&["load", "-i", &archive.display().to_string()]);
    let what = archive.display();
    assert_eq!(run.code, 1, "{what}: {}", run.stderr);
    assert!(run.stderr.contains(message), "{what}: {}", run.stderr);
    assert_eq!(image_list(kiln), images);
    assert_eq!(kiln.snapshot_dirs(), snapshots);
    let tmp = std::fs::read_dir(kiln.root.path().join("tmp-v1")).unwrap();
    assert_eq!(tmp.count(), 0, "temp files left behind");
}

/// `busybox:local` of `source`'s store (saved as an OCI layout), copied by skopeo into an archive of `transport` named `name`.
fn skopeo_archive(source: &Kiln, transport: &str, name: &str) -> PathBuf {
    let archive = source.work.path().join(format!("{transport}.tar"));
    let layout = format!(
        "oci:{}:local",
        source.saved_layout("busybox:local").display()
    );
    let dest = format!("{transport}:{}:{name}", archive.display());
    let copy = Command::new("skopeo")
        .args(["copy", "-q", &layout, &dest])
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    archive
}

#[test]
fn load_reads_skopeo_docker_archives_gzip_or_not_from_a_file_or_stdin() {
    if !tool_available("skopeo") {
        return;
    }
    let source = Kiln::new();
    let archive = skopeo_archive(&source, "docker-archive", "foo/bar:1");
    let kiln = Kiln::empty();
    let run = kiln
        .cmd(&["load", "-i", &archive.display().to_string()])
        .ok();
    assert_eq!(run.stdout, "Loaded image: foo/bar:1\n");
    assert_eq!(kiln.image_id("foo/bar:1"), source.image_id("busybox:local"));
    assert_eq!(kiln.run_out("foo/bar:1", &["echo", "loaded"]), "loaded\n");
    // The same archive gzip'd, on stdin, into a fresh store.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::copy(&mut std::fs::File::open(&archive).unwrap(), &mut gz).unwrap();
    let gz = write(&kiln, "d.tar.gz", &gz.finish().unwrap());
    let fresh = Kiln::empty();
    let run = fresh.cmd_stdio(&["load"], None, None);
    assert_eq!(run.code, 1, "an empty stdin is not an archive");
    let output = crate::harness::kiln_command()
        .arg("load")
        .env("KILN_ROOT", fresh.root.path())
        .stdin(Stdio::from(std::fs::File::open(gz).unwrap()))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Loaded image: foo/bar:1\n"
    );
    assert_eq!(fresh.run_out("foo/bar:1", &["echo", "hi"]), "hi\n");
}

#[test]
fn load_reads_skopeo_oci_archives_with_layers_already_unpacked() {
    if !tool_available("skopeo") {
        return;
    }
    let source = Kiln::new();
    let archive = skopeo_archive(&source, "oci-archive", "docker.io/library/baz:2");
    let kiln = Kiln::empty();
    let run = kiln
        .cmd(&["load", "-i", &archive.display().to_string()])
        .ok();
    assert_eq!(run.stdout, "Loaded image: baz:2\n");
    // Unpacked by the load: one committed snapshot before anything runs.
    assert_eq!(kiln.snapshot_dirs(), 1);
    assert_eq!(kiln.run_out("baz:2", &["echo", "oci"]), "oci\n");
}

#[test]
fn load_refuses_layers_that_write_outside_the_root() {
    let kiln = Kiln::new();
    let targets = Targets::new(kiln.work.path());
    let rows = kiln.index_rows("snapshots");
    for layer in targets.layers() {
        let name = layer.name;
        let archive = oci_archive(&format!("evil:{name}"), &layer.tar, base_config(), |_| {});
        let path = write(&kiln, &format!("{name}.tar"), &archive);
        assert_refused(&kiln, &path, &layer.message);
        targets.assert_untouched(name);
        assert_eq!(kiln.index_rows("snapshots"), rows, "{name} left a row");
    }
    // The store is still usable: prune reclaims the refused images' blobs, a good
    // archive loads.
    kiln.cmd(&["cache", "prune"]).ok();
    assert_eq!(image_list(&kiln).len(), 2, "busybox only");
    let good = tar_of(&[Entry::File("marker", b"good")]);
    let path = write(
        &kiln,
        "good.tar",
        &oci_archive("good:1", &good, base_config(), |_| {}),
    );
    let run = kiln.cmd(&["load", "-i", &path.display().to_string()]).ok();
    assert_eq!(run.stdout, "Loaded image: good:1\n");
    assert_eq!(kiln.index_rows("snapshots"), rows + 1);
    targets.assert_untouched("the good load");
}

#[test]
fn load_refuses_blobs_that_do_not_match_their_descriptors() {
    let kiln = Kiln::new();
    let layer = tar_of(&[Entry::File("f", b"content")]);
    // A wrong digest, and a layer claiming 10 GB.
    let cases: [fn(&mut serde_json::Value); 2] = [
        |d| d["digest"] = sha256_digest(b"other").into(),
        |d| d["size"] = (10u64 << 30).into(),
    ];
    for tamper in cases {
        let archive = oci_archive("bad:1", &layer, base_config(), tamper);
        let path = write(&kiln, "bad.tar", &archive);
        assert_refused(&kiln, &path, "does not match its descriptor");
    }
    let whole = oci_archive("cut:1", &layer, base_config(), |_| {});
    let path = write(&kiln, "cut.tar", &whole[..whole.len() / 2]);
    assert_refused(&kiln, &path, "error");
}

#[test]
fn base_image_config_fields_kiln_does_not_know_survive_a_build() {
    let kiln = Kiln::new();
    let layer = tar_of(&[Entry::File("marker", b"base")]);
    let mut config = base_config();
    config["config"]["ArgsEscaped"] = true.into();
    config["config"]["X-Vendor"] = serde_json::json!({"k": [1, 2]});
    config["os.features"] = serde_json::json!(["win32k"]);
    let archive = oci_archive("vendor:1", &layer, config, |_| {});
    let path = write(&kiln, "vendor.tar", &archive);
    kiln.cmd(&["load", "-i", &path.display().to_string()]).ok();
    let dir = kiln.context("ctx", &[("Dockerfile", "FROM vendor:1\nENV A=1\n")]);
    kiln.build("built:1", &dir).ok();
    let out = kiln.cmd(&["inspect", "built:1"]).ok().stdout;
    let image: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(image[0]["Config"]["ArgsEscaped"], true);
    assert_eq!(
        image[0]["Config"]["X-Vendor"],
        serde_json::json!({"k": [1, 2]})
    );
    let config_blob = kiln.content_dir().join("blobs/sha256").join(
        image[0]["Id"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config_blob).unwrap()).unwrap();
    assert_eq!(config["os.features"], serde_json::json!(["win32k"]));
}
