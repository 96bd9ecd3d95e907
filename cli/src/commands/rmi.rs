//! `kiln rmi [-f] IMAGE…`: docker's `Untagged:` / `Deleted:` lines; every image is
//! tried, and the command fails (exit 1) if any could not be removed.

use crate::args::RmiArgs;
use crate::error::{CliError, render_chain};
use crate::output::{eprintln, println};
use kiln_cache::{LockMode, Removal, Store};
use std::path::Path;

pub fn run(root: &Path, args: &RmiArgs) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    let mut failed = false;
    for image in &args.images {
        match store.remove_image(image, args.force) {
            Ok(removals) => {
                for removal in removals {
                    match removal {
                        Removal::Untagged(name) => println(format_args!("Untagged: {name}"))?,
                        Removal::Deleted(id) => println(format_args!("Deleted: {id}"))?,
                    }
                }
            }
            Err(e) => {
                failed = true;
                eprintln(render_chain(&e));
            }
        }
    }
    Ok(u8::from(failed))
}
