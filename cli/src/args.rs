//! The command line, declared with clap.

use clap::{Args, Parser, Subcommand, ValueEnum};
use kiln_executor::{ExtraHost, Ulimit, parse_ram_size};
use std::path::PathBuf;

/// kiln: build container images from Dockerfiles, and run them.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, max_term_width = 100)]
pub struct Cli {
    /// State root (images, layers, cache)
    #[arg(long, global = true, env = "KILN_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// Run a command in a new container from an image
    Run(RunArgs),
    /// Import a rootfs tarball as a one-layer image
    Import(ImportArgs),
    /// Save images to an archive (docker-archive, or an OCI archive)
    Save(SaveArgs),
    /// Pull an image from a registry
    Pull(PullArgs),
    /// Push an image to a registry
    Push(PushArgs),
    /// Log in to a registry (stores the credentials in docker's config.json)
    Login(LoginArgs),
    /// Log out from a registry
    Logout(LogoutArgs),
    /// List images
    Images,
    /// Create a tag TARGET that refers to SOURCE
    Tag(TagArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Display detailed information on one or more images (a JSON array)
    Inspect(InspectArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Load images from a docker-archive or OCI archive (gzip or not)
    Load(LoadArgs),
    /// Inspect the build cache
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Parse and lint a Dockerfile without building (exit 1 on errors)
    Check(CheckArgs),
    /// Debugging aids
    #[command(subcommand)]
    Debug(DebugCommand),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Path of the Dockerfile, `-` for stdin (default: `CONTEXT/Dockerfile`, else `CONTEXT/dockerfile`)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The build context folder
    #[arg(default_value = ".")]
    pub context: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Print the parse tree in BuildKit's S-expression dump format
    Parse {
        /// The Dockerfile
        file: PathBuf,
    },
}

/// Network of RUN steps and containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// A private network with outbound access (slirp4netns), like Docker's bridge
    Default,
    /// Share the host's network
    Host,
    /// Only a loopback interface
    None,
}

/// Sandbox settings shared by `kiln build` and `kiln run`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// How sandboxes are kept from opening host devices: `auto` (the cgroup v1 devices
    /// controller, else a cgroup v2 BPF program), `v1`, `v2`, or `unrestricted` (unsafe: any
    /// device node a RUN creates can be opened; only for hosts without either mechanism)
    #[arg(long, value_enum, env = "KILN_DEVICES_CGROUP", default_value_t = DevicesCgroup::Auto)]
    pub devices_cgroup: DevicesCgroup,
}

/// Device restriction of sandboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DevicesCgroup {
    /// v1 when the devices controller is mounted, else v2
    Auto,
    /// The cgroup v1 devices controller
    V1,
    /// A cgroup v2 BPF device program
    V2,
    /// No device restriction (unsafe)
    Unrestricted,
}

/// A privilege a build may be granted with `--allow`, as in buildx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entitlement {
    /// `network.host`: `RUN --network=host`.
    NetworkHost,
}

fn parse_entitlement(s: &str) -> Result<Entitlement, String> {
    match s {
        "network.host" => Ok(Entitlement::NetworkHost),
        "security.insecure" => Err("`security.insecure` is not supported yet".into()),
        other => Err(format!(
            "unknown entitlement `{other}` (known: `network.host`)"
        )),
    }
}

/// How build progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// Plain for now (a live terminal view is not implemented yet)
    Auto,
    /// One line per event, for logs and CI
    Plain,
    /// Live terminal view (not supported yet)
    Tty,
    /// JSON events (not supported yet)
    Rawjson,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag (`name:tag`); may be repeated
    #[arg(short = 't', long = "tag", value_name = "NAME")]
    pub tags: Vec<String>,
    /// Pull every base image again, even those in the store (re-resolves tags)
    #[arg(long)]
    pub pull: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Path of the Dockerfile, `-` for stdin (default: `CONTEXT/Dockerfile`, else `CONTEXT/dockerfile`)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Set a build-time variable (`KEY=VALUE`, or `KEY` to take it from the environment)
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Do not use the cache: run every step
    #[arg(long)]
    pub no_cache: bool,
    /// Run the RUN, COPY and ADD steps of these stages (by name) even when cached; may be
    /// repeated or comma-separated
    #[arg(long = "no-cache-filter", value_name = "STAGE", value_delimiter = ',')]
    pub no_cache_filter: Vec<String>,
    /// Add a line to the `/etc/hosts` of RUN steps (`NAME:IP`); may be repeated
    #[arg(long = "add-host", value_name = "NAME:IP", value_parser = ExtraHost::parse)]
    pub add_hosts: Vec<ExtraHost>,
    /// Size of `/dev/shm` in RUN steps: bytes, or a number with a unit (`64m`, `1g`)
    #[arg(long, value_name = "SIZE", value_parser = parse_ram_size)]
    pub shm_size: Option<u64>,
    /// A resource limit of RUN steps (`nofile=1024:2048`, `-1` for unlimited); may be
    /// repeated
    #[arg(long = "ulimit", value_name = "NAME=SOFT[:HARD]", value_parser = Ulimit::parse)]
    pub ulimits: Vec<Ulimit>,
    /// Network for RUN steps
    #[arg(long, value_enum, default_value_t = Network::Default)]
    pub network: Network,
    /// Allow an extra privilege the Dockerfile asks for: `network.host` (for
    /// `RUN --network=host`); may be repeated
    #[arg(long = "allow", value_name = "ENTITLEMENT", value_parser = parse_entitlement)]
    pub allow: Vec<Entitlement>,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// Progress output
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Build this stage (default: the last one)
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Run at most N steps at once (default: no limit, like BuildKit)
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Only parse and lint the Dockerfile, do not build (exit 1 on errors)
    #[arg(long)]
    pub check: bool,
    /// Output, in BuildKit's syntax: `type=oci|docker|tar,dest=FILE|-`,
    /// `type=local,dest=DIR`, `type=image,name=REF[,push=true]` (`-` alone: a tar of the
    /// filesystem on stdout, `DIR` alone: `type=local`); may be repeated
    #[arg(short = 'o', long = "output", value_name = "SPEC")]
    pub outputs: Vec<String>,
    /// Push the image to its registry (the same as `type=image,push=true`; not supported yet)
    #[arg(long)]
    pub push: bool,
    /// Write the image id (its config digest) to FILE
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Write the build's result (digests, names) as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Set a label on the image (`KEY=VALUE`); may be repeated
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub compression: CompressionArgs,
    /// The build context folder, or `-`: a tar archive (plain or compressed) read from
    /// stdin, whose `Dockerfile` (or the `-f` path inside it) is built; stdin that is not
    /// an archive is the Dockerfile, with an empty context
    pub context: PathBuf,
}

