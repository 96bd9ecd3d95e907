//! What a COPY takes below each of its sources, as BuildKit's fsutil copier selects it:
//! `--exclude` patterns, matched against the path below the source (the source itself is
//! never matched), and with `--parents` only what the source's pattern matched below its
//! pivot, the folders leading there and everything inside a matched folder. Both use
//! `.dockerignore`'s matcher, as BuildKit uses patternmatcher for both.

use crate::context::has_wildcard;
use crate::error::{Result, SolveError};
use kiln_cache::tree::{DirEntry, Visitor, open_dir_at, walk};
use kiln_parser::dockerignore::{Dockerignore, clean_path};
use std::collections::BTreeSet;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `--exclude` patterns.
#[derive(Debug, Clone, Default)]
pub struct Excludes(Option<Dockerignore>);

impl Excludes {
    /// Compiles `--exclude` patterns (none: nothing is excluded).
    pub fn new(patterns: &[String]) -> Result<Self> {
        if patterns.is_empty() {
            return Ok(Self(None));
        }
        let ignore = Dockerignore::from_patterns(patterns)
            .map_err(|e| SolveError::Instruction(format!("--exclude: {e}")))?;
        Ok(Self(Some(ignore)))
    }

    /// Whether the entry at `below` (relative to its source) is left out. A folder an
    /// exception (`!pattern`) may re-include something below is kept.
    pub fn excludes(&self, below: &Path, is_dir: bool) -> bool {
        let (Some(ignore), Some(below)) = (&self.0, below.to_str()) else {
            return false;
        };
        !below.is_empty() && ignore.is_excluded(below) && !(is_dir && ignore.must_descend(below))
    }
}

/// Whether the step's own selection leaves out the entry at `below` (relative to its
/// source): `--parents` does not keep it (`kept`: the source's), or `--exclude` excludes it.
pub fn step_leaves_out(
    kept: Option<&Kept>,
    excludes: &Excludes,
    below: &Path,
    is_dir: bool,
) -> bool {
    kept.is_some_and(|k| !k.keeps(below)) || excludes.excludes(below, is_dir)
}

/// `--parents`: the paths below a source's pivot its pattern matched. An entry is kept
/// when it is a match, inside a matched folder, or a folder leading to a match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Kept {
    matches: BTreeSet<String>,
    ancestors: BTreeSet<String>,
}

impl Kept {
    pub fn new(matches: impl IntoIterator<Item = String>) -> Self {
        let matches: BTreeSet<String> = matches.into_iter().collect();
        let ancestors = matches
            .iter()
            .flat_map(|m| m.match_indices('/').map(move |(i, _)| m[..i].to_string()))
            .collect();
        Self { matches, ancestors }
    }

    /// Whether the entry at `below` (relative to the pivot) is copied.
    pub fn keeps(&self, below: &Path) -> bool {
        let Some(below) = below.to_str() else {
            return false;
        };
        below.is_empty()
            || self.ancestors.contains(below)
            || self.matches.contains(below)
            || below
                .match_indices('/')
                .any(|(i, _)| self.matches.contains(&below[..i]))
    }

    /// Whether nothing matched.
    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }
}

/// A `--parents` source split at its first `/./`: the pivot (the folder whose inside
/// is kept below the destination; the root when there is none) and the pattern below it.
pub fn split_pivot(source: &str) -> (&str, &str) {
    match source.split_once("/./") {
        Some((pivot, pattern)) => (pivot, pattern),
        None => ("", source),
    }
}

/// The topmost paths below the folder `pivot` (a host path) that `pattern` (cleaned,
/// `.dockerignore` syntax, `**` included) matches. Without wildcards that is the one
/// path, if it exists; with them the folders that can lead to a match are walked,
/// never following a symlink.
pub fn matches(pivot: &Path, pattern: &str) -> Result<Vec<String>> {
    let pattern = clean_path(pattern).trim_start_matches('/').to_string();
    if !pattern.split('/').any(has_wildcard) {
        let exists = pattern.is_empty() || pivot.join(&pattern).symlink_metadata().is_ok();
        return Ok(if exists { vec![pattern] } else { Vec::new() });
    }
    let matcher = Dockerignore::from_patterns(std::slice::from_ref(&pattern))
        .map_err(|e| SolveError::Instruction(format!("--parents: {e}")))?;
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|segment| !has_wildcard(segment))
        .collect();
    let top = match open_dir_at(rustix::fs::CWD, pivot.as_os_str().as_bytes()) {
        Ok(top) => top,
        Err(_) => return Ok(Vec::new()),
    };
    let mut finder = Finder {
        matcher,
        literal,
        found: Vec::new(),
    };
    walk(top, pivot, &mut finder).map_err(|e| SolveError::Io(std::io::Error::other(e)))?;
    Ok(finder.found)
}

