//! The scheduler: a topological walk of the build graph on tokio where every vertex
//! whose input is ready runs at once (bounded by `jobs`), each one either a cache hit
//! or run and committed.

mod exec;
mod file;
mod mount;
mod tail;

use crate::context::BuildContext;
use crate::error::{Result, SolveError};
use crate::key::cache_key;
use crate::op::{BuildGraph, FileOp, Node, Op};
use crate::progress::{Event, Reporter};
use kiln_cache::Store;
use kiln_cache::oci::chain_ids;
use kiln_executor::Sandbox;
use petgraph::Direction;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// A vertex's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexResult {
    pub key: String,
    /// The committed snapshot holding the vertex's filesystem (`None`: empty scratch).
    pub snapshot: Option<String>,
    /// When the snapshot was made (Unix seconds): a cache hit keeps its original time.
    pub created: i64,
    /// The snapshot adds nothing to its parent.
    pub empty: bool,
}

/// Runs build graphs against a store.
#[derive(Clone)]
pub struct Solver {
    pub store: Arc<Store>,
    pub sandbox: Arc<Sandbox>,
    pub context: Arc<BuildContext>,
    pub reporter: Arc<dyn Reporter>,
    /// `--no-cache`: run every vertex, replacing its cache record.
    pub no_cache: bool,
    /// How many vertices may run at once.
    pub jobs: usize,
}

