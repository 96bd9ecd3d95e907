//! The build context: resolving COPY sources inside it, filtered by `.dockerignore`,
//! and hashing their content.
//!
//! File contents are hashed once and remembered in the index's stat cache by
//! (device, inode, size, mtime, ctime, mode): a rebuild with no change stats every
//! file and reads none, and `touch` alone changes no cache key.

use crate::error::{Result, SolveError};
use crate::selection::{Excludes, Kept};
use kiln_cache::index::Index;
use kiln_cache::tree::{DirEntry, Stat, Visitor, open_dir_at, open_file_at, stat_at, walk};
use kiln_parser::dockerignore::{Dockerignore, Pattern};
use rustix::fs::FileType;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A build context folder on the host, with its ignore rules.
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    ignore: Option<Dockerignore>,
}

/// One COPY source, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Path relative to the context root, `/`-separated, no `.` or `..`.
    pub rel: String,
    /// Host path.
    pub path: PathBuf,
    /// `COPY --parents`: the source is a pivot folder, and only these paths below it
    /// (with the folders leading to them) are copied, into the destination.
    pub kept: Option<Kept>,
}

impl BuildContext {
    /// The context at `root` (made absolute, symlinks resolved), with the ignore file
    /// of `dockerfile`: `<Dockerfile>.dockerignore` beside it if there is one, else the
    /// context's `.dockerignore` (the only one for a Dockerfile read from stdin: `None`).
    pub fn new(root: &Path, dockerfile: Option<&Path>) -> Result<Self> {
        let root = fs_err::canonicalize(root)?;
        let own = dockerfile.map(|d| PathBuf::from(format!("{}.dockerignore", d.display())));
        let file = own
            .into_iter()
            .chain([root.join(".dockerignore")])
            .find(|p| p.is_file());
        let ignore = match file {
            Some(path) => {
                let text = fs_err::read_to_string(&path)?;
                let ignore = Dockerignore::parse(&text).map_err(|e| SolveError::Context {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                Some(ignore).filter(|i| !i.is_empty())
            }
            None => None,
        };
        Ok(Self { root, ignore })
    }

    /// Whether `.dockerignore` leaves out the context-relative path `rel`. A directory
    /// that an exception may re-include something below is kept (its other contents
    /// are still left out one by one).
    pub fn is_excluded(&self, rel: &str, is_dir: bool) -> bool {
        self.ignore
            .as_ref()
            .is_some_and(|i| i.is_excluded(rel) && !(is_dir && i.must_descend(rel)))
    }

    /// The context-relative path of `path` below a source.
    fn rel_below(source: &Source, below: &Path) -> String {
        match below.to_str() {
            Some("") | None => source.rel.clone(),
            Some(b) => join_rel(&source.rel, b),
        }
    }

    /// Whether the entry at `below` (relative to `source`) is left out: by
    /// `.dockerignore`, by the step's `--exclude` patterns, or by `--parents`.
    pub fn is_excluded_below(
        &self,
        source: &Source,
        excludes: &Excludes,
        below: &Path,
        is_dir: bool,
    ) -> bool {
        source.kept.as_ref().is_some_and(|k| !k.keeps(below))
            || excludes.excludes(below, is_dir)
            || (self.ignore.is_some() && self.is_excluded(&Self::rel_below(source, below), is_dir))
    }

    /// The context folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn context_error(&self, message: String) -> SolveError {
        SolveError::Context {
            path: self.root.display().to_string(),
            message,
        }
    }

    /// Resolves COPY source patterns (Go `filepath.Match` wildcards per segment) to
    /// existing paths inside the context, sorted and deduplicated. A missing plain
    /// path is an error; a wildcard matching nothing is skipped, unless nothing at
    /// all matched (as the issue asks of current BuildKit).
    pub fn resolve(&self, patterns: &[String]) -> Result<Vec<Source>> {
        let mut out = Vec::new();
        let mut unmatched = None;
        for pattern in patterns {
            let rel = clean_relative(pattern).ok_or_else(|| {
                self.context_error(format!(
                    "forbidden path outside the build context: {pattern}"
                ))
            })?;
            let mut matches = vec![String::new()];
            for segment in rel.split('/').filter(|s| !s.is_empty()) {
                let glob = segment_glob(segment)?;
                let mut next = Vec::new();
                for prefix in &matches {
                    if let Some(glob) = &glob {
                        let dir = self.root.join(prefix);
                        let Ok(entries) = fs_err::read_dir(&dir) else {
                            continue;
                        };
                        let mut names: Vec<String> = entries
                            .filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .filter(|n| glob.matches(n))
                            .collect();
                        names.sort();
                        next.extend(names.into_iter().map(|n| join_rel(prefix, &n)));
                    } else {
                        next.push(join_rel(prefix, segment));
                    }
                }
                matches = next;
            }
            let found: Vec<String> = matches
                .into_iter()
                .filter(|m| match self.root.join(m).symlink_metadata() {
                    Ok(meta) => !self.is_excluded(m, meta.is_dir()),
                    Err(_) => false,
                })
                .collect();
            if found.is_empty() {
                if !rel.split('/').any(has_wildcard) {
                    return Err(self.context_error(format!("\"{pattern}\": not found")));
                }
                unmatched.get_or_insert(pattern);
            }
            for rel in found {
                let path = self.root.join(&rel);
                if !rel.is_empty() {
                    self.check_inside(&path, pattern)?;
                }
                out.push(Source {
                    rel,
                    path,
                    kept: None,
                });
            }
        }
        if let (true, Some(pattern)) = (out.is_empty(), unmatched) {
            return Err(self.context_error(format!("\"{pattern}\": not found")));
        }
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        out.dedup();
        Ok(out)
    }

    /// Resolves `COPY --parents` sources: each is a pivot folder (the part before its
    /// first `/./`, wildcards allowed; the context root without one) with the paths
    /// below it that the rest matches (`.dockerignore` syntax), which must exist when it
    /// has no wildcard. Nothing matching at all is an error, as for [`Self::resolve`].
    pub fn resolve_parents(&self, patterns: &[String]) -> Result<Vec<Source>> {
        let mut out = Vec::new();
        let mut unmatched = None;
        for pattern in patterns {
            let (pivot, below) = crate::selection::split_pivot(pattern);
            for mut source in self.resolve(&[pivot.to_string()])? {
                let matches = crate::selection::matches(&source.path, below)?;
                let kept = Kept::new(matches.into_iter().filter(|m| {
                    let meta = source.path.join(m).symlink_metadata();
                    let is_dir = meta.is_ok_and(|m| m.is_dir());
                    !self.is_excluded(&join_rel(&source.rel, m), is_dir)
                }));
                if kept.is_empty() {
                    if !below.split('/').any(has_wildcard) {
                        return Err(self.context_error(format!("\"{pattern}\": not found")));
                    }
                    unmatched.get_or_insert(pattern);
                    continue;
                }
                source.kept = Some(kept);
                out.push(source);
            }
        }
        if let (true, Some(pattern)) = (out.is_empty(), unmatched) {
            return Err(self.context_error(format!("\"{pattern}\": not found")));
        }
        Ok(out)
    }

    /// Fails if the parent of `path` resolves (through symlinks) outside the context.
    fn check_inside(&self, path: &Path, pattern: &str) -> Result<()> {
        let parent = path.parent().unwrap_or(&self.root);
        let real = fs_err::canonicalize(parent)?;
        if !real.starts_with(&self.root) {
            return Err(self.context_error(format!(
                "forbidden path outside the build context: {pattern}"
            )));
        }
        Ok(())
    }

    /// A digest over the sources' names, types, modes, link targets and contents
    /// (never mtimes or owners, which COPY does not carry over). Directories are walked
    /// fd-relative and without recursion, so sources of any depth hash.
    pub fn digest(
        &self,
        sources: &[Source],
        excludes: &Excludes,
        index: Option<&Index>,
    ) -> Result<String> {
        let mut digest = ContentDigest {
            context: self,
            excludes,
            source: None,
            hasher: Sha256::new(),
            known: HashMap::new(),
            fresh: Vec::new(),
        };
        for source in sources {
            digest.hasher.update(source.rel.as_bytes());
            digest.hasher.update(b"\0");
            if source.kept.is_some() {
                // What a pivot keeps is known from the entries hashed below it.
                digest.hasher.update(b"parents\0");
            }
            // A source that is a symlink is copied as a symlink: never walk its target,
            // which may be anywhere on the host.
            let stat: Stat = rustix::fs::lstat(&source.path)
                .map_err(|e| self.context_error(format!("{}: {e}", source.path.display())))?
                .into();
            digest.source = Some(source);
            if let Some(index) = index {
                digest.known = index.stat_digests_under(&source.path.to_string_lossy())?;
            }
            let body = digest.body(&stat, b"", &|| fs_err::read_link(&source.path), &|| {
                Ok(fs_err::File::open(&source.path)?.into())
            })?;
            if let Some(body) = body {
                digest.add(b"", &stat, &body);
            }
            if stat.is_dir() {
                let top = open_dir_at(rustix::fs::CWD, source.path.as_os_str().as_bytes())
                    .map_err(|e| self.context_error(format!("{}: {e}", source.path.display())))?;
                walk(top, &source.path, &mut digest)?;
            }
        }
        if let Some(index) = index {
            index.put_stat_digests(&digest.fresh)?;
        }
        Ok(format!("sha256:{}", hex::encode(digest.hasher.finalize())))
    }
}

/// The walk that hashes COPY sources: every entry the ignore rules keep, depth first, each
/// directory's entries sorted by name.
struct ContentDigest<'a> {
    context: &'a BuildContext,
    excludes: &'a Excludes,
    /// The source being walked.
    source: Option<&'a Source>,
    hasher: Sha256,
    /// The stat cache's rows for the source being walked: path → (stat, digest).
    known: HashMap<String, (String, String)>,
    /// File digests computed now, for the stat cache.
    fresh: Vec<(String, String, String)>,
}

