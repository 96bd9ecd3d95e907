//! `kiln images`.

use super::{human_age, human_size};
use crate::error::CliError;
use crate::output::println;
use kiln_cache::{LockMode, Reference, Store};
use std::path::Path;

pub fn run(root: &Path) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    let rows: Vec<[String; 5]> = store
        .index()
        .images()?
        .into_iter()
        .map(|image| {
            let (repo, tag) = match Reference::parse(&image.name) {
                Ok(r) => (r.familiar_name(), r.tag.unwrap_or_else(|| "<none>".into())),
                Err(_) => (image.name.clone(), "<none>".into()),
            };
            let id = image.config_digest.trim_start_matches("sha256:");
            [
                repo,
                tag,
                id.chars().take(12).collect(),
                human_age(image.created),
                human_size(image.size),
            ]
        })
        .collect();
    print_table(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &rows)?;
    Ok(0)
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn print_table<const N: usize>(
    header: &[&str; N],
    rows: &[[String; N]],
) -> Result<(), CliError> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        println(out.trim_end())
    };
    line(header.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}
