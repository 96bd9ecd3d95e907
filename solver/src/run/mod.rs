//! The scheduler: a topological walk of the build graph on tokio where every vertex
//! whose inputs are ready runs at once (bounded by `jobs`), each one either a cache hit
//! or run and committed. It reaches storage and the sandbox only through the traits of
//! [`crate::backend`].

mod exec;
mod sources;
mod tail;
#[cfg(test)]
mod tests;
mod vertex;

pub(crate) use crate::backend::error_chain;

use crate::backend::Backend;
use crate::context::BuildContext;
use crate::error::{Result, SolveError};
use crate::op::{BuildGraph, Node, Role, Vertex};
use crate::progress::Reporter;
use kiln_cache::index::OnConflict;
use petgraph::Direction;
use petgraph::visit::EdgeRef;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
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
    /// The result came from a cache record (sources have none).
    pub cached: bool,
}

/// Runs build graphs against a backend (in production, a store and the sandbox).
#[derive(Clone)]
pub struct Solver {
    pub backend: Backend,
    pub context: Arc<BuildContext>,
    pub reporter: Arc<dyn Reporter>,
    /// `--no-cache`: run every vertex, replacing its cache record.
    pub no_cache: bool,
    /// How many vertices may run at once (0: no limit, like BuildKit).
    pub jobs: usize,
}

impl Solver {
    /// Whether the vertex runs even when its key has a record: `--no-cache`, or
    /// `--no-cache-filter` naming its stage.
    fn ignores_cache(&self, vertex: &Vertex) -> bool {
        self.no_cache || vertex.ignore_cache
    }

    /// What a commit does when another process committed the same key first: the
    /// first record wins, unless the step was asked to run again.
    fn on_conflict(&self, vertex: &Vertex) -> OnConflict {
        if self.ignores_cache(vertex) {
            OnConflict::Replace
        } else {
            OnConflict::KeepFirst
        }
    }

    /// Runs every vertex `target` depends on (and no other); returns their results.
    pub async fn solve(
        &self,
        graph: Arc<BuildGraph>,
        target: Node,
    ) -> Result<HashMap<Node, VertexResult>> {
        let mut walk = Walk::new(graph, target);
        let mut tasks = JoinSet::new();
        if let Err(e) = self.drive(&mut walk, &mut tasks).await {
            // The first error cancels everything still running.
            tasks.shutdown().await;
            return Err(e);
        }
        let (cache, hits) = (self.backend.cache.clone(), std::mem::take(&mut walk.hits));
        blocking(move || cache.touch(&hits)).await?;
        Ok(walk.results)
    }

    /// Runs ready vertices until none is left: cache hits resolve right here, without
    /// a task or a thread hand-off (a fully cached build is a tight loop of index
    /// reads); misses run as tasks, at most `jobs` at once.
    async fn drive(
        &self,
        walk: &mut Walk,
        tasks: &mut JoinSet<(Node, Result<VertexResult>)>,
    ) -> Result<()> {
        let limit = (self.jobs > 0).then(|| Arc::new(Semaphore::new(self.jobs)));
        loop {
            while let Some(node) = walk.ready.pop() {
                let inputs = walk.inputs(node);
                if let Some(result) = self.try_cached(&walk.graph, node, &inputs)? {
                    walk.finish(node, result);
                    continue;
                }
                let (solver, graph, limit) = (self.clone(), walk.graph.clone(), limit.clone());
                tasks.spawn(async move {
                    let _permit = match limit {
                        Some(limit) => Some(limit.acquire_owned().await),
                        None => None,
                    };
                    (node, solver.run_vertex(&graph, node, inputs).await)
                });
            }
            let Some(joined) = tasks.join_next().await else {
                return Ok(());
            };
            let (node, result) = joined.map_err(|e| SolveError::Io(std::io::Error::other(e)))?;
            walk.finish(node, result?);
        }
    }
}

/// The results a vertex takes as inputs, in slot order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inputs {
    pub slots: Vec<(Role, VertexResult)>,
}

impl Inputs {
    /// The inputs' roles and cache keys, in slot order.
    pub fn keys(&self) -> Vec<(Role, &str)> {
        self.slots
            .iter()
            .map(|(role, r)| (*role, r.key.as_str()))
            .collect()
    }

    /// The filesystem the vertex changes (`None`: empty).
    pub fn parent(&self) -> Option<&VertexResult> {
        self.slots
            .iter()
            .find(|(role, _)| *role == Role::Parent)
            .map(|(_, r)| r)
    }

    /// The input at `slot`.
    pub fn slot(&self, slot: usize) -> Option<&VertexResult> {
        self.slots.get(slot).map(|(_, r)| r)
    }
}

/// The state of one walk over the graph: what is done, what waits on what.
struct Walk {
    graph: Arc<BuildGraph>,
    /// For each needed vertex not yet ready, how many inputs it still waits for.
    waiting: HashMap<Node, usize>,
    ready: Vec<Node>,
    results: HashMap<Node, VertexResult>,
    /// Keys of the cache records hit, marked used at the end.
    hits: Vec<String>,
}

impl Walk {
    /// A walk over `target` and the vertices it depends on.
    fn new(graph: Arc<BuildGraph>, target: Node) -> Self {
        let waiting: HashMap<Node, usize> = ancestors(&graph, target)
            .into_iter()
            .map(|n| (n, graph.neighbors_directed(n, Direction::Incoming).count()))
            .collect();
        let ready = waiting
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| *n)
            .collect();
        Self {
            graph,
            waiting,
            ready,
            results: HashMap::new(),
            hits: Vec::new(),
        }
    }

    /// The results of the vertex's inputs.
    fn inputs(&self, node: Node) -> Inputs {
        let mut edges: Vec<_> = self
            .graph
            .edges_directed(node, Direction::Incoming)
            .filter_map(|e| {
                let result = self.results.get(&e.source()).cloned()?;
                Some((e.weight().slot, e.weight().role, result))
            })
            .collect();
        edges.sort_by_key(|(slot, _, _)| *slot);
        Inputs {
            slots: edges.into_iter().map(|(_, role, r)| (role, r)).collect(),
        }
    }

    /// Records a vertex's result and makes the vertices waiting only on it ready.
    fn finish(&mut self, node: Node, result: VertexResult) {
        if result.cached {
            self.hits.push(result.key.clone());
        }
        self.results.insert(node, result);
        for next in self.graph.neighbors_directed(node, Direction::Outgoing) {
            if let Some(count) = self.waiting.get_mut(&next) {
                *count -= 1;
                if *count == 0 {
                    self.ready.push(next);
                }
            }
        }
    }
}

/// Runs blocking store or filesystem work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SolveError::Io(std::io::Error::other(e)))?
}

/// Attaches the step to errors that do not name one yet; a full disk becomes
/// [`SolveError::NoSpace`].
fn at_step(e: SolveError, step: &str, span: kiln_parser::Span, root: &Path) -> SolveError {
    match e.on_full_disk(step, Some(span), root) {
        e @ (SolveError::Context { .. }
        | SolveError::Input { .. }
        | SolveError::Instruction(_)
        | SolveError::Cache(_)
        | SolveError::Io(_)) => SolveError::Step {
            step: step.to_string(),
            message: error_chain(&e),
            span,
        },
        other => other,
    }
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
