//! One vertex: a cache hit found inline by the scheduler, or run in its own task.

use super::{Inputs, Solver, VertexResult, at_step, blocking, exec, file};
use crate::error::Result;
use crate::key::cache_key;
use crate::op::{BuildGraph, CopyOp, CopySource, FileOp, Node, Op};
use crate::progress::Event;
use kiln_cache::KeyLock;
use kiln_cache::index::CacheRecord;
use kiln_cache::oci::chain_ids;
use kiln_cache::root::unix_now;
use std::time::{Duration, Instant};

impl Solver {
    /// The vertex's result if it needs no work: a cache hit, or a base image whose
    /// snapshots exist. Cheap (index reads), so the scheduler calls it inline. COPY
    /// needs its sources hashed first, so it always goes to [`Solver::run_vertex`].
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
                let image = self.store.image_by_manifest(manifest)?;
                let snapshot = match chain_ids(&image.config.rootfs.diff_ids).pop() {
                    Some(chain) => match self.store.index().chain_snapshot(&chain)? {
                        Some(id) => Some(id),
                        None => return Ok(None),
                    },
                    None => None,
                };
                self.report_cached(node, &vertex.name);
                Ok(Some(VertexResult {
                    key,
                    snapshot,
                    created: image.row.created,
                    empty: false,
                    cached: false,
                }))
            }
            Op::File(FileOp::Copy(copy)) if copy.source == CopySource::Context => Ok(None),
            op => self.lookup(node, &vertex.name, cache_key(op, &inputs.keys(), None)),
        }
    }

    /// The cache record for `key`, unless `--no-cache`.
    fn lookup(&self, node: Node, name: &str, key: String) -> Result<Option<VertexResult>> {
        if self.no_cache {
            return Ok(None);
        }
        let Some((record, empty)) = self.store.index().lookup_record(&key)? else {
            return Ok(None);
        };
        self.report_cached(node, name);
        Ok(Some(VertexResult {
            key,
            snapshot: Some(record.snapshot),
            created: record.created,
            empty,
            cached: true,
        }))
    }

    fn report_cached(&self, node: Node, name: &str) {
        self.reporter.event(Event::Cached {
            vertex: node.index(),
            name: name.to_string(),
        });
    }

    /// Does a vertex's work: unpacks a base image, hashes COPY sources (then looks up
    /// the cache), or runs the step and commits its snapshot with a cache record.
    pub(super) async fn run_vertex(
        &self,
        graph: &BuildGraph,
        node: Node,
        inputs: Inputs,
    ) -> Result<VertexResult> {
        let vertex = &graph[node];
        let root = self.store.root().path();
        let id = node.index();
        let parent = inputs.parent().and_then(|r| r.snapshot.clone());
        let (from, from_label) = match &vertex.op {
            Op::File(FileOp::Copy(CopyOp {
                source: CopySource::Input(slot),
                ..
            })) => (
                inputs.slot(*slot).and_then(|r| r.snapshot.clone()),
                vertex.source_label(*slot),
            ),
            _ => (None, String::new()),
        };
        let start = Instant::now();
        let (key, sources) = match &vertex.op {
            Op::Source { manifest_digest } => {
                let key = cache_key(&vertex.op, &[], None);
                // One process unpacks a base image; the others find its snapshots.
                let _lock = self.lock_key(&key).await?;
                return self
                    .unpack_source(id, &vertex.name, manifest_digest.clone(), key)
                    .await
                    .map_err(|e| e.on_full_disk(&vertex.name, Some(vertex.span), root));
            }
            Op::File(FileOp::Copy(copy)) if copy.source == CopySource::Context => {
                let (context, store, patterns) = (
                    self.context.clone(),
                    self.store.clone(),
                    copy.sources.clone(),
                );
                let (sources, digest) = blocking(move || {
                    let sources = context.resolve(&patterns)?;
                    let digest = context.digest(&sources, store.index())?;
                    Ok((sources, digest))
                })
                .await
                .map_err(|e| at_step(e, &vertex.name, vertex.span, root))?;
                let key = cache_key(&vertex.op, &inputs.keys(), Some(&digest));
                if let Some(hit) = self.lookup(node, &vertex.name, key.clone())? {
                    return Ok(hit);
                }
                (key, Some(sources))
            }
            op => (cache_key(op, &inputs.keys(), None), None),
        };
        // Another kiln process may be building this key: wait for it, then take its
        // record rather than run the step again. `--no-cache` runs it regardless.
        let _lock = if self.no_cache {
            None
        } else {
            let lock = self.lock_key(&key).await?;
            if let Some(hit) = self.lookup(node, &vertex.name, key.clone())? {
                return Ok(hit);
            }
            Some(lock)
        };
        self.reporter.event(Event::Started {
            vertex: id,
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
            Op::Exec(exec) => exec::run(self, id, vertex, exec, parent, record).await,
            Op::File(op) => {
                let (store, context, op, step, span, on_conflict, from_label) = (
                    self.store.clone(),
                    self.context.clone(),
                    op.clone(),
                    vertex.name.clone(),
                    vertex.span,
                    self.on_conflict(),
                    from_label,
                );
                blocking(move || {
                    let inputs = file::FileInputs {
                        context: &context,
                        sources: sources.as_deref(),
                        from: from.as_deref(),
                        from_label: &from_label,
                    };
                    file::run(&store, &op, parent.as_deref(), inputs, record, on_conflict)
                })
                .await
                .map_err(|e| at_step(e, &step, span, root))
            }
            Op::Source { .. } => unreachable!("sources returned above"),
        };
        match outcome {
            Ok(row) => {
                self.reporter.event(Event::Completed {
                    vertex: id,
                    duration: start.elapsed(),
                });
                Ok(VertexResult {
                    key,
                    snapshot: Some(row.id),
                    created: row.created,
                    empty: row.empty,
                    cached: false,
                })
            }
            Err(e) => {
                let e = e.on_full_disk(&vertex.name, Some(vertex.span), root);
                self.reporter.event(Event::Failed {
                    vertex: id,
                    duration: start.elapsed(),
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// Waits until no other kiln process holds the lock on `key`, then holds it until
    /// the returned value is dropped. Polls, so no thread blocks and a cancelled build
    /// stops waiting at once; the kernel releases the lock if its holder dies.
    async fn lock_key(&self, key: &str) -> Result<KeyLock> {
        let mut delay = Duration::from_millis(10);
        loop {
            let store = self.store.clone();
            let key = key.to_string();
            if let Some(lock) = blocking(move || Ok(store.try_lock_key(&key)?)).await? {
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
        let store = self.store.clone();
        let (snapshot, created) = blocking(move || {
            let Some(manifest) = manifest else {
                return Ok((None, 0));
            };
            let image = store.image_by_manifest(&manifest)?;
            Ok((store.image_snapshot(&image)?, image.row.created))
        })
        .await?;
        self.reporter.event(Event::Completed {
            vertex: id,
            duration: start.elapsed(),
        });
        Ok(VertexResult {
            key,
            snapshot,
            created,
            empty: false,
            cached: false,
        })
    }
}
