//! `kiln tag SOURCE TARGET`.

use crate::args::TagArgs;
use crate::error::CliError;
use kiln_cache::{LockMode, Store};
use std::path::Path;

pub fn run(root: &Path, args: &TagArgs) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    store.add_tag(&args.source, &args.target)?;
    Ok(0)
}