impl Solver {
    /// Runs every vertex `target` depends on (and no other); returns their results.
    pub async fn solve(
        &self,
        graph: Arc<BuildGraph>,
        target: Node,
    ) -> Result<HashMap<Node, VertexResult>> {
        let needed = ancestors(&graph, target);
        let mut waiting: HashMap<Node, usize> = needed
            .iter()
            .map(|&n| (n, graph.neighbors_directed(n, Direction::Incoming).count()))
            .collect();
        let mut results: HashMap<Node, VertexResult> = HashMap::new();
        let mut tasks = JoinSet::new();
        let limit = Arc::new(Semaphore::new(self.jobs.max(1)));
        let mut ready: Vec<Node> = waiting
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| *n)
            .collect();
        loop {
            for node in ready.drain(..) {
                let input = graph
                    .neighbors_directed(node, Direction::Incoming)
                    .next()
                    .and_then(|i| results.get(&i).cloned());
                let (solver, graph, limit) = (self.clone(), graph.clone(), limit.clone());
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    (node, solver.run_vertex(&graph, node, input).await)
                });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (node, result) = joined.map_err(|e| SolveError::Io(std::io::Error::other(e)))?;
            let result = match result {
                Ok(r) => r,
                Err(e) => {
                    tasks.shutdown().await;
                    return Err(e);
                }
            };
            results.insert(node, result);
            for next in graph.neighbors_directed(node, Direction::Outgoing) {
                if let Some(count) = waiting.get_mut(&next) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(next);
                    }
                }
            }
        }
        Ok(results)
    }

    async fn run_vertex(
        &self,
        graph: &BuildGraph,
        node: Node,
        input: Option<VertexResult>,
    ) -> Result<VertexResult> {
        let vertex = &graph[node];
        let id = node.index();
        let parent = input.as_ref().and_then(|r| r.snapshot.clone());
        let input_keys: Vec<&str> = input.iter().map(|r| r.key.as_str()).collect();
        if let Op::Source { manifest_digest } = &vertex.op {
            return self
                .source(
                    id,
                    &vertex.name,
                    manifest_digest.as_deref(),
                    cache_key(&vertex.op, &[], None),
                )
                .await;
        }
        let sources = match &vertex.op {
            Op::File(FileOp::Copy(copy)) => {
                let (context, store, patterns) = (
                    self.context.clone(),
                    self.store.clone(),
                    copy.sources.clone(),
                );
                let step = vertex.name.clone();
                Some(
                    blocking(move || {
                        let sources = context.resolve(&patterns)?;
                        let digest = context.digest(&sources, store.index())?;
                        Ok((sources, digest))
                    })
                    .await
                    .map_err(|e| at_step(e, &step, vertex.span))?,
                )
            }
            _ => None,
        };
        let key = cache_key(
            &vertex.op,
            &input_keys,
            sources.as_ref().map(|(_, d)| d.as_str()),
        );
        if !self.no_cache {
            let (store, k) = (self.store.clone(), key.clone());
            let hit = blocking(move || {
                let Some(record) = store
                    .index()
                    .lookup_record(&k, kiln_cache::root::unix_now())?
                else {
                    return Ok(None);
                };
                let row = store.committed_snapshot(&record.snapshot)?;
                Ok(Some((record, row)))
            })
            .await?;
            if let Some((record, row)) = hit {
                self.reporter.event(Event::Cached {
                    vertex: id,
                    name: vertex.name.clone(),
                });
                return Ok(VertexResult {
                    key,
                    snapshot: Some(record.snapshot),
                    created: record.created,
                    empty: row.empty,
                });
            }
        }
        self.reporter.event(Event::Started {
            vertex: id,
            name: vertex.name.clone(),
        });
        let start = Instant::now();
        let record = kiln_cache::index::CacheRecord {
            key: key.clone(),
            snapshot: String::new(),
            description: vertex.description.clone(),
            created: kiln_cache::root::unix_now(),
            last_used: kiln_cache::root::unix_now(),
        };
        let outcome = match &vertex.op {
            Op::Exec(exec) => exec::run(self, id, vertex, exec, parent, record).await,
            Op::File(op) => {
                let (store, op, step, span) = (
                    self.store.clone(),
                    op.clone(),
                    vertex.name.clone(),
                    vertex.span,
                );
                let sources = sources.map(|(s, _)| s);
                blocking(move || {
                    file::run(&store, &op, sources.as_deref(), parent.as_deref(), record)
                })
                .await
                .map_err(|e| at_step(e, &step, span))
            }
            Op::Source { .. } => unreachable!("handled above"),
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
                })
            }
            Err(e) => {
                self.reporter.event(Event::Failed {
                    vertex: id,
                    duration: start.elapsed(),
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// A base image: its snapshot chain, unpacked on first use.
    async fn source(
        &self,
        id: usize,
        name: &str,
        manifest: Option<&str>,
        key: String,
    ) -> Result<VertexResult> {
        let Some(manifest) = manifest.map(str::to_string) else {
            return Ok(VertexResult {
                key,
                snapshot: None,
                created: 0,
                empty: true,
            });
        };
        let store = self.store.clone();
        let (image, existed) = blocking({
            let store = store.clone();
            move || {
                let image = store.image_by_manifest(&manifest)?;
                let top = chain_ids(&image.config.rootfs.diff_ids).pop();
                let existed = match top {
                    Some(chain) => store.index().chain_snapshot(&chain)?.is_some(),
                    None => true,
                };
                Ok((image, existed))
            }
        })
        .await?;
        let start = Instant::now();
        if existed {
            self.reporter.event(Event::Cached {
                vertex: id,
                name: name.to_string(),
            });
        } else {
            self.reporter.event(Event::Started {
                vertex: id,
                name: name.to_string(),
            });
        }
        let created = image.row.created;
        let snapshot = blocking(move || Ok(store.image_snapshot(&image)?)).await?;
        if !existed {
            self.reporter.event(Event::Completed {
                vertex: id,
                duration: start.elapsed(),
            });
        }
        Ok(VertexResult {
            key,
            snapshot,
            created,
            empty: false,
        })
    }
}

/// Runs blocking store or filesystem work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SolveError::Io(std::io::Error::other(e)))?
}

/// Attaches the step to errors that do not name one yet.
fn at_step(e: SolveError, step: &str, span: kiln_parser::Span) -> SolveError {
    match e {
        SolveError::Context { .. } | SolveError::Cache(_) | SolveError::Io(_) => SolveError::Step {
            step: step.to_string(),
            message: error_chain(&e),
            span,
        },
        other => other,
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

/// `target` and every vertex it depends on.
fn ancestors(graph: &BuildGraph, target: Node) -> HashSet<Node> {
    let mut seen = HashSet::from([target]);
    let mut stack = vec![target];
    while let Some(n) = stack.pop() {
        for input in graph.neighbors_directed(n, Direction::Incoming) {
            if seen.insert(input) {
                stack.push(input);
            }
        }
    }
    seen
}
