//! Images leaving the machine: `kiln save`, `kiln build -o`, read back by real tools;
//! and a local build that compresses nothing.

use crate::harness::Kiln;
use std::path::Path;
use std::process::Command;

/// Runs a tool the test needs; without it the test fails under CI and is skipped elsewhere.
fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(name).args(args).output() {
        Ok(output) => Some(output),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("{name} is not installed: skipping");
            None
        }
        Err(e) => panic!("{name} must be installed (`.ci/run` installs it): {e}"),
    }
}

fn ok(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn blobs(kiln: &Kiln) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(kiln.content_dir().join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

const DOCKERFILE: &str = "FROM busybox:local\nRUN mkdir -p /app && echo hi > /app/f && ln /app/f /app/hard && ln -s f /app/sym && rm /bin/true\n";

#[test]
fn build_then_run_compresses_nothing_and_a_second_save_compresses_nothing_again() {
    let kiln = Kiln::new();
    let before = blobs(&kiln);
    let dir = kiln.context("z", &[("Dockerfile", DOCKERFILE)]);
    kiln.build("z:1", &dir).ok();
    assert_eq!(kiln.run_out("z:1", &["cat", "/app/f"]), "hi\n");
    for blob in blobs(&kiln).iter().filter(|b| !before.contains(b)) {
        let data = std::fs::read(blob).unwrap();
        assert!(
            data.starts_with(b"{"),
            "{} is not a JSON document: a layer was stored",
            blob.display()
        );
    }
    let out = kiln.work.path().join("z.tar").display().to_string();
    let save = |extra: &[&str]| {
        let mut args = vec!["save", "-o", &out];
        args.extend_from_slice(extra);
        args.push("z:1");
        kiln.cmd(&args).ok().stderr
    };
    assert!(save(&[]).contains("1 compressed, 1 reused"));
    assert!(save(&[]).contains("0 compressed, 2 reused"));
    assert!(save(&["--compression", "zstd"]).contains("1 compressed, 1 reused"));
    let forced = save(&["--compression", "zstd", "--force-compression"]);
    assert!(forced.contains("1 compressed, 1 reused"), "{forced}");
    let forced = save(&["--compression", "zstd", "--force-compression"]);
    assert!(forced.contains("0 compressed, 2 reused"), "{forced}");
}

#[test]
fn skopeo_inspects_every_archive_kiln_writes() {
    let kiln = Kiln::new();
    let dir = kiln.context("s", &[("Dockerfile", DOCKERFILE)]);
    let work = kiln.work.path();
    let path = |name: &str| work.join(name).display().to_string();
    kiln.cmd(&[
        "build",
        "-t",
        "s:1",
        "-o",
        &format!("type=oci,dest={}", path("b-oci.tar")),
        "-o",
        &format!("type=docker,dest={}", path("b-docker.tar")),
        &dir.display().to_string(),
    ])
    .ok();
    kiln.cmd(&["save", "-o", &path("s-docker.tar"), "s:1"]).ok();
    kiln.cmd(&["save", "--format", "oci", "-o", &path("s-oci.tar"), "s:1"])
        .ok();
    let zstd = ["--compression", "zstd", "--force-compression"];
    let mut args = vec!["save", "--format", "oci", "-o"];
    let zstd_path = path("s-zstd.tar");
    args.push(&zstd_path);
    args.extend_from_slice(&zstd);
    args.push("s:1");
    kiln.cmd(&args).ok();
    for (transport, file) in [
        ("oci-archive", "b-oci.tar"),
        ("docker-archive", "b-docker.tar"),
        ("docker-archive", "s-docker.tar"),
        ("oci-archive", "s-oci.tar"),
        ("oci-archive", "s-zstd.tar"),
    ] {
        let Some(output) = tool(
            "skopeo",
            &["inspect", &format!("{transport}:{}", path(file))],
        ) else {
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&ok(&output)).unwrap();
        assert_eq!(json["Layers"].as_array().unwrap().len(), 2, "{file}");
        assert_eq!(json["Os"], "linux", "{file}");
    }
}

/// Every path below `root` with its type, mode, size and content or link target.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            use std::os::unix::fs::MetadataExt;
            let what = if meta.is_dir() {
                stack.push(path.clone());
                String::new()
            } else if meta.file_type().is_symlink() {
                std::fs::read_link(&path).unwrap().display().to_string()
            } else if meta.is_file() {
                format!("{:x}", md5ish(&std::fs::read(&path).unwrap()))
            } else {
                format!("rdev {}", meta.rdev())
            };
            out.push(format!(
                "{rel} {:o} {}:{} {what}",
                meta.mode(),
                meta.uid(),
                meta.gid()
            ));
        }
    }
    out.sort();
    out
}

