//! `kiln cache …`.

use super::images::print_table;
use super::{human_age, human_size};
use crate::args::CacheCommand;
use crate::error::CliError;
use kiln_cache::{LockMode, Store};
use std::path::Path;

pub fn run(root: &Path, command: CacheCommand) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    match command {
        CacheCommand::Ls => {
            let rows: Vec<[String; 4]> = store
                .index()
                .records()?
                .into_iter()
                .map(|info| {
                    let id = info.record.key.trim_start_matches("sha256:");
                    [
                        id.chars().take(12).collect(),
                        human_size(info.size),
                        human_age(info.record.last_used),
                        info.record.description,
                    ]
                })
                .collect();
            print_table(&["ID", "SIZE", "LAST USED", "DESCRIPTION"], &rows);
        }
    }
    Ok(0)
}
