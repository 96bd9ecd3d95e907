//! Runs the real sandbox (needs root and Debian's `busybox-static`).
//!
//! The test binary is its own sandbox helper: it has a `main` of its own (`harness = false`)
//! that calls `helper_main` when started with `HELPER_ARG`, exactly like the `kiln` binary.
//! Arguments that do not start with '-' filter the checks by name.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kiln_executor::{
    ExitStatus, HELPER_ARG, MountSpec, NetworkMode, Output, ProcessSpec, Sandbox, SandboxError,
    SandboxSpec, Stream, default_caps_mask, enter_private_mount_namespace, helper_main,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;
type Check = for<'a> fn(&'a Fixture) -> Pin<Box<dyn Future<Output = TestResult> + 'a>>;

const BUSYBOX: &str = "/bin/busybox";
const APPLETS: &[&str] = &[
    "sh", "echo", "cat", "ls", "id", "hostname", "readlink", "mount", "grep", "true", "false",
    "test", "touch", "mkdir", "pwd", "wc", "env", "sleep", "kill", "stat", "sed", "unshare",
    "mknod", "tr",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(HELPER_ARG) {
        std::process::exit(helper_main());
    }
    if !rustix::process::geteuid().is_root() || !Path::new(BUSYBOX).exists() {
        eprintln!(
            "skipping the sandbox tests: they need root and {BUSYBOX} (apt-get install busybox-static)"
        );
        // In CI a skip would hide the sandbox going untested.
        return if std::env::var_os("CI").is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    if let Err(e) = enter_private_mount_namespace() {
        eprintln!("enter_private_mount_namespace: {e}");
        return ExitCode::FAILURE;
    }
    let filters: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let fixture = match Fixture::new() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fixture: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checks: &[(&str, Check)] = &[
        ("output_goes_to_the_right_stream", |f| {
            Box::pin(output_goes_to_the_right_stream(f))
        }),
        ("exit_code_is_returned", |f| {
            Box::pin(exit_code_is_returned(f))
        }),
        ("host_tmp_is_invisible", |f| {
            Box::pin(host_tmp_is_invisible(f))
        }),
        ("command_is_pid_1", |f| Box::pin(command_is_pid_1(f))),
        ("hostname_and_hosts_file", |f| {
            Box::pin(hostname_and_hosts_file(f))
        }),
        ("network_none_has_only_lo", |f| {
            Box::pin(network_none_has_only_lo(f))
        }),
        ("non_root_user_has_no_caps", |f| {
            Box::pin(non_root_user_has_no_caps(f))
        }),
        ("root_is_bounded_to_docker_caps", |f| {
            Box::pin(root_is_bounded_to_docker_caps(f))
        }),
        ("seccomp_is_dockers_default", |f| {
            Box::pin(seccomp_is_dockers_default(f))
        }),
        ("uid_that_means_root_is_refused", |f| {
            Box::pin(uid_that_means_root_is_refused(f))
        }),
        ("private_network_sees_no_host_interface", |f| {
            Box::pin(private_network_sees_no_host_interface(f))
        }),
        ("named_user_from_passwd", |f| {
            Box::pin(named_user_from_passwd(f))
        }),
        ("unknown_user_is_an_error", |f| {
            Box::pin(unknown_user_is_an_error(f))
        }),
        ("stubs_are_not_left_in_the_upper_dir", |f| {
            Box::pin(stubs_are_not_left_in_the_upper_dir(f))
        }),
        ("no_mounts_leak", |f| Box::pin(no_mounts_leak(f))),
        ("missing_binary_is_an_error_naming_it", |f| {
            Box::pin(missing_binary_is_an_error_naming_it(f))
        }),
        ("etc_symlink_does_not_escape", |f| {
            Box::pin(etc_symlink_does_not_escape(f))
        }),
        ("cwd_is_created_and_env_defaults", |f| {
            Box::pin(cwd_is_created_and_env_defaults(f))
        }),
        ("masked_and_readonly_paths", |f| {
            Box::pin(masked_and_readonly_paths(f))
        }),
        ("dev_is_minimal", |f| Box::pin(dev_is_minimal(f))),
        ("bind_mount_read_only", |f| {
            Box::pin(bind_mount_read_only(f))
        }),
        ("bad_rootfs_mount_is_a_setup_error", |f| {
            Box::pin(bad_rootfs_mount_is_a_setup_error(f))
        }),
        ("sigpipe_is_default", |f| Box::pin(sigpipe_is_default(f))),
        ("overhead_of_true", |f| Box::pin(overhead_of_true(f))),
    ];
    let mut failed = 0;
    let mut ran = 0;
    for (name, check) in checks {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        match runtime.block_on(check(&fixture)) {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED: {e}");
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" },
        ran - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A busybox base layer and a place for runs.
struct Fixture {
    dir: tempfile::TempDir,
    base: PathBuf,
    sandbox: Sandbox,
}

/// What one run produced.
struct Run {
    result: Result<ExitStatus, SandboxError>,
    stdout: String,
    stderr: String,
    upper: PathBuf,
    mountpoint: PathBuf,
}

impl Run {
    fn code(&self) -> Result<i32, String> {
        match &self.result {
            Ok(s) => Ok(s.code),
            Err(e) => Err(format!(
                "sandbox error: {}; stderr: {}",
                chain(e),
                self.stderr
            )),
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(e) = source {
        s.push_str(&format!(": {e}"));
        source = e.source();
    }
    s
}

impl Fixture {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::Builder::new()
            .prefix("kiln-sandbox-test")
            .tempdir()?;
        let base = dir.path().join("base");
        std::fs::create_dir_all(base.join("bin"))?;
        std::fs::copy(BUSYBOX, base.join("bin/busybox"))?;
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", base.join("bin").join(applet))?;
        }
        Ok(Fixture {
            base,
            sandbox: Sandbox::new(std::env::current_exe()?),
            dir,
        })
    }

    /// A spec for `args` on an overlay of `extra_lower` (if any) over the busybox base.
    fn spec(
        &self,
        args: &[&str],
        extra_lower: Option<&Path>,
    ) -> Result<SandboxSpec, Box<dyn std::error::Error>> {
        let run = tempfile::Builder::new()
            .prefix("run")
            .tempdir_in(self.dir.path())?
            .keep();
        for d in ["upper", "work", "mnt"] {
            std::fs::create_dir(run.join(d))?;
        }
        let lower = match extra_lower {
            Some(extra) => format!("{}:{}", extra.display(), self.base.display()),
            None => self.base.display().to_string(),
        };
        Ok(SandboxSpec {
            rootfs: MountSpec {
                source: "overlay".into(),
                target: "/".into(),
                fstype: "overlay".into(),
                options: vec![
                    format!("lowerdir={lower}"),
                    "upperdir=upper".into(),
                    "workdir=work".into(),
                ],
            },
            rootfs_base_dir: Some(run.clone()),
            mountpoint: run.join("mnt"),
            mounts: vec![],
            process: ProcessSpec {
                args: args.iter().map(|a| a.to_string()).collect(),
                env: vec![],
                cwd: "/".into(),
                user: String::new(),
            },
            hostname: "kiln-test".into(),
            hosts: kiln_executor::HostsFile::Container,
            network: NetworkMode::Host,
            host_config: Default::default(),
            stdin: false,
        })
    }

    async fn run_spec(&self, spec: &SandboxSpec) -> Run {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let result = self.sandbox.run(spec, Output::Pipe(tx)).await;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Ok(chunk) = rx.try_recv() {
            match chunk.stream {
                Stream::Stdout => stdout.extend(chunk.data),
                Stream::Stderr => stderr.extend(chunk.data),
            }
        }
        let base = spec.rootfs_base_dir.clone().unwrap_or_default();
        Run {
            result,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            upper: base.join("upper"),
            mountpoint: spec.mountpoint.clone(),
        }
    }

    async fn sh(&self, script: &str) -> Result<Run, Box<dyn std::error::Error>> {
        let spec = self.spec(&["sh", "-c", script], None)?;
        Ok(self.run_spec(&spec).await)
    }
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

async fn output_goes_to_the_right_stream(f: &Fixture) -> TestResult {
    let r = f.sh("echo out; echo err >&2").await?;
    ensure!(r.code()? == 0, "exit code {:?}", r.code());
    ensure!(
        r.stdout == "out\n" && r.stderr == "err\n",
        "stdout {:?} stderr {:?}",
        r.stdout,
        r.stderr
    );
    Ok(())
}

async fn exit_code_is_returned(f: &Fixture) -> TestResult {
    let r = f.sh("exit 3").await?;
    ensure!(r.code()? == 3, "exit code {:?}", r.code());
    Ok(())
}

async fn host_tmp_is_invisible(f: &Fixture) -> TestResult {
    let marker = format!("/tmp/kiln-marker-{}", std::process::id());
    std::fs::write(&marker, b"x")?;
    let r = f
        .sh(&format!("test -e {marker} && echo visible; ls /"))
        .await;
    std::fs::remove_file(&marker)?;
    let r = r?;
    ensure!(
        r.code()? == 0 && !r.stdout.contains("visible"),
        "marker visible: {:?}",
        r.stdout
    );
    Ok(())
}

async fn command_is_pid_1(f: &Fixture) -> TestResult {
    let r = f.sh("echo $$; readlink /proc/self").await?;
    let lines: Vec<&str> = r.stdout.lines().collect();
    ensure!(
        lines.first() == Some(&"1"),
        "sh is not pid 1: {:?} {}",
        r.stdout,
        r.stderr
    );
    let pid: u32 = lines.get(1).ok_or("no readlink output")?.parse()?;
    ensure!(pid < 10, "pid of readlink {pid}");
    Ok(())
}

async fn hostname_and_hosts_file(f: &Fixture) -> TestResult {
    let r = f
        .sh("hostname; cat /etc/hosts; cat /etc/resolv.conf")
        .await?;
    ensure!(
        r.stdout.starts_with("kiln-test\n"),
        "hostname: {:?} {}",
        r.stdout,
        r.stderr
    );
    ensure!(
        r.stdout.contains("127.0.0.1\tlocalhost") && r.stdout.contains("\tkiln-test"),
        "{:?}",
        r.stdout
    );
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    ensure!(
        r.stdout.ends_with(&host_resolv),
        "resolv.conf differs from the host's: {:?}",
        r.stdout
    );
    Ok(())
}

async fn network_none_has_only_lo(f: &Fixture) -> TestResult {
    let mut spec = f.spec(&["cat", "/proc/net/dev"], None)?;
    spec.network = NetworkMode::None;
    let r = f.run_spec(&spec).await;
    ensure!(r.code()? == 0, "{}", r.stderr);
    let ifaces: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(i, _)| i.trim())
        .collect();
    ensure!(ifaces == ["lo"], "interfaces {ifaces:?}");
    let mut spec = f.spec(&["cat", "/etc/resolv.conf"], None)?;
    spec.network = NetworkMode::None;
    let r = f.run_spec(&spec).await;
    ensure!(
        r.code()? == 0 && r.stdout.is_empty(),
        "resolv.conf {:?}",
        r.stdout
    );
    Ok(())
}

async fn non_root_user_has_no_caps(f: &Fixture) -> TestResult {
    let mut spec = f.spec(
        &["sh", "-c", "id -u; id -g; grep CapEff /proc/self/status"],
        None,
    )?;
    spec.process.user = "1000:1000".into();
    let r = f.run_spec(&spec).await;
    ensure!(r.code()? == 0, "{}", r.stderr);
    ensure!(
        r.stdout == "1000\n1000\nCapEff:\t0000000000000000\n",
        "{:?}",
        r.stdout
    );
    Ok(())
}

async fn root_is_bounded_to_docker_caps(f: &Fixture) -> TestResult {
    let r = f
        .sh("grep -E 'Cap(Bnd|Eff|Inh|Amb)' /proc/self/status")
        .await?;
    let mask = format!("{:016x}", default_caps_mask());
    let expected = format!(
        "CapInh:\t{}\nCapEff:\t{mask}\nCapBnd:\t{mask}\nCapAmb:\t{}\n",
        "0".repeat(16),
        "0".repeat(16)
    );
    ensure!(
        r.stdout == expected,
        "{:?} (expected {expected:?})",
        r.stdout
    );
    Ok(())
}

async fn seccomp_is_dockers_default(f: &Fixture) -> TestResult {
    let r = f
        .sh("grep '^Seccomp:' /proc/self/status; unshare -Urm true || echo refused")
        .await?;
    ensure!(r.stdout == "Seccomp:\t2\nrefused\n", "{:?}", r.stdout);
    Ok(())
}

async fn uid_that_means_root_is_refused(f: &Fixture) -> TestResult {
    let mut spec = f.spec(&["id"], None)?;
    spec.process.user = "4294967295".into();
    let r = f.run_spec(&spec).await;
    let Err(e) = r.result else {
        return Err(format!("uid 4294967295 ran: {}", r.stdout).into());
    };
    ensure!(
        e.to_string() == "uids and gids must be in range 0-2147483647 (uid 4294967295)",
        "{e}"
    );
    Ok(())
}

async fn private_network_sees_no_host_interface(f: &Fixture) -> TestResult {
    let mut spec = f.spec(&["sh", "-c", "ls /sys/class/net | tr '\\n' ' '"], None)?;
    spec.network = NetworkMode::Private;
    let r = f.run_spec(&spec).await;
    ensure!(r.code()? == 0, "{}", r.stderr);
    ensure!(r.stdout == "lo tap0 ", "{:?}", r.stdout);
    Ok(())
}

async fn named_user_from_passwd(f: &Fixture) -> TestResult {
    let layer = tempfile::tempdir_in(f.dir.path())?;
    std::fs::create_dir(layer.path().join("etc"))?;
    std::fs::write(
        layer.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n",
    )?;
    std::fs::write(
        layer.path().join("etc/group"),
        "root:x:0:\napp:x:1002:\nextra:x:2000:app\n",
    )?;
    let mut spec = f.spec(
        &["sh", "-c", "id -u; id -g; id -G; echo $HOME"],
        Some(layer.path()),
    )?;
    spec.process.user = "app".into();
    let r = f.run_spec(&spec).await;
    ensure!(r.code()? == 0, "{}", r.stderr);
    ensure!(
        r.stdout == "1001\n1002\n1002 2000\n/home/app\n",
        "{:?}",
        r.stdout
    );
    Ok(())
}

async fn unknown_user_is_an_error(f: &Fixture) -> TestResult {
    let mut spec = f.spec(&["true"], None)?;
    spec.process.user = "nobody".into();
    let r = f.run_spec(&spec).await;
    let Err(e) = r.result else {
        return Err("an unknown user ran".into());
    };
    ensure!(
        e.to_string() == "unable to find user nobody: no matching entries in passwd file",
        "{e}"
    );
    Ok(())
}

fn entries(dir: &Path) -> Result<Vec<String>, std::io::Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

async fn stubs_are_not_left_in_the_upper_dir(f: &Fixture) -> TestResult {
    let r = f
        .sh("ls /etc/hosts /etc/resolv.conf /proc/self /dev/null >/dev/null")
        .await?;
    ensure!(r.code()? == 0, "{}", r.stderr);
    // The kernel filesystems' mount points stay, empty, as under BuildKit; the file
    // stubs (/etc/hosts, /etc/resolv.conf) go.
    let kept = ["dev", "proc", "sys"];
    ensure!(
        entries(&r.upper)? == kept,
        "upper dir: {:?}",
        entries(&r.upper)?
    );
    for dir in kept {
        ensure!(
            entries(&r.upper.join(dir))?.is_empty(),
            "{dir} is not empty"
        );
    }
    let r = f.sh("echo x > /etc/kept").await?;
    ensure!(r.code()? == 0, "{}", r.stderr);
    ensure!(
        entries(&r.upper)? == ["dev", "etc", "proc", "sys"],
        "upper dir: {:?}",
        entries(&r.upper)?
    );
    ensure!(
        entries(&r.upper.join("etc"))? == ["kept"],
        "upper etc: {:?}",
        entries(&r.upper.join("etc"))?
    );
    Ok(())
}

async fn no_mounts_leak(f: &Fixture) -> TestResult {
    let before_self = std::fs::read_to_string("/proc/self/mounts")?;
    let before_host = std::fs::read_to_string("/proc/1/mounts")?;
    let r = f.sh("true").await?;
    ensure!(r.code()? == 0, "{}", r.stderr);
    let after_self = std::fs::read_to_string("/proc/self/mounts")?;
    let after_host = std::fs::read_to_string("/proc/1/mounts")?;
    ensure!(before_self == after_self, "mounts of the engine changed");
    ensure!(before_host == after_host, "mounts of the host changed");
    let mnt = r.mountpoint.display().to_string();
    ensure!(
        !after_host.contains(&mnt) && !after_self.contains(&mnt),
        "rootfs still mounted"
    );
    ensure!(entries(&r.mountpoint)?.is_empty(), "mountpoint not empty");
    Ok(())
}

async fn missing_binary_is_an_error_naming_it(f: &Fixture) -> TestResult {
    let spec = f.spec(&["/bin/nope", "x"], None)?;
    let r = f.run_spec(&spec).await;
    let Err(e) = &r.result else {
        return Err("a missing binary ran".into());
    };
    ensure!(
        matches!(e, SandboxError::Exec { .. })
            && chain(e) == "exec /bin/nope: No such file or directory (os error 2)",
        "{}",
        chain(e)
    );
    let spec = f.spec(&["nope"], None)?;
    let r = f.run_spec(&spec).await;
    let Err(e) = &r.result else {
        return Err("a missing binary ran".into());
    };
    ensure!(
        e.to_string() == "exec: \"nope\": executable file not found in $PATH",
        "{e}"
    );
    Ok(())
}

async fn etc_symlink_does_not_escape(f: &Fixture) -> TestResult {
    let host_dir = tempfile::Builder::new().prefix("kiln-hostdir").tempdir()?;
    let layer = tempfile::tempdir_in(f.dir.path())?;
    std::os::unix::fs::symlink(host_dir.path(), layer.path().join("etc"))?;
    let spec = f.spec(&["cat", "/etc/hosts"], Some(layer.path()))?;
    let r = f.run_spec(&spec).await;
    ensure!(
        r.code()? == 0 && r.stdout.contains("kiln-test"),
        "{:?} {}",
        r.stdout,
        r.stderr
    );
    ensure!(
        entries(host_dir.path())?.is_empty(),
        "host dir written: {:?}",
        entries(host_dir.path())?
    );
    ensure!(
        !std::fs::read_to_string("/proc/1/mounts")?
            .contains(&host_dir.path().display().to_string()),
        "host dir mounted over"
    );
    // The stubs made at the symlink's target inside the rootfs are gone again (the
    // kernel filesystems' mount points stay, as under BuildKit).
    ensure!(
        entries(&r.upper)? == ["dev", "proc", "sys"],
        "upper dir: {:?}",
        entries(&r.upper)?
    );

    // Kernel filesystems are never mounted through a symlink (runc refuses too).
    let layer = tempfile::tempdir_in(f.dir.path())?;
    std::os::unix::fs::symlink("/", layer.path().join("proc"))?;
    let spec = f.spec(&["true"], Some(layer.path()))?;
    let r = f.run_spec(&spec).await;
    let Err(e) = &r.result else {
        return Err("mounted proc through a symlink".into());
    };
    ensure!(
        chain(e).contains("open /proc in the rootfs"),
        "{}",
        chain(e)
    );
    Ok(())
}

async fn cwd_is_created_and_env_defaults(f: &Fixture) -> TestResult {
    let mut spec = f.spec(
        &[
            "sh",
            "-c",
            "pwd; echo $PATH; echo $HOME; echo $A; stat -c %a /work/dir",
        ],
        None,
    )?;
    spec.process.cwd = "/work/dir".into();
    spec.process.env = vec!["A=b c".into()];
    let r = f.run_spec(&spec).await;
    ensure!(r.code()? == 0, "{}", r.stderr);
    let expected = format!("/work/dir\n{}\n/\nb c\n755\n", kiln_executor::DEFAULT_PATH);
    ensure!(r.stdout == expected, "{:?}", r.stdout);
    ensure!(
        r.upper.join("work/dir").is_dir(),
        "workdir not in the upper dir"
    );
    Ok(())
}

async fn masked_and_readonly_paths(f: &Fixture) -> TestResult {
    let r = f
        .sh("wc -c < /proc/keys; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid && echo writable; mount")
        .await?;
    let lines: Vec<&str> = r.stdout.lines().collect();
    ensure!(
        lines.first() == Some(&"0") && lines.get(1) == Some(&"0"),
        "{:?}",
        r.stdout
    );
    ensure!(
        !r.stdout.contains("writable"),
        "/proc/sys writable: {}",
        r.stdout
    );
    ensure!(
        r.stdout.contains("proc on /proc/sys type proc (ro,"),
        "{}",
        r.stdout
    );
    ensure!(
        r.stdout.contains(" on /sys type sysfs (ro,"),
        "{}",
        r.stdout
    );
    Ok(())
}

async fn dev_is_minimal(f: &Fixture) -> TestResult {
    let r = f.sh("ls /dev; echo x > /dev/null; stat -c '%a %t,%T' /dev/null /dev/tty; readlink /dev/ptmx; ls /dev/pts").await?;
    ensure!(r.code()? == 0, "{}", r.stderr);
    for name in [
        "full", "mqueue", "null", "pts", "random", "shm", "stdout", "tty", "urandom", "zero", "fd",
    ] {
        ensure!(
            r.stdout.lines().any(|l| l == name),
            "/dev/{name} missing: {:?}",
            r.stdout
        );
    }
    ensure!(
        r.stdout.contains("666 1,3\n666 5,0\npts/ptmx\nptmx\n"),
        "{:?}",
        r.stdout
    );
    Ok(())
}

async fn bind_mount_read_only(f: &Fixture) -> TestResult {
    let data = tempfile::tempdir()?;
    std::fs::write(data.path().join("file"), "hello")?;
    let mut spec = f.spec(
        &["sh", "-c", "cat /data/file; touch /data/new && echo wrote"],
        None,
    )?;
    spec.mounts.push(MountSpec {
        source: data.path().into(),
        target: "/data".into(),
        fstype: "bind".into(),
        options: vec!["rbind".into(), "ro".into()],
    });
    let r = f.run_spec(&spec).await;
    ensure!(r.stdout == "hello", "{:?} {}", r.stdout, r.stderr);
    ensure!(
        !data.path().join("new").exists(),
        "wrote through a read-only bind"
    );
    Ok(())
}

async fn bad_rootfs_mount_is_a_setup_error(f: &Fixture) -> TestResult {
    let mut spec = f.spec(&["true"], None)?;
    spec.rootfs.options = vec![
        "lowerdir=/does/not/exist".into(),
        "upperdir=upper".into(),
        "workdir=work".into(),
    ];
    let r = f.run_spec(&spec).await;
    let Err(e) = &r.result else {
        return Err("ran without a rootfs".into());
    };
    ensure!(
        matches!(e, SandboxError::Setup { .. }) && e.to_string().contains("mount overlay rootfs"),
        "{}",
        chain(e)
    );
    Ok(())
}

async fn sigpipe_is_default(f: &Fixture) -> TestResult {
    // `yes`-like writer into a closed pipe dies of SIGPIPE (141) instead of looping on EPIPE.
    let r = f
        .sh("(while echo y; do :; done; echo $? >&2) | true; echo done")
        .await?;
    ensure!(
        r.code()? == 0 && r.stdout == "done\n" && r.stderr.is_empty(),
        "{:?} {:?}",
        r.stdout,
        r.stderr
    );
    Ok(())
}

async fn overhead_of_true(f: &Fixture) -> TestResult {
    let mut times = Vec::new();
    for _ in 0..50 {
        let spec = f.spec(&["/bin/true"], None)?;
        let start = Instant::now();
        let r = f.run_spec(&spec).await;
        times.push(start.elapsed());
        ensure!(r.code()? == 0, "{}", r.stderr);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "  per-run overhead of `true`: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
