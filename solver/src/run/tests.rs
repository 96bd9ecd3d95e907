//! The scheduler against the in-memory fakes of [`crate::backend::fake`]: no root, no
//! sandbox, no store.

use super::Solver;
use crate::backend::fake::Fake;
use crate::context::BuildContext;
use crate::op::{
    BuildGraph, CopyOp, CopySource, Edge, ExecOp, FileOp, InlineFile, Node, Op, Role, Vertex,
};
use crate::progress::{Event, Reporter};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Quiet;

impl Reporter for Quiet {
    fn event(&self, _event: Event) {}
}

fn solver(fake: &Arc<Fake>, context: &std::path::Path, jobs: usize) -> Solver {
    Solver {
        backend: fake.backend(),
        context: Arc::new(BuildContext::new(context, None).unwrap()),
        reporter: Arc::new(Quiet),
        no_cache: false,
        jobs,
    }
}

fn run(command: &str) -> Op {
    Op::Exec(ExecOp {
        args: vec!["/bin/sh".into(), "-c".into(), command.into()],
        env: Vec::new(),
        proxy_env: Vec::new(),
        cwd: "/".into(),
        user: String::new(),
        network: Default::default(),
        hostname: "buildkitsandbox".into(),
        pipes: Vec::new(),
        host_config: Default::default(),
    })
}

fn vertex(op: Op) -> Vertex {
    Vertex {
        op,
        name: String::new(),
        description: String::new(),
        span: Default::default(),
        sources: Vec::new(),
        ignore_cache: false,
    }
}

/// Adds `op` on `parent`, reading the filesystems of `sources` (slots 1…).
fn add(graph: &mut BuildGraph, op: Op, parent: Option<Node>, sources: &[Node]) -> Node {
    let node = graph.add_node(vertex(op));
    let inputs = parent.map(|p| (p, Role::Parent)).into_iter();
    let inputs = inputs.chain(sources.iter().map(|s| (*s, Role::Source)));
    for (slot, (input, role)) in inputs.enumerate() {
        graph.add_edge(input, node, Edge { role, slot });
    }
    node
}

/// A final vertex reading every one of `nodes`, so one solve needs them all.
fn join(graph: &mut BuildGraph, nodes: &[Node]) -> Node {
    let copy = |slot| {
        Op::File(FileOp::Copy(CopyOp {
            source: CopySource::Input(slot),
            sources: vec!["/".into()],
            inline: Vec::new(),
            dest: format!("/{slot}/"),
            chown: None,
            chmod: None,
            exclude: Vec::new(),
            parents: false,
            unpack: false,
            checksum: None,
        }))
    };
    let mut top = None;
    for node in nodes {
        let slot = usize::from(top.is_some());
        top = Some(add(graph, copy(slot), top, &[*node]));
    }
    top.unwrap()
}

#[tokio::test]
async fn identical_steps_are_lowered_once_and_run_once() {
    let (state, context) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = kiln_cache::Store::open(state.path(), kiln_cache::root::LockMode::Shared).unwrap();
    let dockerfile = "FROM scratch AS a\nWORKDIR /x\nRUN make\n\
                      FROM scratch AS b\nWORKDIR /x\nRUN make\n\
                      FROM scratch\nCOPY --from=a /x /a\nCOPY --from=b /x /b\n";
    let dockerfile = kiln_parser::parse(dockerfile, "Dockerfile").unwrap();
    let plan = crate::lower(&dockerfile, &store, &Default::default()).unwrap();
    // WORKDIR and RUN once for both stages, then the two COPYs.
    assert_eq!(plan.graph.node_count(), 4);
    let fake = Arc::new(Fake::default());
    let graph = Arc::new(plan.graph);
    solver(&fake, context.path(), 0)
        .solve(graph, plan.target.unwrap())
        .await
        .unwrap();
    let log = fake.log.lock().unwrap();
    assert_eq!(log.started, ["make"]);
    assert_eq!(log.file_ops, 3);
}

