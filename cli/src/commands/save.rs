//! `kiln save`.

use crate::args::{SaveArgs, SaveFormat};
use crate::destination::Destination;
use crate::error::CliError;
use kiln_cache::{ArchiveFormat, ArchiveImage, LockMode, Store, tag_reference};
use std::path::Path;

pub fn run(root: &Path, args: SaveArgs) -> Result<u8, CliError> {
    let how = args.compression.export_compression()?;
    let store = Store::open(root, LockMode::Shared)?;
    let images = args
        .images
        .iter()
        .map(|name| {
            Ok(ArchiveImage {
                image: store.image(name)?,
                // A digest is no name to load an image under.
                names: tag_reference(name).ok().into_iter().collect(),
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let format = match args.format {
        SaveFormat::Docker => ArchiveFormat::Docker,
        SaveFormat::Oci => ArchiveFormat::Oci,
    };
    let dest = args.output.map_or(Destination::Stdout, Destination::Path);
    let mtime = super::source_date_epoch()?.unwrap_or(0);
    dest.write_file(|out| {
        let report = store.write_archive(&images, format, &how, mtime, out)?;
        super::report_export(&report);
        Ok(())
    })?;
    Ok(0)
}
