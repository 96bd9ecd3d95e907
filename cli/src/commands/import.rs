//! `kiln import`.

use crate::args::ImportArgs;
use crate::error::CliError;
use kiln_cache::{LockMode, Store};
use std::path::Path;

pub fn run(root: &Path, args: ImportArgs) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    if !args.tarball.is_file() {
        return Err(CliError::user(format!(
            "`{}` is not a file",
            args.tarball.display()
        )));
    }
    let image = store.import_rootfs(&args.tarball, &args.name, super::source_date_epoch()?)?;
    crate::output::println(&image.config_digest)?;
    Ok(0)
}