fn md5ish(data: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

#[test]
fn umoci_unpack_of_the_oci_output_gives_the_local_output_tree() {
    let kiln = Kiln::new();
    let dir = kiln.context("u", &[("Dockerfile", DOCKERFILE)]);
    let work = kiln.work.path();
    let archive = work.join("u.tar");
    let local = work.join("local");
    kiln.cmd(&[
        "build",
        "-t",
        "u:1",
        "-o",
        &format!("type=oci,dest={}", archive.display()),
        "-o",
        &format!("type=local,dest={}", local.display()),
        &dir.display().to_string(),
    ])
    .ok();
    let layout = work.join("layout");
    std::fs::create_dir(&layout).unwrap();
    tar::Archive::new(std::fs::File::open(&archive).unwrap())
        .unpack(&layout)
        .unwrap();
    let bundle = work.join("bundle");
    let image = format!("{}:1", layout.display());
    let Some(output) = tool(
        "umoci",
        &["unpack", "--image", &image, &bundle.display().to_string()],
    ) else {
        return;
    };
    ok(&output);
    let unpacked = tree(&bundle.join("rootfs"));
    assert!(
        unpacked
            .iter()
            .any(|l| l.starts_with("app/sym ") && l.ends_with(" f"))
    );
    assert!(!unpacked.iter().any(|l| l.starts_with("bin/true ")));
    assert_eq!(unpacked, tree(&local));
}

#[test]
fn metadata_file_iidfile_labels_and_tar_output_describe_the_build() {
    let kiln = Kiln::new();
    let dir = kiln.context("m", &[("Dockerfile", DOCKERFILE)]);
    let work = kiln.work.path();
    let (meta, iid, fs) = (work.join("m.json"), work.join("iid"), work.join("fs.tar"));
    kiln.cmd(&[
        "build",
        "-o",
        "type=image,name=m:2",
        "-o",
        &format!("type=tar,dest={}", fs.display()),
        "--label",
        "org.example=yes",
        "--metadata-file",
        &meta.display().to_string(),
        "--iidfile",
        &iid.display().to_string(),
        &dir.display().to_string(),
    ])
    .ok();
    let id = std::fs::read_to_string(&iid).unwrap();
    let short = kiln.image_id("m:2");
    assert!(
        id.trim_start_matches("sha256:").starts_with(&short),
        "{id} vs {short}"
    );
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(meta["containerimage.config.digest"], id.as_str());
    assert_eq!(
        meta["image.name"], "docker.io/library/m:2",
        "full names, as buildx writes them"
    );
    assert!(
        meta["containerimage.digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let entries = crate::image::archive_files(&std::fs::read(&fs).unwrap());
    assert_eq!(entries["app/f"], b"hi\n");
    assert!(entries.contains_key("bin/sh") && !entries.contains_key("bin/true"));
    assert!(!entries.keys().any(|k| k.contains(".wh.")));
    let config = kiln
        .content_dir()
        .join("blobs/sha256")
        .join(id.trim_start_matches("sha256:"));
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config).unwrap()).unwrap();
    assert_eq!(config["config"]["Labels"]["org.example"], "yes");
}

#[test]
fn pushing_is_refused_not_ignored() {
    let kiln = Kiln::new();
    let dir = kiln.context("p", &[("Dockerfile", DOCKERFILE)]);
    let dir = dir.display().to_string();
    for args in [
        vec!["build", "--push", "-t", "p:1", &dir],
        vec!["build", "-o", "type=image,name=p:1,push=true", &dir],
    ] {
        let run = kiln.cmd(&args);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("pushing is not supported yet"),
            "{}",
            run.stderr
        );
    }
}
