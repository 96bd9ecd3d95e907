//! The build graph: one closed [`Op`] per vertex, edges from inputs to users.

use kiln_executor::NetworkMode;
use kiln_parser::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

/// One vertex's operation. Its serialized form is what the cache key hashes, so
/// every field here must change the result; presentation lives in [`Vertex`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Op {
    /// A base image's filesystem, by manifest digest; `None` is `scratch`.
    Source { manifest_digest: Option<String> },
    /// A RUN: a process in the sandbox over the input's filesystem.
    Exec(ExecOp),
    /// A COPY or WORKDIR: file operations on the input's filesystem.
    File(FileOp),
}

/// The process a RUN starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOp {
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Proxy build arguments (`HTTP_PROXY`…) given but not declared: in the process's
    /// environment, never in the cache key, the image or its history, as BuildKit.
    #[serde(skip)]
    pub proxy_env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub network: NetworkMode,
    /// The sandbox's hostname (`BUILDKIT_SANDBOX_HOSTNAME`, else BuildKit's
    /// `buildkitsandbox`): a step may write it into its files.
    pub hostname: String,
}

/// A file operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FileOp {
    /// COPY from the build context.
    Copy(CopyOp),
    /// WORKDIR: create a directory (and its parents) if missing.
    Mkdir { path: String, owner: Option<String> },
}

/// Where COPY takes its sources from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CopySource {
    /// The build context (sources are hashed into the key).
    Context,
    /// The vertex's [`Input::From`] (another stage or an image, whose key already
    /// identifies its content).
    From,
}

/// COPY sources (cleaned, possibly with wildcards; relative to the context or to the
/// `--from` root) to a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyOp {
    pub source: CopySource,
    pub sources: Vec<String>,
    /// Absolute destination; a trailing `/` means "into this directory".
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<u32>,
}

/// A vertex: the op plus what the user sees of it.
#[derive(Debug, Clone)]
pub struct Vertex {
    pub op: Op,
    /// Progress name, e.g. `[2/4] WORKDIR /app`.
    pub name: String,
    /// The instruction text, kept in the cache record.
    pub description: String,
    /// Where the instruction is in the Dockerfile.
    pub span: Span,
    /// What `COPY --from` reads, for messages: ``stage `build` `` or ``image `x:1` ``.
    pub from: Option<String>,
}

/// What an edge gives the vertex it points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
    /// The filesystem the vertex changes.
    Parent,
    /// The filesystem `COPY --from` reads.
    From,
}

/// A DAG of vertices; an edge `a → b` means `b` takes `a`'s filesystem as input.
pub type BuildGraph = DiGraph<Vertex, Input>;

/// Node handle in a [`BuildGraph`].
pub type Node = NodeIndex;
