//! Regression tests for the holes hostile testing found in the sandbox (issue 6, items 1–4):
//! host devices, the host's keyrings, a uid that means root, and the host's network.
//! Each runs as a RUN step and under `kiln run`.

use std::path::Path;
use std::process::Command;

use crate::harness::{Kiln, testdata};

/// Tries to open each path read-write and prints `PATH open` or `PATH denied: ERROR`.
const TRY_OPEN: &str = "for d in /blk /kvm /fuse /dev/null; do \
     if err=$( (exec 3<>$d) 2>&1); then echo \"$d open\"; else echo \"$d denied: $err\"; fi; \
     done";

fn assert_only_dev_null_opens(out: &str, backend: &str) {
    for dev in ["/blk", "/kvm", "/fuse"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{dev} ")))
            .unwrap_or_else(|| panic!("no result for {dev} in {out}"));
        assert!(
            line.contains("denied") && line.contains("Operation not permitted"),
            "{backend}: {dev} must not be openable: {line}"
        );
    }
    assert!(out.contains("/dev/null open"), "{backend}: {out}");
}

/// The busybox rootfs tarball plus device nodes for loop0, kvm and fuse.
fn device_layer_tar(path: &Path) {
    let busybox = path.with_extension("busybox.tar");
    let status = Command::new(testdata().join("make-busybox-rootfs.sh"))
        .arg(&busybox)
        .status()
        .unwrap();
    assert!(status.success());
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut base = tar::Archive::new(std::fs::File::open(&busybox).unwrap());
    for entry in base.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        builder.append(&header, &mut entry).unwrap();
    }
    for (name, kind, major, minor) in [
        ("blk", tar::EntryType::Block, 7, 0),
        ("kvm", tar::EntryType::Char, 10, 232),
        ("fuse", tar::EntryType::Char, 10, 229),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(0o666);
        header.set_size(0);
        header.set_device_major(major).unwrap();
        header.set_device_minor(minor).unwrap();
        header.set_cksum();
        builder
            .append_data(&mut header, name, std::io::empty())
            .unwrap();
    }
    builder.finish().unwrap();
}

fn host_devices_are_unreachable_with(backend: &str) {
    let kiln = Kiln::new();
    let dockerfile = format!(
        "FROM busybox:local\n\
         RUN mknod /blk b 7 0 && mknod /kvm c 10 232 && mknod /fuse c 10 229\n\
         RUN {TRY_OPEN} > /result\n"
    );
    let dir = kiln.context("dev", &[("Dockerfile", &dockerfile)]);
    let flag = format!("--devices-cgroup={backend}");
    let ctx = dir.display().to_string();
    kiln.cmd(&["build", &flag, "-t", "dev:1", &ctx]).ok();
    // Nodes made by a RUN, checked in the next RUN (they came in a layer).
    let built = kiln
        .cmd(&["run", "--rm", &flag, "dev:1", "cat", "/result"])
        .ok();
    assert_only_dev_null_opens(&built.stdout, backend);
    // The same nodes under `kiln run`.
    let run = kiln
        .cmd(&["run", "--rm", &flag, "dev:1", "sh", "-c", TRY_OPEN])
        .ok();
    assert_only_dev_null_opens(&run.stdout, backend);
    // Nodes that arrive in an imported image layer.
    let tar = kiln.work.path().join("devices.tar");
    device_layer_tar(&tar);
    kiln.cmd(&["import", &tar.display().to_string(), "devs:1"])
        .ok();
    let script = format!("cd / && {TRY_OPEN}");
    let dockerfile = format!("FROM devs:1\nRUN {script} > /result\n");
    let dir = kiln.context("devs", &[("Dockerfile", &dockerfile)]);
    kiln.cmd(&["build", &flag, "-t", "devs:2", &dir.display().to_string()])
        .ok();
    let out = kiln
        .cmd(&["run", "--rm", &flag, "devs:2", "cat", "/result"])
        .ok();
    assert_only_dev_null_opens(&out.stdout, backend);
}

#[test]
fn host_devices_reachable_v1_devices_controller() {
    host_devices_are_unreachable_with("v1");
}

#[test]
fn host_devices_reachable_v2_bpf_program() {
    host_devices_are_unreachable_with("v2");
}

