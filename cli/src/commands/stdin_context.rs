//! `kiln build -`: the build context read from the standard input, as docker reads it: a
//! tar archive (plain or compressed) is the context, extracted with the layer applier's
//! safe writes; anything else is a Dockerfile, alone in an otherwise empty context.

use crate::error::CliError;
use kiln_cache::layer::LocalArchive;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A context read from stdin, in a temp folder removed when this is dropped.
pub struct StdinContext {
    dir: TempDir,
}

impl StdinContext {
    /// Reads the standard input to its end into a temp folder and unpacks it there.
    /// `dockerfile` is `-f`, which cannot be stdin too.
    pub fn read(dockerfile: Option<&Path>) -> Result<Self, CliError> {
        if dockerfile.is_some_and(super::is_stdin) {
            return Err(CliError::user(
                "can't use stdin for both the build context and the Dockerfile",
            ));
        }
        let failed = |e: std::io::Error| {
            CliError::user(format!("reading the build context from stdin: {e}"))
        };
        let dir = tempfile::Builder::new()
            .prefix("kiln-context-")
            .tempdir()
            .map_err(failed)?;
        let spool = dir.path().join("stdin");
        let mut file = fs_err::File::create(&spool).map_err(failed)?;
        std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(failed)?;
        drop(file);
        let context = dir.path().join("context");
        fs_err::create_dir(&context).map_err(failed)?;
        let archive = LocalArchive::open(&spool)
            .map_err(|e| CliError::user(format!("reading the build context from stdin: {e}")))?;
        match archive {
            Some(archive) => {
                archive.extract(&context, None).map_err(|e| {
                    CliError::user(format!("unpacking the build context from stdin: {e}"))
                })?;
            }
            // Not an archive: docker takes it for the Dockerfile, the context's only file.
            None => fs_err::rename(&spool, context.join("Dockerfile")).map_err(failed)?,
        }
        fs_err::remove_file(&spool).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(failed(e)),
        })?;
        Ok(Self { dir })
    }

    /// The context folder.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("context")
    }

    /// The Dockerfile `-f` names inside the context (default `Dockerfile`, else
    /// `dockerfile`), refused when it resolves outside of it (a symlink in the archive);
    /// with how messages name it (its path in the archive).
    pub fn dockerfile(&self, file: Option<&Path>) -> Result<(PathBuf, String), CliError> {
        let context = self.path();
        let path = match file {
            // As docker: a relative (or absolute) `-f` names a file inside the archive.
            Some(f) => context.join(f.strip_prefix("/").unwrap_or(f)),
            None => super::dockerfile_path(None, &context),
        };
        let inside = |p: &Path| {
            let root = fs_err::canonicalize(&context).ok()?;
            fs_err::canonicalize(p)
                .ok()
                .filter(|p| p.starts_with(&root))
        };
        let name = path
            .strip_prefix(&context)
            .unwrap_or(&path)
            .display()
            .to_string();
        match inside(&path) {
            Some(resolved) => Ok((resolved, name)),
            None => Err(CliError::user(format!(
                "the Dockerfile `{name}` is not in the build context read from stdin"
            ))),
        }
    }
}
