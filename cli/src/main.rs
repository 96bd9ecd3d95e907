//! The `kiln` binary: parses the command line and dispatches to one small module per
//! command. Every behaviour lives in the library crates.
//!
//! **Architecture Invariant:** the CLI holds no build logic; it turns arguments into
//! requests, draws progress and renders errors.

mod args;
mod commands;
mod destination;
mod diagnostics;
mod error;
mod escape;
mod output;
mod output_spec;
mod progress;
mod prune_flags;

use args::{Cli, Command};
use clap::Parser;
use error::CliError;
use std::process::ExitCode;

fn main() -> ExitCode {
    // The sandbox helper is this same binary, re-executed by the engine.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == kiln_executor::HELPER_ARG)
    {
        let code = kiln_executor::helper_main();
        return ExitCode::from(u8::try_from(code).unwrap_or(255));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are successes; a wrong command line is a user error (1).
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let root = cli.root.clone().unwrap_or_else(kiln_cache::default_root);
    let result = match cli.command {
        Command::Build(args) => commands::build::run(&root, *args),
        Command::Run(args) => commands::run::run(&root, args),
        Command::Import(args) => commands::import::run(&root, args),
        Command::Save(args) => commands::save::run(&root, args),
        Command::Pull(args) => commands::pull::run(&root, args),
        Command::Push(args) => commands::push::run(&root, &args),
        Command::Login(args) => commands::login::run(&args),
        Command::Logout(args) => commands::logout::run(&args),
        Command::Images => commands::images::run(&root),
        Command::Tag(args) => commands::tag::run(&root, &args),
        Command::Rmi(args) => commands::rmi::run(&root, &args),
        Command::Inspect(args) => commands::inspect::run(&root, &args),
        Command::History(args) => commands::history::run(&root, &args),
        Command::Load(args) => commands::load::run(&root, &args),
        Command::Cache(cmd) => commands::cache::run(&root, cmd),
        Command::Check(args) => commands::check::run(
            &root,
            &commands::dockerfile_path(args.file.as_deref(), &args.context),
            &Default::default(),
        ),
        Command::Debug(args::DebugCommand::Parse { file }) => commands::check::dump(&file),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if !e.message().is_empty() {
                output::eprintln(e.message());
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Commands that mount or start sandboxes need root, a private mount namespace
/// (entered while still single-threaded) and then a tokio runtime.
pub(crate) fn engine_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    if !rustix::process::geteuid().is_root() {
        return Err(CliError::user(
            "kiln must run as root (rootless builds are not supported yet)",
        ));
    }
    kiln_executor::enter_private_mount_namespace()
        .map_err(|e| CliError::Internal(error::render_chain(&e)))?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::from)
}
