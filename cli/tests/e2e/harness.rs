//! Drives the real `kiln` binary in a temp state root, with a busybox base image made
//! from Debian's busybox-static by `testdata/make-busybox-rootfs.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The repository's testdata folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// The busybox rootfs tarball, made once per test process.
pub fn busybox_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kiln-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let tar = dir.join("busybox.tar");
        let status = Command::new(testdata().join("make-busybox-rootfs.sh"))
            .arg(&tar)
            .status()
            .expect("run make-busybox-rootfs.sh");
        assert!(
            status.success(),
            "make-busybox-rootfs.sh failed (is busybox-static installed?)"
        );
        tar
    })
}

/// The write end of a pipe whose read end is already closed: every write to it fails
/// with EPIPE, as when the reader of `kiln … | head -1` has exited.
pub fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

/// `/dev/full`: every write to it fails with ENOSPC.
pub fn full_device() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full"),
    )
}

/// The `kiln` binary, kept off every network but loopback: its registry client honours
/// the proxy variables, and the proxy named here refuses every connection, so a build that
/// would pull a missing `FROM` image from docker.io fails at once instead of leaving the
/// machine.
pub fn kiln_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    for var in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ] {
        command.env(var, "http://127.0.0.1:9");
    }
    for var in ["NO_PROXY", "no_proxy"] {
        command.env(var, "127.0.0.1,localhost,::1");
    }
    command
}

/// Whether `tool` is on the PATH; without it a test skips, except under `CI`, where it
/// fails.
pub fn tool_available(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{tool} is missing (`.ci/run` installs it)"
    );
    if !found {
        eprintln!("skipping: {tool} is missing");
    }
    found
}

/// The result of one kiln command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the output unless the command exited 0.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "kiln failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The progress lines of one step, e.g. `status_of("[2/4]")` → "CACHED" or "DONE 0.1s".
    pub fn status_of(&self, step: &str) -> String {
        let number = self
            .stderr
            .lines()
            .find(|l| l.contains(step))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no step {step} in:\n{}", self.stderr))
            .to_string();
        self.stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{number} ")))
            .filter_map(|l| l.strip_prefix(&format!("{number} ")))
            .rfind(|rest| {
                rest.starts_with("CACHED") || rest.starts_with("DONE") || rest.starts_with("ERROR")
            })
            .unwrap_or_default()
            .to_string()
    }
}

/// A temp state root with the busybox base image imported as `busybox:local`.
pub struct Kiln {
    pub root: tempfile::TempDir,
    pub work: tempfile::TempDir,
}

impl Kiln {
    /// A fresh state root with `busybox:local`.
    pub fn new() -> Self {
        Self::new_in(&std::env::temp_dir())
    }

    /// A fresh state root with `busybox:local`, in a temp folder below `dir`.
    pub fn new_in(dir: &Path) -> Self {
        let kiln = Self::empty_in(dir);
        kiln.import_busybox();
        kiln
    }

    fn import_busybox(&self) {
        self.cmd(&[
            "import",
            &busybox_tar().display().to_string(),
            "busybox:local",
        ])
        .ok();
    }

    /// A fresh state root with `busybox:local`, and its work dir, in memory (`/dev/shm`) where
    /// there is one: the kernel removes a 10,000-deep chain of directories in O(depth²) on
    /// ext4, in a blink on tmpfs.
    pub fn in_memory() -> Self {
        let shm = Path::new("/dev/shm");
        let dir = || match shm.is_dir() {
            true => tempfile::tempdir_in(shm),
            false => tempfile::tempdir(),
        };
        let kiln = Self {
            root: dir().expect("temp root"),
            work: dir().expect("temp work dir"),
        };
        kiln.import_busybox();
        kiln
    }

    /// Removes the state root and work dir without recursion (`TempDir` would recurse once per
    /// level of a deep tree).
    pub fn remove_deep(self) {
        for dir in [self.root, self.work] {
            kiln_cache::tree::remove_tree(&dir.keep()).expect("remove a deep temp dir");
        }
    }

    /// A fresh, empty state root.
    pub fn empty() -> Self {
        Self::empty_in(&std::env::temp_dir())
    }

    /// A fresh, empty state root in a temp folder below `dir`.
    fn empty_in(dir: &Path) -> Self {
        Self {
            root: tempfile::tempdir_in(dir).expect("temp root"),
            work: tempfile::tempdir().expect("temp work dir"),
        }
    }

    /// Runs `kiln ARGS…` with this state root.
    pub fn cmd(&self, args: &[&str]) -> Run {
        self.cmd_env(args, &[])
    }

