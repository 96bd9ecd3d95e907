//! Pulls unpack layers as they arrive, and a pull that fails half way resumes above
//! the layers it verified.

use super::server::LocalRegistry;
use crate::harness::Kiln;

/// The layer digests of `name`'s manifest in `registry`, bottom first.
fn layer_digests(registry: &LocalRegistry, name: &str) -> Vec<String> {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{name}", registry.host))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

/// A registry holding a two-layer image (busybox and one RUN) as `app/two:1`; the
/// RUN's layer is large enough (40 MB, random) to stream in many chunks.
fn registry_with_two_layers() -> Option<(LocalRegistry, Vec<String>)> {
    let registry = LocalRegistry::start()?;
    let source = Kiln::new();
    let dir = source.context(
        "two",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo second > /second && head -c 40000000 /dev/urandom > /noise\n",
        )],
    );
    let name = format!("{}/app/two:1", registry.host);
    source
        .cmd(&["build", "--push", "-t", &name, &dir.display().to_string()])
        .ok();
    let layers = layer_digests(&registry, "app/two:1");
    assert_eq!(layers.len(), 2);
    Some((registry, layers))
}

fn short(digest: &str) -> &str {
    &digest.trim_start_matches("sha256:")[..12]
}

#[test]
fn a_pull_leaves_its_layers_unpacked_so_run_unpacks_nothing() {
    let Some((registry, layers)) = registry_with_two_layers() else {
        return;
    };
    let kiln = Kiln::empty();
    let name = format!("{}/app/two:1", registry.host);
    let pull = kiln.cmd(&["pull", &name]).ok();
    for layer in &layers {
        let done = format!("{}: Pull complete", short(layer));
        assert!(pull.stderr.contains(&done), "{}", pull.stderr);
    }
    assert_eq!(
        kiln.snapshot_dirs(),
        2,
        "one snapshot per layer, made by the pull"
    );
    assert_eq!(kiln.run_out(&name, &["cat", "/second"]), "second\n");
    assert_eq!(kiln.snapshot_dirs(), 2, "run unpacked nothing more");
}

#[test]
fn a_pull_that_fails_half_way_keeps_the_verified_layer_and_resumes_above_it() {
    let Some((registry, layers)) = registry_with_two_layers() else {
        return;
    };
    // The registry loses the top layer's bytes.
    let top = registry.blob_data(&layers[1]);
    let hidden = top.with_extension("hidden");
    std::fs::rename(&top, &hidden).unwrap();
    let kiln = Kiln::empty();
    let name = format!("{}/app/two:1", registry.host);
    let failed = kiln.cmd(&["pull", &name]);
    assert_eq!(failed.code, 1, "{failed:?}");
    assert!(failed.stderr.contains(&layers[1]), "{}", failed.stderr);
    assert!(!kiln.cmd(&["images"]).ok().stdout.contains("app/two"));
    assert_eq!(kiln.snapshot_dirs(), 1, "the verified bottom layer is kept");
    let tmp = std::fs::read_dir(kiln.root.path().join("tmp-v1")).unwrap();
    assert_eq!(tmp.count(), 0, "temp files left behind");
    // The registry has it again: the next pull downloads only the top layer.
    std::fs::rename(&hidden, &top).unwrap();
    let pull = kiln.cmd(&["pull", &name]).ok();
    let kept = format!("{}: Already exists", short(&layers[0]));
    assert!(pull.stderr.contains(&kept), "{}", pull.stderr);
    let fetched = format!("{}: Download complete", short(&layers[1]));
    assert!(pull.stderr.contains(&fetched), "{}", pull.stderr);
    assert_eq!(kiln.snapshot_dirs(), 2);
    assert_eq!(kiln.run_out(&name, &["cat", "/second"]), "second\n");
}