#[test]
fn host_devices_reachable_auto_is_the_default() {
    let kiln = Kiln::new();
    let out = kiln
        .cmd(&[
            "run",
            "--rm",
            "busybox:local",
            "sh",
            "-c",
            &format!("mknod /blk b 7 0; mknod /kvm c 10 232; mknod /fuse c 10 229; {TRY_OPEN}"),
        ])
        .ok();
    assert_only_dev_null_opens(&out.stdout, "auto");
}

/// `keyctl(KEYCTL_…)` and `add_key` from the host side, on root's user keyring.
mod keyring {
    const KEYCTL_SEARCH: libc::c_long = 10;
    const KEYCTL_UNLINK: libc::c_long = 9;
    const KEY_SPEC_USER_KEYRING: libc::c_long = -4;

    pub fn add(name: &str) -> libc::c_long {
        let name = std::ffi::CString::new(name).unwrap();
        // SAFETY: plain syscall with NUL-terminated strings and a valid payload.
        unsafe {
            libc::syscall(
                libc::SYS_add_key,
                c"user".as_ptr(),
                name.as_ptr(),
                b"secret".as_ptr(),
                6usize,
                KEY_SPEC_USER_KEYRING,
            )
        }
    }

    pub fn find(name: &str) -> Option<libc::c_long> {
        let name = std::ffi::CString::new(name).unwrap();
        // SAFETY: plain syscall with NUL-terminated strings.
        let id = unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_SEARCH,
                KEY_SPEC_USER_KEYRING,
                c"user".as_ptr(),
                name.as_ptr(),
                0,
            )
        };
        (id >= 0).then_some(id)
    }

    pub fn unlink(id: libc::c_long) {
        // SAFETY: plain syscall on key ids.
        unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_UNLINK, id, KEY_SPEC_USER_KEYRING) };
    }
}

/// Builds `testdata/probes/keyring.c` as a static binary into `dir`.
fn build_keyring_probe(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(dir.join("keyring"))
        .arg(testdata().join("probes/keyring.c"))
        .status()
        .expect("run cc (apt-get install gcc libc6-dev)");
    assert!(status.success(), "cc -static failed");
}

#[test]
fn host_keyrings_reachable_seccomp_blocks_them() {
    let kiln = Kiln::new();
    let pid = std::process::id();
    let (secret, planted) = (format!("kiln-secret-{pid}"), format!("kiln-planted-{pid}"));
    let id = keyring::add(&secret);
    assert!(id >= 0, "could not add a host key");
    let dir = kiln.work.path().join("keys");
    build_keyring_probe(&dir);
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM busybox:local\nCOPY keyring /keyring\n\
             RUN /keyring {secret} {planted}-run\n\
             RUN grep -E '^(Seccomp|CapEff):' /proc/self/status > /status; \
                 unshare -Urm true 2>/dev/null && echo unshare-allowed >> /status || true\n"
        ),
    )
    .unwrap();
    let built = kiln.build("keys:1", &dir);
    let run = kiln.cmd(&[
        "run",
        "--rm",
        "keys:1",
        "/keyring",
        &secret,
        &format!("{planted}-ctr"),
    ]);
    let status = kiln
        .cmd(&["run", "--rm", "keys:1", "cat", "/status"])
        .stdout;
    let ctr_status = kiln
        .cmd(&[
            "run",
            "--rm",
            "keys:1",
            "sh",
            "-c",
            "grep -E '^(Seccomp|CapEff):' /proc/self/status; unshare -Urm true 2>/dev/null && echo unshare-allowed",
        ])
        .stdout;
    let leaked = [format!("{planted}-run"), format!("{planted}-ctr")]
        .iter()
        .filter_map(|name| keyring::find(name))
        .collect::<Vec<_>>();
    keyring::unlink(id);
    leaked.iter().for_each(|id| keyring::unlink(*id));
    built.ok();
    assert_eq!(
        run.code, 0,
        "kiln run reached the host keyring: {}",
        run.stdout
    );
    assert!(leaked.is_empty(), "a sandbox planted a key the host sees");
    for out in [&status, &ctr_status] {
        assert!(out.contains("Seccomp:\t2"), "{out}");
        assert!(out.contains("CapEff:\t00000000a80425fb"), "{out}");
        assert!(!out.contains("unshare-allowed"), "{out}");
    }
}