    /// Runs `kiln ARGS…` with extra environment variables.
    pub fn cmd_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let output = self
            .command(args)
            .envs(env.iter().copied())
            .output()
            .expect("run kiln");
        Run::from(output)
    }

    /// Runs `kiln ARGS…` with extra environment variables and `input` on stdin.
    pub fn cmd_input(&self, args: &[&str], env: &[(&str, &str)], input: impl AsRef<[u8]>) -> Run {
        let mut child = self
            .command(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kiln");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_ref()).unwrap();
        Run::from(child.wait_with_output().expect("run kiln"))
    }

    /// Runs `kiln ARGS…` with stdout and stderr connected as given (`None`: captured).
    pub fn cmd_stdio(&self, args: &[&str], stdout: Option<Stdio>, stderr: Option<Stdio>) -> Run {
        let mut command = self.command(args);
        if let Some(stdout) = stdout {
            command.stdout(stdout);
        }
        if let Some(stderr) = stderr {
            command.stderr(stderr);
        }
        Run::from(command.output().expect("run kiln"))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = kiln_command();
        command.args(args).env("KILN_ROOT", self.root.path());
        command
    }

    /// Writes a build context (file name → content) under the work dir and returns its path.
    pub fn context(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.work.path().join(name);
        for (file, content) in files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write context file");
        }
        dir
    }

    /// Snapshot folders in the state root (not the empty lower dir).
    pub fn snapshot_dirs(&self) -> usize {
        std::fs::read_dir(self.root.path().join("snapshots-v1"))
            .expect("snapshots-v1")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| !e.file_name().to_string_lossy().starts_with('.'))
            })
            .count()
    }

    /// Rows of `table` in the cache index (read-only, beside any running kiln).
    pub fn index_rows(&self, table: &str) -> usize {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let db = rusqlite::Connection::open_with_flags(self.root.path().join("index-v1.db"), flags)
            .expect("open the index");
        let count: i64 = db
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count rows");
        usize::try_from(count).expect("a row count")
    }

    /// `kiln build -t TAG DIR`.
    pub fn build(&self, tag: &str, dir: &Path) -> Run {
        self.cmd(&[
            "build",
            "--progress",
            "plain",
            "-t",
            tag,
            &dir.display().to_string(),
        ])
    }

    /// `kiln run --rm IMAGE CMD…`, stdout of a successful run.
    pub fn run_out(&self, image: &str, command: &[&str]) -> String {
        let mut args = vec!["run", "--rm", image];
        args.extend_from_slice(command);
        self.cmd(&args).ok().stdout
    }

    /// The image id (config digest) of a tag, from `kiln images`.
    pub fn image_id(&self, name: &str) -> String {
        let (repo, tag) = name.rsplit_once(':').expect("name:tag");
        self.cmd(&["images"])
            .ok()
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cols| cols.first() == Some(&repo) && cols.get(1) == Some(&tag))
            .and_then(|cols| cols.get(2).map(|s| s.to_string()))
            .unwrap_or_else(|| panic!("no image {name}"))
    }

    /// Starts `kiln build -t TAG DIR` in the background and returns once a RUN step
    /// has written `marker` (a path in the container) into its active snapshot: the
    /// build process, and that snapshot's folder.
    // The caller owns the returned child and kills and waits for it.
    #[allow(clippy::zombie_processes)]
    pub fn start_build_until(
        &self,
        tag: &str,
        dir: &Path,
        marker: &str,
    ) -> (std::process::Child, PathBuf) {
        let mut child = self
            .command(&["build", "-t", tag, &dir.display().to_string()])
            .stderr(Stdio::null())
            .spawn()
            .expect("start kiln build");
        let snapshots = self.root.path().join("snapshots-v1");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let found = std::fs::read_dir(&snapshots)
                .expect("snapshots folder")
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.join("fs").join(marker).exists());
            if let Some(snapshot) = found {
                return (child, snapshot);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the RUN never started");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The content store folder (an OCI image layout).
    pub fn content_dir(&self) -> PathBuf {
        self.root.path().join("content-v1")
    }

    /// `image` saved as an OCI archive and unpacked into an OCI layout of its own in
    /// the work dir, where its `org.opencontainers.image.ref.name` is its tag (the
    /// content store holds no blob for local layers, so tools copy from this).
    pub fn saved_layout(&self, image: &str) -> PathBuf {
        let name = image.replace(['/', ':'], "_");
        let archive = self.work.path().join(format!("{name}.oci.tar"));
        let archive_arg = archive.display().to_string();
        self.cmd(&["save", "--format", "oci", "-o", &archive_arg, image])
            .ok();
        let layout = self.work.path().join(format!("{name}-layout"));
        std::fs::create_dir_all(&layout).unwrap();
        let status = Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&layout)
            .status()
            .unwrap();
        assert!(status.success(), "tar -xf {}", archive.display());
        layout
    }
}

/// A tmpfs of a given size on a temp folder, unmounted on drop, so even a failing
/// test leaves no mount behind. (tmpfs keeps no blocks back for root, so it really
/// fills up.)
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it, e.g. `48m`).
    pub fn new(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "kiln-e2e"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mount tmpfs on {}", dir.path().display());
        Self { dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes free on the tmpfs.
    pub fn free(&self) -> u64 {
        let stat = rustix::fs::statvfs(self.path()).expect("statvfs");
        stat.f_bavail * stat.f_frsize
    }

    /// Fills the tmpfs to its last byte with a file outside any state root.
    pub fn fill(&self) {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(filler).expect("create filler");
        let chunk = vec![0u8; 1 << 16];
        // Big writes first, then single bytes for the last partial page.
        for size in [chunk.len(), 1] {
            while std::io::Write::write_all(&mut file, &chunk[..size]).is_ok() {}
        }
        assert_eq!(self.free(), 0, "the tmpfs is full");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a kiln process still inside would otherwise keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}
