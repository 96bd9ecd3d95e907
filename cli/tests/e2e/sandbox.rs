//! The sandbox as a boundary: host files stay invisible, PID namespace is private,
//! writes stay in the container's layer.

use crate::harness::Kiln;

#[test]
fn run_step_cannot_see_host_files_and_has_its_own_pid_namespace() {
    let kiln = Kiln::new();
    let marker = std::env::temp_dir().join(format!("kiln-host-marker-{}", std::process::id()));
    std::fs::write(&marker, "secret").unwrap();
    let dockerfile = format!(
        "FROM busybox:local\n\
         RUN if test -e {m}; then echo visible; else echo hidden; fi > /marker && echo $$ > /pid && ls /proc | grep -c '^[0-9]' > /nprocs\n",
        m = marker.display()
    );
    let dir = kiln.context("iso", &[("Dockerfile", &dockerfile)]);
    kiln.build("iso:1", &dir).ok();
    let out = kiln.run_out("iso:1", &["cat", "/marker", "/pid", "/nprocs"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "hidden",
        "the host marker leaked into the sandbox"
    );
    assert_eq!(lines[1], "1", "the RUN shell is PID 1 of its own namespace");
    let nprocs: u32 = lines[2].parse().unwrap();
    assert!(
        nprocs <= 3,
        "only the step's own processes are visible, saw {nprocs}"
    );
    std::fs::remove_file(marker).unwrap();
}

#[test]
fn run_container_is_pid_1_and_sees_no_host_processes() {
    let kiln = Kiln::new();
    let out = kiln.run_out(
        "busybox:local",
        &["sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    assert!(lines[1].parse::<u32>().unwrap() <= 3, "{out}");
}

#[test]
fn builds_leave_no_mounts_behind() {
    let count = || {
        std::fs::read_to_string("/proc/self/mounts")
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("overlay "))
            .count()
    };
    let before = count();
    let kiln = Kiln::new();
    let dir = kiln.context(
        "m",
        &[("Dockerfile", "FROM busybox:local\nWORKDIR /w\nRUN true\n")],
    );
    kiln.build("m:1", &dir).ok();
    kiln.run_out("m:1", &["true"]);
    assert_eq!(count(), before);
}
