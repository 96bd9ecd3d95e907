//! The images kiln writes: OCI layout, layers with whiteouts, read by real tools.

use crate::harness::Kiln;
use std::io::Read;

/// The manifest of a tagged image and a blob reader, from the OCI layout as a tool would.
fn manifest(kiln: &Kiln, name: &str) -> (serde_json::Value, impl Fn(&str) -> std::path::PathBuf) {
    let content = kiln.content_dir();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(content.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == name)
        .unwrap_or_else(|| panic!("{name} not in index.json"))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = move |d: &str| {
        content
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&manifest_digest)).unwrap()).unwrap();
    (manifest, blob)
}

/// The image config of a tagged image.
pub fn config(kiln: &Kiln, name: &str) -> serde_json::Value {
    let (manifest, blob) = manifest(kiln, name);
    let digest = manifest["config"]["digest"].as_str().unwrap();
    serde_json::from_slice(&std::fs::read(blob(digest)).unwrap()).unwrap()
}

/// The files of a tar archive by path.
pub fn archive_files(archive: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    tar::Archive::new(archive)
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (path, data)
        })
        .collect()
}

/// The layers (uncompressed tars) of the first image of an OCI archive (gzip layers).
pub fn oci_archive_layers(archive: &[u8]) -> Vec<Vec<u8>> {
    let files = archive_files(archive);
    let json = |path: &str| -> serde_json::Value {
        serde_json::from_slice(files.get(path).unwrap_or_else(|| panic!("no {path}"))).unwrap()
    };
    let blob = |d: &serde_json::Value| format!("blobs/{}", d.as_str().unwrap().replace(':', "/"));
    let manifest = json(&blob(&json("index.json")["manifests"][0]["digest"]));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(
                l["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
            let mut data = Vec::new();
            flate2::read::MultiGzDecoder::new(&files[&blob(&l["digest"])][..])
                .read_to_end(&mut data)
                .unwrap();
            data
        })
        .collect()
}

/// The layers of a tagged image as they leave the machine (`kiln save --format oci`).
fn layers(kiln: &Kiln, name: &str) -> Vec<Vec<u8>> {
    let path = kiln
        .work
        .path()
        .join(format!("{}.tar", name.replace(':', "_")));
    let out = path.display().to_string();
    kiln.cmd(&["save", "--format", "oci", "-o", &out, name])
        .ok();
    oci_archive_layers(&std::fs::read(&path).unwrap())
}

fn tar_entries(data: &[u8]) -> Vec<String> {
    tar::Archive::new(data)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn deleted_file_is_absent_and_its_layer_has_a_whiteout() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "wh",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo x > /gone && echo y > /kept\nRUN rm /gone\n",
        )],
    );
    kiln.build("wh:1", &dir).ok();
    let out = kiln.run_out(
        "wh:1",
        &[
            "sh",
            "-c",
            "cat /kept; test -e /gone && echo present || echo absent",
        ],
    );
    assert_eq!(out, "y\nabsent\n");
    let layers = layers(&kiln, "wh:1");
    assert_eq!(layers.len(), 3, "busybox + two RUN layers");
    assert_eq!(tar_entries(&layers[2]), [".wh.gone"]);
    assert!(tar_entries(&layers[1]).contains(&"gone".to_string()));
}

#[test]
fn skopeo_reads_the_image_layout() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "sk",
        &[(
            "Dockerfile",
            "FROM busybox:local\nENV K=v\nRUN touch /f\nCMD [\"sh\"]\n",
        )],
    );
    kiln.build("sk:1", &dir).ok();
    let output = std::process::Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:sk:1", kiln.content_dir().display()))
        .output()
        .expect("skopeo must be installed (`.ci/run` installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["Layers"].as_array().unwrap().len(), 2);
    assert!(json["Env"].as_array().unwrap().iter().any(|e| e == "K=v"));
    assert_eq!(json["Os"], "linux");
}

#[test]
fn images_lists_built_and_imported_images() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "im",
        &[("Dockerfile", "FROM busybox:local\nRUN touch /x\n")],
    );
    kiln.build("app:1", &dir).ok();
    let out = kiln.cmd(&["images"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains("IMAGE ID") && lines[0].contains("CREATED") && lines[0].contains("SIZE")
    );
    assert!(
        lines[1].starts_with("app ") && lines[1].contains(" 1 "),
        "{out}"
    );
    assert!(
        lines[2].starts_with("busybox ") && lines[2].contains("local"),
        "{out}"
    );
    assert!(lines[2].contains("MB"), "{out}");
}

