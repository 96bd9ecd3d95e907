//! `kiln tag`, `kiln rmi`, `kiln inspect` and `kiln history`, with docker's semantics
//! and output shapes.

use crate::harness::Kiln;

fn inspect(kiln: &Kiln, image: &str) -> serde_json::Value {
    let out = kiln.cmd(&["inspect", image]).ok().stdout;
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    all[0].clone()
}

#[test]
fn tag_adds_a_name_for_the_same_image() {
    let kiln = Kiln::new();
    kiln.cmd(&["tag", "busybox:local", "mine/box:2"]).ok();
    assert_eq!(kiln.image_id("mine/box:2"), kiln.image_id("busybox:local"));
    assert_eq!(kiln.run_out("mine/box:2", &["echo", "hi"]), "hi\n");
}

#[test]
fn inspect_prints_a_docker_shaped_json_array() {
    let kiln = Kiln::new();
    kiln.cmd(&["tag", "busybox:local", "box"]).ok();
    let image = inspect(&kiln, "busybox:local");
    assert_eq!(
        image["RepoTags"],
        serde_json::json!(["box:latest", "busybox:local"])
    );
    let id = image["Id"].as_str().unwrap();
    assert!(id.starts_with("sha256:"));
    let manifest = image["Descriptor"]["digest"].as_str().unwrap();
    assert_eq!(
        image["RepoDigests"],
        serde_json::json!([format!("box@{manifest}"), format!("busybox@{manifest}")])
    );
    assert_eq!(image["RootFS"]["Type"], "layers");
    assert_eq!(image["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(image["Size"].as_u64().unwrap() > 0);
    assert!(image["Created"].is_string());
    assert!(image["Config"].is_object());
    // By id prefix too, and several at once.
    let both = kiln.cmd(&["inspect", &id[7..19], "box"]).ok().stdout;
    let both: serde_json::Value = serde_json::from_str(&both).unwrap();
    assert_eq!(both.as_array().unwrap().len(), 2);
}

#[test]
fn inspect_of_a_missing_image_fails_but_prints_the_others() {
    let kiln = Kiln::new();
    let run = kiln.cmd(&["inspect", "busybox:local", "nope"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("`nope` not found"), "{}", run.stderr);
    let all: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[test]
fn history_lists_steps_newest_first_in_docker_columns() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "h",
        &[(
            "Dockerfile",
            "FROM busybox:local\nENV A=1\nRUN echo hi > /f\n",
        )],
    );
    kiln.build("h:1", &dir).ok();
    let out = kiln.cmd(&["history", "h:1"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("IMAGE"), "{out}");
    for column in ["CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert!(lines[0].contains(column), "{out}");
    }
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[1].starts_with(&kiln.image_id("h:1")), "{out}");
    assert!(lines[1].contains("RUN /bin/sh -c echo hi > /f"), "{out}");
    assert!(
        lines[2].starts_with("<missing>") && lines[2].contains("ENV A=1"),
        "{out}"
    );
    assert!(lines[3].contains("kiln import"), "{out}");
}

#[test]
fn rmi_of_one_of_several_tags_only_untags() {
    let kiln = Kiln::new();
    kiln.cmd(&["tag", "busybox:local", "other:1"]).ok();
    let run = kiln.cmd(&["rmi", "other:1"]).ok();
    assert_eq!(run.stdout, "Untagged: other:1\n");
    assert_eq!(kiln.run_out("busybox:local", &["true"]), "");
    let index = std::fs::read_to_string(kiln.content_dir().join("index.json")).unwrap();
    assert!(!index.contains("other:1"), "{index}");
}

#[test]
fn rmi_of_the_last_tag_deletes_the_image_and_prune_reclaims_its_layers() {
    let kiln = Kiln::new();
    let id = inspect(&kiln, "busybox:local")["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = kiln.cmd(&["rmi", "busybox:local"]).ok();
    assert_eq!(
        run.stdout,
        format!("Untagged: busybox:local\nDeleted: {id}\n")
    );
    let blob = kiln
        .content_dir()
        .join("blobs/sha256")
        .join(id.trim_start_matches("sha256:"));
    assert!(!blob.exists());
    assert_eq!(kiln.cmd(&["inspect", "busybox:local"]).code, 1);
    kiln.cmd(&["cache", "prune"]).ok();
    let blobs = std::fs::read_dir(kiln.content_dir().join("blobs/sha256")).unwrap();
    assert_eq!(blobs.count(), 0);
    let snapshots = kiln.snapshot_dirs();
    assert_eq!(snapshots, 0);
}

#[test]
fn rmi_by_id_with_several_tags_needs_force() {
    let kiln = Kiln::new();
    kiln.cmd(&["tag", "busybox:local", "other:1"]).ok();
    let id = kiln.image_id("busybox:local");
    let run = kiln.cmd(&["rmi", &id]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("referenced in multiple repositories"),
        "{}",
        run.stderr
    );
    let run = kiln.cmd(&["rmi", "-f", &id]).ok();
    assert!(
        run.stdout.contains("Untagged: busybox:local\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Untagged: other:1\n"), "{}", run.stdout);
    assert!(run.stdout.contains("Deleted: sha256:"), "{}", run.stdout);
    assert!(kiln.cmd(&["images"]).ok().stdout.lines().count() == 1);
}

#[test]
fn rmi_refuses_an_image_a_container_uses_unless_forced() {
    let kiln = Kiln::new();
    kiln.cmd(&["run", "busybox:local", "true"]).ok();
    let run = kiln.cmd(&["rmi", "busybox:local"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("conflict") && run.stderr.contains("container"),
        "{}",
        run.stderr
    );
    assert_eq!(kiln.run_out("busybox:local", &["true"]), "");
    kiln.cmd(&["rmi", "-f", "busybox:local"]).ok();
    assert_eq!(kiln.cmd(&["inspect", "busybox:local"]).code, 1);
}

#[test]
fn rmi_force_of_an_image_a_container_uses_keeps_it_through_prune() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "app",
        &[("Dockerfile", "FROM busybox:local\nRUN echo kept > /f\n")],
    );
    kiln.build("app:1", &dir).ok();
    let id = kiln.image_id("app:1");
    // A container kept after it exits (no `--rm`) stays recorded.
    let run = kiln.cmd(&["run", "app:1", "cat", "/f"]).ok();
    assert_eq!(run.stdout, "kept\n");
    let containers = kiln.root.path().join("containers-v1");
    let container = std::fs::read_dir(&containers)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // As docker: forced, the image loses its tag but stays, dangling, for its container.
    let run = kiln.cmd(&["rmi", "-f", "app:1"]).ok();
    assert_eq!(run.stdout, "Untagged: app:1\n");
    assert_eq!(kiln.cmd(&["inspect", "app:1"]).code, 1);
    let snapshots = kiln.snapshot_dirs();
    kiln.cmd(&["cache", "prune"]).ok();
    assert_eq!(
        kiln.snapshot_dirs(),
        snapshots,
        "prune kept the container's image"
    );
    let blobs = kiln.content_dir().join("blobs/sha256");
    assert!(
        std::fs::read_dir(&blobs)
            .unwrap()
            .any(|b| { b.unwrap().file_name().to_string_lossy().starts_with(&id) })
    );
    // Its steps are still cached: the same build gives the same image without running.
    let again = kiln.build("app:2", &dir).ok();
    assert_eq!(again.status_of("[2/2]"), "CACHED", "{}", again.stderr);
    assert_eq!(kiln.image_id("app:2"), id);
    kiln.cmd(&["rmi", "-f", "app:2"]).ok();
    // Once the container is gone, prune reclaims what only it needed.
    std::fs::remove_dir_all(container).unwrap();
    kiln.cmd(&["cache", "prune"]).ok();
    assert_eq!(kiln.snapshot_dirs(), snapshots - 1, "busybox only");
}
