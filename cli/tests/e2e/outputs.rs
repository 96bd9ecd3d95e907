//! Images leaving the machine: `kiln save`, `kiln build -o`, read back by real tools;
//! and a local build that compresses nothing.

use crate::harness::{Kiln, tool_available};
use std::path::Path;
use std::process::Command;

/// Runs a tool the test needs; without it the test fails under CI and is skipped elsewhere.
fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    if !tool_available(name) {
        return None;
    }
    Some(
        Command::new(name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {name}: {e}")),
    )
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
fn import_build_then_run_compress_nothing_and_a_second_save_compresses_nothing_again() {
    // Kiln::new imports busybox: that layer is stored uncompressed too.
    let kiln = Kiln::new();
    let dir = kiln.context("z", &[("Dockerfile", DOCKERFILE)]);
    kiln.build("z:1", &dir).ok();
    assert_eq!(kiln.run_out("z:1", &["cat", "/app/f"]), "hi\n");
    let mut tars = 0;
    for blob in &blobs(&kiln) {
        let data = std::fs::read(blob).unwrap();
        let tar = data.len() > 262 && &data[257..262] == b"ustar";
        tars += usize::from(tar);
        assert!(
            data.starts_with(b"{") || tar,
            "{} is neither a JSON document nor a plain tar: a layer was compressed",
            blob.display()
        );
    }
    assert_eq!(
        tars, 2,
        "both layers are in the content store, as plain tars"
    );
    let out = kiln.work.path().join("z.tar").display().to_string();
    let save = |kiln: &Kiln, extra: &[&str]| {
        let mut args = vec!["save", "-o", &out];
        args.extend_from_slice(extra);
        args.push("z:1");
        kiln.cmd(&args).ok().stderr
    };
    assert!(save(&kiln, &[]).contains("2 compressed, 0 reused"));
    assert!(save(&kiln, &[]).contains("0 compressed, 2 reused"));
    assert!(save(&kiln, &["--compression", "zstd"]).contains("2 compressed, 0 reused"));
    // Loaded layers keep their gzip blobs: reused for zstd unless forced.
    let loaded = Kiln::empty();
    save(&kiln, &[]);
    loaded.cmd(&["load", "-i", &out]).ok();
    assert!(save(&loaded, &["--compression", "zstd"]).contains("0 compressed, 2 reused"));
    let forced = save(&loaded, &["--compression", "zstd", "--force-compression"]);
    assert!(forced.contains("2 compressed, 0 reused"), "{forced}");
    let forced = save(&loaded, &["--compression", "zstd", "--force-compression"]);
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
fn pushing_without_a_name_is_refused() {
    let kiln = Kiln::new();
    let dir = kiln.context("p", &[("Dockerfile", DOCKERFILE)]);
    let dir = dir.display().to_string();
    for args in [
        vec!["build", "--push", &dir],
        vec!["build", "-o", "type=image,push=true", &dir],
    ] {
        let run = kiln.cmd(&args);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("pushing needs a name"),
            "{}",
            run.stderr
        );
    }
}

/// Sets an xattr on a host file (as root, `security.*` works too).
fn set_xattr(path: &std::path::Path, name: &str, value: &[u8]) {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: NUL-terminated strings and a valid value buffer.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
}

/// The xattrs of the files named `name` in any snapshot of `kiln`'s store.
fn snapshot_xattrs(kiln: &Kiln, name: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for snap in std::fs::read_dir(kiln.root.path().join("snapshots-v1"))
        .unwrap()
        .flatten()
    {
        let file = snap.path().join("fs").join(name);
        if !file.exists() {
            continue;
        }
        let c = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
        let mut names = vec![0u8; 4096];
        // SAFETY: a NUL-terminated path and a buffer of the given size.
        let len = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        for key in names[..len.max(0) as usize]
            .split(|b| *b == 0)
            .filter(|k| !k.is_empty())
        {
            let k = std::ffi::CString::new(key).unwrap();
            let mut value = vec![0u8; 4096];
            // SAFETY: NUL-terminated strings and a buffer of the given size.
            let n = unsafe {
                libc::lgetxattr(
                    c.as_ptr(),
                    k.as_ptr(),
                    value.as_mut_ptr().cast(),
                    value.len(),
                )
            };
            value.truncate(n.max(0) as usize);
            out.push((String::from_utf8_lossy(key).into_owned(), value));
        }
    }
    out.sort();
    out
}

#[test]
fn xattrs_survive_copy_export_and_load() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "xattrs",
        &[
            ("Dockerfile", "FROM busybox:local\nCOPY f /f\n"),
            ("f", "x"),
        ],
    );
    let capability = [
        1u8, 0, 0, 2, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    set_xattr(&dir.join("f"), "user.kiln", b"v1");
    set_xattr(&dir.join("f"), "security.capability", &capability);
    kiln.build("xa:1", &dir).ok();
    let want = vec![
        ("security.capability".to_string(), capability.to_vec()),
        ("user.kiln".to_string(), b"v1".to_vec()),
    ];
    assert_eq!(snapshot_xattrs(&kiln, "f"), want, "COPY keeps them");
    // Out through an archive (PAX headers) and back in through `kiln load`.
    let archive = kiln.work.path().join("xa.tar");
    kiln.cmd(&["save", "-o", &archive.display().to_string(), "xa:1"])
        .ok();
    let fresh = Kiln::empty();
    fresh
        .cmd(&["load", "-i", &archive.display().to_string()])
        .ok();
    assert_eq!(snapshot_xattrs(&fresh, "f"), want, "load applies them");
}

#[test]
fn podman_loads_kiln_save_output_with_the_same_config() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "pm",
        &[(
            "Dockerfile",
            "FROM busybox:local\nENV K=v\nRUN echo hi > /hi\nCMD [\"cat\", \"/hi\"]\n",
        )],
    );
    kiln.build("pm:1", &dir).ok();
    let inspect: serde_json::Value =
        serde_json::from_str(&kiln.cmd(&["inspect", "pm:1"]).ok().stdout).unwrap();
    let id = inspect[0]["Id"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    for format in ["docker", "oci"] {
        let archive = kiln.work.path().join(format!("pm-{format}.tar"));
        let archive = archive.display().to_string();
        kiln.cmd(&["save", "--format", format, "-o", &archive, "pm:1"])
            .ok();
        // A throwaway podman store of its own (vfs: no mounts needed).
        let store = tempfile::tempdir().unwrap();
        let (root, runroot) = (store.path().join("root"), store.path().join("run"));
        let podman = |args: &[&str]| {
            let mut all = vec![
                "--root".to_string(),
                root.display().to_string(),
                "--runroot".to_string(),
                runroot.display().to_string(),
                "--storage-driver".to_string(),
                "vfs".to_string(),
            ];
            all.extend(args.iter().map(|a| a.to_string()));
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            tool("podman", &all)
        };
        let Some(loaded) = podman(&["load", "-i", &archive]) else {
            return;
        };
        ok(&loaded);
        let shown = podman(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{.Config.Env}} {{.Config.Cmd}}",
            "docker.io/library/pm:1",
        ])
        .map(|o| ok(&o))
        .unwrap_or_default();
        assert_eq!(
            shown.trim(),
            format!(
                "{id} [PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin K=v] [cat /hi]"
            ),
            "{format} archive"
        );
    }
}
