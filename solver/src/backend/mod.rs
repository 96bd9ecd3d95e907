//! What the scheduler needs from storage and the sandbox, as four narrow traits, so
//! that it can run against in-memory fakes (no root, no sandbox) in tests.
//!
//! Vocabulary, as containerd's snapshotter: a *committed* snapshot is an immutable
//! filesystem state, named by its id; an *active* snapshot ([`Active`]) is a writable
//! one on top of a committed parent, being filled by one step.
//!
//! Lifecycle of a step that misses the cache:
//!
//! ```text
//! Cache::try_lock(key) ─▶ Cache::lookup(key) (another process may have built it)
//!   ─▶ Snapshotter::prepare(parent) ─▶ Active { root mounts }
//!   ─▶ Executor::run(root mounts + process)          (RUN)
//!    | FileBackend::apply(active, op, sources)       (COPY, WORKDIR; may `view` others)
//!    | Snapshotter::copy_diff(active, layer)         (COPY --link's layer on the parent)
//!   ─▶ Snapshotter::commit(active, record)  → Committed   (success)
//!    | Snapshotter::remove(active)                        (failure)
//! ```
//!
//! `view` gives read-only mounts of a committed snapshot and is never committed. A
//! cache hit touches none of this but [`Cache::lookup`]: a hit never prepares a
//! snapshot or runs anything.
//!
//! The production implementations are [`StoreBackend`] (a `kiln_cache::Store`) and
//! [`SandboxExecutor`] (a `kiln_executor::Sandbox`).

#[cfg(test)]
pub(crate) mod fake;
mod file;
mod inline;
pub(crate) mod mount;
mod sandbox;
mod stage_source;
mod store;

pub use sandbox::{SandboxExecutor, overlay_sandbox};
pub use store::StoreBackend;

use crate::context::{BuildContext, Selection};
use crate::error::Result;
use crate::op::{FileOp, InlineFile};
use kiln_cache::OverlayMount;
use kiln_cache::index::{CacheRecord, Index, OnConflict};
use kiln_executor::{ExitStatus, NetworkMode, OutputChunk, ProcessSpec};
use std::any::Any;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// A committed snapshot as a step's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The snapshot (`None`: the empty filesystem, e.g. an image without layers).
    pub snapshot: Option<String>,
    /// When it was made (Unix seconds).
    pub created: i64,
    /// It adds nothing to its parent.
    pub empty: bool,
}

/// An active snapshot: writable, on top of a committed parent.
pub struct Active {
    /// The snapshot's id (containerd's *key*).
    pub id: String,
    /// The root filesystem: the snapshot over its parent chain, writable.
    pub root: OverlayMount,
    /// An empty folder to mount `root` on.
    pub mountpoint: PathBuf,
    /// The snapshotter's own state for it.
    handle: Box<dyn Any + Send + Sync>,
}

impl Active {
    pub fn new(
        id: String,
        root: OverlayMount,
        mountpoint: PathBuf,
        handle: impl Any + Send + Sync,
    ) -> Self {
        Self {
            id,
            root,
            mountpoint,
            handle: Box::new(handle),
        }
    }

    /// The snapshotter's state, if it is a `T`.
    pub fn handle<T: 'static>(&self) -> Option<&T> {
        self.handle.downcast_ref()
    }

    /// The snapshotter's state, taken back, if it is a `T`.
    pub fn into_handle<T: 'static>(self) -> Option<T> {
        self.handle.downcast().ok().map(|b| *b)
    }
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Active").field("id", &self.id).finish()
    }
}

/// Filesystem states. All calls block (the scheduler runs them off the async threads).
pub trait Snapshotter: Send + Sync {
    /// A new active snapshot on the committed `parent` (`None`: empty).
    fn prepare(&self, parent: Option<&str>) -> Result<Active>;
    /// Read-only mounts of the committed `snapshot` (`None`: empty); never committed.
    fn view(&self, snapshot: Option<&str>) -> Result<OverlayMount>;
    /// Commits `active` together with the step's cache record (`record.snapshot` is
    /// `active.id`), in one transaction. The first record of a key wins unless
    /// `on_conflict` replaces it: the result names the winner's snapshot.
    fn commit(
        &self,
        active: Active,
        record: &CacheRecord,
        on_conflict: OnConflict,
    ) -> Result<Committed>;
    /// Puts the diff of the committed snapshot `from` (what it adds to its own parent)
    /// into `active`, as it is: `COPY --link`'s layer on a new parent.
    fn copy_diff(&self, active: &Active, from: &str) -> Result<()>;
    /// Removes an active snapshot whose step failed.
    fn remove(&self, active: Active) -> Result<()>;
    /// Undoes the copy-up of `dir` (e.g. `etc`) that a sandbox's mount points left
    /// without changing anything below it.
    fn discard_copy_up(&self, active: &Active, dir: &str) -> Result<()>;
}

