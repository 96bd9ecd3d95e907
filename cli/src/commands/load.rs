//! `kiln load [-i FILE]`: `Loaded image: NAME` per image, as docker prints it.

use crate::args::LoadArgs;
use crate::error::CliError;
use crate::output::println;
use kiln_cache::{LockMode, Store};
use std::path::Path;

pub fn run(root: &Path, args: &LoadArgs) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    let names = match &args.input {
        Some(path) => {
            let file = fs_err::File::open(path).map_err(|e| CliError::user(e.to_string()))?;
            store.load_archive(file)?
        }
        None => store.load_archive(std::io::stdin().lock())?,
    };
    if !args.quiet {
        for name in names {
            println(format_args!("Loaded image: {name}"))?;
        }
    }
    Ok(0)
}
