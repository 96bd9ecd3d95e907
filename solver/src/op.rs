//! The build graph: one closed [`Op`] per vertex, edges from inputs to users.

use kiln_cache::rootfs::Chmod;
use kiln_executor::{HostConfig, NetworkMode};
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
    /// `COPY --link`, as BuildKit's MergeOp: the parent's filesystem with the diff of
    /// the input at slot `layer` (a copy made on an empty filesystem) on top, that diff
    /// reused as it is, not made again.
    Merge { layer: usize },
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
    /// Files mounted read-only at `/dev/pipes/<name>` (mode 0755): a heredoc script
    /// with a shebang line, which BuildKit runs as a file.
    pub pipes: Vec<InlineFile>,
    /// `--add-host`, `--shm-size`, `--ulimit`: in the key, as in BuildKit's ExecOp (left
    /// out of the serialized form when unset, so keys without them stay as they were).
    #[serde(skip_serializing_if = "HostConfig::is_empty")]
    pub host_config: HostConfig,
}

/// A file given inline by a heredoc. Its content is left out of the op's serialized
/// form: `run/sources.rs` adds its digest to the key, as for every non-vertex source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineFile {
    /// The file name: the heredoc's delimiter (never empty, `.`, `..` or with a `/`).
    pub name: String,
    #[serde(skip)]
    pub content: String,
}

/// A file operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum FileOp {
    /// COPY or ADD.
    Copy(CopyOp),
    /// WORKDIR: create a directory (and its parents) if missing.
    Mkdir { path: String, owner: Option<String> },
}

/// Where COPY takes its files from. Each kind has one place that gives its content
/// digest for the cache key (`run/sources.rs`); ADD's remote URLs join here as a kind of
/// their own. Heredoc files ([`CopyOp::inline`]) come on top of any kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CopySource {
    /// A selection of the build context: its files' content digest is in the key.
    Context,
    /// The filesystem of the vertex's input at this slot, with [`Role::Source`]:
    /// another stage or an image, whose key already identifies its content.
    Input(usize),
    /// ADD's remote files: the sources are `http(s)://` URLs, downloaded when the step
    /// runs; the downloads' content digest is in the key.
    Urls,
}

/// COPY or ADD sources (cleaned, possibly with wildcards; relative to the context or to
/// the `--from` root; or URLs) to a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyOp {
    pub source: CopySource,
    pub sources: Vec<String>,
    /// Files given by heredocs (`COPY <<EOF /dest`), copied after `sources` with mode
    /// 0644 (or `chmod`).
    pub inline: Vec<InlineFile>,
    /// Absolute destination; a trailing `/` means "into this directory".
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<Chmod>,
    /// `--exclude` patterns, matched below each source ([`crate::selection::Excludes`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `--parents`: each source keeps its path below its pivot under the destination
    /// ([`crate::selection::Kept`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub parents: bool,
    /// ADD: a local tar archive (told by content) is extracted into the destination.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unpack: bool,
    /// ADD `--checksum=sha256:…` of a URL source: checked, not a part of the result.
    #[serde(skip)]
    pub checksum: Option<String>,
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
    /// How messages name each [`Role::Source`] input, by slot: ``stage `build` `` or
    /// ``image `x:1` ``.
    pub sources: Vec<(usize, String)>,
    /// `--no-cache-filter` names the vertex's stage: it runs even when its key has a
    /// record (which it then replaces), as BuildKit's `IgnoreCache`.
    pub ignore_cache: bool,
}

impl Vertex {
    /// How messages name the source input at `slot`.
    pub fn source_label(&self, slot: usize) -> String {
        self.sources
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, label)| label.clone())
            .unwrap_or_default()
    }
}

/// What an input's filesystem is to the vertex it feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Role {
    /// The filesystem the vertex changes (at most one input has it).
    Parent,
    /// A filesystem the vertex reads files from (`COPY --from`). An op names its
    /// sources by slot ([`CopySource::Input`]), so a step may read any number.
    Source,
    // `RUN --mount` adds `Mount`: a filesystem the process sees at a path.
}

/// An edge `a → b`: `b` takes `a`'s filesystem as its input number `slot`. A vertex's
/// slots are `0..n` without gaps; its key hashes its inputs' keys in slot order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    pub role: Role,
    pub slot: usize,
}

/// A DAG of vertices; an edge `a → b` means `b` takes `a`'s filesystem as input.
pub type BuildGraph = DiGraph<Vertex, Edge>;

/// Node handle in a [`BuildGraph`].
pub type Node = NodeIndex;
