//! `kiln build`.

use super::stdin_context::StdinContext;
use crate::args::{BuildArgs, Entitlement, Progress};
use crate::diagnostics::render_all;
use crate::error::{CliError, build_error, parse_errors};
use crate::escape::escape_controls;
use crate::output::eprintln;
use crate::progress::PlainReporter;
use kiln_cache::{LockMode, Store, normalize_reference, tag_reference};
use kiln_executor::{HostConfig, Ulimit};
use kiln_solver::{BuildOptions, BuildRequest, build};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub fn run(root: &Path, args: BuildArgs) -> Result<u8, CliError> {
    if matches!(args.progress, Progress::Tty | Progress::Rawjson) {
        return Err(CliError::user(
            "`--progress tty` and `--progress rawjson` are not supported yet: use `plain` or `auto`",
        ));
    }
    // `kiln build -`: the context comes from stdin; removed when the build is over.
    let stdin_context = match super::is_stdin(&args.context) {
        true => Some(StdinContext::read(args.file.as_deref())?),
        false => None,
    };
    let (context, file, display) = match &stdin_context {
        Some(stdin) => {
            let (file, display) = stdin.dockerfile(args.file.as_deref())?;
            (stdin.path(), file, display)
        }
        None => {
            let file = super::dockerfile_path(args.file.as_deref(), &args.context);
            let display = super::dockerfile_display(&file);
            (args.context.clone(), file, display)
        }
    };
    let options = BuildOptions {
        build_args: parse_build_args(&args.build_args)?,
        network: args.network.into(),
        allow_network_host: args.allow.contains(&Entitlement::NetworkHost),
        target: args.target.clone(),
        no_cache_filter: args.no_cache_filter.clone(),
        host_config: host_config(&args),
    };
    if args.check {
        return super::check::run(root, &file, &options);
    }
    let source = super::read_dockerfile(&file)?;
    let dockerfile =
        kiln_parser::parse(&source, &display).map_err(|e| parse_errors(&e, &source))?;
    if !dockerfile.warnings.is_empty() {
        eprintln(render_all(&dockerfile.warnings, &source));
    }
    for tag in &args.tags {
        tag_reference(tag)?;
    }
    let outputs = super::outputs::BuildOutputs::from_args(&args)?;
    let labels = parse_labels(&args.labels)?;
    // The build argument, as buildx passes it, else the environment variable.
    let source_date_epoch = match options.build_args.get("SOURCE_DATE_EPOCH") {
        Some(v) => super::epoch_value(Some(v))?,
        None => super::source_date_epoch()?,
    };
    let runtime = crate::engine_runtime()?;
    let store = Arc::new(Store::open(root, LockMode::Shared)?);
    let store_for_outputs = store.clone();
    let sandbox = Arc::new(super::sandbox(&args.sandbox)?);
    let registries = Arc::new(super::registries(&args.registry)?);
    let request = BuildRequest {
        dockerfile,
        context,
        dockerfile_path: Some(file.clone()).filter(|f| !super::is_stdin(f)),
        options,
        tags: outputs.names.clone(),
        no_cache: args.no_cache,
        jobs: match args.jobs {
            Some(0) => return Err(CliError::user("`--jobs` must be at least 1")),
            Some(n) => n,
            None => 0,
        },
        source_date_epoch,
        labels,
        registries: registries.clone(),
        pull: args.pull,
    };
    let outcome = runtime
        .block_on(build(
            store,
            sandbox,
            Arc::new(PlainReporter::default()),
            request,
        ))
        .map_err(|e| build_error(&e, &display, &source))?;
    if !outcome.unused_build_args.is_empty() {
        eprintln(format_args!(
            "warning: one or more build args were not consumed: [{}]",
            escape_controls(&outcome.unused_build_args.join(" "))
        ));
    }
    eprintln(format_args!(
        "writing image {} done",
        outcome.image.config_digest
    ));
    for tag in &outputs.names {
        eprintln(format_args!("naming to {} done", normalize_reference(tag)?));
    }
    outputs.write(
        &store_for_outputs,
        &outcome,
        source_date_epoch,
        (&registries, &runtime),
    )?;
    Ok(0)
}

/// `--add-host`, `--shm-size` and `--ulimit`; a later `--ulimit` of a name replaces an
/// earlier one, as docker's.
fn host_config(args: &BuildArgs) -> HostConfig {
    let mut ulimits: Vec<Ulimit> = Vec::new();
    for ulimit in &args.ulimits {
        ulimits.retain(|u| u.name != ulimit.name);
        ulimits.push(ulimit.clone());
    }
    HostConfig {
        extra_hosts: args.add_hosts.clone(),
        shm_size: args.shm_size.filter(|&size| size > 0),
        ulimits,
    }
}

/// `--label K=V` pairs.
fn parse_labels(raw: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    raw.iter()
        .map(|label| match label.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(CliError::user(format!(
                "invalid label `{label}`: expected KEY=VALUE"
            ))),
        })
        .collect()
}

/// `K=V` pairs; a bare `K` takes its value from the environment (and is skipped if unset).
fn parse_build_args(raw: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for arg in raw {
        match arg.split_once('=') {
            Some(("", _)) => return Err(CliError::user(format!("invalid build arg `{arg}`"))),
            Some((k, v)) => {
                out.insert(k.to_string(), v.to_string());
            }
            None => {
                if let Ok(v) = std::env::var(arg) {
                    out.insert(arg.clone(), v);
                }
            }
        }
    }
    Ok(out)
}
