//! One build, end to end: lower, solve, write the image.

use crate::context::BuildContext;
use crate::error::{Result, SolveError};
use crate::lower::{BuildOptions, BuildPlan, lower};
use crate::progress::{Event, Reporter};
use crate::pull_progress::PullEvents;
use crate::run::Solver;
use kiln_cache::index::ImageRow;
use kiln_cache::oci::{History, rfc3339};
use kiln_cache::registry::Registries;
use kiln_cache::{Reference, Store};
use kiln_executor::Sandbox;
use kiln_parser::Dockerfile;
use kiln_parser::Span;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// The step that writes the image, as BuildKit names it.
const EXPORT_STEP: &str = "exporting to image";

/// Everything a build needs besides the store and the sandbox.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub dockerfile: Dockerfile,
    /// The build context folder.
    pub context: PathBuf,
    /// Where the Dockerfile is (its `<name>.dockerignore` applies first); `None` when
    /// it came from the standard input.
    pub dockerfile_path: Option<PathBuf>,
    pub options: BuildOptions,
    /// Names to tag the image with (`-t`).
    pub tags: Vec<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// Vertices run at once (0: no limit).
    pub jobs: usize,
    /// `SOURCE_DATE_EPOCH`: the time written in the image instead of the build's.
    pub source_date_epoch: Option<i64>,
    /// `--label`s, set on the image over the Dockerfile's.
    pub labels: BTreeMap<String, String>,
    /// Where base images missing from the store are pulled from.
    pub registries: Arc<Registries>,
    /// `--pull`: pull every base image again, even those in the store.
    pub pull: bool,
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub image: ImageRow,
    /// The committed snapshot holding the image's filesystem (`None`: empty).
    pub top: Option<String>,
    /// `--build-arg`s no ARG consumed.
    pub unused_build_args: Vec<String>,
}

/// Lowers the build, pulling the base images the store lacks (and, with `--pull`, all of
/// them again) and lowering once more after each pull, since names can only be known after
/// expansion and stage resolution.
async fn lower_pulling(
    request: &BuildRequest,
    store: &Arc<Store>,
    reporter: &dyn Reporter,
) -> Result<BuildPlan> {
    let mut pulled = BTreeSet::new();
    loop {
        match lower(&request.dockerfile, store, &request.options) {
            Err(SolveError::ImageMissing { reference, span }) if !pulled.contains(&reference) => {
                pull(request, store, reporter, &reference, span).await?;
                pulled.insert(reference);
            }
            Ok(plan) if request.pull => {
                let again: Vec<_> = plan
                    .images
                    .iter()
                    .filter(|(r, _)| !pulled.contains(r))
                    .cloned()
                    .collect();
                if again.is_empty() {
                    return Ok(plan);
                }
                for (reference, span) in again {
                    pull(request, store, reporter, &reference, span).await?;
                    pulled.insert(reference);
                }
            }
            other => return other,
        }
    }
}

/// Pulls one base image into the store, reporting its progress.
async fn pull(
    request: &BuildRequest,
    store: &Store,
    reporter: &dyn Reporter,
    reference: &str,
    span: Span,
) -> Result<()> {
    let failed = |source| SolveError::Pull {
        reference: reference.to_string(),
        span,
        source: Box::new(source),
    };
    let parsed = Reference::parse(reference).map_err(|e| SolveError::Dockerfile {
        message: format!("image `{reference}`: {e}"),
        span,
    })?;
    let started = std::time::Instant::now();
    let reference = parsed.canonical();
    reporter.event(Event::PullStarted {
        reference: reference.clone(),
    });
    let events = PullEvents::new(reporter, &reference);
    request
        .registries
        .pull(store, &parsed, &events)
        .await
        .map_err(failed)?;
    reporter.event(Event::PullDone {
        reference,
        duration: started.elapsed(),
    });
    Ok(())
}

/// Runs a build and writes its image into the store.
pub async fn build(
    store: Arc<Store>,
    sandbox: Arc<Sandbox>,
    reporter: Arc<dyn Reporter>,
    request: BuildRequest,
) -> Result<BuildOutcome> {
    let context = Arc::new(BuildContext::new(
        &request.context,
        request.dockerfile_path.as_deref(),
    )?);
    let plan = lower_pulling(&request, &store, reporter.as_ref()).await?;
    let graph = Arc::new(plan.graph);
    let solver = Solver {
        backend: crate::backend::Backend::store(store.clone(), sandbox),
        context,
        reporter,
        no_cache: request.no_cache,
        jobs: request.jobs,
    };
    let results = match plan.target {
        Some(target) => solver.solve(graph.clone(), target).await?,
        None => Default::default(),
    };
    let mut config = plan.config;
    config.config.labels.extend(request.labels.clone());
    // Times come from the cache records, so a fully cached rebuild writes the same
    // config, and so the same image id.
    // An image with nothing dated (a scratch image of config steps only) is made now,
    // as in current BuildKit (dockerd 20.10's wrote year 1).
    let mut time = config
        .created
        .as_deref()
        .and_then(kiln_cache::oci::parse_rfc3339)
        .unwrap_or_else(|| match results.is_empty() {
            true => kiln_cache::root::unix_now(),
            false => 0,
        });
    for step in &plan.steps {
        let result = step.node.and_then(|n| results.get(&n));
        if let Some(r) = result {
            time = time.max(r.created);
        }
        let when = request.source_date_epoch.unwrap_or(time);
        config.history.push(History {
            created: Some(rfc3339(when)),
            created_by: Some(step.created_by.clone()),
            comment: Some(crate::lower::HISTORY_COMMENT.into()),
            empty_layer: step.node.is_none(),
        });
    }
    let created = request.source_date_epoch.unwrap_or(time);
    config.created = Some(rfc3339(created));
    let top = plan
        .target
        .and_then(|t| results.get(&t))
        .and_then(|r| r.snapshot.clone());
    let (tags, epoch) = (request.tags.clone(), request.source_date_epoch);
    let root = store.root().path().to_path_buf();
    let snapshot = top.clone();
    let image = tokio::task::spawn_blocking(move || {
        store.write_image(config, snapshot.as_deref(), &tags, created, epoch)
    })
    .await
    .map_err(|e| crate::SolveError::Io(std::io::Error::other(e)))?
    .map_err(|e| crate::SolveError::from(e).on_full_disk(EXPORT_STEP, None, &root))?;
    Ok(BuildOutcome {
        image,
        top,
        unused_build_args: plan.unused_build_args,
    })
}
