//! A completely full disk: prune still cleans it, and a build that fills it fails
//! as the user's problem (exit 1), naming the step and the state root.

use crate::harness::{Kiln, Run, Tmpfs};

fn ls(kiln: &Kiln) -> String {
    kiln.cmd(&["cache", "ls"]).ok().stdout
}

#[test]
fn full_disk_prune_works() {
    let tmpfs = Tmpfs::new("48m");
    let kiln = Kiln::new_in(tmpfs.path());
    for (name, step) in [("old", "RUN echo old > /f"), ("new", "RUN echo new > /f")] {
        let dockerfile = format!("FROM busybox:local\n{step}\n");
        let dir = kiln.context(name, &[("Dockerfile", &dockerfile)]);
        kiln.build("t:1", &dir).ok();
    }

    tmpfs.fill();
    let out = kiln.cmd(&["cache", "prune", "-f"]).ok().stdout;
    assert!(out.contains("RUN echo old > /f"), "{out}");
    assert!(tmpfs.free() > 0, "prune freed the dangling step");
    assert!(!ls(&kiln).contains("old"));

    tmpfs.fill();
    kiln.cmd(&["cache", "prune", "--all", "-f"]).ok();
    assert_eq!(ls(&kiln).lines().count(), 1, "only the header is left");

    std::fs::remove_file(tmpfs.path().join("filler")).unwrap();
    assert_eq!(kiln.run_out("t:1", &["cat", "/f"]), "new\n");
}

/// Exit 1 (never 2), with the step and the state root in the message.
#[track_caller]
fn assert_no_space(kiln: &Kiln, run: &Run, step: &str) {
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no space left on device"),
        "{}",
        run.stderr
    );
    let root = kiln.root.path().display().to_string();
    assert!(run.stderr.contains(&root), "{}", run.stderr);
    assert!(run.stderr.contains(step), "{}", run.stderr);
}

#[test]
fn full_disk_build_exits_1_naming_the_root() {
    let tmpfs = Tmpfs::new("48m");
    let kiln = Kiln::new_in(tmpfs.path());

    // The RUN and its layer blob fit; a third copy of the (incompressible) layer,
    // the one leaving in the archive, does not.
    let bytes = tmpfs.free() * 35 / 100;
    let step = format!("RUN head -c {bytes} /dev/urandom > /big");
    let dir = kiln.context(
        "blob",
        &[("Dockerfile", &format!("FROM busybox:local\n{step}\n"))],
    );
    let out = tmpfs.path().join("out.tar");
    let output = format!("type=oci,dest={}", out.display());
    let run = kiln.cmd(&["build", "-o", &output, &dir.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("writing image"), "{}", run.stderr);
    let message = run.stderr.to_lowercase();
    assert!(
        message.contains("no space left on device"),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "a half-written archive is visible");
    kiln.cmd(&["cache", "prune", "--all", "-f"]).ok();

    // The RUN fills the disk to the last byte, and succeeds: the commit cannot write.
    let step = "RUN dd if=/dev/zero of=/big bs=1M; true";
    let dir = kiln.context(
        "commit",
        &[("Dockerfile", &format!("FROM busybox:local\n{step}\n"))],
    );
    let run = kiln.build("commit:1", &dir);
    assert_no_space(&kiln, &run, step);

    // Prune reclaims the failed step; the store works again.
    kiln.cmd(&["cache", "prune", "-f"]).ok();
    let dir = kiln.context(
        "ok",
        &[("Dockerfile", "FROM busybox:local\nRUN echo ok > /ok\n")],
    );
    kiln.build("ok:1", &dir).ok();
}