/// Held while this process builds a key; dropping it lets others in.
pub type KeyGuard = Box<dyn Send + Sync>;

/// What the store remembers: cache records and the per-key build locks, base images'
/// snapshots, and the stat cache of context digests. Lookups are cheap (indexed
/// reads), so the scheduler calls them inline.
pub trait Cache: Send + Sync {
    /// The committed result of the step with cache key `key`.
    fn lookup(&self, key: &str) -> Result<Option<Committed>>;
    /// The lock on `key` if no other process holds it (never waits).
    fn try_lock(&self, key: &str) -> Result<Option<KeyGuard>>;
    /// Marks the records of `keys` used now.
    fn touch(&self, keys: &[String]) -> Result<()>;
    /// The top snapshot of the image with this manifest, if all its layers have one.
    fn image(&self, manifest: &str) -> Result<Option<Committed>>;
    /// Unpacks the image's layers that have no snapshot yet; its top snapshot.
    fn unpack_image(&self, manifest: &str) -> Result<Committed>;
    /// Where context file digests are remembered by stat (`None`: hash every file).
    fn stat_cache(&self) -> Option<&Index> {
        None
    }
}

/// What a file operation reads besides the filesystem it changes.
pub struct FileSources<'a> {
    pub context: &'a BuildContext,
    /// Resolved context sources of a COPY (resolved while hashing them for the key).
    pub context_sources: Option<&'a Selection>,
    /// The files ADD downloaded (while hashing them for the key).
    pub downloads: Option<&'a [PathBuf]>,
    /// The committed snapshot a COPY reads from another stage or image (`None`: an
    /// empty stage), and how messages name it.
    pub input: Option<(Option<&'a str>, &'a str)>,
}

/// File operations (COPY, WORKDIR's mkdir) on an active snapshot's filesystem, as
/// BuildKit's file-op backend. Blocking.
pub trait FileBackend: Send + Sync {
    fn apply(&self, active: &Active, op: &FileOp, sources: FileSources<'_>) -> Result<()>;
}

/// A process to run over a root filesystem.
#[derive(Debug, Clone)]
pub struct ExecSpec {
    /// The root filesystem's mount, and where to mount it.
    pub root: OverlayMount,
    pub mountpoint: PathBuf,
    pub process: ProcessSpec,
    pub hostname: String,
    pub network: NetworkMode,
    /// Files mounted read-only at `/dev/pipes/<name>`, mode 0755 (heredoc scripts).
    pub pipes: Vec<InlineFile>,
    /// Extra hosts, `/dev/shm` size, resource limits.
    pub host_config: kiln_executor::HostConfig,
}

/// A boxed future, so [`Executor`] can be a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a process could not be run (not a non-zero exit).
pub type ExecError = Box<dyn std::error::Error + Send + Sync>;

/// Runs processes: mounts + process spec → exit status, output streamed to `output`.
/// Dropping the future stops the process.
pub trait Executor: Send + Sync {
    fn run(
        &self,
        spec: ExecSpec,
        output: UnboundedSender<OutputChunk>,
    ) -> BoxFuture<'_, std::result::Result<ExitStatus, ExecError>>;
}

/// The implementations a [`crate::Solver`] works with.
#[derive(Clone)]
pub struct Backend {
    pub snapshotter: Arc<dyn Snapshotter>,
    pub cache: Arc<dyn Cache>,
    pub files: Arc<dyn FileBackend>,
    pub executor: Arc<dyn Executor>,
    /// The state root, named by full-disk errors.
    pub root: PathBuf,
}

impl Backend {
    /// A store for snapshots, records and file operations, and a sandbox for RUN.
    pub fn store(store: Arc<kiln_cache::Store>, sandbox: Arc<kiln_executor::Sandbox>) -> Self {
        let root = store.root().path().to_path_buf();
        let tmp = store.root().tmp_dir();
        let backend = Arc::new(StoreBackend::new(store));
        Self {
            snapshotter: backend.clone(),
            cache: backend.clone(),
            files: backend,
            executor: Arc::new(SandboxExecutor::new(sandbox, tmp)),
            root,
        }
    }
}

/// An error and its sources on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