/// One entry of a source directory.
struct HashEntry {
    name: Vec<u8>,
    stat: Stat,
}

impl ContentDigest<'_> {
    /// Hashes the entry at `rel` (below the source) of type and mode `stat`.
    fn add(&mut self, rel: &[u8], stat: &Stat, body: &str) {
        self.hasher.update(rel);
        self.hasher
            .update(format!("\0{:o}\0{body}\n", stat.permissions()).as_bytes());
    }

    /// What is hashed of an entry besides its path and mode; `None` for what COPY skips
    /// (fifos, sockets, devices).
    fn body(
        &mut self,
        stat: &Stat,
        rel: &[u8],
        link: &dyn Fn() -> std::io::Result<PathBuf>,
        open: &dyn Fn() -> std::io::Result<std::fs::File>,
    ) -> Result<Option<String>> {
        Ok(match stat.file_type() {
            FileType::Symlink => Some(format!("l:{}", link()?.display())),
            FileType::Directory => Some("d".to_string()),
            FileType::RegularFile => Some(format!("f:{}", self.file_digest(rel, stat, open)?)),
            _ => None,
        })
    }

    fn file_digest(
        &mut self,
        rel: &[u8],
        stat: &Stat,
        open: &dyn Fn() -> std::io::Result<std::fs::File>,
    ) -> Result<String> {
        let source = self
            .source
            .map(|s| s.path.as_path())
            .unwrap_or(Path::new(""));
        let key = if rel.is_empty() {
            source.to_string_lossy().into_owned()
        } else {
            source
                .join(OsStr::from_bytes(rel))
                .to_string_lossy()
                .into_owned()
        };
        let stat_key = format!(
            "{}:{}:{}:{}.{}:{}.{}:{:o}",
            stat.dev,
            stat.ino,
            stat.size,
            stat.mtime.0,
            stat.mtime.1,
            stat.ctime.0,
            stat.ctime.1,
            stat.mode
        );
        if let Some((known, digest)) = self.known.get(&key)
            && *known == stat_key
        {
            return Ok(digest.clone());
        }
        let mut file =
            open().map_err(|e| self.context.context_error(format!("open `{key}`: {e}")))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| self.context.context_error(format!("read `{key}`: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        self.fresh.push((key, stat_key, digest.clone()));
        Ok(digest)
    }
}

impl Visitor for ContentDigest<'_> {
    type Item = HashEntry;
    type Error = SolveError;

    fn name<'b>(&self, entry: &'b HashEntry) -> &'b [u8] {
        &entry.name
    }

    /// The entries of `dir` the ignore rules keep, sorted by name.
    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<HashEntry>> {
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            let below = join_below(rel, &entry.name);
            let stat = stat_at(dir, &entry.name).map_err(|e| {
                self.context
                    .context_error(format!("{}: {e}", String::from_utf8_lossy(&below)))
            })?;
            let excluded = self.source.is_some_and(|source| {
                self.context.is_excluded_below(
                    source,
                    self.excludes,
                    Path::new(OsStr::from_bytes(&below)),
                    stat.is_dir(),
                )
            });
            if !excluded {
                kept.push(HashEntry {
                    name: entry.name,
                    stat,
                });
            }
        }
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(kept)
    }

    fn visit(&mut self, dir: BorrowedFd<'_>, rel: &[u8], entry: &HashEntry) -> Result<bool> {
        let below = join_below(rel, &entry.name);
        let link = || {
            let target = rustix::fs::readlinkat(dir, entry.name.as_slice(), Vec::new())?;
            Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
        };
        let open = || open_file_at(dir, &entry.name);
        if let Some(body) = self.body(&entry.stat, &below, &link, &open)? {
            self.add(&below, &entry.stat, &body);
        }
        Ok(entry.stat.is_dir())
    }
}