#[test]
fn uid_that_means_root_is_refused_everywhere() {
    let kiln = Kiln::new();
    let message = "uids and gids must be in range 0-2147483647";
    let cases = [
        ("user", "FROM busybox:local\nUSER 4294967295\nRUN id\n"),
        ("group", "FROM busybox:local\nUSER 0:4294967295\nRUN id\n"),
        (
            "passwd",
            "FROM busybox:local\nRUN echo 'evil:x:4294967295:0::/:/bin/sh' >> /etc/passwd\nUSER evil\nRUN id\n",
        ),
        (
            "chown",
            "FROM busybox:local\nCOPY --chown=4294967295 Dockerfile /f\n",
        ),
    ];
    for (name, dockerfile) in cases {
        let dir = kiln.context(name, &[("Dockerfile", dockerfile)]);
        let out = kiln.build(&format!("{name}:1"), &dir);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{name}: {}", out.stderr);
    }
    let run = kiln.cmd(&["run", "--rm", "-u", "4294967295", "busybox:local", "id"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert!(!run.stdout.contains("uid=0"), "{}", run.stdout);
}

/// An abstract unix socket on the host, visible in `/proc/net/unix` of the host's network
/// namespace only.
fn host_abstract_socket() -> (std::os::unix::net::UnixListener, String) {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("kiln-abstract-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
    (
        std::os::unix::net::UnixListener::bind_addr(&addr).unwrap(),
        name,
    )
}

const NET_PROBE: &str =
    "{ ls /sys/class/net | tr '\\n' ' '; echo; grep -c ABSTRACT /proc/net/unix || true; }";

fn net_probe(abstract_name: &str) -> String {
    NET_PROBE.replace("ABSTRACT", abstract_name)
}

#[test]
fn abstract_sockets_and_raw_packets_default_network_is_private() {
    let kiln = Kiln::new();
    let (_listener, name) = host_abstract_socket();
    let probe = net_probe(&name);
    let dir = kiln.context(
        "net",
        &[(
            "Dockerfile",
            &format!("FROM busybox:local\nRUN {probe} > /net\n"),
        )],
    );
    kiln.build("net:1", &dir).ok();
    let built = kiln.run_out("net:1", &["cat", "/net"]);
    let ran = kiln.run_out("busybox:local", &["sh", "-c", &probe]);
    for out in [&built, &ran] {
        assert_eq!(
            out, "lo tap0 \n0\n",
            "the default network must be private: {out}"
        );
    }
    // Control: the host network sees the socket, so the probe does detect it.
    let host = kiln
        .cmd(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox:local",
            "sh",
            "-c",
            &probe,
        ])
        .ok()
        .stdout;
    assert!(host.ends_with("\n1\n"), "{host}");
}

#[test]
fn abstract_sockets_and_raw_packets_run_network_host_needs_allow() {
    let kiln = Kiln::new();
    let (_listener, name) = host_abstract_socket();
    let dockerfile =
        format!("FROM busybox:local\nRUN --network=host grep -c {name} /proc/net/unix > /seen\n");
    let dir = kiln.context("nethost", &[("Dockerfile", &dockerfile)]);
    let ctx = dir.display().to_string();
    let refused = kiln.cmd(&["build", "-t", "nh:1", &ctx]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--allow network.host"),
        "{}",
        refused.stderr
    );
    kiln.cmd(&["build", "--allow", "network.host", "-t", "nh:1", &ctx])
        .ok();
    assert_eq!(kiln.run_out("nh:1", &["cat", "/seen"]), "1\n");
    let unknown = kiln.cmd(&["build", "--allow", "network.everything", &ctx]);
    assert_ne!(unknown.code, 0);
}

/// A test host: a network namespace of the test's own, joined to the host by a veth pair,
/// serving `hello` over HTTP with busybox httpd. Removed on drop.
struct TestHost {
    netns: String,
    server: std::process::Child,
}

const TEST_HOST_ADDR: &str = "10.213.7.2";

impl TestHost {
    fn start() -> Self {
        let pid = std::process::id();
        let netns = format!("kiln-th-{pid}");
        let (outer, inner) = (
            format!("kth{}a", pid % 100_000),
            format!("kth{}b", pid % 100_000),
        );
        let ip = |args: &str| {
            let status = Command::new("ip")
                .args(args.split_whitespace())
                .status()
                .expect("run ip (apt-get install iproute2)");
            assert!(status.success(), "ip {args}");
        };
        ip(&format!("netns add {netns}"));
        ip(&format!(
            "link add {outer} type veth peer name {inner} netns {netns}"
        ));
        ip(&format!("addr add 10.213.7.1/30 dev {outer}"));
        ip(&format!("link set {outer} up"));
        ip(&format!(
            "-n {netns} addr add {TEST_HOST_ADDR}/30 dev {inner}"
        ));
        ip(&format!("-n {netns} link set {inner} up"));
        ip(&format!("-n {netns} link set lo up"));
        let www = std::env::temp_dir().join(format!("kiln-www-{pid}"));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("hello"), "hello from the test host\n").unwrap();
        let server = Command::new("ip")
            .args([
                "netns", "exec", &netns, "busybox", "httpd", "-f", "-p", "8080", "-h",
            ])
            .arg(&www)
            .spawn()
            .unwrap();
        let host = TestHost { netns, server };
        let addr = format!("{TEST_HOST_ADDR}:8080").parse().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1))
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the test host never listened"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        host
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        // Deleting the namespace deletes its end of the veth pair, and with it the host's.
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .status();
    }
}