/// How layers are compressed when they leave the machine.
#[derive(Debug, Args)]
pub struct CompressionArgs {
    /// Compression of layers that leave the machine (archives, pushes)
    #[arg(long, value_enum, default_value_t = CompressionKind::Gzip)]
    pub compression: CompressionKind,
    /// Compression level (gzip 0-9, default 6; zstd 1-22, default 3)
    #[arg(long, value_name = "N")]
    pub compression_level: Option<i32>,
    /// Also recompress layers stored compressed another way (base image layers)
    #[arg(long)]
    pub force_compression: bool,
}

/// A layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionKind {
    /// gzip
    Gzip,
    /// zstd
    Zstd,
    /// No compression
    Uncompressed,
}

/// Format of `kiln save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaveFormat {
    /// Docker's `docker save` format (`docker-archive:`)
    Docker,
    /// An OCI image layout in a tar (`oci-archive:`)
    Oci,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write the archive to FILE (default: stdout)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(long, value_enum, default_value_t = SaveFormat::Docker)]
    pub format: SaveFormat,
    #[command(flatten)]
    pub compression: CompressionArgs,
    /// The images to save
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Remove the container's writable layer when it exits
    #[arg(long)]
    pub rm: bool,
    /// Set an environment variable (`KEY=VALUE`, or `KEY` to take it from the environment)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// User (`name|uid[:group|gid]`)
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Network of the container
    #[arg(long, value_enum, default_value_t = Network::Default)]
    pub network: Network,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// The image to run
    pub image: String,
    /// Command and arguments (default: the image's CMD)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A rootfs tarball (plain or gzip)
    pub tarball: PathBuf,
    /// Image name, `name[:tag]`
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image reference, `[registry/]name[:tag][@digest]`
    pub image: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The local image, `[registry/]name[:tag]`; it goes to the registry it names
    pub image: String,
    /// Manifest media types: OCI's (true) or Docker's (false); default: the image's own
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub oci_mediatypes: Option<bool>,
    #[command(flatten)]
    pub compression: CompressionArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short = 'u', long = "username")]
    pub username: String,
    /// Password (insecure: it shows in the process list; use --password-stdin)
    #[arg(short = 'p', long = "password", conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Registry host (`host[:port]`)
    #[arg(default_value = "docker.io")]
    pub registry: String,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry host (`host[:port]`)
    #[arg(default_value = "docker.io")]
    pub registry: String,
}

/// Registry options shared by the commands that pull or push.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Allow plain HTTP to this registry host (`host[:port]`; loopback hosts always may)
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image: `name[:tag]`, `name@digest` or an image id
    pub source: String,
    /// The new name, `name[:tag]`
    pub target: String,
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Remove the image even when a container uses it or, named by id, it has several tags
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Images: names or image ids
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images: names or image ids
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this archive instead of stdin
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: Option<std::path::PathBuf>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Do not truncate the CREATED BY column
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image ids
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// The image: a name or an image id
    pub image: String,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List the cache records: one per cached step
    Ls,
    /// Show the build cache's disk usage
    Du,
    /// Remove build cache: dangling records, leftovers of interrupted builds, and
    /// whatever no image or remaining record needs
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove every cache record, not only those no image uses (images keep working)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only remove records last used before this: `until=24h`, `until=1h30m`,
    /// `until=2026-11-23T00:00:00Z`
    #[arg(long, value_name = "FILTER", value_parser = crate::prune_flags::parse_filter)]
    pub filter: Option<kiln_cache::gc::Until>,
    /// Remove least recently used records until the cache holds at most this much
    /// (`10GB`, `500MB`, `2GiB`)
    #[arg(long, value_name = "SIZE", value_parser = crate::prune_flags::parse_size)]
    pub keep_storage: Option<u64>,
    /// Do not prompt (kiln never prompts; accepted for docker compatibility)
    #[arg(short = 'f', long)]
    pub force: bool,
}
