//! Heredocs' inline files on the host for the time of one step: a temp folder of the
//! state root (`tmp-v1/`, which prune empties after a crash), one sub-folder per file
//! so two heredocs may share a name. COPY copies them in like context files; a RUN
//! mounts them read-only.

use crate::op::InlineFile;
use fs_err::os::unix::fs::OpenOptionsExt;
use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The written files, removed when dropped.
pub(super) struct InlineDir {
    _dir: Option<TempDir>,
    /// Each file's host path, in order.
    pub paths: Vec<PathBuf>,
}

impl InlineDir {
    /// Writes `files` with `mode` (umask not applied) below `tmp`; no folder when there
    /// are none.
    pub fn write(tmp: &Path, files: &[InlineFile], mode: u32) -> std::io::Result<Self> {
        if files.is_empty() {
            return Ok(Self {
                _dir: None,
                paths: Vec::new(),
            });
        }
        let dir = tempfile::Builder::new().prefix("inline-").tempdir_in(tmp)?;
        let mut paths = Vec::with_capacity(files.len());
        for (i, file) in files.iter().enumerate() {
            let folder = dir.path().join(i.to_string());
            fs_err::create_dir(&folder)?;
            let path = folder.join(&file.name);
            let mut out = fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)?;
            out.write_all(file.content.as_bytes())?;
            fs_err::set_permissions(&path, Permissions::from_mode(mode))?;
            paths.push(path);
        }
        Ok(Self {
            _dir: Some(dir),
            paths,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn files_keep_their_names_contents_and_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let files = ["EOF", "EOF"].map(|name| InlineFile {
            name: name.into(),
            content: format!("{name}\n"),
        });
        let written = InlineDir::write(tmp.path(), &files, 0o644).unwrap();
        assert_eq!(written.paths.len(), 2);
        for path in &written.paths {
            assert_eq!(path.file_name().unwrap(), "EOF");
            assert_eq!(std::fs::read_to_string(path).unwrap(), "EOF\n");
            assert_eq!(std::fs::metadata(path).unwrap().mode() & 0o7777, 0o644);
        }
        drop(written);
        InlineDir::write(tmp.path(), &[], 0o644).unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
