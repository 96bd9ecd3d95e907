//! The build context: resolving COPY sources inside it, filtered by `.dockerignore`,
//! and walking what they send, which their content digest hashes and the copy takes.
//!
//! Sources resolve as BuildKit's do (its `FollowSymlinks` on a copy source): every
//! symlink on a source's path, the final one included, is followed inside the context
//! (an absolute or `..` target never leaves it), and the copy keeps the matched name.
//!
//! File contents are hashed once and remembered in the index's stat cache by
//! (device, inode, size, mtime, ctime, mode): a rebuild with no change stats every
//! file and reads none, and `touch` alone changes no cache key.

use crate::error::{Result, SolveError};
use crate::selection::{Excludes, Kept, step_leaves_out};
use kiln_cache::index::Index;
use kiln_cache::tree::{DirEntry, Stat, Visitor, open_dir_at, open_file_at, stat_at, walk};
use kiln_parser::dockerignore::{Dockerignore, Pattern};
use rustix::fs::{FileType, Mode, OFlags};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A build context folder on the host, with its ignore rules.
#[derive(Debug, Clone)]
pub struct BuildContext {
    root: PathBuf,
    ignore: Option<Ignore>,
}

/// The ignore rules and the file they come from, for messages.
#[derive(Debug, Clone)]
struct Ignore {
    rules: Dockerignore,
    file: String,
}

/// One COPY source, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Path relative to the context root with every symlink followed, `/`-separated,
    /// no `.` or `..`; empty for the root.
    pub rel: String,
    /// Host path (`rel` below the context root).
    pub path: PathBuf,
    /// Its name in a destination folder: the matched entry's own name (a symlink's,
    /// not its target's, as BuildKit copies it).
    pub name: String,
    /// `COPY --parents`: the source is a pivot folder, and only these paths below it
    /// (with the folders leading to them) are copied, into the destination.
    pub kept: Option<Kept>,
}

/// What a COPY takes from the context: its sources, and the excluded folders it still
/// sends because something below them is re-included by an exception (found by the
/// walk that hashed them).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub sources: Vec<Source>,
    /// Context-relative paths of those folders.
    reopened: HashSet<String>,
}

