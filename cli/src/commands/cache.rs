//! `kiln cache …`.

use super::images::print_table;
use super::{human_age, human_size};
use crate::args::{CacheCommand, PruneArgs};
use crate::error::CliError;
use crate::escape::escape_controls;
use crate::output::println;
use kiln_cache::gc::PruneOptions;
use kiln_cache::{LockMode, Store};
use std::path::Path;

pub fn run(root: &Path, command: CacheCommand) -> Result<u8, CliError> {
    match command {
        CacheCommand::Ls => ls(&Store::open(root, LockMode::Shared)?)?,
        CacheCommand::Du => du(&Store::open(root, LockMode::Shared)?)?,
        CacheCommand::Prune(args) => prune(root, args)?,
    }
    Ok(0)
}

/// The first 12 hex digits of a cache key.
fn short_id(key: &str) -> String {
    key.trim_start_matches("sha256:").chars().take(12).collect()
}

fn ls(store: &Store) -> Result<(), CliError> {
    let rows: Vec<[String; 4]> = store
        .index()
        .records()?
        .into_iter()
        .map(|info| {
            [
                short_id(&info.record.key),
                human_size(info.size),
                human_age(info.record.last_used),
                escape_controls(&info.record.description).into_owned(),
            ]
        })
        .collect();
    print_table(&["ID", "SIZE", "LAST USED", "DESCRIPTION"], &rows)
}

fn du(store: &Store) -> Result<(), CliError> {
    let usage = store.disk_usage()?;
    let rows: Vec<[String; 4]> = usage
        .records
        .iter()
        .map(|r| {
            [
                short_id(&r.key),
                r.reclaimable.to_string(),
                human_size(r.size),
                human_age(r.last_used),
            ]
        })
        .collect();
    if !rows.is_empty() {
        print_table(&["ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"], &rows)?;
    }
    for (label, bytes) in [
        ("Shared:", usage.shared),
        ("Private:", usage.private),
        ("Reclaimable:", usage.reclaimable),
        ("Total:", usage.total),
    ] {
        println(format_args!("{label:<14}{}", human_size(bytes)))?;
    }
    Ok(())
}

fn prune(root: &Path, args: PruneArgs) -> Result<(), CliError> {
    // `-f` only exists for docker compatibility: kiln never asks.
    let _ = args.force;
    let options = PruneOptions {
        all: args.all,
        until: args.filter,
        keep_storage: args.keep_storage,
    };
    let report = kiln_cache::gc::prune(root, &options)?;
    if !report.records.is_empty() {
        println("Deleted build cache objects:")?;
        for record in &report.records {
            println(format_args!(
                "{}   {}",
                short_id(&record.key),
                escape_controls(&record.description)
            ))?;
        }
        println("")?;
    }
    println(format_args!(
        "Total reclaimed space: {}",
        human_size(report.reclaimed)
    ))
}