/// `rel/name`, or `name` below the top.
fn join_below(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut below = Vec::with_capacity(rel.len() + name.len() + 1);
    below.extend_from_slice(rel);
    if !below.is_empty() {
        below.push(b'/');
    }
    below.extend_from_slice(name);
    below
}

/// `prefix/name`, or `name` when the prefix is empty.
pub(crate) fn join_rel(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// Cleans a context-relative path lexically; `None` if it climbs out of the context.
/// A leading `/` means the context root, as in Docker.
pub fn clean_relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.join("/"))
}

/// Whether a path segment holds `*`, `?` or `[`.
pub(crate) fn has_wildcard(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

/// The matcher of a COPY source segment with wildcards (`None`: a plain name). It is
/// `.dockerignore`'s matcher, with Go `filepath.Match`'s syntax (classes negate with
/// `^`; `[!a]` is the class of `!` and `a`), as BuildKit resolves COPY wildcards.
pub(crate) fn segment_glob(segment: &str) -> Result<Option<Pattern>> {
    if !has_wildcard(segment) {
        return Ok(None);
    }
    Pattern::segment(segment)
        .map(Some)
        .map_err(|e| SolveError::Instruction(format!("COPY source `{segment}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn dockerignore_filters_sources_and_digests() {
        let dir = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let index = Index::open(&db.path().join("i.db")).unwrap();
        for (path, body) in [
            ("app/a", "a"),
            ("app/secret.key", "k"),
            ("app/logs/x.log", "l"),
            ("top.key", "t"),
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        std::fs::write(dir.path().join(".dockerignore"), "**/*.key\napp/logs\n").unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        assert!(
            ctx.resolve(&["top.key".into()]).is_err(),
            "an ignored source is not found"
        );
        let src = ctx.resolve(&["app".into()]).unwrap();
        let with_ignored = ctx
            .digest(&src, &Excludes::default(), Some(&index))
            .unwrap();
        // Changing ignored files changes nothing.
        std::fs::write(dir.path().join("app/secret.key"), "changed").unwrap();
        std::fs::write(dir.path().join("app/logs/x.log"), "changed").unwrap();
        assert_eq!(
            ctx.digest(&src, &Excludes::default(), Some(&index))
                .unwrap(),
            with_ignored
        );
        std::fs::write(dir.path().join("app/a"), "changed").unwrap();
        assert_ne!(
            ctx.digest(&src, &Excludes::default(), Some(&index))
                .unwrap(),
            with_ignored
        );
        // The Dockerfile's own ignore file wins over the context's.
        std::fs::write(dir.path().join("Dockerfile.dockerignore"), "app/a\n").unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        assert!(ctx.resolve(&["top.key".into()]).is_ok());
        assert!(ctx.resolve(&["app/a".into()]).is_err());
    }

    #[test]
    fn cleaning_keeps_paths_inside() {
        assert_eq!(clean_relative("./a/../b/c").as_deref(), Some("b/c"));
        assert_eq!(clean_relative("/x").as_deref(), Some("x"));
        assert_eq!(clean_relative(".").as_deref(), Some(""));
        assert_eq!(clean_relative("../etc/passwd"), None);
    }

    #[test]
    fn wildcards_follow_go_match() {
        let matches =
            |pattern: &str, name: &str| segment_glob(pattern).unwrap().unwrap().matches(name);
        assert!(matches("*.sh", "greet.sh"));
        assert!(!matches("*.sh", "greet.txt"));
        assert!(matches("f?le", "file"));
        assert!(matches("[a-c]x", "bx"));
        // Go negates a class with `^` only: `[!a-c]` holds `!` and a to c.
        assert!(matches("[!a-c]x", "bx"));
        assert!(matches("[!a-c]x", "!x"));
        assert!(!matches("[!a-c]x", "dx"));
        assert!(matches("[^a-c]x", "dx"));
        assert!(!matches("[^a-c]x", "bx"));
        assert!(matches("a\\*", "a*"));
        assert!(segment_glob("plain").unwrap().is_none());
        assert!(segment_glob("[a-").is_err(), "a bad pattern is an error");
    }

    #[test]
    fn digest_ignores_mtime_but_not_content_or_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let index = Index::open(&db.path().join("i.db")).unwrap();
        std::fs::write(dir.path().join("a"), b"one").unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        let src = ctx.resolve(&["a".into()]).unwrap();
        let d1 = ctx
            .digest(&src, &Excludes::default(), Some(&index))
            .unwrap();
        // Rewrite the same content: new mtime and ctime, same digest.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(dir.path().join("a"), b"one").unwrap();
        assert_eq!(
            ctx.digest(&src, &Excludes::default(), Some(&index))
                .unwrap(),
            d1
        );
        std::fs::write(dir.path().join("a"), b"two").unwrap();
        let d2 = ctx
            .digest(&src, &Excludes::default(), Some(&index))
            .unwrap();
        assert_ne!(d2, d1);
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        assert_ne!(
            ctx.digest(&src, &Excludes::default(), Some(&index))
                .unwrap(),
            d2
        );
    }

    #[test]
    fn resolve_rejects_escapes_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        assert!(ctx.resolve(&["../x".into()]).is_err());
        assert!(ctx.resolve(&["etc/passwd".into()]).is_err());
        assert!(ctx.resolve(&["missing".into()]).is_err());
        assert!(ctx.resolve(&["nomatch*".into()]).is_err());
        // The symlink itself (not followed) is a fine source.
        assert_eq!(ctx.resolve(&["etc".into()]).unwrap()[0].rel, "etc");
        // So is the whole context.
        assert_eq!(ctx.resolve(&[".".into()]).unwrap()[0].rel, "");
    }

    #[test]
    fn digest_of_a_symlink_source_never_reads_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let index = Index::open(&db.path().join("i.db")).unwrap();
        std::fs::write(outside.path().join("secret"), b"one").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        let src = ctx.resolve(&["link".into()]).unwrap();
        let before = ctx
            .digest(&src, &Excludes::default(), Some(&index))
            .unwrap();
        // COPY copies the link itself, so what it points at is not part of the digest.
        std::fs::write(outside.path().join("secret"), b"two").unwrap();
        assert_eq!(
            ctx.digest(&src, &Excludes::default(), Some(&index))
                .unwrap(),
            before
        );
    }

    #[test]
    fn deep_tree_context_hash_does_not_overflow()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        use rustix::fs::{Mode, OFlags};
        // In memory: removing a deep chain on ext4 takes the kernel O(depth²).
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())?;
        let db = tempfile::tempdir()?;
        // 10,000 nested `d`, made fd-relative (the path is far beyond PATH_MAX), and a file.
        let mut level = open_dir_at(rustix::fs::CWD, dir.path().as_os_str().as_bytes())?;
        for _ in 0..10_000 {
            rustix::fs::mkdirat(&level, "d", Mode::from_raw_mode(0o755))?;
            level = open_dir_at(std::os::fd::AsFd::as_fd(&level), b"d")?;
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC;
        let leaf = rustix::fs::openat(&level, "f", flags, Mode::from_raw_mode(0o644))?;
        let hash = || -> std::result::Result<_, Box<dyn std::error::Error>> {
            std::thread::scope(|scope| {
                let thread = std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, || {
                        let index = Index::open(&db.path().join("i.db"))?;
                        let ctx =
                            BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile")))?;
                        let sources = ctx.resolve(&[".".into()])?;
                        ctx.digest(&sources, &Excludes::default(), Some(&index))
                    })?;
                thread
                    .join()
                    .map_err(|_| "the hashing thread panicked".into())
            })
        };
        let before: String = hash()?.map_err(|e| e.to_string())?;
        rustix::io::write(&leaf, b"changed")?;
        assert_ne!(
            hash()?.map_err(|e| e.to_string())?,
            before,
            "the leaf counts"
        );
        kiln_cache::tree::remove_tree(&dir.path().join("d"))?;
        Ok(())
    }
}