/// One entry a COPY of the context sends, as [`BuildContext::listing`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Context-relative path.
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
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
                let rules = Dockerignore::parse(&text).map_err(|source| SolveError::Ignore {
                    path: path.clone(),
                    source,
                })?;
                let file = match path.strip_prefix(&root) {
                    Ok(inside) => inside.display().to_string(),
                    Err(_) => path.display().to_string(),
                };
                Some(Ignore { rules, file }).filter(|i| !i.rules.is_empty())
            }
            None => None,
        };
        Ok(Self { root, ignore })
    }

    /// The pattern of `.dockerignore` that leaves out the context-relative path `rel`.
    /// A directory that an exception may re-include something below is not left out
    /// here (its other contents are still left out one by one).
    fn excluded_by(&self, rel: &str, is_dir: bool) -> Option<&Pattern> {
        let ignore = &self.ignore.as_ref()?.rules;
        ignore
            .excluded_by(rel)
            .filter(|_| !(is_dir && ignore.must_descend(rel)))
    }

    /// Whether a copy of `source` in `selection` leaves out the entry at `below` (relative
    /// to the source): `.dockerignore` excludes it, and it is not a folder kept for what
    /// an exception re-includes below it.
    pub fn is_left_out(
        &self,
        selection: &Selection,
        source: &Source,
        below: &Path,
        is_dir: bool,
    ) -> bool {
        let Some(ignore) = &self.ignore else {
            return false;
        };
        let rel = match below.to_str() {
            Some("") | None => source.rel.clone(),
            Some(b) => join_rel(&source.rel, b),
        };
        ignore.rules.is_excluded(&rel)
            && !(is_dir && ignore.rules.must_descend(&rel) && selection.reopened.contains(&rel))
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
    /// entries inside the context, symlinks followed in it, sorted and deduplicated. A
    /// missing plain path is an error (saying which `.dockerignore` pattern left it out,
    /// if one did); a wildcard matching nothing is skipped, unless nothing at all
    /// matched (as the issue asks of current BuildKit). A fifo named as a source is
    /// refused: a build context cannot hold one.
    pub fn resolve(&self, patterns: &[String]) -> Result<Vec<Source>> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = rustix::fs::open(&self.root, flags, Mode::empty())
            .map_err(|e| self.context_error(format!("open: {e}")))?;
        let mut out = Vec::new();
        let mut unmatched = None;
        for pattern in patterns {
            let rel = clean_relative(pattern).ok_or_else(|| {
                self.context_error(format!(
                    "forbidden path outside the build context: {pattern}"
                ))
            })?;
            let mut excluded = None;
            let before = out.len();
            for matched in expand_wildcards(root.as_fd(), &rel)? {
                match self.locate(root.as_fd(), &matched)? {
                    Located::Found(source) => out.push(source),
                    Located::Excluded(why) => {
                        excluded.get_or_insert(why);
                    }
                    Located::Missing => {}
                }
            }
            if out.len() == before {
                let missing = self.not_found(pattern, excluded.as_deref());
                if !rel.split('/').any(has_wildcard) {
                    return Err(missing);
                }
                unmatched.get_or_insert(missing);
            }
        }
        if let (true, Some(missing)) = (out.is_empty(), unmatched) {
            return Err(missing);
        }
        out.sort_by(|a, b| (&a.rel, &a.name).cmp(&(&b.rel, &b.name)));
        out.dedup();
        Ok(out)
    }

    /// Resolves `COPY --parents` sources: each is a pivot folder (the part before its
    /// first `/./`, wildcards allowed, symlinks followed as [`Self::resolve`] does; the
    /// context root without one) with the paths below it that the rest matches
    /// (`.dockerignore` syntax), which must exist when it has no wildcard. Nothing
    /// matching at all is an error, as for [`Self::resolve`].
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
                    self.excluded_by(&join_rel(&source.rel, m), is_dir)
                        .is_none()
                }));
                if kept.is_empty() {
                    if !below.split('/').any(has_wildcard) {
                        return Err(self.not_found(pattern, None));
                    }
                    unmatched.get_or_insert(pattern);
                    continue;
                }
                source.kept = Some(kept);
                out.push(source);
            }
        }
        if let (true, Some(pattern)) = (out.is_empty(), unmatched) {
            return Err(self.not_found(pattern, None));
        }
        Ok(out)
    }

    fn not_found(&self, pattern: &str, excluded: Option<&str>) -> SolveError {
        let why = excluded.map(|w| format!(" ({w})")).unwrap_or_default();
        self.context_error(format!("\"{pattern}\": not found{why}"))
    }

    /// Follows the context-relative path `matched` inside the context (`root`).
    fn locate(&self, root: BorrowedFd<'_>, matched: &str) -> Result<Located> {
        let found = match kiln_inroot::locate(root, matched.as_bytes(), None) {
            Ok(found) if found.exists => found,
            Ok(_) | Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => {
                return Ok(Located::Missing);
            }
            Err(e) => return Err(self.context_error(format!("\"{matched}\": {e}"))),
        };
        let rel = String::from_utf8(found.path)
            .map_err(|_| self.context_error(format!("\"{matched}\": a name is not UTF-8")))?;
        let name: &[u8] = if found.name.is_empty() {
            b"."
        } else {
            &found.name
        };
        let stat = stat_at(found.dir.as_fd(), name)
            .map_err(|e| self.context_error(format!("\"{matched}\": {e}")))?;
        for path in [matched, rel.as_str()] {
            if let Some(pattern) = self.excluded_by(path, stat.is_dir()) {
                let file = self.ignore.as_ref().map_or("", |i| i.file.as_str());
                let via = if path == matched {
                    String::new()
                } else {
                    format!("its target \"{path}\" ")
                };
                return Ok(Located::Excluded(format!(
                    "{via}excluded by `{}` in {file}",
                    pattern.text()
                )));
            }
        }
        if stat.file_type() == FileType::Fifo {
            return Err(self.context_error(format!(
                "\"{matched}\" is a named pipe (fifo), which a build context cannot hold"
            )));
        }
        let name = matched.rsplit('/').next().unwrap_or_default().to_string();
        Ok(Located::Found(Source {
            path: self.root.join(&rel),
            rel,
            name,
            kept: None,
        }))
    }

    /// A digest over the sources' names, types, modes, link targets and contents
    /// (never mtimes or owners, which COPY does not carry over) as the step's
    /// `excludes` and `--parents` leave them, and the selection the copy takes.
    /// Directories are walked fd-relative and without recursion, so sources of any
    /// depth hash.
    pub fn digest(
        &self,
        sources: Vec<Source>,
        excludes: &Excludes,
        index: Option<&Index>,
    ) -> Result<(String, Selection)> {
        let mut walk = ContextWalk::new(self, excludes, None);
        for source in &sources {
            walk.hasher.update(source.name.as_bytes());
            walk.hasher.update(b"\0");
            if source.kept.is_some() {
                // What a pivot keeps is known from the entries hashed below it.
                walk.hasher.update(b"parents\0");
            }
            walk.source(source, index)?;
        }
        if let Some(index) = index {
            index.put_stat_digests(&walk.fresh)?;
        }
        let digest = format!("sha256:{}", hex::encode(walk.hasher.finalize()));
        let reopened = walk.reopened;
        Ok((digest, Selection { sources, reopened }))
    }

    /// What a COPY of `sources` with `excludes` sends, in the order the digest walks it:
    /// the same walk.
    pub fn listing(&self, sources: &[Source], excludes: &Excludes) -> Result<Vec<Sent>> {
        let mut walk = ContextWalk::new(self, excludes, Some(Vec::new()));
        for source in sources {
            walk.source(source, None)?;
        }
        Ok(walk.listing.unwrap_or_default())
    }
}

