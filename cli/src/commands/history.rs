//! `kiln history IMAGE`: docker's columns, newest step first.

use super::images::print_table;
use super::{human_age, human_size};
use crate::args::HistoryArgs;
use crate::error::CliError;
use crate::escape::escape_controls;
use crate::output::println;
use kiln_cache::oci::parse_rfc3339;
use kiln_cache::{LockMode, Store, short_id};
use std::path::Path;

/// Width of the CREATED BY column unless `--no-trunc`, as docker's.
const CREATED_BY_WIDTH: usize = 45;

pub fn run(root: &Path, args: &HistoryArgs) -> Result<u8, CliError> {
    let store = Store::open(root, LockMode::Shared)?;
    let image = store.find_image(&args.image)?;
    let id = if args.no_trunc {
        image.row.config_digest.clone()
    } else {
        short_id(&image.row.config_digest)
    };
    let rows: Vec<[String; 5]> = image
        .history()
        .into_iter()
        .enumerate()
        .map(|(i, (entry, layer))| {
            let created_by =
                escape_controls(entry.created_by.as_deref().unwrap_or_default()).into_owned();
            [
                if i == 0 {
                    id.clone()
                } else {
                    "<missing>".into()
                },
                entry
                    .created
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .map_or_else(String::new, human_age),
                if args.no_trunc {
                    created_by
                } else {
                    truncate(&created_by, CREATED_BY_WIDTH)
                },
                human_size(layer.map_or(0, |l| l.size)),
                escape_controls(entry.comment.as_deref().unwrap_or_default()).into_owned(),
            ]
        })
        .collect();
    if args.quiet {
        for row in &rows {
            println(&row[0])?;
        }
        return Ok(0);
    }
    print_table(
        &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        &rows,
    )?;
    Ok(0)
}

/// `text` cut to `width` characters, ending in `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    text.chars().take(width - 1).chain(['…']).collect()
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn long_steps_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("RUN true", 45), "RUN true");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
