//! One vertex: a cache hit found inline by the scheduler, or run in its own task.

use super::sources::{self, Resolved};
use super::{Inputs, Solver, VertexResult, at_step, blocking, exec};
use crate::backend::{Committed, FileSources, KeyGuard};
use crate::error::Result;
use crate::key::cache_key;
use crate::op::{BuildGraph, CopyOp, CopySource, FileOp, Node, Op, Vertex};
use crate::progress::Event;
use kiln_cache::index::CacheRecord;
use kiln_cache::root::unix_now;
use std::time::{Duration, Instant};

impl Solver {
    /// The vertex's result if it needs no work: a cache hit, or a base image whose
    /// snapshots exist. Cheap (index reads), so the scheduler calls it inline. A key
    /// that needs a content digest (COPY from the context) always goes to
    /// [`Solver::run_vertex`].
    pub(super) fn try_cached(
        &self,
        graph: &BuildGraph,
        node: Node,
        inputs: &Inputs,
    ) -> Result<Option<VertexResult>> {
        let vertex = &graph[node];
        match &vertex.op {
            Op::Source { manifest_digest } => {
                let key = cache_key(&vertex.op, &[], None);
                let Some(manifest) = manifest_digest else {
                    return Ok(Some(VertexResult {
                        key,
                        snapshot: None,
                        created: 0,
                        empty: true,
                        cached: false,
                    }));
                };
                let Some(image) = self.backend.cache.image(manifest)? else {
                    return Ok(None);
                };
                self.report_cached(node, &vertex.name);
                Ok(Some(result(key, image, false)))
            }
            op if sources::needs_digest(op) => Ok(None),
            op => self.lookup(node, vertex, cache_key(op, &inputs.keys(), None)),
        }
    }

    /// The cache record for `key`, unless `--no-cache` (or its filter) says to run.
    fn lookup(&self, node: Node, vertex: &Vertex, key: String) -> Result<Option<VertexResult>> {
        if self.ignores_cache(vertex) {
            return Ok(None);
        }
        let Some(hit) = self.backend.cache.lookup(&key)? else {
            return Ok(None);
        };
        self.report_cached(node, &vertex.name);
        Ok(Some(result(key, hit, true)))
    }

    fn report_cached(&self, node: Node, name: &str) {
        self.reporter.event(Event::Cached {
            vertex: node.index(),
            name: name.to_string(),
        });
    }