#[test]
fn abstract_sockets_and_raw_packets_private_network_reaches_out() {
    let kiln = Kiln::new();
    let _host = TestHost::start();
    // busybox-static's wget crashes with an empty environment, so speak HTTP with nc.
    let fetch = format!(
        "printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {TEST_HOST_ADDR} 8080 | tail -n 1"
    );
    let dir = kiln.context(
        "out",
        &[(
            "Dockerfile",
            &format!("FROM busybox:local\nRUN {fetch} > /got\n"),
        )],
    );
    kiln.build("out:1", &dir).ok();
    assert_eq!(
        kiln.run_out("out:1", &["cat", "/got"]),
        "hello from the test host\n"
    );
    assert_eq!(
        kiln.run_out("busybox:local", &["sh", "-c", &fetch]),
        "hello from the test host\n"
    );
}

#[test]
fn host_devices_reachable_no_cgroup_refuses_without_explicit_flag() {
    let kiln = Kiln::new();
    // A private mount namespace without any cgroup hierarchy, as on a host that lacks both.
    let run = |extra: &str| {
        let script = format!(
            "awk '$3 ~ /^cgroup2?$/ {{print $2}}' /proc/self/mounts | sort -r | xargs -r umount -l && \
             exec {kiln} run --rm {extra} busybox:local echo ran",
            kiln = env!("CARGO_BIN_EXE_kiln"),
        );
        let out = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .env("KILN_ROOT", kiln.root.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run("");
    assert_ne!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("ran"), "{stdout}");
    assert!(
        stderr.contains("--devices-cgroup unrestricted"),
        "the refusal names the way out: {stderr}"
    );
    let (code, stdout, stderr) = run("--devices-cgroup unrestricted");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "ran\n");
}

#[test]
fn host_devices_reachable_from_a_context() {
    let kiln = Kiln::new();
    let dir = kiln.context(
        "ctxdev",
        &[("Dockerfile", "FROM busybox:local\nCOPY . /ctx/\n")],
    );
    for (name, kind, major, minor) in [
        ("blk", "b", "7", "0"),
        ("kvm", "c", "10", "232"),
        ("fuse", "c", "10", "229"),
    ] {
        let status = Command::new("mknod")
            .arg(dir.join(name))
            .args([kind, major, minor])
            .status()
            .unwrap();
        assert!(status.success());
    }
    kiln.build("ctxdev:1", &dir).ok();
    // Device nodes of a context arrive as empty regular files (as sockets do with
    // BuildKit), never as nodes; a node made inside the sandbox cannot be opened (the
    // tests above).
    let check = "cd /ctx && for f in blk fuse kvm; do [ -f $f ] && [ ! -s $f ] && echo $f; done";
    assert_eq!(
        kiln.run_out("ctxdev:1", &["sh", "-c", check]),
        "blk\nfuse\nkvm\n"
    );
}
