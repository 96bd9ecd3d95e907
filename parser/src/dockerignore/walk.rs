//! Walking a build context with a [`Dockerignore`], as fsutil's filtered
//! walk does.

use std::fs::FileType;
use std::io;
use std::path::Path;

use walkdir::WalkDir;

use super::Dockerignore;

/// One path a filtered walk keeps.
#[derive(Debug, Clone)]
pub struct WalkEntry {
    /// Context-relative, `/`-separated, no leading `/`.
    pub path: String,
    /// The entry's type; symlinks are not followed.
    pub file_type: FileType,
}

impl WalkEntry {
    /// Whether the entry is a directory (not a symlink to one).
    pub fn is_dir(&self) -> bool {
        self.file_type.is_dir()
    }
}

/// A directory on the walk's current path, kept until we know whether
/// something below it is included.
struct OpenDir {
    entry: WalkEntry,
    emitted: bool,
}

/// Lists what a build context under `root` sends: every path that `ignore`
/// does not exclude, depth first, the entries of each directory in byte
/// order of their names. The root itself is not listed.
///
/// An excluded directory is pruned unless [`Dockerignore::must_descend`]
/// says an exception may re-include something below it. Such a directory
/// is listed only if something below it is kept, just before the first
/// such entry, so every kept path has its parents listed (with `foo*` and
/// `!foo/bar2`: `foo`, then `foo/bar2`).
///
/// Like fsutil, a permission error on an excluded path and a path that
/// vanishes during the walk are skipped; other errors, and a non-UTF-8 name
/// (kiln matches on strings), end the walk.
pub fn walk(root: &Path, ignore: &Dockerignore) -> io::Result<Vec<WalkEntry>> {
    let mut kept = Vec::new();
    let mut open: Vec<OpenDir> = Vec::new();
    let mut entries = WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(next) = entries.next() {
        let entry = match next {
            Ok(entry) => entry,
            Err(err) => {
                if skippable(&err, root, ignore) {
                    continue;
                }
                return Err(err.into());
            }
        };
        let path = relative(root, entry.path())?;
        open.truncate(entry.depth().saturating_sub(1));
        let file_type = entry.file_type();
        let excluded = ignore.is_excluded(&path);
        let is_dir = file_type.is_dir();
        if excluded && !is_dir {
            continue;
        }
        if excluded && !ignore.must_descend(&path) {
            entries.skip_current_dir();
            continue;
        }
        let this = WalkEntry { path, file_type };
        if excluded {
            open.push(OpenDir {
                entry: this,
                emitted: false,
            });
            continue;
        }
        for dir in open.iter_mut().filter(|dir| !dir.emitted) {
            dir.emitted = true;
            kept.push(dir.entry.clone());
        }
        if is_dir {
            open.push(OpenDir {
                entry: this.clone(),
                emitted: true,
            });
        }
        kept.push(this);
    }
    Ok(kept)
}

/// Whether a walk error can be passed over: the path vanished, or it is an
/// excluded path we may not read.
fn skippable(err: &walkdir::Error, root: &Path, ignore: &Dockerignore) -> bool {
    let Some(io_err) = err.io_error() else {
        return false;
    };
    match io_err.kind() {
        io::ErrorKind::NotFound => err.depth() > 0,
        io::ErrorKind::PermissionDenied => err
            .path()
            .and_then(|p| relative(root, p).ok())
            .is_some_and(|rel| ignore.is_excluded(&rel)),
        _ => false,
    }
}

/// `path` relative to `root`, `/`-separated.
fn relative(root: &Path, path: &Path) -> io::Result<String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut out = String::new();
    for component in rel.components() {
        let name = component.as_os_str().to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("File name is not UTF-8: `{}`", path.display()),
            )
        })?;
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str, dirs: &[&str], files: &[&str]) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!(
            "kiln-dockerignore-walk-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for dir in dirs {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in files {
            std::fs::write(root.join(file), b"x").unwrap();
        }
        root
    }

    fn listing(root: &Path, patterns: &[&str]) -> Vec<String> {
        let ignore = Dockerignore::from_patterns(patterns).unwrap();
        let out = walk(root, &ignore).unwrap();
        out.iter()
            .map(|e| format!("{}{}", e.path, if e.is_dir() { "/" } else { "" }))
            .collect()
    }

    #[test]
    fn prunes_and_reincludes() {
        let root = context(
            "prune",
            &["foo", "node_modules/x", "src/gen"],
            &[
                "bar",
                "foo2",
                "foo/bar2",
                "foo/b",
                "node_modules/x/y",
                "src/a.rs",
                "src/gen/g.rs",
            ],
        );
        assert_eq!(
            listing(&root, &["foo*", "!foo/bar2", "node_modules", "src/gen"]),
            ["bar", "foo/", "foo/bar2", "src/", "src/a.rs"]
        );
        assert_eq!(
            listing(&root, &["**", "!src/gen/g.rs"]),
            ["src/", "src/gen/", "src/gen/g.rs"]
        );
        assert_eq!(
            listing(&root, &["*", "!*/x"]),
            ["node_modules/", "node_modules/x/", "node_modules/x/y"]
        );
        assert_eq!(listing(&root, &[]).len(), 12);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_root_is_an_error() {
        let ignore = Dockerignore::default();
        assert!(walk(Path::new("/nonexistent/kiln/context"), &ignore).is_err());
    }
}