/// What one matched path of a COPY source turned out to be.
enum Located {
    Found(Source),
    /// Left out by `.dockerignore`: why, for the "not found" message.
    Excluded(String),
    Missing,
}

/// The paths `rel` (cleaned, relative, Go wildcards per segment) names inside `root`:
/// each wildcard segment is matched against the names in the directories the segments
/// before it name (opened in root, symlinks followed inside it), in name order; plain
/// segments are taken as written, whether or not they exist.
pub(crate) fn expand_wildcards(root: BorrowedFd<'_>, rel: &str) -> Result<Vec<String>> {
    let mut matches = vec![String::new()];
    for segment in rel.split('/').filter(|s| !s.is_empty()) {
        let glob = segment_glob(segment)?;
        let mut next = Vec::new();
        for prefix in &matches {
            let Some(glob) = &glob else {
                next.push(join_rel(prefix, segment));
                continue;
            };
            let Ok(dir) =
                kiln_inroot::open(root, prefix.as_bytes(), OFlags::RDONLY | OFlags::DIRECTORY)
            else {
                continue;
            };
            let mut names = matching_names(dir, glob)?;
            names.sort();
            next.extend(names.iter().map(|n| join_rel(prefix, n)));
        }
        matches = next;
    }
    Ok(matches)
}