/// The walk of [`matches`].
struct Finder<'a> {
    matcher: Dockerignore,
    /// The pattern's segments before its first wildcard: folders off this path hold no
    /// match.
    literal: Vec<&'a str>,
    found: Vec<String>,
}

impl Visitor for Finder<'_> {
    type Item = (String, bool);
    type Error = kiln_cache::tree::WalkError;

    fn name<'b>(&self, item: &'b (String, bool)) -> &'b [u8] {
        let name = item.0.rsplit('/').next().unwrap_or_default();
        name.as_bytes()
    }

    fn list(
        &mut self,
        dir: BorrowedFd<'_>,
        rel: &[u8],
        entries: Vec<DirEntry>,
    ) -> std::result::Result<Vec<(String, bool)>, Self::Error> {
        let rel = String::from_utf8_lossy(rel).into_owned();
        let depth = if rel.is_empty() {
            0
        } else {
            rel.split('/').count()
        };
        let mut items = Vec::new();
        for entry in entries {
            let name = String::from_utf8_lossy(&entry.name).into_owned();
            if self.literal.get(depth).is_some_and(|l| *l != name) {
                continue;
            }
            let is_dir = entry.file_type(dir).is_ok_and(|t| t.is_dir());
            items.push((crate::context::join_rel(&rel, &name), is_dir));
        }
        items.sort();
        Ok(items)
    }

    fn visit(
        &mut self,
        _dir: BorrowedFd<'_>,
        _rel: &[u8],
        (path, is_dir): &(String, bool),
    ) -> std::result::Result<bool, Self::Error> {
        if self.matcher.is_excluded(path) {
            self.found.push(path.clone());
            return Ok(false);
        }
        Ok(*is_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivots_split_at_the_first_dot_segment() {
        assert_eq!(split_pivot("./x/./y/z.txt"), ("./x", "y/z.txt"));
        assert_eq!(split_pivot("a/b/f.txt"), ("", "a/b/f.txt"));
        assert_eq!(split_pivot("a/./b/./c"), ("a", "b/./c"));
    }

    #[test]
    fn kept_entries_are_matches_their_insides_and_the_way_there() {
        let kept = Kept::new(["a/b/f.txt".to_string(), "x/y".to_string()]);
        for (path, keep) in [
            ("", true),
            ("a", true),
            ("a/b", true),
            ("a/b/f.txt", true),
            ("a/b/g.txt", false),
            ("a/c", false),
            ("x/y", true),
            ("x/y/deep/file", true),
            ("x/yz", false),
            ("z", false),
        ] {
            assert_eq!(kept.keeps(Path::new(path)), keep, "{path}");
        }
    }

    #[test]
    fn excludes_match_below_the_source_with_exceptions() {
        let excludes = Excludes::new(&["*.log".into(), "tmp".into(), "!keep.log".into()]).unwrap();
        assert!(excludes.excludes(Path::new("b.log"), false));
        assert!(!excludes.excludes(Path::new("sub/c.log"), false));
        assert!(excludes.excludes(Path::new("tmp"), true));
        assert!(excludes.excludes(Path::new("tmp/t"), false));
        assert!(!excludes.excludes(Path::new("keep.log"), false));
        assert!(!excludes.excludes(Path::new(""), true), "never the source");
        assert!(!Excludes::default().excludes(Path::new("b.log"), false));
        assert!(Excludes::new(&["!".into()]).is_err());
    }

    #[test]
    fn matches_walk_only_towards_the_pattern() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "a/b/f.txt",
            "a/c/g.txt",
            "a/c/h.md",
            "b/f.txt",
            "a/d/e/f.txt",
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        let found = |pattern: &str| matches(dir.path(), pattern).unwrap();
        assert_eq!(found("a/b/f.txt"), ["a/b/f.txt"]);
        assert!(found("a/b/nope").is_empty());
        assert_eq!(found("a/*/*.txt"), ["a/b/f.txt", "a/c/g.txt"]);
        assert_eq!(found("a/*"), ["a/b", "a/c", "a/d"]);
        assert_eq!(found("**/f.txt"), ["a/b/f.txt", "a/d/e/f.txt", "b/f.txt"]);
        assert_eq!(found("./a/../b/f.txt"), ["b/f.txt"]);
    }
}
