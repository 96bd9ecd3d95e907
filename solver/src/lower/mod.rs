//! Lowering: the typed Dockerfile AST to a [`BuildGraph`], one stage at a time,
//! starting from the target and pulling in only the stages it needs.

mod add;
mod config;
mod copy;
mod heredoc;
mod history;
mod instruction;
mod onbuild;
mod run;
mod state;
mod syntax;
mod workdir;

pub use history::COMMENT as HISTORY_COMMENT;
pub use state::{HistoryStep, StageState, clean_absolute};

use crate::error::{Result, SolveError};
use crate::op::{BuildGraph, Edge, Node, Op, Vertex};
use kiln_cache::Store;
use kiln_cache::oci::{ImageConfig, host_architecture};
use kiln_executor::{HostConfig, NetworkMode};
use kiln_parser::{Dockerfile, Instruction, Span};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the user asked for, beyond the Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--build-arg K=V`.
    pub build_args: BTreeMap<String, String>,
    /// `--network`: the default for RUN steps.
    pub network: NetworkMode,
    /// `--allow network.host`: whether `RUN --network=host` may be used.
    pub allow_network_host: bool,
    /// `--target`: the stage to build (default: the last one).
    pub target: Option<String>,
    /// `--no-cache-filter`: the stages (by name, any case) whose RUN, COPY and ADD steps
    /// run even when cached.
    pub no_cache_filter: Vec<String>,
    /// `--add-host`, `--shm-size`, `--ulimit`: for every RUN.
    pub host_config: HostConfig,
}

/// The lowered build: the graph, the target vertex and the image it will make.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    pub graph: BuildGraph,
    /// The vertex whose filesystem is the image's (`None`: an empty scratch image).
    pub target: Option<Node>,
    /// The image config: the base image's, changed by the stage's instructions.
    /// `rootfs` and the history of the new steps are filled in after solving.
    pub config: ImageConfig,
    /// The new history lines, in order.
    pub steps: Vec<HistoryStep>,
    /// `--build-arg`s no ARG consumed.
    pub unused_build_args: Vec<String>,
    /// The images the build reads (`FROM`, `COPY --from`), as written, with where.
    pub images: Vec<(String, Span)>,
}

/// Lowers `dockerfile` for `opts`, resolving base images in `store`.
pub fn lower(dockerfile: &Dockerfile, store: &Store, opts: &BuildOptions) -> Result<BuildPlan> {
    lower_in(dockerfile, Some(store), opts, false)
}

/// Lowers `dockerfile` as [`lower`] does, for `kiln check`: the first error a build would
/// refuse the Dockerfile with. Nothing is pulled: a base image `store` lacks (or all of
/// them, without a store) reads as an empty image.
pub fn check(dockerfile: &Dockerfile, store: Option<&Store>, opts: &BuildOptions) -> Result<()> {
    lower_in(dockerfile, store, opts, true).map(|_| ())
}

/// Lowers `dockerfile`; when `checking`, images missing from `store` read as empty.
fn lower_in(
    dockerfile: &Dockerfile,
    store: Option<&Store>,
    opts: &BuildOptions,
    checking: bool,
) -> Result<BuildPlan> {
    syntax::check(dockerfile)?;
    let target = match &opts.target {
        Some(name) => dockerfile
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(&name.to_lowercase()))
            .ok_or_else(|| SolveError::Dockerfile {
                message: format!("target stage \"{name}\" could not be found"),
                span: file_span(dockerfile),
            })?,
        None => dockerfile
            .stages
            .len()
            .checked_sub(1)
            .ok_or_else(|| SolveError::Dockerfile {
                message: "the Dockerfile has no build stage".into(),
                span: file_span(dockerfile),
            })?,
    };
    let mut lowering = Lowering {
        dockerfile,
        store,
        checking,
        opts,
        graph: BuildGraph::new(),
        dedup: HashMap::new(),
        stages: vec![None; dockerfile.stages.len()],
        used_args: BTreeSet::new(),
        meta_args: BTreeMap::new(),
        visiting: Vec::new(),
        images: Vec::new(),
    };
    lowering.meta_args = platform_args();
    // BuildKit's TARGETSTAGE: the target stage's name, `default` when it has none.
    let target_name = dockerfile.stages[target].name.as_deref();
    lowering.meta_args.insert(
        "TARGETSTAGE".into(),
        target_name.unwrap_or("default").to_string(),
    );
    lowering.meta_args()?;
    let (state, config) = lowering.stage(target)?;
    let unused_build_args = opts
        .build_args
        .keys()
        // SOURCE_DATE_EPOCH is the build's, used or not.
        .filter(|k| !lowering.used_args.contains(*k) && *k != "SOURCE_DATE_EPOCH")
        .cloned()
        .collect();
    let mut image = config;
    image.config = state.config.clone();
    if state.author.is_some() {
        image.author = state.author.clone();
    }
    Ok(BuildPlan {
        graph: lowering.graph,
        target: state.node,
        config: image,
        steps: state.steps,
        unused_build_args,
        images: lowering.images,
    })
}

/// The platform kiln builds for: the machine's own (`linux/amd64`, `linux/arm64`…).
fn native_platform() -> String {
    format!("linux/{}", host_architecture())
}

/// BuildKit's automatic platform ARGs (`BUILDPLATFORM`, `TARGETARCH`…), usable in `FROM`
/// lines and, once declared with `ARG`, in a stage. Build and target platform are both the
/// native one.
fn platform_args() -> BTreeMap<String, String> {
    let mut args = BTreeMap::new();
    for prefix in ["BUILD", "TARGET"] {
        args.insert(format!("{prefix}PLATFORM"), native_platform());
        args.insert(format!("{prefix}OS"), "linux".to_string());
        args.insert(format!("{prefix}ARCH"), host_architecture().to_string());
        args.insert(format!("{prefix}VARIANT"), String::new());
    }
    args
}

/// Accepts `FROM --platform=P` when `P` is the native platform (`linux/amd64`, or `amd64`
/// alone, with an optional variant of `arm64`'s `v8`).
fn check_native_platform(platform: &str, span: Span) -> Result<()> {
    let native = native_platform();
    let normalized = match platform.split('/').collect::<Vec<_>>().as_slice() {
        [arch] => format!("linux/{arch}"),
        [os, arch] => format!("{os}/{arch}"),
        [os, arch, "v8"] if *arch == "arm64" => format!("{os}/{arch}"),
        _ => platform.to_string(),
    };
    if normalized == native {
        return Ok(());
    }
    Err(SolveError::Dockerfile {
        message: format!(
            "building for the platform `{platform}` is not supported yet: kiln builds for \
             the native platform (`{native}`) only"
        ),
        span,
    })
}

/// The span of the first FROM, for errors that belong to the whole file.
fn file_span(dockerfile: &Dockerfile) -> Span {
    dockerfile.stages.first().map(|s| s.span).unwrap_or(Span {
        offset: 0,
        len: 0,
        line: 1,
        column: 1,
    })
}

/// A lowered stage: its final state and its base image config.
type LoweredStage = (StageState, ImageConfig);

struct Lowering<'a> {
    dockerfile: &'a Dockerfile,
    /// `None` when checking: every image reads as empty.
    store: Option<&'a Store>,
    /// `kiln check`: an image missing from the store reads as empty, never as
    /// [`SolveError::ImageMissing`].
    checking: bool,
    opts: &'a BuildOptions,
    graph: BuildGraph,
    /// Identical vertices (same op, same inputs) are added once.
    dedup: HashMap<(String, Vec<(Node, Edge)>), Node>,
    stages: Vec<Option<LoweredStage>>,
    used_args: BTreeSet<String>,
    meta_args: BTreeMap<String, String>,
    /// The stages being lowered, innermost last (to find cycles and "earlier" stages).
    visiting: Vec<usize>,
    /// The images read so far, for [`BuildPlan::images`].
    images: Vec<(String, Span)>,
}

/// Build arguments every RUN sees without an `ARG`, as BuildKit's predefined args.
const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl Lowering<'_> {
    /// The proxy build arguments given with `--build-arg` that the stage neither
    /// declares nor sets, as `K=V` for RUN's environment (and never its key).
    fn proxy_env(&mut self, state: &state::StageState) -> Vec<String> {
        let mut env = Vec::new();
        for name in PROXY_ARGS {
            let Some(value) = self.opts.build_args.get(name) else {
                continue;
            };
            self.used_args.insert(name.into());
            if !state.defines(name) {
                env.push(format!("{name}={value}"));
            }
        }
        env
    }

    /// Whether `--no-cache-filter` names the stage being lowered, as BuildKit's
    /// `IsNoCache` matches stage names.
    fn ignores_cache(&self) -> bool {
        let Some(name) = self
            .visiting
            .last()
            .and_then(|&i| self.dockerfile.stages[i].name.as_deref())
        else {
            return false;
        };
        self.opts
            .no_cache_filter
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name))
    }

    /// RUN's hostname: the `BUILDKIT_SANDBOX_HOSTNAME` build argument, else BuildKit's.
    fn sandbox_hostname(&mut self) -> String {
        const NAME: &str = "BUILDKIT_SANDBOX_HOSTNAME";
        self.used_args.insert(NAME.into());
        self.opts
            .build_args
            .get(NAME)
            .filter(|h| !h.is_empty())
            .map_or_else(|| "buildkitsandbox".into(), Clone::clone)
    }

    /// Expands `raw` with the ARGs declared before the first `FROM`.
    fn expand_meta(&self, raw: &str, span: Span) -> Result<String> {
        let meta = &self.meta_args;
        kiln_parser::shell::expand_word(raw, self.dockerfile.escape(), &|n| meta.get(n).cloned())
            .map_err(|e| SolveError::Dockerfile {
                message: format!("failed to expand `{raw}`: {e}"),
                span,
            })
    }

    fn meta_args(&mut self) -> Result<()> {
        for decl in &self.dockerfile.meta_args {
            let value = match self.opts.build_args.get(&decl.name) {
                Some(v) => Some(v.clone()),
                None => match &decl.default {
                    Some(raw) => Some(self.expand_meta(raw, file_span(self.dockerfile))?),
                    None => None,
                },
            };
            self.used_args.insert(decl.name.clone());
            if let Some(v) = value {
                self.meta_args.insert(decl.name.clone(), v);
            }
        }
        Ok(())
    }

    /// Adds a vertex (or finds the identical one) with these inputs.
    fn add(
        &mut self,
        op: Op,
        inputs: Vec<(Node, Edge)>,
        name: String,
        description: String,
        span: Span,
    ) -> Node {
        let def = serde_json::to_string(&op).unwrap_or_default();
        let key = (def, inputs);
        if let Some(&node) = self.dedup.get(&key) {
            return node;
        }
        let node = self.graph.add_node(Vertex {
            op,
            name,
            description,
            span,
            sources: Vec::new(),
            ignore_cache: false,
        });
        for &(input, kind) in &key.1 {
            self.graph.add_edge(input, node, kind);
        }
        self.dedup.insert(key, node);
        node
    }

    /// A base image from the store (`None` for `scratch`, or when checking and the store
    /// lacks it).
    fn find_image(&mut self, reference: &str, span: Span) -> Result<Option<kiln_cache::Image>> {
        if reference == "scratch" {
            return Ok(None);
        }
        self.images.push((reference.to_string(), span));
        let found = match self.store {
            Some(store) => store.image(reference),
            None => Err(kiln_cache::CacheError::ImageNotFound(reference.to_string())),
        };
        match found {
            Ok(image) => Ok(Some(image)),
            Err(kiln_cache::CacheError::ImageNotFound(_)) if self.checking => Ok(None),
            Err(kiln_cache::CacheError::ImageNotFound(_)) => Err(SolveError::ImageMissing {
                reference: reference.to_string(),
                span,
            }),
            Err(e) => Err(SolveError::Dockerfile {
                message: format!("image `{reference}`: {e}"),
                span,
            }),
        }
    }

    /// The vertex of a base image found in the store; `name` is its progress label.
    fn image_vertex(&mut self, image: &kiln_cache::Image, name: String, span: Span) -> Node {
        self.add(
            Op::Source {
                manifest_digest: Some(image.row.manifest_digest.clone()),
            },
            Vec::new(),
            format!("{name} FROM {}", image.row.name),
            format!("FROM {}", image.row.name),
            span,
        )
    }

    /// The filesystem `COPY --from=<from>` reads: an earlier stage (by name or
    /// index), else an image.
    /// Also returns how messages name it: ``stage `build` `` or ``image `x:1` ``.
    fn copy_from(&mut self, from: &str, span: Span) -> Result<(Option<Node>, String)> {
        let current = self.visiting.last().copied().unwrap_or(0);
        let earlier = self.dockerfile.stages[..current]
            .iter()
            .position(|s| s.name.as_deref() == Some(from.to_lowercase().as_str()))
            .or_else(|| from.parse::<usize>().ok().filter(|i| *i < current));
        if let Some(index) = earlier {
            return Ok((self.stage(index)?.0.node, format!("stage `{from}`")));
        }
        if from.parse::<usize>().is_ok() {
            return Err(SolveError::Dockerfile {
                message: format!(
                    "invalid from flag value {from}: refers to current build stage or a later one"
                ),
                span,
            });
        }
        let node = self
            .find_image(from, span)?
            .map(|image| self.image_vertex(&image, "[from]".into(), span));
        Ok((node, format!("image `{from}`")))
    }

    fn stage(&mut self, index: usize) -> Result<LoweredStage> {
        if let Some(done) = &self.stages[index] {
            return Ok(done.clone());
        }
        let stage = &self.dockerfile.stages[index];
        if self.visiting.contains(&index) {
            return Err(SolveError::Dockerfile {
                message: "circular dependency between stages".into(),
                span: stage.span,
            });
        }
        self.visiting.push(index);
        let base = self.expand_meta(&stage.base, stage.span)?;
        if let Some(platform) = &stage.platform {
            check_native_platform(&self.expand_meta(platform, stage.span)?, stage.span)?;
        }
        let earlier = self.dockerfile.stages[..index]
            .iter()
            .position(|s| s.name.as_deref() == Some(base.to_lowercase().as_str()));
        // As BuildKit counts steps: FROM is one only for an image (not `scratch`, not an
        // earlier stage); WORKDIR always counts, though `WORKDIR /` makes no step; every
        // ONBUILD trigger counts, whatever it is.
        let from_step = usize::from(earlier.is_none() && base != "scratch");
        let own_steps = stage
            .instructions
            .iter()
            .filter(|i| instruction::makes_vertex(&i.kind))
            .count();
        let label = |n: usize, total: usize| match (&stage.name, self.dockerfile.stages.len()) {
            (_, 1) => format!("[{n}/{total}]"),
            (Some(name), _) => format!("[{name} {n}/{total}]"),
            (None, _) => format!("[stage-{index} {n}/{total}]"),
        };
        let (mut state, config, triggers) = if let Some(parent) = earlier {
            let (state, config) = self.stage(parent)?;
            let triggers = onbuild::of_stage(self.dockerfile, parent, index);
            let state = StageState {
                args: BTreeMap::new(),
                build_args: Vec::new(),
                cmd_set: false,
                ..state
            };
            (state, config, triggers)
        } else {
            let image = self.find_image(&base, stage.span)?;
            let triggers = match &image {
                Some(image) => onbuild::of_image(&image.config.config, &base, stage.span)?,
                None => Vec::new(),
            };
            let total = from_step + own_steps + triggers.len();
            let node = image.as_ref().map(|image| {
                let name = label(1, total);
                self.image_vertex(image, name, stage.span)
            });
            // BuildKit's scratch config: working directory `/` (PATH is added below).
            let config = image.map(|i| i.config).unwrap_or_else(|| {
                let mut scratch = ImageConfig {
                    architecture: host_architecture().into(),
                    os: "linux".into(),
                    ..Default::default()
                };
                scratch.config.working_dir = Some("/".into());
                scratch
            });
            let state = StageState {
                config: config.config.clone(),
                node,
                escape: self.dockerfile.escape(),
                ..Default::default()
            };
            (state, config, triggers)
        };
        // Triggers run once: the stage's image has only those it declares itself.
        state.config.on_build = None;
        if earlier.is_none() && !state.config.env.iter().any(|e| e.starts_with("PATH=")) {
            // Like BuildKit: an image always gets a PATH.
            state
                .config
                .env
                .insert(0, format!("PATH={}", kiln_executor::DEFAULT_PATH));
        }
        let total = from_step + own_steps + triggers.len();
        let mut next = from_step + 1;
        for trigger in &triggers {
            let label = format!("{} ONBUILD", label(next, total));
            self.lower_step(&mut state, &trigger.instr, &label, &mut next)
                .map_err(|e| trigger.locate(e))?;
        }
        for instr in &stage.instructions {
            self.lower_step(&mut state, instr, &label(next, total), &mut next)?;
        }
        self.visiting.pop();
        let lowered = (state, config);
        self.stages[index] = Some(lowered.clone());
        Ok(lowered)
    }

    /// Lowers one instruction of a stage; `next` is the step number of the next vertex.
    fn lower_step(
        &mut self,
        state: &mut StageState,
        instr: &Instruction,
        label: &str,
        next: &mut usize,
    ) -> Result<()> {
        let steps = state.steps.len();
        instruction::lower(self, state, instr, label)?;
        if state.steps.len() > steps && state.steps.last().is_some_and(|s| s.node.is_some()) {
            *next += 1;
        }
        Ok(())
    }
}