#[test]
fn config_only_instructions_are_written_like_docker() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "conf",
        &[(
            "Dockerfile",
            "FROM busybox:local\n\
             MAINTAINER Jane <jane@example.com>\n\
             ARG P=9000\n\
             EXPOSE $P 7000-7001/udp\n\
             VOLUME [\"/data\", \"/logs\"]\n\
             STOPSIGNAL SIGINT\n\
             HEALTHCHECK --interval=30s --retries=2 CMD wget -q localhost\n\
             SHELL [\"/bin/busybox\", \"sh\", \"-c\"]\n\
             RUN echo \"$0\" > /shell\n\
             CMD echo \"$0\"\n",
        )],
    );
    kiln.build("conf:1", &dir).ok();
    let c = config(&kiln, "conf:1");
    assert_eq!(c["author"], "Jane <jane@example.com>");
    let ports: Vec<&String> = c["config"]["ExposedPorts"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(ports, ["7000/udp", "7001/udp", "9000/tcp"]);
    let volumes: Vec<&String> = c["config"]["Volumes"].as_object().unwrap().keys().collect();
    assert_eq!(volumes, ["/data", "/logs"]);
    assert_eq!(c["config"]["StopSignal"], "SIGINT");
    assert_eq!(
        c["config"]["Healthcheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "wget -q localhost"])
    );
    assert_eq!(c["config"]["Healthcheck"]["Interval"], 30_000_000_000u64);
    assert_eq!(c["config"]["Healthcheck"]["Retries"], 2);
    assert_eq!(
        c["config"]["Shell"],
        serde_json::json!(["/bin/busybox", "sh", "-c"])
    );
    // SHELL changes how later shell forms run, for RUN and for CMD.
    assert_eq!(
        c["config"]["Cmd"],
        serde_json::json!(["/bin/busybox", "sh", "-c", "echo \"$0\""])
    );
    assert_eq!(kiln.run_out("conf:1", &["cat", "/shell"]), "sh\n");
}

/// The history entries a build added: `(created_by, comment, empty_layer)`.
fn history(kiln: &Kiln, name: &str) -> Vec<(String, String, bool)> {
    config(kiln, name)["history"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1) // busybox's own entry
        .map(|h| {
            (
                h["created_by"].as_str().unwrap().to_string(),
                h["comment"].as_str().unwrap().to_string(),
                h["empty_layer"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn history_entries_read_like_buildkits() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "hist",
        &[
            (
                "Dockerfile",
                "FROM busybox:local\n\
                 ARG A=1\n\
                 ARG B\n\
                 ARG DEST=/d\n\
                 RUN echo $A > /a\n\
                 ENV E=env\n\
                 COPY --chown=1:2 f ${DEST}/\n\
                 WORKDIR /w\n\
                 WORKDIR sub\n\
                 WORKDIR /\n\
                 EXPOSE 80 53/udp\n\
                 CMD [\"run\"]\n",
            ),
            ("f", "file"),
        ],
    );
    kiln.cmd(&[
        "build",
        "--progress",
        "plain",
        "--build-arg",
        "B=cli",
        "-t",
        "hist:1",
        &dir.display().to_string(),
    ])
    .ok();
    let step = |by: &str, empty| (by.to_string(), "buildkit.dockerfile.v0".to_string(), empty);
    assert_eq!(
        history(&kiln, "hist:1"),
        [
            step("ARG A=1", true),
            step("ARG B", true),
            step("ARG DEST=/d", true),
            step(
                "RUN |3 A=1 B=cli DEST=/d /bin/sh -c echo $A > /a # buildkit",
                false
            ),
            step("ENV E=env", true),
            step("COPY --chown=1:2 f /d/ # buildkit", false),
            step("WORKDIR /w", false),
            step("WORKDIR /w/sub", false),
            step("WORKDIR /", true),
            step("EXPOSE map[53/udp:{} 80/tcp:{}]", true),
            step("CMD [\"run\"]", true),
        ]
    );
}

#[test]
fn a_step_that_changes_nothing_still_has_a_layer() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "nochange",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN true\nRUN true\nWORKDIR /tmp\n",
        )],
    );
    kiln.build("nochange:1", &dir).ok();
    let c = config(&kiln, "nochange:1");
    let diff_ids = c["rootfs"]["diff_ids"].as_array().unwrap();
    // As BuildKit: busybox's layer; the first RUN's, holding the /dev, /proc and /sys
    // mount points busybox lacks; then the empty tar for each step that changed nothing.
    let empty = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
    assert_eq!(diff_ids.len(), 4, "{c}");
    assert_ne!(diff_ids[1], empty);
    assert_eq!(diff_ids[2], empty);
    assert_eq!(diff_ids[3], empty);
    let out = kiln.cmd(&["history", "nochange:1"]).ok().stdout;
    assert_eq!(out.lines().count(), 5, "{out}");
}

