//! The store's invariants: kill -9 mid-build leaves it usable with nothing
//! half-written reused; two kiln processes share one state root.

use crate::harness::Kiln;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn kill_9_mid_run_leaves_a_usable_store_and_reuses_nothing_half_written() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "slow",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN echo partial > /partial && touch /tmp/started && sleep 60\n",
        )],
    );
    // Wait until the RUN is really running: its active snapshot holds the marker.
    let (mut child, _) = kiln.start_build_until("slow:1", &dir, "tmp/started");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // The sandbox died with kiln: no process of the step is left. Tearing the pid
    // namespace down takes a moment, longer on a loaded machine: poll for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
        if !String::from_utf8_lossy(&ps.stdout).contains("sleep 60") {
            break;
        }
        assert!(Instant::now() < deadline, "the RUN outlived kiln");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The store still works, and the killed step left no cache record.
    let ls = kiln.cmd(&["cache", "ls"]).ok().stdout;
    assert!(!ls.contains("sleep 60"), "{ls}");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox:local\nRUN test ! -e /partial && echo clean > /state\n",
    )
    .unwrap();
    kiln.build("slow:1", &dir).ok();
    assert_eq!(kiln.run_out("slow:1", &["cat", "/state"]), "clean\n");
}

#[test]
fn two_builds_share_one_state_root() {
    let kiln = Kiln::new();
    let spawn = |name: &str, n: usize| {
        let mut dockerfile = String::from("FROM busybox:local\n");
        for i in 0..n {
            dockerfile.push_str(&format!("RUN echo {name}{i} > /f{i}\n"));
        }
        let dir = kiln.context(name, &[("Dockerfile", &dockerfile)]);
        crate::harness::kiln_command()
            .args([
                "build",
                "-t",
                &format!("{name}:1"),
                &dir.display().to_string(),
            ])
            .env("KILN_ROOT", kiln.root.path())
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("a", 8));
        let b = s.spawn(|| spawn("b", 8));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert_eq!(kiln.run_out("a:1", &["cat", "/f7"]), "a7\n");
    assert_eq!(kiln.run_out("b:1", &["cat", "/f7"]), "b7\n");
    let records = kiln.cmd(&["cache", "ls"]).ok().stdout.lines().count() - 1;
    assert_eq!(records, 16, "no cache record was lost");
    let images = kiln.cmd(&["images"]).ok().stdout;
    assert!(images.contains("a ") && images.contains("b "), "{images}");
    let index = std::fs::read_to_string(kiln.content_dir().join("index.json")).unwrap();
    assert!(
        index.contains("\"a:1\"") && index.contains("\"b:1\""),
        "{index}"
    );
}
