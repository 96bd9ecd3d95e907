//! In-memory fakes of the backend traits, for the scheduler's tests: no root, no
//! sandbox, no store. RUN's last argument says what the fake process does: `fail`
//! exits 1, `slow` runs until it is dropped, anything else exits 0 after a few ms.

use super::{
    Active, Backend, BoxFuture, Cache, Committed, ExecError, ExecSpec, Executor, FileBackend,
    FileSources, KeyGuard, Snapshotter,
};
use crate::error::Result;
use crate::op::FileOp;
use kiln_cache::OverlayMount;
use kiln_cache::index::{CacheRecord, OnConflict};
use kiln_executor::{ExitStatus, OutputChunk};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// What the fakes saw.
#[derive(Debug, Default)]
pub struct Log {
    /// The commands the executor started, in order.
    pub started: Vec<String>,
    /// Commands whose process was dropped before it exited.
    pub cancelled: Vec<String>,
    pub prepared: usize,
    pub file_ops: usize,
    /// Diffs put onto new parents (`COPY --link`).
    pub copied_diffs: usize,
    pub committed: usize,
    pub removed: usize,
    /// The most processes running at once.
    pub max_running: usize,
}

/// Every backend trait, in memory. Cache records outlive a solve, so a second solve
/// with the same fake sees the first one's results.
#[derive(Default)]
pub struct Fake {
    pub log: Mutex<Log>,
    records: Mutex<HashMap<String, Committed>>,
    next_id: AtomicUsize,
    running: AtomicUsize,
}

impl Fake {
    /// A backend made of this fake.
    pub fn backend(self: &Arc<Self>) -> Backend {
        Backend {
            snapshotter: self.clone(),
            cache: self.clone(),
            files: self.clone(),
            executor: self.clone(),
            root: "/nonexistent".into(),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap()
    }
}

fn mounts() -> OverlayMount {
    OverlayMount {
        base_dir: "/nonexistent".into(),
        options: Vec::new(),
    }
}

impl Snapshotter for Fake {
    fn prepare(&self, _parent: Option<&str>) -> Result<Active> {
        self.log().prepared += 1;
        let id = format!("s{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        Ok(Active::new(id, mounts(), "/nonexistent".into(), ()))
    }

    fn view(&self, _snapshot: Option<&str>) -> Result<OverlayMount> {
        Ok(mounts())
    }

    fn copy_diff(&self, _active: &Active, _from: &str) -> Result<()> {
        self.log().copied_diffs += 1;
        Ok(())
    }

    fn commit(&self, active: Active, record: &CacheRecord, _: OnConflict) -> Result<Committed> {
        self.log().committed += 1;
        let committed = Committed {
            snapshot: Some(active.id),
            created: record.created,
            empty: false,
        };
        let mut records = self.records.lock().unwrap();
        Ok(records
            .entry(record.key.clone())
            .or_insert(committed)
            .clone())
    }

    fn remove(&self, _active: Active) -> Result<()> {
        self.log().removed += 1;
        Ok(())
    }

    fn discard_copy_up(&self, _active: &Active, _dir: &str) -> Result<()> {
        Ok(())
    }
}

impl Cache for Fake {
    fn lookup(&self, key: &str) -> Result<Option<Committed>> {
        Ok(self.records.lock().unwrap().get(key).cloned())
    }

    fn try_lock(&self, _key: &str) -> Result<Option<KeyGuard>> {
        Ok(Some(Box::new(())))
    }

    fn touch(&self, _keys: &[String]) -> Result<()> {
        Ok(())
    }

    fn image(&self, _manifest: &str) -> Result<Option<Committed>> {
        Ok(None)
    }

    fn unpack_image(&self, manifest: &str) -> Result<Committed> {
        Ok(Committed {
            snapshot: Some(manifest.to_string()),
            created: 0,
            empty: false,
        })
    }
}

impl FileBackend for Fake {
    fn apply(&self, _active: &Active, _op: &FileOp, _sources: FileSources<'_>) -> Result<()> {
        self.log().file_ops += 1;
        Ok(())
    }
}

/// Counts a process as running while it lives; records it as cancelled if it is
/// dropped before it exits.
struct Running<'a> {
    fake: &'a Fake,
    command: String,
    exited: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.fake.running.fetch_sub(1, Ordering::SeqCst);
        if !self.exited {
            self.fake.log().cancelled.push(self.command.clone());
        }
    }
}

impl Executor for Fake {
    fn run(
        &self,
        spec: ExecSpec,
        _output: UnboundedSender<OutputChunk>,
    ) -> BoxFuture<'_, std::result::Result<ExitStatus, ExecError>> {
        Box::pin(async move {
            let command = spec.process.args.last().cloned().unwrap_or_default();
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            {
                let mut log = self.log();
                log.started.push(command.clone());
                log.max_running = log.max_running.max(now);
            }
            let mut running = Running {
                fake: self,
                command: command.clone(),
                exited: false,
            };
            let (wait, code) = match command.as_str() {
                "slow" => (Duration::from_secs(60), 0),
                "fail" => (Duration::from_millis(50), 1),
                _ => (Duration::from_millis(20), 0),
            };
            tokio::time::sleep(wait).await;
            running.exited = true;
            Ok(ExitStatus { code })
        })
    }
}
