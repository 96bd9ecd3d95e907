//! `kiln run`.

use crate::args::RunArgs;
use crate::error::{CliError, render_chain};
use kiln_cache::{LockMode, Store};
use kiln_solver::{RunOptions, SolveError, run_container};
use std::path::Path;

/// Runs the container; its exit code becomes kiln's (clamped to 0–255).
pub fn run(root: &Path, args: RunArgs) -> Result<u8, CliError> {
    let runtime = crate::engine_runtime()?;
    let store = Store::open(root, LockMode::Shared)?;
    let sandbox = super::sandbox(&args.sandbox)?;
    let opts = RunOptions {
        image: args.image,
        command: args.command,
        env: args.env,
        workdir: args.workdir,
        user: args.user,
        network: args.network.into(),
        remove: args.rm,
    };
    let code = runtime
        .block_on(run_container(&store, &sandbox, &opts))
        .map_err(|e| match e {
            SolveError::Cache(c) => CliError::from(c),
            SolveError::Io(e) => CliError::Internal(render_chain(&e)),
            other => CliError::User(render_chain(&other)),
        })?;
    Ok(u8::try_from(code.clamp(0, 255)).unwrap_or(255))
}