#[tokio::test]
async fn the_first_error_cancels_the_rest() {
    let context = tempfile::tempdir().unwrap();
    let mut graph = BuildGraph::new();
    let slow = add(&mut graph, run("slow"), None, &[]);
    let fail = add(&mut graph, run("fail"), None, &[]);
    let top = join(&mut graph, &[slow, fail]);
    let fake = Arc::new(Fake::default());
    let start = Instant::now();
    let solved = solver(&fake, context.path(), 0)
        .solve(Arc::new(graph), top)
        .await;
    assert!(matches!(
        solved,
        Err(crate::SolveError::RunFailed { code: 1, .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(10));
    let log = fake.log.lock().unwrap();
    assert_eq!(log.cancelled, ["slow"]);
    assert_eq!((log.committed, log.file_ops), (0, 0));
}

#[tokio::test]
async fn at_most_jobs_steps_run_at_once() {
    let context = tempfile::tempdir().unwrap();
    let mut graph = BuildGraph::new();
    let steps: Vec<Node> = (0..6)
        .map(|i| add(&mut graph, run(&format!("step {i}")), None, &[]))
        .collect();
    let top = join(&mut graph, &steps);
    let fake = Arc::new(Fake::default());
    solver(&fake, context.path(), 2)
        .solve(Arc::new(graph), top)
        .await
        .unwrap();
    let log = fake.log.lock().unwrap();
    assert_eq!(log.started.len(), 6);
    assert_eq!(log.max_running, 2);
}

#[tokio::test]
async fn cache_hits_never_reach_the_executor() {
    let context = tempfile::tempdir().unwrap();
    fs_err::write(context.path().join("app.txt"), "v1").unwrap();
    let mut graph = BuildGraph::new();
    let mkdir = Op::File(FileOp::Mkdir {
        path: "/app".into(),
        owner: None,
    });
    let workdir = add(&mut graph, mkdir, None, &[]);
    let build = add(&mut graph, run("build"), Some(workdir), &[]);
    let copy = Op::File(FileOp::Copy(CopyOp {
        source: CopySource::Context,
        sources: vec!["app.txt".into()],
        inline: Vec::new(),
        dest: "/app/".into(),
        chown: None,
        chmod: None,
        exclude: Vec::new(),
        parents: false,
        unpack: false,
        checksum: None,
    }));
    let top = add(&mut graph, copy, Some(build), &[]);
    let graph = Arc::new(graph);
    let fake = Arc::new(Fake::default());
    let first = solver(&fake, context.path(), 0)
        .solve(graph.clone(), top)
        .await
        .unwrap();
    assert_eq!(fake.log.lock().unwrap().started, ["build"]);
    *fake.log.lock().unwrap() = Default::default();
    let second = solver(&fake, context.path(), 0)
        .solve(graph.clone(), top)
        .await
        .unwrap();
    assert!(second.values().all(|r| r.cached));
    assert_eq!(first[&top].key, second[&top].key);
    {
        let log = fake.log.lock().unwrap();
        assert!(log.started.is_empty());
        assert_eq!((log.prepared, log.file_ops, log.committed), (0, 0, 0));
    }
    // A changed context file changes only the COPY's key.
    fs_err::write(context.path().join("app.txt"), "v2").unwrap();
    let third = solver(&fake, context.path(), 0)
        .solve(graph, top)
        .await
        .unwrap();
    assert_ne!(third[&top].key, first[&top].key);
    let log = fake.log.lock().unwrap();
    assert!(log.started.is_empty());
    assert_eq!(log.file_ops, 1);
}

/// A heredoc file's content is in the key although the op's serialized form leaves it
/// out: the same content is a hit, another one a miss.
#[tokio::test]
async fn inline_files_are_in_the_key() {
    let context = tempfile::tempdir().unwrap();
    let copy = |content: &str| {
        Op::File(FileOp::Copy(CopyOp {
            source: CopySource::Context,
            sources: Vec::new(),
            inline: vec![InlineFile {
                name: "EOF".into(),
                content: content.into(),
            }],
            dest: "/hello".into(),
            chown: None,
            chmod: None,
            exclude: Vec::new(),
            parents: false,
            unpack: false,
            checksum: None,
        }))
    };
    let fake = Arc::new(Fake::default());
    let mut keys = Vec::new();
    for content in ["one\n", "one\n", "two\n"] {
        let mut graph = BuildGraph::new();
        let top = add(&mut graph, copy(content), None, &[]);
        let solved = solver(&fake, context.path(), 0)
            .solve(Arc::new(graph), top)
            .await
            .unwrap();
        keys.push(solved[&top].key.clone());
    }
    assert_eq!(keys[0], keys[1]);
    assert_ne!(keys[0], keys[2]);
    assert_eq!(fake.log.lock().unwrap().file_ops, 2);
}

/// `COPY --link`: the copy is made on an empty filesystem, so a changed base reruns only
/// the merge (a diff put onto the new parent), never the copy itself.
#[tokio::test]
async fn a_link_layer_is_merged_onto_a_changed_base_without_rerunning() {
    let context = tempfile::tempdir().unwrap();
    fs_err::write(context.path().join("app.txt"), "v1").unwrap();
    let graph_on = |base_command: &str| {
        let mut graph = BuildGraph::new();
        let base = add(&mut graph, run(base_command), None, &[]);
        let copy = Op::File(FileOp::Copy(CopyOp {
            source: CopySource::Context,
            sources: vec!["app.txt".into()],
            inline: Vec::new(),
            dest: "/app/".into(),
            chown: None,
            chmod: None,
            exclude: Vec::new(),
            parents: false,
            unpack: false,
            checksum: None,
        }));
        let layer = add(&mut graph, copy, None, &[]);
        let merge = add(&mut graph, Op::Merge { layer: 1 }, Some(base), &[layer]);
        (Arc::new(graph), layer, merge)
    };
    let fake = Arc::new(Fake::default());
    let (graph, layer, merge) = graph_on("base one");
    let first = solver(&fake, context.path(), 0)
        .solve(graph, merge)
        .await
        .unwrap();
    {
        let log = fake.log.lock().unwrap();
        assert_eq!((log.file_ops, log.copied_diffs), (1, 1));
    }
    let (graph, _, merge) = graph_on("base two");
    let second = solver(&fake, context.path(), 0)
        .solve(graph, merge)
        .await
        .unwrap();
    assert!(second[&layer].cached, "the link layer is a cache hit");
    assert_eq!(second[&layer].key, first[&layer].key);
    assert_ne!(second[&merge].key, first[&merge].key);
    let log = fake.log.lock().unwrap();
    assert_eq!(log.started, ["base one", "base two"]);
    assert_eq!((log.file_ops, log.copied_diffs), (1, 2));
}