#[test]
fn a_scratch_image_of_config_steps_is_dated_now_or_at_source_date_epoch() {
    let kiln = Kiln::new();
    let dir = kiln.context("conf", &[("Dockerfile", "FROM scratch\nENV X=1\n")]);
    kiln.build("conf:1", &dir).ok();
    let created = config(&kiln, "conf:1")["created"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!created.starts_with("1970"), "{created}");
    assert!(created.as_str() >= "2025", "{created}");
    kiln.cmd_env(
        &[
            "build",
            "--progress",
            "plain",
            "-t",
            "conf:2",
            &dir.display().to_string(),
        ],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    )
    .ok();
    let c = config(&kiln, "conf:2");
    assert_eq!(c["created"], "2023-11-14T22:13:20Z");
    assert_eq!(c["history"][0]["created"], "2023-11-14T22:13:20Z");
}

#[test]
fn source_date_epoch_gives_identical_images_and_oci_archives_across_state_roots() {
    let epoch = [("SOURCE_DATE_EPOCH", "1700000000")];
    let tar = std::env::temp_dir().join(format!("kiln-sde-{}.tar", std::process::id()));
    let script = crate::harness::testdata().join("make-busybox-rootfs.sh");
    assert!(
        std::process::Command::new(script)
            .arg(&tar)
            .status()
            .unwrap()
            .success()
    );
    let build = |name: &str| {
        let kiln = Kiln::empty();
        kiln.cmd_env(
            &["import", &tar.display().to_string(), "busybox:local"],
            &epoch,
        )
        .ok();
        let dir = kiln.context(
            name,
            &[(
                "Dockerfile",
                "FROM busybox:local\nRUN mkdir /out && echo same > /out/f\nENV X=1\n",
            )],
        );
        let archive = kiln.work.path().join("image.tar");
        let output = format!("type=oci,dest={}", archive.display());
        let args = [
            "build",
            "-t",
            "r:1",
            "-o",
            &output,
            &dir.display().to_string(),
        ];
        kiln.cmd_env(&args, &epoch).ok();
        let (manifest, _) = manifest(&kiln, "r:1");
        let archive = std::fs::read(archive).unwrap();
        (kiln.image_id("r:1"), manifest["layers"].clone(), archive)
    };
    let first = build("one");
    // Another second, another machine's paths: the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build("two");
    std::fs::remove_file(&tar).unwrap();
    assert_eq!(first.1, second.1, "layers differ");
    assert_eq!(first.0, second.0, "image ids differ");
    assert!(first.2 == second.2, "the OCI archives differ");
}

#[test]
fn references_read_like_docker_and_images_shows_short_names() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "refs",
        &[("Dockerfile", "FROM busybox:local\nRUN echo ref > /r\n")],
    );
    let ctx = dir.display().to_string();
    kiln.cmd(&[
        "build",
        "-t",
        "app",
        "-t",
        "localhost:5000/team/app:2",
        "-t",
        "docker.io/user/tool:v1",
        &ctx,
    ])
    .ok();
    let images = kiln.cmd(&["images"]).ok().stdout;
    for (repo, tag) in [
        ("app", "latest"),
        ("localhost:5000/team/app", "2"),
        ("user/tool", "v1"),
        ("busybox", "local"),
    ] {
        assert!(
            images.lines().any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.first() == Some(&repo) && cols.get(1) == Some(&tag)
            }),
            "{repo}:{tag} missing in\n{images}"
        );
    }
    // The same image under docker's equivalent spellings, and pinned by its manifest digest.
    for name in [
        "app:latest",
        "docker.io/library/app",
        "docker.io/user/tool:v1",
    ] {
        assert_eq!(kiln.run_out(name, &["cat", "/r"]), "ref\n", "{name}");
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(kiln.content_dir().join("index.json")).unwrap())
            .unwrap();
    let digest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "app:latest")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        kiln.run_out(&format!("app@{digest}"), &["cat", "/r"]),
        "ref\n"
    );
    assert_eq!(
        kiln.run_out(&format!("app:whatever@{digest}"), &["cat", "/r"]),
        "ref\n"
    );
    let other = kiln.cmd(&["run", "--rm", &format!("busybox@{digest}"), "true"]);
    assert_eq!(
        other.code, 1,
        "a digest of another repository: {}",
        other.stderr
    );
    let pinned_tag = kiln.cmd(&["build", "-t", &format!("app@{digest}"), &ctx]);
    assert_eq!(pinned_tag.code, 1, "{}", pinned_tag.stderr);
}