    /// Does a vertex's work: unpacks a base image, digests its sources (then looks up
    /// the cache), or runs the step and commits its snapshot with a cache record.
    pub(super) async fn run_vertex(
        &self,
        graph: &BuildGraph,
        node: Node,
        inputs: Inputs,
    ) -> Result<VertexResult> {
        let vertex = &graph[node];
        let root = &self.backend.root;
        let start = Instant::now();
        if let Op::Source { manifest_digest } = &vertex.op {
            let key = cache_key(&vertex.op, &[], None);
            // One process unpacks a base image; the others find its snapshots.
            let _lock = self.lock_key(&key).await?;
            return self
                .unpack_source(node.index(), &vertex.name, manifest_digest.clone(), key)
                .await
                .map_err(|e| e.on_full_disk(&vertex.name, Some(vertex.span), root));
        }
        let (content, resolved) = if sources::needs_digest(&vertex.op) {
            let (op, context, cache, tmp) = (
                vertex.op.clone(),
                self.context.clone(),
                self.backend.cache.clone(),
                root.join("tmp-v1"),
            );
            blocking(move || sources::digest(&op, &context, cache.as_ref(), &tmp))
                .await
                .map_err(|e| at_step(e, &vertex.name, vertex.span, root))?
        } else {
            (None, Resolved::default())
        };
        let key = cache_key(&vertex.op, &inputs.keys(), content.as_deref());
        if content.is_some()
            && let Some(hit) = self.lookup(node, vertex, key.clone())?
        {
            return Ok(hit);
        }
        // Another kiln process may be building this key: wait for it, then take its
        // record rather than run the step again. `--no-cache` runs it regardless.
        let _lock = if self.ignores_cache(vertex) {
            None
        } else {
            let lock = self.lock_key(&key).await?;
            if let Some(hit) = self.lookup(node, vertex, key.clone())? {
                return Ok(hit);
            }
            Some(lock)
        };
        self.reporter.event(Event::Started {
            vertex: node.index(),
            name: vertex.name.clone(),
        });
        let record = CacheRecord {
            key: key.clone(),
            snapshot: String::new(),
            description: vertex.description.clone(),
            created: unix_now(),
            last_used: unix_now(),
        };
        let outcome = match &vertex.op {
            Op::Exec(op) => exec::run(self, node.index(), vertex, op, &inputs, record).await,
            Op::File(op) => self
                .run_file(vertex, op, &inputs, resolved, record)
                .await
                .map_err(|e| at_step(e, &vertex.name, vertex.span, root)),
            Op::Merge { layer } => self
                .run_merge(vertex, &inputs, *layer, record)
                .await
                .map_err(|e| at_step(e, &vertex.name, vertex.span, root)),
            Op::Source { .. } => unreachable!("sources returned above"),
        };
        match outcome {
            Ok(committed) => {
                self.reporter.event(Event::Completed {
                    vertex: node.index(),
                    duration: start.elapsed(),
                });
                Ok(result(key, committed, false))
            }
            Err(e) => {
                let e = e.on_full_disk(&vertex.name, Some(vertex.span), root);
                self.reporter.event(Event::Failed {
                    vertex: node.index(),
                    duration: start.elapsed(),
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// A COPY or WORKDIR: an active snapshot over the parent, the file backend on it,
    /// commit (or remove on failure).
    async fn run_file(
        &self,
        vertex: &Vertex,
        op: &FileOp,
        inputs: &Inputs,
        resolved: Resolved,
        mut record: CacheRecord,
    ) -> Result<Committed> {
        let parent = inputs.parent().and_then(|r| r.snapshot.clone());
        let input = match op {
            FileOp::Copy(CopyOp {
                source: CopySource::Input(slot),
                ..
            }) => Some((
                inputs.slot(*slot).and_then(|r| r.snapshot.clone()),
                vertex.source_label(*slot),
            )),
            _ => None,
        };
        let (snapshotter, files, context, op, on_conflict) = (
            self.backend.snapshotter.clone(),
            self.backend.files.clone(),
            self.context.clone(),
            op.clone(),
            self.on_conflict(vertex),
        );
        blocking(move || {
            let active = snapshotter.prepare(parent.as_deref())?;
            let sources = FileSources {
                context: &context,
                context_sources: resolved.context.as_ref(),
                downloads: resolved.downloads.as_ref().map(|d| d.files.as_slice()),
                input: input.as_ref().map(|(s, l)| (s.as_deref(), l.as_str())),
            };
            if let Err(e) = files.apply(&active, &op, sources) {
                let _ = snapshotter.remove(active);
                return Err(e);
            }
            record.snapshot = active.id.clone();
            snapshotter.commit(active, &record, on_conflict)
        })
        .await
    }

    /// `COPY --link`'s merge: an active snapshot over the parent, the link layer's diff
    /// put in as it is, commit (or remove on failure).
    async fn run_merge(
        &self,
        vertex: &Vertex,
        inputs: &Inputs,
        layer: usize,
        mut record: CacheRecord,
    ) -> Result<Committed> {
        let parent = inputs.parent().and_then(|r| r.snapshot.clone());
        let layer = inputs.slot(layer).and_then(|r| r.snapshot.clone());
        let (snapshotter, on_conflict) =
            (self.backend.snapshotter.clone(), self.on_conflict(vertex));
        blocking(move || {
            let active = snapshotter.prepare(parent.as_deref())?;
            if let Some(layer) = &layer
                && let Err(e) = snapshotter.copy_diff(&active, layer)
            {
                let _ = snapshotter.remove(active);
                return Err(e);
            }
            record.snapshot = active.id.clone();
            snapshotter.commit(active, &record, on_conflict)
        })
        .await
    }

    /// Waits until no other kiln process holds the lock on `key`, then holds it until
    /// the returned value is dropped. Polls, so no thread blocks and a cancelled build
    /// stops waiting at once; the kernel releases the lock if its holder dies.
    async fn lock_key(&self, key: &str) -> Result<KeyGuard> {
        let mut delay = Duration::from_millis(10);
        loop {
            let cache = self.backend.cache.clone();
            let key = key.to_string();
            if let Some(lock) = blocking(move || cache.try_lock(&key)).await? {
                return Ok(lock);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }

    /// A base image whose layers have no snapshots yet: unpack them.
    async fn unpack_source(
        &self,
        id: usize,
        name: &str,
        manifest: Option<String>,
        key: String,
    ) -> Result<VertexResult> {
        let start = Instant::now();
        self.reporter.event(Event::Started {
            vertex: id,
            name: name.to_string(),
        });
        let cache = self.backend.cache.clone();
        let image = blocking(move || match manifest {
            Some(manifest) => cache.unpack_image(&manifest),
            None => Ok(Committed {
                snapshot: None,
                created: 0,
                empty: false,
            }),
        })
        .await?;
        self.reporter.event(Event::Completed {
            vertex: id,
            duration: start.elapsed(),
        });
        Ok(result(key, image, false))
    }
}

fn result(key: String, committed: Committed, cached: bool) -> VertexResult {
    VertexResult {
        key,
        snapshot: committed.snapshot,
        created: committed.created,
        empty: committed.empty,
        cached,
    }
}
