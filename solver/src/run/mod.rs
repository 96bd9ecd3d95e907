//! The scheduler: a topological walk of the build graph on tokio where every vertex
//! whose input is ready runs at once (bounded by `jobs`), each one either a cache hit
//! or run and committed.

mod exec;
mod file;
mod mount;
mod tail;
mod vertex;

use crate::context::BuildContext;
use crate::error::{Result, SolveError};
use crate::op::{BuildGraph, Node};
use crate::progress::Reporter;
use kiln_cache::Store;
use kiln_executor::Sandbox;
use petgraph::Direction;
use std::collections::{HashMap, HashSet};
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
        let mut hits: Vec<String> = Vec::new();
        let mut tasks = JoinSet::new();
        let limit = Arc::new(Semaphore::new(self.jobs.max(1)));
        let mut ready: Vec<Node> = waiting
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| *n)
            .collect();
        loop {
            while let Some(node) = ready.pop() {
                let input = graph
                    .neighbors_directed(node, Direction::Incoming)
                    .next()
                    .and_then(|i| results.get(&i).cloned());
                // Cache hits resolve right here, without a task or a thread hand-off:
                // a fully cached build is a tight loop of index reads.
                let hit = match self.try_cached(&graph, node, input.as_ref()) {
                    Ok(hit) => hit,
                    Err(e) => {
                        tasks.shutdown().await;
                        return Err(e);
                    }
                };
                if let Some(result) = hit {
                    finish(
                        &graph,
                        node,
                        result,
                        &mut results,
                        &mut hits,
                        &mut waiting,
                        &mut ready,
                    );
                    continue;
                }
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
            match result {
                Ok(result) => finish(
                    &graph,
                    node,
                    result,
                    &mut results,
                    &mut hits,
                    &mut waiting,
                    &mut ready,
                ),
                Err(e) => {
                    tasks.shutdown().await;
                    return Err(e);
                }
            }
        }
        let store = self.store.clone();
        blocking(move || {
            Ok(store
                .index()
                .touch_records(&hits, kiln_cache::root::unix_now())?)
        })
        .await?;
        Ok(results)
    }
}

/// Records a vertex's result and makes the vertices waiting only on it ready.
fn finish(
    graph: &BuildGraph,
    node: Node,
    result: VertexResult,
    results: &mut HashMap<Node, VertexResult>,
    hits: &mut Vec<String>,
    waiting: &mut HashMap<Node, usize>,
    ready: &mut Vec<Node>,
) {
    if result.cached {
        hits.push(result.key.clone());
    }
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
