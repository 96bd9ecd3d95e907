//! Where an archive or a filesystem leaves to: stdout, a file or a folder. Files and
//! folders appear only complete: they are written under a temp name beside the
//! destination, then renamed.

use crate::error::CliError;
use fs_err as fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A `dest=` of an output, or `kiln save -o`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    Path(PathBuf),
}

impl Destination {
    /// `-` is stdout, anything else a path.
    pub fn parse(text: &str) -> Self {
        match text {
            "-" => Self::Stdout,
            path => Self::Path(PathBuf::from(path)),
        }
    }

    /// Streams `write`'s bytes to the destination, a file only once it is complete.
    pub fn write_file(
        &self,
        write: impl FnOnce(&mut dyn Write) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        let path = match self {
            Self::Stdout => return crate::output::stream_stdout(write),
            Self::Path(path) => path,
        };
        let tmp = temp_beside(path)?;
        let written = (|| {
            let mut file = std::io::BufWriter::with_capacity(1 << 20, fs::File::create(&tmp)?);
            write(&mut file)?;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&tmp, path)?;
            Ok(())
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }
}

/// Fills the folder `dest` (absent or empty) through `fill`, which gets an empty
/// folder beside it that is renamed to `dest` when complete.
pub fn write_dir(
    dest: &Path,
    fill: impl FnOnce(&Path) -> Result<(), CliError>,
) -> Result<(), CliError> {
    if dest.exists() && fs::read_dir(dest)?.next().is_some() {
        return Err(CliError::user(format!(
            "output folder `{}` is not empty",
            dest.display()
        )));
    }
    let tmp = temp_beside(dest)?;
    fs::create_dir(&tmp)?;
    let filled = fill(&tmp).and_then(|()| Ok(fs::rename(&tmp, dest)?));
    if filled.is_err() {
        let _ = kiln_cache::tree::remove_tree(&tmp);
    }
    filled
}

/// A fresh name in `path`'s folder.
fn temp_beside(path: &Path) -> Result<PathBuf, CliError> {
    let name = path
        .file_name()
        .ok_or_else(|| CliError::user(format!("`{}` is not a file name", path.display())))?;
    let tmp = format!(
        ".{}.kiln-{}",
        name.to_string_lossy(),
        kiln_cache::random_id(6)
    );
    Ok(path.with_file_name(tmp))
}