/// The names in `dir` that match `glob`.
fn matching_names(dir: OwnedFd, glob: &Pattern) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = rustix::fs::Dir::read_from(&dir).map_err(|e| SolveError::Io(e.into()))?;
    for entry in entries {
        let entry = entry.map_err(|e| SolveError::Io(e.into()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." && glob.matches(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// The walk of COPY sources that the digest hashes and [`BuildContext::listing`] lists:
/// every entry the ignore rules, the step's `--exclude` patterns and `--parents` keep,
/// depth first, each directory's entries sorted by
/// name. An excluded folder that an exception may re-include something below is
/// entered, but sent only when something below it is, just before the first such entry,
/// as fsutil's filtered walk sends the context.
struct ContextWalk<'a> {
    context: &'a BuildContext,
    excludes: &'a Excludes,
    /// The source being walked: its context-relative path and host path, and what
    /// `--parents` keeps of it.
    top: (String, PathBuf),
    kept: Option<&'a Kept>,
    hasher: Sha256,
    /// The stat cache's rows for the source being walked: path → (stat, digest).
    known: HashMap<String, (String, String)>,
    /// File digests computed now, for the stat cache.
    fresh: Vec<(String, String, String)>,
    /// Excluded folders entered for what an exception may re-include below them: the
    /// path below the source, the stat, and whether it was sent.
    held: Vec<(Vec<u8>, Stat, bool)>,
    /// Context-relative paths of the held folders that were sent.
    reopened: HashSet<String>,
    /// Every entry sent, when listing.
    listing: Option<Vec<Sent>>,
}

/// One entry of a source directory.
struct WalkEntry {
    name: Vec<u8>,
    stat: Stat,
    /// An excluded folder entered only for what may be re-included below it.
    held: bool,
}

/// The digest of no content, which sockets and device nodes arrive with.
const EMPTY_SHA256: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl<'a> ContextWalk<'a> {
    fn new(context: &'a BuildContext, excludes: &'a Excludes, listing: Option<Vec<Sent>>) -> Self {
        ContextWalk {
            context,
            excludes,
            top: (String::new(), PathBuf::new()),
            kept: None,
            hasher: Sha256::new(),
            known: HashMap::new(),
            fresh: Vec::new(),
            held: Vec::new(),
            reopened: HashSet::new(),
            listing,
        }
    }

    /// Walks one source (already resolved: never a symlink).
    fn source(&mut self, source: &'a Source, index: Option<&Index>) -> Result<()> {
        self.hasher.update(source.rel.as_bytes());
        self.hasher.update(b"\0");
        let path = source.path.clone();
        let stat: Stat = rustix::fs::lstat(&path)
            .map_err(|e| {
                self.context
                    .context_error(format!("{}: {e}", path.display()))
            })?
            .into();
        self.top = (source.rel.clone(), path.clone());
        self.kept = source.kept.as_ref();
        if let Some(index) = index {
            self.known = index.stat_digests_under(&path.to_string_lossy())?;
        }
        self.send(b"", &stat, &|| fs_err::read_link(&path), &|| {
            Ok(fs_err::File::open(&path)?.into())
        })?;
        if stat.is_dir() {
            let top = open_dir_at(rustix::fs::CWD, path.as_os_str().as_bytes()).map_err(|e| {
                self.context
                    .context_error(format!("{}: {e}", path.display()))
            })?;
            walk(top, &path, self)?;
        }
        Ok(())
    }

    /// The context-relative path of the entry at `below` (relative to the source).
    fn context_rel(&self, below: &[u8]) -> String {
        let below = String::from_utf8_lossy(below);
        match below.as_ref() {
            "" => self.top.0.clone(),
            b => join_rel(&self.top.0, b),
        }
    }

    /// Sends the entry at `below` of type and mode `stat`: hashes it (and lists it).
    fn send(
        &mut self,
        below: &[u8],
        stat: &Stat,
        link: &dyn Fn() -> std::io::Result<PathBuf>,
        open: &dyn Fn() -> std::io::Result<std::fs::File>,
    ) -> Result<()> {
        let Some(body) = self.body(stat, below, link, open)? else {
            return Ok(());
        };
        self.hasher.update(below);
        self.hasher
            .update(format!("\0{:o}\0{body}\n", stat.permissions()).as_bytes());
        let path = self.context_rel(below);
        if let Some(listing) = &mut self.listing
            && !path.is_empty()
        {
            listing.push(Sent {
                path,
                is_dir: stat.is_dir(),
            });
        }
        Ok(())
    }

    /// Sends the held folders not sent yet, outermost first: something below them is.
    fn send_held(&mut self) -> Result<()> {
        let unsent: Vec<(Vec<u8>, Stat)> = self
            .held
            .iter_mut()
            .filter(|(_, _, sent)| !*sent)
            .map(|(below, stat, sent)| {
                *sent = true;
                (below.clone(), *stat)
            })
            .collect();
        for (below, stat) in unsent {
            let no_link = || Err(std::io::Error::other("a folder is not a link"));
            let no_content = || Err(std::io::Error::other("a folder has no content"));
            self.send(&below, &stat, &no_link, &no_content)?;
            self.reopened.insert(self.context_rel(&below));
        }
        Ok(())
    }

    /// What is hashed of an entry besides its path and mode; `None` for what COPY skips
    /// (fifos). Sockets and device nodes arrive as empty files, as BuildKit's context
    /// transfer gives them.
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
            FileType::Socket | FileType::CharacterDevice | FileType::BlockDevice => {
                Some(format!("f:{EMPTY_SHA256}"))
            }
            _ => None,
        })
    }

    fn file_digest(
        &mut self,
        rel: &[u8],
        stat: &Stat,
        open: &dyn Fn() -> std::io::Result<std::fs::File>,
    ) -> Result<String> {
        let source = &self.top.1;
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

impl Visitor for ContextWalk<'_> {
    type Item = WalkEntry;
    type Error = SolveError;

    fn name<'b>(&self, entry: &'b WalkEntry) -> &'b [u8] {
        &entry.name
    }

    /// The entries of `dir` the ignore rules keep (or hold), sorted by name.
    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> Result<Vec<WalkEntry>> {
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            let below = join_below(rel, &entry.name);
            let stat = stat_at(dir, &entry.name).map_err(|e| {
                self.context
                    .context_error(format!("{}: {e}", String::from_utf8_lossy(&below)))
            })?;
            let below_path = Path::new(OsStr::from_bytes(&below));
            if step_leaves_out(self.kept, self.excludes, below_path, stat.is_dir()) {
                continue;
            }
            let (excluded, held) = match &self.context.ignore {
                Some(ignore) => {
                    let path = self.context_rel(&below);
                    let excluded = ignore.rules.is_excluded(&path);
                    (
                        excluded,
                        excluded && stat.is_dir() && ignore.rules.must_descend(&path),
                    )
                }
                None => (false, false),
            };
            if !excluded || held {
                kept.push(WalkEntry {
                    name: entry.name,
                    stat,
                    held,
                });
            }
        }
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(kept)
    }

    fn visit(&mut self, dir: BorrowedFd<'_>, rel: &[u8], entry: &WalkEntry) -> Result<bool> {
        let below = join_below(rel, &entry.name);
        if entry.held {
            self.held.push((below, entry.stat, false));
            return Ok(true);
        }
        self.send_held()?;
        let link = || {
            let target = rustix::fs::readlinkat(dir, entry.name.as_slice(), Vec::new())?;
            Ok(PathBuf::from(OsStr::from_bytes(target.as_bytes())))
        };
        let open = || open_file_at(dir, &entry.name);
        self.send(&below, &entry.stat, &link, &open)?;
        Ok(entry.stat.is_dir())
    }

    fn leave(
        &mut self,
        _parent: BorrowedFd<'_>,
        _dir: BorrowedFd<'_>,
        _rel: &[u8],
        entry: WalkEntry,
    ) -> Result<()> {
        if entry.held {
            self.held.pop();
        }
        Ok(())
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
            .digest(src.clone(), &Excludes::default(), Some(&index))
            .unwrap()
            .0;
        // Changing ignored files changes nothing.
        std::fs::write(dir.path().join("app/secret.key"), "changed").unwrap();
        std::fs::write(dir.path().join("app/logs/x.log"), "changed").unwrap();
        assert_eq!(
            ctx.digest(src.clone(), &Excludes::default(), Some(&index))
                .unwrap()
                .0,
            with_ignored
        );
        std::fs::write(dir.path().join("app/a"), "changed").unwrap();
        assert_ne!(
            ctx.digest(src.clone(), &Excludes::default(), Some(&index))
                .unwrap()
                .0,
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
            .digest(src.clone(), &Excludes::default(), Some(&index))
            .unwrap()
            .0;
        // Rewrite the same content: new mtime and ctime, same digest.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(dir.path().join("a"), b"one").unwrap();
        assert_eq!(
            ctx.digest(src.clone(), &Excludes::default(), Some(&index))
                .unwrap()
                .0,
            d1
        );
        std::fs::write(dir.path().join("a"), b"two").unwrap();
        let d2 = ctx
            .digest(src.clone(), &Excludes::default(), Some(&index))
            .unwrap()
            .0;
        assert_ne!(d2, d1);
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        assert_ne!(
            ctx.digest(src.clone(), &Excludes::default(), Some(&index))
                .unwrap()
                .0,
            d2
        );
    }

    #[test]
    fn resolve_rejects_escapes_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        assert!(ctx.resolve(&["../x".into()]).is_err());
        // A link out of the context resolves inside it, where there is no such file.
        assert!(ctx.resolve(&["passwd".into()]).is_err());
        assert!(ctx.resolve(&["missing".into()]).is_err());
        assert!(ctx.resolve(&["nomatch*".into()]).is_err());
        // The whole context is a source too.
        assert_eq!(ctx.resolve(&[".".into()]).unwrap()[0].rel, "");
    }

    #[test]
    fn symlink_sources_are_followed_inside_the_context_and_keep_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let index = Index::open(&db.path().join("i.db")).unwrap();
        std::fs::create_dir_all(dir.path().join("real/sub")).unwrap();
        std::fs::write(dir.path().join("real/sub/f"), b"one").unwrap();
        std::fs::write(outside.path().join("f"), b"host").unwrap();
        for (target, link) in [
            ("real", "dirlink"),
            ("/real/sub/f", "abs"),
            ("../../../real/sub/f", "up"),
        ] {
            std::os::unix::fs::symlink(target, dir.path().join(link)).unwrap();
        }
        std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("host")).unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        for link in ["abs", "up"] {
            let src = ctx.resolve(&[link.into()]).unwrap();
            assert_eq!(
                (src[0].rel.as_str(), src[0].name.as_str()),
                ("real/sub/f", link)
            );
        }
        let dir_src = ctx.resolve(&["dirlink".into()]).unwrap();
        assert_eq!(dir_src[0].rel, "real");
        // A wildcard match that is a link is followed too.
        assert_eq!(ctx.resolve(&["a*".into()]).unwrap()[0].rel, "real/sub/f");
        assert!(
            ctx.resolve(&["host".into()]).is_err(),
            "resolved in the context, never on the host"
        );
        // The key follows the link: the target's content counts.
        let src = ctx.resolve(&["abs".into()]).unwrap();
        let before = ctx
            .digest(src.clone(), &Excludes::default(), Some(&index))
            .unwrap()
            .0;
        std::fs::write(dir.path().join("real/sub/f"), b"two").unwrap();
        assert_ne!(
            ctx.digest(src, &Excludes::default(), Some(&index))
                .unwrap()
                .0,
            before
        );
        // So does the name it lands under.
        let up = ctx.resolve(&["up".into()]).unwrap();
        let abs = ctx.resolve(&["abs".into()]).unwrap();
        assert_ne!(
            ctx.digest(up, &Excludes::default(), None).unwrap().0,
            ctx.digest(abs, &Excludes::default(), None).unwrap().0
        );
    }

    #[test]
    fn sources_left_out_by_dockerignore_say_by_which_pattern() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        std::fs::write(dir.path().join("b.txt"), b"b").unwrap();
        std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.txt\n!b.txt\n").unwrap();
        let ctx = BuildContext::new(dir.path(), None).unwrap();
        let message = |pattern: &str| ctx.resolve(&[pattern.into()]).unwrap_err().to_string();
        assert!(
            message("a.txt")
                .ends_with("\"a.txt\": not found (excluded by `*.txt` in .dockerignore)"),
            "{}",
            message("a.txt")
        );
        assert!(
            message("link").contains("its target \"a.txt\" excluded by `*.txt`"),
            "{}",
            message("link")
        );
        assert!(
            message("gone").ends_with("\"gone\": not found"),
            "{}",
            message("gone")
        );
        assert_eq!(ctx.resolve(&["b.txt".into()]).unwrap()[0].rel, "b.txt");
    }

    #[test]
    fn special_files_hash_as_empty_files_and_a_named_fifo_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let fifo = dir.path().join("d/fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("d/sock")).unwrap();
        let ctx = BuildContext::new(dir.path(), None).unwrap();
        let err = ctx.resolve(&["d/fifo".into()]).unwrap_err().to_string();
        assert!(err.contains("\"d/fifo\" is a named pipe"), "{err}");
        let src = ctx.resolve(&["d".into()]).unwrap();
        let listed: Vec<String> = ctx
            .listing(&src, &Excludes::default())
            .unwrap()
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(listed, ["d", "d/sock"], "the fifo is not sent");
        // The socket arrives as an empty file: replacing it by one keeps the key.
        let before = ctx
            .digest(src.clone(), &Excludes::default(), None)
            .unwrap()
            .0;
        let sock = dir.path().join("d/sock");
        let perms = std::fs::symlink_metadata(&sock).unwrap().permissions();
        std::fs::remove_file(&sock).unwrap();
        std::fs::write(&sock, b"").unwrap();
        std::fs::set_permissions(&sock, perms).unwrap();
        assert_eq!(
            ctx.digest(src.clone(), &Excludes::default(), None)
                .unwrap()
                .0,
            before
        );
        std::fs::write(&sock, b"x").unwrap();
        assert_ne!(
            ctx.digest(src, &Excludes::default(), None).unwrap().0,
            before
        );
    }

    #[test]
    fn the_walk_applies_exclude_and_parents_to_a_followed_source() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["real/a.txt", "real/b.log", "real/sub/c.txt"] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        let ctx = BuildContext::new(dir.path(), None).unwrap();
        let listed = |src: &[Source], excludes: &Excludes| -> Vec<String> {
            let sent = ctx.listing(src, excludes).unwrap();
            sent.into_iter().map(|s| s.path).collect()
        };
        // --parents: the pivot is the link's target, only the match below it is walked.
        let parents = ctx.resolve_parents(&["link/./sub/c.txt".into()]).unwrap();
        assert_eq!(parents[0].rel, "real");
        assert_eq!(
            listed(&parents, &Excludes::default()),
            ["real", "real/sub", "real/sub/c.txt"]
        );
        // --exclude: left out of the walk, so of the key too.
        let src = ctx.resolve(&["link".into()]).unwrap();
        let logs = Excludes::new(&["*.log".into()]).unwrap();
        assert_eq!(
            listed(&src, &logs),
            ["real", "real/a.txt", "real/sub", "real/sub/c.txt"]
        );
        let before = ctx.digest(src.clone(), &logs, None).unwrap().0;
        std::fs::write(dir.path().join("real/b.log"), b"changed").unwrap();
        assert_eq!(ctx.digest(src.clone(), &logs, None).unwrap().0, before);
        std::fs::write(dir.path().join("real/a.txt"), b"changed").unwrap();
        assert_ne!(ctx.digest(src, &logs, None).unwrap().0, before);
    }

    #[test]
    fn excluded_folders_are_sent_only_for_what_is_reincluded_below_them() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["foo/bar2", "foo/other", "foo2/x", "bar"] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        std::fs::write(
            dir.path().join("Dockerfile.dockerignore"),
            "foo*\n!*/bar2\n",
        )
        .unwrap();
        let ctx = BuildContext::new(dir.path(), Some(&dir.path().join("Dockerfile"))).unwrap();
        let src = ctx.resolve(&[".".into()]).unwrap();
        let listed: Vec<String> = ctx
            .listing(&src, &Excludes::default())
            .unwrap()
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(
            listed,
            ["Dockerfile.dockerignore", "bar", "foo", "foo/bar2"]
        );
        let (_, selection) = ctx.digest(src.clone(), &Excludes::default(), None).unwrap();
        let left_out =
            |below: &str, is_dir| ctx.is_left_out(&selection, &src[0], Path::new(below), is_dir);
        assert!(!left_out("foo", true), "sent: foo/bar2 is below it");
        assert!(left_out("foo2", true), "nothing below it is sent");
        assert!(left_out("foo/other", false) && !left_out("foo/bar2", false));
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
                        ctx.digest(sources, &Excludes::default(), Some(&index))
                            .map(|(d, _)| d)
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
