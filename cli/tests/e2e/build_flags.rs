//! `docker build`'s flags for RUN steps and the cache: `--no-cache-filter`, `--add-host`,
//! `--shm-size`, `--ulimit`.

use crate::harness::{Kiln, Run};
use std::path::Path;

/// `kiln build --progress plain -t TAG FLAGS… DIR`.
fn build_with(kiln: &Kiln, tag: &str, dir: &Path, flags: &[&str]) -> Run {
    let dir = dir.display().to_string();
    let mut args = vec!["build", "--progress", "plain", "-t", tag];
    args.extend_from_slice(flags);
    args.push(&dir);
    kiln.cmd(&args)
}

fn cat(kiln: &Kiln, image: &str, path: &str) -> String {
    kiln.run_out(image, &["cat", path])
}

#[test]
fn no_cache_filter_reruns_only_the_named_stages() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "stages",
        &[
            (
                "Dockerfile",
                "FROM busybox:local AS base\nRUN echo base > /base\nCOPY a.txt /a\n\
                 FROM base AS App\nWORKDIR /w\nRUN echo app > /app\nCOPY a.txt /b\n",
            ),
            ("a.txt", "a\n"),
        ],
    );
    build_with(&kiln, "app:1", &dir, &[]).ok();
    let run = build_with(&kiln, "app:1", &dir, &["--no-cache-filter", "app"]).ok();
    assert_eq!(run.status_of("RUN echo base"), "CACHED", "{}", run.stderr);
    assert_eq!(run.status_of("COPY a.txt /a"), "CACHED", "{}", run.stderr);
    // As BuildKit: RUN, COPY and ADD rerun; WORKDIR's mkdir may hit.
    assert!(
        run.status_of("RUN echo app").starts_with("DONE"),
        "{}",
        run.stderr
    );
    assert!(
        run.status_of("COPY a.txt /b").starts_with("DONE"),
        "{}",
        run.stderr
    );
    assert_eq!(run.status_of("WORKDIR /w"), "CACHED", "{}", run.stderr);
    // A comma list names several.
    let run = build_with(&kiln, "app:1", &dir, &["--no-cache-filter=base,other"]).ok();
    assert!(
        run.status_of("RUN echo base").starts_with("DONE"),
        "{}",
        run.stderr
    );
    assert_eq!(run.status_of("RUN echo app"), "CACHED", "{}", run.stderr);
    assert_eq!(cat(&kiln, "app:1", "/app"), "app\n");
}

#[test]
fn add_host_entries_reach_run_steps_and_their_key() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "hosts",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN cat /etc/hosts > /hosts\n",
        )],
    );
    let flags = ["--add-host", "db:10.1.2.3", "--add-host=v6:::1"];
    build_with(&kiln, "hosts:1", &dir, &flags).ok();
    let hosts = cat(&kiln, "hosts:1", "/hosts");
    assert!(
        hosts.ends_with("ip6-loopback\n10.1.2.3\tdb\n::1\tv6\n"),
        "{hosts:?}"
    );
    // Another host is another step, as in BuildKit's ExecOp.
    let run = build_with(&kiln, "hosts:2", &dir, &["--add-host", "db:10.9.9.9"]).ok();
    assert!(
        run.status_of("RUN cat").starts_with("DONE"),
        "{}",
        run.stderr
    );
    assert!(cat(&kiln, "hosts:2", "/hosts").ends_with("10.9.9.9\tdb\n"));
    let run = build_with(&kiln, "hosts:3", &dir, &["--add-host", "db"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad format for add-host: `db`"),
        "{}",
        run.stderr
    );
}

#[test]
fn shm_size_sets_the_size_of_dev_shm() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "shm",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN df -k /dev/shm | tail -n 1 | awk '{print $2}' > /shm\n",
        )],
    );
    build_with(&kiln, "shm:1", &dir, &[]).ok();
    assert_eq!(cat(&kiln, "shm:1", "/shm"), "65536\n");
    build_with(&kiln, "shm:2", &dir, &["--shm-size", "2m"]).ok();
    assert_eq!(cat(&kiln, "shm:2", "/shm"), "2048\n");
    let run = build_with(&kiln, "shm:3", &dir, &["--shm-size", "12q"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("invalid size: `12q`"), "{}", run.stderr);
}

#[test]
fn ulimit_limits_run_steps_and_refuses_what_the_host_cannot_grant() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "ulimit",
        &[(
            "Dockerfile",
            "FROM busybox:local\nRUN ulimit -Sn > /soft && ulimit -Hn > /hard\n",
        )],
    );
    build_with(&kiln, "ul:1", &dir, &["--ulimit", "nofile=1024:2048"]).ok();
    assert_eq!(cat(&kiln, "ul:1", "/soft"), "1024\n");
    assert_eq!(cat(&kiln, "ul:1", "/hard"), "2048\n");
    // Beyond fs.nr_open no process may raise its limit, whatever its capabilities.
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let too_high = format!("nofile=1024:{}", nr_open + 1);
    let run = build_with(&kiln, "ul:2", &dir, &["--ulimit", &too_high]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("set the ulimit {too_high}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Operation not permitted"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for (flag, message) in [
        ("bogus=1", "invalid ulimit type: `bogus`"),
        (
            "nofile=2:1",
            "soft limit must be less than or equal to hard limit",
        ),
    ] {
        let run = build_with(&kiln, "ul:3", &dir, &["--ulimit", flag]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains(message), "{}", run.stderr);
    }
}
